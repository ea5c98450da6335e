// The git sink against the harness's real git-over-HTTPS server (per-run CA, Basic auth).
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { GitSinkSpec } from '../../api/types.js';
import { GitBackend } from '../../activities/sinks/git.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { SinkConfigError, type ExportInput, type SinkContext } from '../../activities/sinks/types.js';
import { endpoints, service } from '../harness/endpoints.js';
import { bareGit, createBareRepo, gitCli } from '../support/git.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, image: `nginx:1.${i}` } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

let round = 0;
function input(rows: VersionedRow[]): ExportInput {
  round++;
  return {
    inventory, sink: { kind: 'KollectSnapshotSink', namespace: 'team-a', name: 'git', type: 'git' },
    exportId: `exp-${round}`, version: round, rows, changes: { upserts: rows, deletes: [], sinceVersion: 0 },
  };
}

function ctx(spec: GitSinkSpec, over: Partial<SinkContext<GitSinkSpec>> = {}): SinkContext<GitSinkSpec> {
  const ep = service('git');
  return {
    spec, credentials: { username: ep.username, password: ep.password }, caPem: readFileSync(ep.caFile, 'utf8'),
    log: (event, fields) => logs.push({ event, fields }), ...over,
  };
}

const work = () => mkdtempSync(path.join(endpoints().runDir, 'sink-git-'));

/** A fresh clone over HTTPS that trusts only the per-run CA. */
async function cloneOf(url: string, branch = 'main'): Promise<string> {
  const dir = path.join(work(), 'clone');
  await gitCli(['clone', '--quiet', '--branch', branch, url, dir]);
  return dir;
}
const commitCount = async (dir: string, branch = 'main') => Number((await bareGit(dir, ['rev-list', '--count', branch])).trim());
const subjectOf = async (dir: string, rev = 'main') => (await bareGit(dir, ['log', '-1', '--format=%s', rev])).trim();

const backends: GitBackend[] = [];
function backend(opts: ConstructorParameters<typeof GitBackend>[0] = {}): GitBackend {
  const b = new GitBackend({ cacheDir: work(), ...opts });
  backends.push(b);
  return b;
}
afterAll(async () => { await Promise.all(backends.map((b) => b.close())); });

/** The error a promise rejects with; fails the test when it resolves instead. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

describe('git sink', () => {
  it('creates the branch in an empty repo, then no-ops, updates, deletes — one commit per change', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const rows = [row(1), row(2), row(3, { namespace: '', kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', target: 'roles', name: 'view' })];

    const first = await b.export(input(rows), c);
    expect(first).toMatchObject({ rowsExported: 3, upserts: 3, deletes: 0 });
    expect(first.detail).toMatch(/^commit [0-9a-f]{7}$/);
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 3 added, 0 updated, 0 removed');
    expect((await bareGit(repo.dir, ['rev-parse', '--short=7', 'main'])).trim()).toBe(first.detail.slice('commit '.length));
    const body = await bareGit(repo.dir, ['log', '-1', '--format=%b%n%an <%ae>', 'main']);
    expect(body).toContain('A team-a/apps/deployments/default/deployment-web-1.yaml');
    expect(body).toContain('Kollect-Export-Id: exp-');
    expect(body).toContain('Kollect <kollect@kollect.dev>');

    const clone = await cloneOf(repo.url);
    const doc = parse(readFileSync(path.join(clone, 'team-a/apps/deployments/default/deployment-web-1.yaml'), 'utf8')) as Record<string, unknown>;
    expect(doc).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web-1', uid: 'uid-1', cluster: 'c1', target: 'deployments', attributes: { image: 'nginx:1.1', replicas: 1 } });
    expect(Object.keys(doc)).toEqual(['apiVersion', 'kind', 'namespace', 'name', 'uid', 'cluster', 'target', 'attributes']);
    expect(existsSync(path.join(clone, 'team-a/apps/roles/_cluster/clusterrole-view.yaml'))).toBe(true);
    expect(parse(readFileSync(path.join(clone, 'team-a/apps/_inventory.yaml'), 'utf8'))).toEqual({ inventory: { namespace: 'team-a', name: 'apps' }, cluster: 'c1', rows: 3, targets: { deployments: 2, roles: 1 } });

    // identical snapshot, rows in another order: no commit
    const again = await b.export(input([...rows].reverse()), c);
    expect(again).toMatchObject({ detail: 'no change', upserts: 0, deletes: 0, rowsExported: 3 });
    expect(await commitCount(repo.dir)).toBe(1);

    // one row's attributes change: exactly that file changes
    const updated = await b.export(input([row(1), row(2, { attributes: { replicas: 5, image: 'nginx:1.2' }, version: 2 }), rows[2]!]), c);
    expect(updated).toMatchObject({ upserts: 1, deletes: 0 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 1 updated, 0 removed');
    expect((await bareGit(repo.dir, ['diff', '--name-only', 'main~1', 'main'])).trim().split('\n')).toEqual(['team-a/apps/deployments/default/deployment-web-2.yaml']);

    // a row leaves the snapshot: its file is removed, empty directories too
    const deleted = await b.export(input([row(1), row(2, { attributes: { replicas: 5, image: 'nginx:1.2' }, version: 2 })]), c);
    expect(deleted).toMatchObject({ upserts: 0, deletes: 1, rowsExported: 2 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 0 updated, 1 removed');
    expect((await bareGit(repo.dir, ['ls-tree', '-r', '--name-only', 'main'])).trim().split('\n')).toEqual([
      'team-a/apps/_inventory.yaml',
      'team-a/apps/deployments/default/deployment-web-1.yaml',
      'team-a/apps/deployments/default/deployment-web-2.yaml',
    ]);
    expect(await commitCount(repo.dir)).toBe(3);
  });

  it('keeps files outside its path, and reverts a foreign edit inside it to the snapshot', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url, path: 'inventories/{cluster}/{inventoryName}' });
    await b.export(input([row(1)]), c);

    const clone = await cloneOf(repo.url);
    writeFileSync(path.join(clone, 'README.md'), '# inventories\n');
    writeFileSync(path.join(clone, 'inventories/c1/apps/deployments/default/deployment-web-1.yaml'), 'hand: edited\n');
    writeFileSync(path.join(clone, 'inventories/c1/apps/stray.yaml'), 'x: 1\n');
    await gitCli(['add', '-A'], { cwd: clone });
    await gitCli(['commit', '-qm', 'human edit'], { cwd: clone });
    await gitCli(['push', '-q', 'origin', 'main'], { cwd: clone });

    const r = await b.export(input([row(1)]), c);
    expect(r).toMatchObject({ upserts: 1, deletes: 1 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 1 updated, 1 removed');
    expect((await bareGit(repo.dir, ['ls-tree', '-r', '--name-only', 'main'])).trim().split('\n')).toEqual([
      'README.md', 'inventories/c1/apps/_inventory.yaml', 'inventories/c1/apps/deployments/default/deployment-web-1.yaml',
    ]);
    expect(await bareGit(repo.dir, ['show', 'main:inventories/c1/apps/deployments/default/deployment-web-1.yaml'])).toContain('name: web-1');
  });

  it('handles a push that races the export (non-fast-forward): fetches, reapplies and pushes on top', async () => {
    const repo = await createBareRepo();
    await backend().export(input([row(1)]), ctx({ url: repo.url }));
    const other = await cloneOf(repo.url);
    let raced = 0;
    const b = backend({
      beforePush: async (attempt) => {
        if (attempt !== 1) return;
        raced++;
        writeFileSync(path.join(other, 'NOTES.md'), 'pushed while kollect was exporting\n');
        await gitCli(['add', 'NOTES.md'], { cwd: other });
        await gitCli(['commit', '-qm', 'racing commit'], { cwd: other });
        await gitCli(['push', '-q', 'origin', 'main'], { cwd: other });
      },
    });
    logs.length = 0;
    const r = await b.export(input([row(1), row(2)]), ctx({ url: repo.url }));
    expect(raced).toBe(1);
    expect(r.detail).toMatch(/^commit /);
    expect(logs.some((l) => l.event === 'sink.git.retry')).toBe(true);
    expect((await bareGit(repo.dir, ['log', '--format=%s', 'main'])).trim().split('\n')).toEqual([
      'kollect: team-a/apps: 1 added, 0 updated, 0 removed', 'racing commit', 'kollect: team-a/apps: 1 added, 0 updated, 0 removed',
    ]);
    expect(await bareGit(repo.dir, ['show', 'main:NOTES.md'])).toContain('pushed while');
  });

  it('gives up with a retryable error after 3 rejected pushes', async () => {
    const repo = await createBareRepo();
    await backend().export(input([row(1)]), ctx({ url: repo.url }));
    const other = await cloneOf(repo.url);
    let n = 0;
    const b = backend({
      beforePush: async () => {
        writeFileSync(path.join(other, 'counter.txt'), String(++n));
        await gitCli(['commit', '-qam', `race ${n}`], { cwd: other }).catch(async () => {
          await gitCli(['add', 'counter.txt'], { cwd: other });
          await gitCli(['commit', '-qm', `race ${n}`], { cwd: other });
        });
        await gitCli(['push', '-q', 'origin', 'main'], { cwd: other });
      },
    });
    const err = await failure(b.export(input([row(1), row(2)]), ctx({ url: repo.url })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect((err as SinkExportError).code).toBe('non-fast-forward');
    expect(n).toBe(3);
    // the sink recovers on the next export once the branch is quiet
    expect((await backend().export(input([row(1), row(2)]), ctx({ url: repo.url }))).detail).toMatch(/^commit /);
  });

  it('writes JSON on a non-default branch of a repo that has other branches', async () => {
    const repo = await createBareRepo();
    await backend().export(input([row(9)]), ctx({ url: repo.url }));
    const r = await backend().export(input([row(1)]), ctx({ url: repo.url, branch: 'kollect/snapshots', path: 'snap', authorName: 'Inventory Bot', authorEmail: 'bot@example.invalid' }, { format: 'json' }));
    expect(r.detail).toMatch(/^commit /);
    const text = await bareGit(repo.dir, ['show', 'kollect/snapshots:snap/deployments/default/deployment-web-1.json']);
    expect(JSON.parse(text)).toMatchObject({ name: 'web-1', attributes: { replicas: 1 } });
    expect(text.endsWith('}\n')).toBe(true);
    expect((await bareGit(repo.dir, ['log', '-1', '--format=%an <%ae>', 'kollect/snapshots'])).trim()).toBe('Inventory Bot <bot@example.invalid>');
    expect(await commitCount(repo.dir, 'main')).toBe(1);
  });

  it('keeps credentials out of errors, logs and the working clone on disk', async () => {
    const repo = await createBareRepo();
    const ep = service('git');
    const wrong = `wrong-${randomUUID()}`;
    logs.length = 0;
    const b = backend();
    const err = await failure(b.export(input([row(1)]), ctx({ url: repo.url }, { credentials: { username: ep.username, password: wrong } })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/Authentication failed|could not read Username|401/i);
    const basic = Buffer.from(`${ep.username}:${wrong}`).toString('base64');
    for (const text of [err.message, err.stack ?? '', JSON.stringify(logs)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(basic);
    }

    // a token (sent as Basic with the given or a default username) works, and nothing secret lands on disk
    const cacheDir = work();
    const ok = new GitBackend({ cacheDir });
    backends.push(ok);
    await ok.export(input([row(1)]), ctx({ url: repo.url }, { credentials: { username: ep.username, token: ep.password } }));
    const onDisk = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    const secretB64 = Buffer.from(`${ep.username}:${ep.password}`).toString('base64');
    for (const f of onDisk(cacheDir)) {
      const content = readFileSync(f);
      expect(content.includes(ep.password), f).toBe(false);
      expect(content.includes(secretB64), f).toBe(false);
    }
  });

  it('rejects credentials in the URL as a config error without echoing them', async () => {
    const repo = await createBareRepo();
    const err = await failure(backend().export(input([row(1)]), ctx({ url: repo.url.replace('https://', 'https://bob:hunter2secret@') })));
    expect(err).toBeInstanceOf(SinkConfigError);
    expect(err.message).not.toContain('hunter2secret');
    const http = await failure(backend().export(input([row(1)]), ctx({ url: repo.url.replace('https://', 'http://') })));
    expect(http).toBeInstanceOf(SinkConfigError);
  });

  it('fails over HTTPS without the CA (the system trust store is not enough)', async () => {
    const repo = await createBareRepo();
    const err = await failure(backend().export(input([row(1)]), ctx({ url: repo.url }, { caPem: undefined })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/certificate/i);
    expect(err.message).not.toContain(service('git').password);
  });

  it('exports 10k rows (timing printed)', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}` }));
    let t = Date.now();
    const first = await b.export(input(rows), c);
    const firstMs = Date.now() - t;
    t = Date.now();
    const noop = await b.export(input(rows), c);
    const noopMs = Date.now() - t;
    rows[42] = row(42, { namespace: 'ns-42', attributes: { replicas: 0 }, version: 2 });
    t = Date.now();
    const one = await b.export(input(rows), c);
    const oneMs = Date.now() - t;
    console.log(`[git sink] 10k rows: initial ${firstMs} ms (${first.detail}), unchanged ${noopMs} ms (${noop.detail}), 1 changed ${oneMs} ms (${one.detail})`);
    expect(first.upserts).toBe(10_000);
    expect(noop.detail).toBe('no change');
    expect(one).toMatchObject({ upserts: 1, deletes: 0 });
  }, 180_000);
});
