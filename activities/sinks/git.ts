// Git snapshot sink (KollectSnapshotSink, type git): the snapshot as one file per row in a branch
// of a repository over HTTPS, one commit per export that changes something. See docs/sinks/git.md.
//
// A working clone per (url, branch) is kept in a cache directory and reset to the remote tip
// before each export, so the result depends only on the remote and the snapshot (idempotent).
// Credentials travel as an `http.extraHeader` set through GIT_CONFIG_* variables of each git
// process: never in the URL, .git/config or a command line (argv is world-readable in /proc).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { GitSinkSpec } from '../../api/types.js';
import {
  TreePlanner, commitMessage, countChanges, fileUid, parsePorcelain, readWatermark, resolveBasePath, rowPaths, summaryDocument, summaryFile,
} from './git-layout.js';
import type { Row } from '../../api/rows.js';
import { redactUrl, SinkUnreachableError } from './redact.js';
import { rowDocument, serialize, type Format } from './serialize.js';
import { Rejections, SinkConfigError, checkDeleteGuard, decideWatermark, skipped, type ExportInput, type ExportReply, type ProbeResult, type SinkBackend, type SinkContext } from './types.js';
import type { SinkDescriptor } from './descriptor.js';
import { KeyedQueue } from './keyed-queue.js';
import { defaultEndpointGuard, type EndpointGuard } from './endpoints.js';

export interface GitBackendOptions {
  /** Where working clones live; default a fresh directory under os.tmpdir(), removed by close(). */
  cacheDir?: string;
  /** A git process with no output for this long is killed (default 120 s). */
  commandTimeoutMs?: number;
  /** Push attempts when the remote moved meanwhile (non-fast-forward), default 3. */
  maxPushAttempts?: number;
  /** Test seam: runs after the commit, before each push attempt (e.g. to push a racing commit). */
  beforePush?: (attempt: number) => Promise<void>;
}

/** Where and how an export writes: one branch of a repository over HTTPS (the git and gitlab sinks). */
export interface GitTarget {
  url: string;
  branch: string;
  /**
   * Where a branch the remote does not have yet starts: this branch's tip (it must exist; `field`
   * names the setting for the error), instead of an empty tree.
   */
  startFrom?: { branch: string; field: string };
  base: string;
  author: { name: string; email: string };
  format: Format;
  /** `Authorization` header value, when credentials are given. */
  authHeader?: string;
  /** The spec field the endpoint guard names when it refuses `url` (default spec.git.url). */
  guardField?: string;
}

/** What one export to a GitTarget did. */
export interface GitWritten {
  reply: ExportReply;
  /** The commit this export pushed (full id), if it pushed one. */
  pushed?: string;
  /** The branch's tip on the remote after this export; undefined when the remote has no such branch. */
  tip?: string;
}

const DEFAULT_AUTHOR = { name: 'Kollect', email: 'kollect@kollect.dev' };
/** Username sent with a bare `token`: GitHub's convention, accepted by GitLab and Gitea for tokens. */
export const TOKEN_USERNAME = 'x-access-token';

function compile(spec: GitSinkSpec, ctx: SinkContext<GitSinkSpec>, input: ExportInput): GitTarget {
  if (!spec || typeof spec.url !== 'string' || spec.url === '') throw new SinkConfigError('spec.git.url', 'is required');
  let url: URL;
  try { url = new URL(spec.url); } catch { throw new SinkConfigError('spec.git.url', `not a URL: ${redactUrl(spec.url)}`); }
  if (url.protocol !== 'https:') throw new SinkConfigError('spec.git.url', `must be https:// (got ${url.protocol}//)`);
  if (url.username || url.password) throw new SinkConfigError('spec.git.url', 'must not contain credentials: put them in the Secret of spec.secretRef (username/password or token)');
  const branch = spec.branch?.trim() || 'main';
  if (!/^(?!-|\/|.*(\.\.|\/\/|@\{|\.lock$|\.lock\/|\/$|\.$))[A-Za-z0-9._/-]+$/.test(branch)) throw new SinkConfigError('spec.git.branch', `invalid branch name "${branch}"`);
  const { username, password, token } = ctx.credentials;
  let authHeader: string | undefined;
  if (token) authHeader = basic(username || TOKEN_USERNAME, token);
  else if (password) {
    if (!username) throw new SinkConfigError('spec.secretRef', 'key password needs key username (or use key token)');
    authHeader = basic(username, password);
  }
  return {
    url: url.toString(), branch, base: resolveBasePath(spec.path, input.inventory),
    author: { name: spec.authorName?.trim() || DEFAULT_AUTHOR.name, email: spec.authorEmail?.trim() || DEFAULT_AUTHOR.email },
    format: ctx.format === 'json' ? 'json' : 'yaml', authHeader,
  };
}

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

const REJECTED = /\[rejected\]|non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|\[remote rejected\].*(lock|update)/i;
const NO_REMOTE_BRANCH = /couldn't find remote ref/i;
/** curl's words, through git, for a server it could not reach (status reason Unreachable). */
const UNREACHABLE = /Failed to connect to|Could not resolve host|Connection refused|Connection timed out|Operation timed out|Couldn't connect to server/i;

export class GitBackend implements SinkBackend<GitSinkSpec> {
  readonly type = 'git';
  readonly kind = 'KollectSnapshotSink' as const;
  private root: Promise<string> | undefined;
  /** One export at a time per working clone: exports to one (url, branch) queue behind each other. */
  private readonly queues = new KeyedQueue();

  constructor(private readonly opts: GitBackendOptions = {}) {}

  async export(input: ExportInput, ctx: SinkContext<GitSinkSpec>): Promise<ExportReply> {
    return (await this.write(compile(ctx.spec, ctx, input), input, ctx)).reply;
  }

  /** ls-remote with the sink's credentials and CA: the repository answers and the branch is there (or will be created). */
  async probe(ctx: SinkContext<GitSinkSpec>): Promise<ProbeResult> {
    const placeholder = { namespace: '<namespace>', name: '<inventory>', cluster: '<cluster>' };
    const c = compile(ctx.spec, ctx, { inventory: placeholder } as ExportInput);
    const root = await this.cacheRoot();
    const work = await mkdtemp(path.join(root, 'probe-'));
    try {
      const git = await this.client(root, work, c, ctx);
      const heads = (await git.raw(['ls-remote', '--heads', 'origin', `refs/heads/${c.branch}`])).trim();
      const tip = heads.split(/\s+/)[0];
      return { detail: tip ? `repository answers; branch ${c.branch} at ${tip.slice(0, 12)}` : `repository answers; branch ${c.branch} does not exist yet (the first export creates it)` };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  derivedSecrets(credentials: Readonly<Record<string, string>>): string[] {
    const { username, password, token } = credentials;
    const header = token ? basic(username || TOKEN_USERNAME, token) : password && username ? basic(username, password) : undefined;
    return header ? [header.slice('Basic '.length)] : [];
  }

  /**
   * One export to `target`, queued behind any other to the same (url, branch). Errors come back as
   * thrown, not redacted: the calling backend redacts them with its own context.
   */
  write(target: GitTarget, input: ExportInput, ctx: SinkContext<unknown>): Promise<GitWritten> {
    const key = sha(`${target.url}\0${target.branch}`).slice(0, 16);
    return this.queues.run(key, () => this.exportLocked(key, target, input, ctx));
  }

  async close(): Promise<void> {
    const root = this.root;
    this.root = undefined;
    await this.queues.idle();
    if (root && !this.opts.cacheDir) await rm(await root, { recursive: true, force: true });
  }


  private cacheRoot(): Promise<string> {
    this.root ??= (async () => {
      const dir = this.opts.cacheDir ?? await mkdtemp(path.join(os.tmpdir(), 'kollect-git-'));
      await mkdir(path.join(dir, 'home'), { recursive: true });
      return dir;
    })();
    return this.root;
  }

  private async exportLocked(key: string, c: GitTarget, input: ExportInput, ctx: SinkContext<unknown>): Promise<GitWritten> {
    const root = await this.cacheRoot();
    const work = path.join(root, key);
    const t0 = Date.now();
    try {
      const git = await this.client(root, work, c, ctx);
      const attempts = this.opts.maxPushAttempts ?? 3;
      for (let attempt = 1; ; attempt++) {
        const steps: Record<string, number> = {};
        let ts = Date.now();
        const step = (name: string) => { const now = Date.now(); steps[name] = now - ts; ts = now; };
        const exists = await fetchBranch(git, c.branch);
        const from = exists ? c.branch : c.startFrom && await startPoint(git, c.startFrom);
        const remoteTip = async () => (exists ? (await git.raw(['rev-parse', `refs/remotes/origin/${c.branch}`])).trim() : undefined);
        step('fetch');
        await resetTo(git, c.branch, from);
        await dropSymlinks(git, work, c.base);
        step('reset');
        // The watermark lives in the summary file, committed with the rows it describes; checked
        // again on every push attempt, so a stale attempt never lands over a newer export.
        const summaryPath = `${c.base}/${summaryFile(c.format)}`;
        const stored = readWatermark(await readFile(path.join(work, summaryPath), 'utf8').catch(() => undefined));
        const d = decideWatermark(stored, input.plan);
        if (d.action !== 'apply') {
          ctx.log('sink.git.export', { branch: c.branch, path: c.base, result: d.action, ms: Date.now() - t0 });
          return { reply: skipped(d, stored), tip: await remoteTip() };
        }
        const held = await heldRowFiles(git, c.base, summaryPath);
        const rejected = new Rejections();
        if (input.plan.mode === 'full') await applyFull(work, c, input, held, rejected);
        else {
          checkDeleteGuard(input, input.deletes.length, held.size);
          await applyDelta(work, c, input, new Set(held.keys()), rejected);
        }
        if (rejected.count) ctx.log('sink.git.rejected', { rows: rejected.count, sample: rejected.samples[0] });
        await writeFile(path.join(work, summaryPath), serialize(summaryDocument(input.inventory, input.plan.rowCount, input.plan.targetCounts, input.plan), c.format));
        step('write');
        await git.raw(['add', '-A', '--', `:(literal)${c.base}`]);
        const changes = parsePorcelain(await git.raw(['status', '--porcelain=v1', '-z', '--no-renames', '--untracked-files=all', '--', `:(literal)${c.base}`]));
        step('stage');
        if (changes.length === 0) {
          ctx.log('sink.git.export', { branch: c.branch, path: c.base, result: 'no change', ms: Date.now() - t0, steps });
          return { reply: { outcome: 'applied', rowsExported: input.plan.rowCount, upserts: 0, deletes: 0, detail: 'no change', rejected: rejected.summary() }, tip: await remoteTip() };
        }
        const counts = countChanges(changes, c.base, c.format);
        await git.raw(['commit', '--quiet', '--no-verify', '--cleanup=verbatim', '-m', commitMessage(input.inventory, changes, counts, { exportId: input.exportId, ...input.plan })]);
        step('commit');
        await this.opts.beforePush?.(attempt);
        // A cancelled attempt (timed out, or its heartbeat lost) must not push over a newer one.
        ctx.signal?.throwIfAborted();
        try {
          await git.raw(['push', '--quiet', '--porcelain', 'origin', `HEAD:refs/heads/${c.branch}`]);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          if (!REJECTED.test(msg)) throw err;
          if (attempt >= attempts) throw Object.assign(new Error(`push to ${c.branch} rejected ${attempts} times (the branch keeps moving); will retry`), { code: 'non-fast-forward' });
          ctx.log('sink.git.retry', { branch: c.branch, attempt, reason: 'non-fast-forward' });
          continue;
        }
        step('push');
        const pushed = (await git.raw(['rev-parse', 'HEAD'])).trim();
        const sha7 = pushed.slice(0, 7);
        ctx.log('sink.git.export', { branch: c.branch, path: c.base, commit: sha7, ...counts, ms: Date.now() - t0, steps });
        return {
          pushed, tip: pushed,
          reply: { outcome: 'applied', rowsExported: input.plan.rowCount, upserts: counts.added + counts.updated, deletes: counts.removed, detail: `${input.plan.mode} commit ${sha7}`, rejected: rejected.summary() },
        };
      }
    } catch (err) {
      // A killed or failed git may leave locks or a half-written tree: start from a fresh clone next time.
      await rm(work, { recursive: true, force: true }).catch(() => undefined);
      const msg = err instanceof Error ? err.message : String(err);
      if (UNREACHABLE.test(msg)) throw new SinkUnreachableError('git', msg);
      throw err;
    }
  }

  /** A git client for the working clone, initialised on first use (no clone: works for an empty remote). */
  private async client(root: string, work: string, c: GitTarget, ctx: SinkContext<unknown>): Promise<SimpleGit> {
    const config: [string, string][] = [
      ['user.name', c.author.name], ['user.email', c.author.email],
      ['core.autocrlf', 'false'], ['gc.autoDetach', 'false'], ['advice.detachedHead', 'false'],
      // A link committed in the remote is checked out as a plain file: nothing is ever written through it.
      ['core.symlinks', 'false'],
    ];
    if (ctx.caPem) {
      const caDir = path.join(root, `ca-${sha(ctx.caPem).slice(0, 12)}`);
      const caFile = path.join(caDir, 'ca.pem');
      if (!existsSync(caFile)) {
        await mkdir(caDir, { recursive: true });
        const tmp = `${caFile}.${process.pid}.${Date.now()}`;
        await writeFile(tmp, ctx.caPem);
        await rename(tmp, caFile); // atomic: git never reads a half-written CA
      }
      // sslCAPath at the CA's own directory keeps the system store out: trust exactly this CA.
      config.push(['http.sslCAInfo', caFile], ['http.sslCAPath', caDir]);
    }
    if (c.authHeader) config.push(['http.extraHeader', `Authorization: ${c.authHeader}`]);
    // The endpoint guard: git connects to the addresses checked here (curl's resolve list pins the
    // host for this process), and a redirect to another host is not followed.
    const pin = await pinFor(c.guardField ?? 'spec.git.url', c.url, ctx.guard ?? defaultEndpointGuard());
    if (pin) config.push(['http.curloptResolve', pin]);
    config.push(['http.followRedirects', 'false']);
    const home = path.join(root, 'home'); // an empty HOME: no user config, credential helper or hooks
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: home, LC_ALL: 'C', LANG: 'C',
      GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_ALLOW_PROTOCOL: 'https', GIT_CONFIG_COUNT: String(config.length),
    };
    config.forEach(([k, v], i) => { env[`GIT_CONFIG_KEY_${i}`] = k; env[`GIT_CONFIG_VALUE_${i}`] = v; });
    const fresh = !existsSync(path.join(work, '.git'));
    if (fresh) await mkdir(work, { recursive: true });
    const git = simpleGit({
      baseDir: work, timeout: { block: this.opts.commandTimeoutMs ?? 120_000 }, ...(ctx.signal ? { abort: ctx.signal } : {}),
      unsafe: { allowUnsafeConfigEnvCount: true }, allowEnvironment: Object.keys(env).filter((k) => k.startsWith('GIT_')),
    }).env(env);
    if (fresh) {
      await git.raw(['init', '--quiet']);
      await git.raw(['remote', 'add', 'origin', c.url]);
    }
    return git;
  }
}

/** curl's `host:port:addresses` pinning git to the addresses the guard let through (none for an IP literal, which the guard checks as is). */
export async function pinFor(field: string, url: string, guard: EndpointGuard): Promise<string | undefined> {
  const u = new URL(url);
  const addrs = await guard.resolve(field, u.hostname);
  if (net.isIP(u.hostname.replace(/^\[(.*)\]$/, '$1'))) return undefined;
  return `${u.hostname}:${u.port || 443}:${addrs.map((a) => (a.family === 6 ? `[${a.address}]` : a.address)).join(',')}`;
}

/** Fetches the branch tip (shallow); false when the remote has no such branch yet. */
async function fetchBranch(git: SimpleGit, branch: string): Promise<boolean> {
  try {
    await git.raw(['fetch', '--quiet', '--depth=1', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    return true;
  } catch (err) {
    if (!NO_REMOTE_BRANCH.test(err instanceof Error ? err.message : String(err))) throw err;
    await git.raw(['update-ref', '-d', `refs/remotes/origin/${branch}`]).catch(() => undefined);
    return false;
  }
}

/** The branch a new branch starts from, fetched; a SinkConfigError naming its setting when the remote lacks it. */
async function startPoint(git: SimpleGit, from: NonNullable<GitTarget['startFrom']>): Promise<string> {
  if (await fetchBranch(git, from.branch)) return from.branch;
  throw new SinkConfigError(from.field, `branch ${from.branch} does not exist in the repository: create it, or name an existing one`);
}

/** Mode of a symbolic link in a git tree. */
const SYMLINK_MODE = '120000';

/**
 * Kollect writes regular files only, and never through a link the remote holds (core.symlinks is
 * off, so a checkout makes links plain files; this takes them out of the index as well). A link
 * at the sink's path or above it is a configuration error; links inside it are foreign files, and
 * the export removes them.
 */
async function dropSymlinks(git: SimpleGit, work: string, base: string): Promise<void> {
  const links = async (pathspec: string): Promise<string[]> => (await git.raw(['ls-files', '--stage', '-z', '--', `:(literal)${pathspec}`]))
    .split('\0').filter((e) => e.startsWith(`${SYMLINK_MODE} `)).map((e) => e.slice(e.indexOf('\t') + 1));
  const parts = base.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if ((await links(prefix)).includes(prefix)) {
      throw new SinkConfigError('spec.git.path', `${prefix} is a symbolic link in the repository; Kollect does not write through links: remove it or choose another path`);
    }
  }
  const inside = await links(base);
  if (inside.length === 0) return;
  await git.raw(['rm', '--cached', '--quiet', '--', ...inside.map((p) => `:(literal)${p}`)]);
  for (const p of inside) await rm(path.join(work, p), { force: true });
}

/** Makes HEAD, index and working tree exactly the remote tip of `from` (on `branch`), or an empty unborn branch. */
async function resetTo(git: SimpleGit, branch: string, from: string | undefined): Promise<void> {
  if (from) {
    await git.raw(['checkout', '--quiet', '--force', '-B', branch, `refs/remotes/origin/${from}`]);
  } else {
    await git.raw(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
    await git.raw(['update-ref', '-d', `refs/heads/${branch}`]).catch(() => undefined);
    await git.raw(['read-tree', '--empty']);
  }
  await git.raw(['clean', '-ffdxq']);
}

/** Row files under base that the index holds (the summary excluded), with their blob ids. */
async function heldRowFiles(git: SimpleGit, base: string, summaryPath: string): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  for (const entry of (await git.raw(['ls-files', '--stage', '-z', '--', `:(literal)${base}`])).split('\0')) {
    const tab = entry.indexOf('\t'); // <mode> <blob> <stage>\t<path>
    if (tab > 0 && entry.slice(tab + 1) !== summaryPath) held.set(entry.slice(tab + 1), entry.split(' ')[1]!);
  }
  return held;
}

/**
 * Makes the row files under base exactly the snapshot, a page of rows at a time: memory holds the
 * paths, never the whole snapshot. The working tree equals the index here (just reset), so the
 * index's blob ids tell which files differ without reading them back; unchanged files are not
 * rewritten. The delete guard is checked before anything is removed.
 */
async function applyFull(work: string, c: GitTarget, input: ExportInput, held: ReadonlyMap<string, string>, rejected: Rejections): Promise<void> {
  const tree = new TreePlanner(c.base, c.format);
  for await (const page of input.upserts()) {
    // A row that cannot be rendered is not placed: its earlier file, if any, is stale and removed.
    const placed = page.flatMap((row) => { try { return [tree.place(row)]; } catch (err) { rejected.add(row, renderFailure(err, c.format)); return []; } });
    const writes = placed.filter(({ path: p, content }) => {
      const id = held.get(p);
      return id === undefined || id !== blobId(content, id.length);
    });
    for (const dir of new Set(writes.map((w) => path.dirname(path.join(work, w.path))))) await mkdir(dir, { recursive: true });
    await inParallel(writes, (w) => writeFile(path.join(work, w.path), w.content));
  }
  const stale = tree.stale(held.keys());
  checkDeleteGuard(input, stale.length, held.size);
  await inParallel(stale, (p) => rm(path.join(work, p), { force: true }));
  if (stale.length) await pruneEmptyDirs(path.join(work, c.base));
}

/** Writes the delta's upserts and removes its deletes: only the files that changed are touched. */
async function applyDelta(work: string, c: GitTarget, input: ExportInput, held: ReadonlySet<string>, rejected: Rejections): Promise<void> {
  /** Paths this delta wrote, and the uid each now holds: later rows of the same delta see them. */
  const claimed = new Map<string, string>();
  const uidAt = async (p: string): Promise<string | undefined> =>
    claimed.get(p) ?? (held.has(p) ? fileUid(await readFile(path.join(work, p), 'utf8'), c.format) : undefined);
  // A row's file: its primary path unless another uid holds that name (then the ~uid alternate).
  const pathOf = async (row: Pick<Row, 'target' | 'namespace' | 'kind' | 'name' | 'uid'>): Promise<string> => {
    const { primary, alternate } = rowPaths(c.base, row, c.format);
    if (held.has(alternate) || claimed.has(alternate)) return alternate;
    const owner = await uidAt(primary);
    return owner === undefined || owner === row.uid ? primary : alternate;
  };
  for await (const page of input.upserts()) {
    const writes: [string, string][] = [];
    for (const row of page) { // one at a time: two new rows of one delta may want the same name
      const p = await pathOf(row);
      let content: string;
      try {
        content = serialize(rowDocument(row), c.format);
      } catch (err) {
        // A poison row: refused, and its earlier version (if this path holds it) removed.
        rejected.add(row, renderFailure(err, c.format));
        if ((await uidAt(p)) === row.uid) { await rm(path.join(work, p), { force: true }); claimed.delete(p); }
        continue;
      }
      claimed.set(p, row.uid);
      writes.push([p, content]);
    }
    for (const dir of new Set(writes.map(([p]) => path.dirname(path.join(work, p))))) await mkdir(dir, { recursive: true });
    await inParallel(writes, ([p, content]) => writeFile(path.join(work, p), content));
  }
  let removed = false;
  for (const t of input.deletes) {
    if (!t.kind || !t.name) continue; // identity lost with a collected body: the next full reconcile removes it
    const { primary, alternate } = rowPaths(c.base, t, c.format);
    const p = (await uidAt(alternate)) === t.uid ? alternate : (await uidAt(primary)) === t.uid ? primary : undefined;
    if (p) { await rm(path.join(work, p), { force: true }); claimed.delete(p); removed = true; }
  }
  if (removed) await pruneEmptyDirs(path.join(work, c.base));
}

/** Why a row could not be rendered, for status (a stack overflow names the nesting). */
function renderFailure(err: unknown, format: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  return `cannot be written as ${format}: ${err instanceof RangeError ? `${msg} (nested too deeply)` : msg}`;
}

/** The git object id of a blob with this content (sha1, or sha256 for a repository using it). */
function blobId(content: string, idLength: number): string {
  const buf = Buffer.from(content);
  return createHash(idLength === 64 ? 'sha256' : 'sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
}

async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<unknown>, limit = 32): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => { while (next < items.length) await fn(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function pruneEmptyDirs(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return false;
  let empty = true;
  for (const e of entries) {
    if (e.isDirectory() && await pruneEmptyDirs(path.join(dir, e.name))) continue;
    empty = false;
  }
  if (empty) await rmdir(dir).catch(() => undefined);
  return empty;
}

export const gitBackend = new GitBackend();

export const gitSink: SinkDescriptor<GitSinkSpec> = {
  type: 'git', kind: 'KollectSnapshotSink', backend: gitBackend, formats: ['yaml', 'json'],
  locate: (spec, inv) => ({ endpoint: redactUrl(spec.url), location: `${spec.branch ?? 'main'}:${resolveBasePath(spec.path, inv)}/` }),
  render: (row, _spec, format) => serialize(rowDocument(row), format === 'json' ? 'json' : 'yaml'),
  sample: 'sink-git.yaml', docs: 'git.md',
};
