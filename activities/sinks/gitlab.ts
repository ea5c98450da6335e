// GitLab snapshot sink (KollectSnapshotSink, type gitlab): the git sink's files (git-layout.ts) on a
// branch of a GitLab project, pushed over HTTPS with the token, and in merge_request mode one open
// merge request per inventory kept up to date through the REST API v4. See docs/sinks/gitlab.md.
//
// An export: GET /projects/:id (the project exists, the token sees it; its clone URL and default
// branch), then the git sink's export to the branch Kollect writes (GitBackend.write: watermark in
// the summary file, delta touches only changed files), then in merge_request mode the merge request
// upsert. The branch is what Kollect writes, so its summary file holds the watermark; once the merge
// request is merged and the branch removed, the next export starts the branch again from the
// target branch, whose summary (merged in) holds the same watermark.
import https from 'node:https';
import type { GitLabSinkSpec } from '../../api/types.js';
import type { ExportPlan } from '../../workflows/state.js';
import { GitBackend, pinFor, type GitBackendOptions, type GitWritten } from './git.js';
import { pathSegment, resolveBasePath } from './git-layout.js';
import { defaultEndpointGuard, type EndpointGuard } from './endpoints.js';
import { redactUrl } from './redact.js';
import { rowDocument, serialize } from './serialize.js';
import { SinkConfigError, type ExportInput, type ExportReply, type InventoryIdentity, type ProbeResult, type SinkBackend, type SinkContext } from './types.js';
import type { SinkDescriptor } from './descriptor.js';

export interface GitLabBackendOptions extends GitBackendOptions {
  /** An API request with no answer for this long fails (retryable), default 30 s. */
  requestTimeoutMs?: number;
}

/** The spec with its defaults, checked. */
interface Settings {
  /** The instance root without a trailing slash: https://host[:port][/relative-root]. */
  root: string;
  project: string;
  base: string;
  author: { name: string; email: string };
  mode: 'direct' | 'merge_request';
  targetBranch?: string;
  /** The inventory's branch in merge_request mode. */
  branch: string;
  title: string;
  autoMerge: boolean;
  removeSourceBranch: boolean;
}

const DEFAULT_AUTHOR = { name: 'Kollect', email: 'kollect@kollect.dev' };
const DEFAULT_TITLE = 'Kollect inventory {namespace}/{inventory}';
/** GitLab's username for a token over git HTTPS (its docs use it for OAuth and access tokens alike). */
export const GITLAB_TOKEN_USERNAME = 'oauth2';
const BRANCH = /^(?!-|\/|.*(\.\.|\/\/|@\{|\.lock$|\.lock\/|\/$|\.$))[A-Za-z0-9._/-]+$/;

/** The spec with its defaults; SinkConfigError naming the field for anything wrong. */
export function settingsOf(spec: GitLabSinkSpec, inv: InventoryIdentity): Settings {
  if (!spec || typeof spec.url !== 'string' || spec.url === '') throw new SinkConfigError('spec.gitlab.url', 'is required');
  let url: URL;
  try { url = new URL(spec.url); } catch { throw new SinkConfigError('spec.gitlab.url', `not a URL: ${redactUrl(spec.url)}`); }
  if (url.protocol !== 'https:') throw new SinkConfigError('spec.gitlab.url', `must be https:// (got ${url.protocol}//)`);
  if (url.username || url.password) throw new SinkConfigError('spec.gitlab.url', 'must not contain credentials: put the token in the Secret of spec.secretRef (key token)');
  if (url.search || url.hash) throw new SinkConfigError('spec.gitlab.url', 'must be the instance root, without ?query or #fragment');
  const project = typeof spec.project === 'string' ? spec.project.trim().replace(/^\/+|\/+$/g, '') : '';
  if (!/^\d+$/.test(project) && !/^[^/\s]+(\/[^/\s]+)+$/.test(project)) {
    throw new SinkConfigError('spec.gitlab.project', `"${project}" is neither a numeric project id nor a path with its namespace (group/project)`);
  }
  let base: string;
  try { base = resolveBasePath(spec.path, inv); } catch (err) {
    throw err instanceof SinkConfigError ? new SinkConfigError('spec.gitlab.path', err.message.slice(err.field.length + 2)) : err;
  }
  const mr = spec.mergeRequest ?? {};
  const mode = mr.mode ?? 'direct';
  if (mode !== 'direct' && mode !== 'merge_request') throw new SinkConfigError('spec.gitlab.mergeRequest.mode', `must be direct or merge_request (got ${String(mode)})`);
  const targetBranch = mr.targetBranch?.trim() || undefined;
  if (targetBranch && !BRANCH.test(targetBranch)) throw new SinkConfigError('spec.gitlab.mergeRequest.targetBranch', `invalid branch name "${targetBranch}"`);
  const branch = `${mr.branchPrefix ?? 'kollect/'}${[inv.cluster, inv.namespace, inv.name].map(pathSegment).join('/')}`;
  if (!BRANCH.test(branch)) throw new SinkConfigError('spec.gitlab.mergeRequest.branchPrefix', `makes the invalid branch name "${branch}"`);
  const template = mr.titleTemplate?.trim() || DEFAULT_TITLE;
  const unknown = /\{(?!(cluster|namespace|inventory)\})[^}]*\}/.exec(template);
  if (unknown) throw new SinkConfigError('spec.gitlab.mergeRequest.titleTemplate', `unknown placeholder ${unknown[0]} (known: {cluster}, {namespace}, {inventory})`);
  const title = template.replace(/\{(cluster|namespace|inventory)\}/g, (_m, k: string) => (k === 'cluster' ? inv.cluster : k === 'namespace' ? inv.namespace : inv.name));
  return {
    root: `${url.origin}${url.pathname.replace(/\/+$/, '')}`, project, base, mode, targetBranch, branch, title,
    author: { name: spec.authorName?.trim() || DEFAULT_AUTHOR.name, email: spec.authorEmail?.trim() || DEFAULT_AUTHOR.email },
    autoMerge: mr.autoMerge === true, removeSourceBranch: mr.removeSourceBranch !== false,
  };
}

/** An API answer other than 2xx that the caller handles (e.g. 409 on create). */
class ApiStatus extends Error {
  constructor(readonly status: number, readonly apiMessage: string, what: string) { super(`GitLab API ${what}: ${status} ${apiMessage}`); }
}

interface ProjectInfo { id: number; path_with_namespace: string; default_branch: string | null; http_url_to_repo: string }
interface MergeRequest {
  iid: number; state: string; title: string; description: string | null; target_branch: string; source_branch: string;
  sha: string; web_url: string; force_remove_source_branch: boolean | null; merge_when_pipeline_succeeds: boolean;
}

/** The few REST v4 calls the sink makes, over one keep-alive agent that the endpoint guard resolves for. */
class GitLabApi {
  private readonly agent: https.Agent;

  constructor(private readonly root: string, private readonly token: string, guard: EndpointGuard, ca: string | undefined,
    private readonly timeoutMs: number, private readonly signal?: AbortSignal) {
    this.agent = guard.agent(https.Agent, 'spec.gitlab.url', { keepAlive: true, ...(ca ? { ca } : {}) });
  }

  close(): void { this.agent.destroy(); }

  /** One request; JSON in and out. 401 and 403 are configuration errors of the token. */
  async call<T>(method: string, route: string, body?: Record<string, unknown>): Promise<{ body: T; headers: Record<string, string | string[] | undefined> }> {
    const what = `${method} ${route.split('?')[0]}`;
    const { status, text, headers } = await this.send(method, route, body);
    let parsed: unknown;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
    if (status >= 200 && status < 300) return { body: parsed as T, headers };
    const message = apiMessage(parsed) ?? `HTTP ${status}`;
    if (status === 401) throw new SinkConfigError('spec.secretRef', `GitLab rejected the token (${what}: 401 ${message}): key token of the Secret is unknown, expired or revoked`);
    if (status === 403) throw new SinkConfigError('spec.secretRef', `the token may not do this (${what}: 403 ${message}): it needs scope api, and a role in the project that may push and open merge requests (Developer or above)`);
    throw new ApiStatus(status, message, what);
  }

  /** Every item of a list, following x-next-page (doc/api/rest/index.md, offset pagination). */
  async list<T>(route: string, query: Record<string, string>): Promise<T[]> {
    const out: T[] = [];
    for (let page = '1'; page;) {
      const { body, headers } = await this.call<T[]>('GET', `${route}?${new URLSearchParams({ ...query, per_page: '100', page }).toString()}`);
      out.push(...body);
      const next = headers['x-next-page'];
      page = typeof next === 'string' && next !== page ? next : '';
    }
    return out;
  }

  private send(method: string, route: string, body?: Record<string, unknown>): Promise<{ status: number; text: string; headers: Record<string, string | string[] | undefined> }> {
    const data = body ? JSON.stringify(body) : undefined;
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.root}/api/v4${route}`, {
        method, agent: this.agent, timeout: this.timeoutMs, ...(this.signal ? { signal: this.signal } : {}),
        headers: { 'PRIVATE-TOKEN': this.token, Accept: 'application/json', ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`GitLab API ${method}: no answer in ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(data);
    });
  }
}

/** GitLab's error text: `{"message": "..."}`, `{"message": ["..."]}`, `{"message": {field: [...]}}` or `{"error": "..."}`. */
function apiMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 200) || undefined;
  if (typeof body !== 'object' || body === null) return undefined;
  const { message, error } = body as { message?: unknown; error?: unknown };
  const m = message ?? error;
  if (typeof m === 'string') return m;
  if (Array.isArray(m)) return m.join('; ');
  if (m && typeof m === 'object') return Object.entries(m).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('; ');
  return undefined;
}

const projectRoute = (project: string) => `/projects/${encodeURIComponent(project)}`;

/** The project, or a SinkConfigError naming spec.gitlab.project when the token cannot see it. */
async function getProject(api: GitLabApi, project: string): Promise<ProjectInfo> {
  try {
    return (await api.call<ProjectInfo>('GET', projectRoute(project))).body;
  } catch (err) {
    if (err instanceof ApiStatus && err.status === 404) {
      throw new SinkConfigError('spec.gitlab.project', `project "${project}" not found, or the token's user is not a member of it (404 ${err.apiMessage}); Kollect never creates projects`);
    }
    throw err;
  }
}

/**
 * The URL git pushes to: GitLab's http_url_to_repo when it lies under spec.gitlab.url, else the
 * same path under spec.gitlab.url (an instance whose external URL differs from the one Kollect
 * reaches it by): the token goes only to the configured host.
 */
function cloneUrlOf(s: Settings, p: ProjectInfo): string {
  const root = `${s.root}/`;
  return p.http_url_to_repo?.startsWith(root) ? p.http_url_to_repo : `${root}${p.path_with_namespace}.git`;
}

/** Settings need an inventory for its path and branch; a probe has none and uses neither. */
const PROBE_INVENTORY: InventoryIdentity = { namespace: 'probe', name: 'probe', cluster: 'probe' };

/** Git's answer to a token it does not take (HTTP 401/403): the token's scopes or role. */
const GIT_AUTH = /returned error: 40[13]|Authentication failed|could not read Username|Access denied|not allowed to push/i;

export class GitLabBackend implements SinkBackend<GitLabSinkSpec> {
  readonly type = 'gitlab';
  readonly kind = 'KollectSnapshotSink' as const;
  private readonly git: GitBackend;

  constructor(private readonly opts: GitLabBackendOptions = {}) {
    this.git = new GitBackend(opts);
  }

  async export(input: ExportInput, ctx: SinkContext<GitLabSinkSpec>): Promise<ExportReply> {
    return this.guarded(ctx, async (s, api) => {
      const project = await getProject(api, s.project);
      const target = s.targetBranch ?? project.default_branch ?? 'main';
      const url = cloneUrlOf(s, project);
      const written = await this.git.write({
        url, branch: s.mode === 'direct' ? target : s.branch, base: s.base, author: s.author,
        format: ctx.format === 'json' ? 'json' : 'yaml', authHeader: basic(GITLAB_TOKEN_USERNAME, ctx.credentials.token!),
        guardField: 'spec.gitlab.url',
        ...(s.mode === 'merge_request' ? { startFrom: { branch: target, field: 'spec.gitlab.mergeRequest.targetBranch' } } : {}),
      }, input, ctx).catch((err: unknown) => {
        const msg = err instanceof Error ? err.message : String(err);
        if (err instanceof SinkConfigError || !GIT_AUTH.test(msg)) throw err;
        throw new SinkConfigError('spec.secretRef', `GitLab refused git over HTTPS with the token (${msg.trim().split('\n').pop()}): it needs scope write_repository and a role that may push to the branch (protected branches too)`);
      });
      // needsFull wrote nothing and the full reconcile follows: the merge request waits for it.
      if (s.mode === 'direct' || written.reply.outcome === 'needsFull') return written.reply;
      const mr = await upsertMergeRequest(api, project, s, target, input, written, ctx);
      return mr ? { ...written.reply, detail: `${written.reply.detail}; merge request !${mr.iid} ${mr.state}` } : written.reply;
    }, input.inventory);
  }

  async probe(ctx: SinkContext<GitLabSinkSpec>): Promise<ProbeResult> {
    return this.guarded(ctx, async (s, api) => {
      const project = await getProject(api, s.project);
      const target = s.targetBranch ?? project.default_branch ?? 'main';
      if (s.mode === 'merge_request') {
        await api.call('GET', `${projectRoute(s.project)}/repository/branches/${encodeURIComponent(target)}`).catch((err: unknown) => {
          if (err instanceof ApiStatus && err.status === 404) throw new SinkConfigError('spec.gitlab.mergeRequest.targetBranch', `branch ${target} does not exist in project ${project.path_with_namespace}: merge requests need it`);
          throw err;
        });
      }
      await pinFor('spec.gitlab.url', cloneUrlOf(s, project), ctx.guard ?? defaultEndpointGuard());
      return { detail: `project ${project.path_with_namespace} reachable with the token; ${s.mode === 'direct' ? `commits go to ${target}` : `merge requests into ${target}`}` };
    });
  }

  close(): Promise<void> { return this.git.close(); }

  /** The Basic token git sends: redacted with the Secret's values by the shared sink path. */
  derivedSecrets(credentials: Readonly<Record<string, string>>): string[] {
    return credentials.token ? [basic(GITLAB_TOKEN_USERNAME, credentials.token).slice('Basic '.length)] : [];
  }

  /** Settings, token and API client around `fn` (errors are redacted by the shared sink path, run.ts). */
  private async guarded<T>(ctx: SinkContext<GitLabSinkSpec>, fn: (s: Settings, api: GitLabApi) => Promise<T>, inv: InventoryIdentity = PROBE_INVENTORY): Promise<T> {
    const token = ctx.credentials.token ?? '';
    const s = settingsOf(ctx.spec, inv);
    if (!token) throw new SinkConfigError('spec.secretRef', 'key token is required: a personal, project or group access token with scopes api and write_repository');
    const api = new GitLabApi(s.root, token, ctx.guard ?? defaultEndpointGuard(), ctx.caPem, this.opts.requestTimeoutMs ?? 30_000, ctx.signal);
    try {
      return await fn(s, api);
    } finally {
      api.close();
    }
  }
}

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** What the merge request says about the snapshot on its branch. */
function descriptionOf(s: Settings, inv: InventoryIdentity, plan: ExportPlan, reply: ExportReply): string {
  return [
    `Snapshot of KollectInventory \`${inv.namespace}/${inv.name}\` (cluster \`${inv.cluster}\`) under \`${s.base}/\`, written by Kollect.`,
    '',
    `- snapshot: lineage \`${plan.lineage}\`, version ${plan.version}, ${plan.rowCount} rows`,
    `- last export: ${plan.mode}, ${reply.upserts} files added or changed, ${reply.deletes} removed (${reply.detail})`,
    '',
    `Kollect pushes every export of this inventory to \`${s.branch}\` and keeps this one merge request open for it; changes made on the branch by hand are overwritten by the next full reconcile.`,
  ].join('\n');
}

/**
 * Keeps exactly one open merge request from the inventory's branch (docs/sinks/gitlab.md):
 * finds the open one by source branch and updates what differs, or creates it (a 409 on create
 * means one appeared meanwhile: found and updated). An export that pushed nothing opens none when
 * the branch's tip is already covered by a merge request, open, merged or closed by a human.
 */
async function upsertMergeRequest(api: GitLabApi, project: ProjectInfo, s: Settings, target: string, input: ExportInput, w: GitWritten, ctx: SinkContext<GitLabSinkSpec>): Promise<MergeRequest | undefined> {
  if (!w.tip) return undefined; // the branch does not exist: nothing to propose
  const route = `/projects/${project.id}/merge_requests`;
  const openOne = async () => (await api.list<MergeRequest>(route, { state: 'opened', source_branch: s.branch }))[0];
  const want = {
    title: s.title, target_branch: target, remove_source_branch: s.removeSourceBranch,
    ...(w.pushed ? { description: descriptionOf(s, input.inventory, input.plan, w.reply) } : {}),
  };
  let mr = await openOne();
  if (!mr && !w.pushed) {
    const [last] = (await api.call<MergeRequest[]>('GET', `${route}?${new URLSearchParams({ state: 'all', source_branch: s.branch, order_by: 'created_at', sort: 'desc', per_page: '1' }).toString()}`)).body;
    if (last?.sha === w.tip) return last;
  }
  if (!mr) {
    try {
      mr = (await api.call<MergeRequest>('POST', route, { source_branch: s.branch, description: descriptionOf(s, input.inventory, input.plan, w.reply), ...want })).body;
      ctx.log('sink.gitlab.mergeRequest', { iid: mr.iid, action: 'created', source: s.branch, target });
    } catch (err) {
      if (!(err instanceof ApiStatus && err.status === 409)) throw err;
      mr = await openOne();
      if (!mr) throw err;
    }
  }
  const current = mr;
  const changed = Object.fromEntries(Object.entries(want).filter(([k, v]) => {
    const have = k === 'remove_source_branch' ? current.force_remove_source_branch === true : (current as unknown as Record<string, unknown>)[k];
    return have !== v;
  }));
  if (Object.keys(changed).length) {
    mr = (await api.call<MergeRequest>('PUT', `${route}/${mr.iid}`, changed)).body;
    ctx.log('sink.gitlab.mergeRequest', { iid: mr.iid, action: 'updated', fields: Object.keys(changed) });
  }
  if (s.autoMerge && mr.state === 'opened' && (w.pushed || !mr.merge_when_pipeline_succeeds)) mr = await autoMerge(api, route, mr, w.tip, s, ctx);
  return mr;
}

/**
 * Asks GitLab to merge when the pipeline succeeds (doc/api/merge_requests.md, "Merge a merge
 * request": `auto_merge` from GitLab 17.11, `merge_when_pipeline_succeeds` before it; both are
 * sent, each version ignores the one it does not know). `sha` pins the merge to what this export
 * pushed. A refusal (405 cannot merge, 409 moved, 422) leaves the merge request open for a human:
 * logged, not an export failure.
 */
async function autoMerge(api: GitLabApi, route: string, mr: MergeRequest, sha: string, s: Settings, ctx: SinkContext<GitLabSinkSpec>): Promise<MergeRequest> {
  try {
    const merged = (await api.call<MergeRequest>('PUT', `${route}/${mr.iid}/merge`, {
      auto_merge: true, merge_when_pipeline_succeeds: true, sha, should_remove_source_branch: s.removeSourceBranch,
    })).body;
    ctx.log('sink.gitlab.mergeRequest', { iid: mr.iid, action: merged.state === 'merged' ? 'merged' : 'auto-merge set' });
    return merged;
  } catch (err) {
    if (!(err instanceof ApiStatus)) throw err;
    ctx.log('sink.gitlab.mergeRequest', { iid: mr.iid, action: 'auto-merge refused', status: err.status, message: err.apiMessage });
    return mr;
  }
}

export const gitlabBackend = new GitLabBackend();

export const gitlabSink: SinkDescriptor<GitLabSinkSpec> = {
  type: 'gitlab', kind: 'KollectSnapshotSink', backend: gitlabBackend, formats: ['yaml', 'json'],
  locate: (spec, inv) => {
    const s = settingsOf(spec, inv);
    const root = s.root;
    const target = s.targetBranch ?? '(default branch)';
    return {
      endpoint: /^\d+$/.test(s.project) ? `${root} (project ${s.project})` : `${root}/${s.project}`,
      location: s.mode === 'direct' ? `${target}:${s.base}/` : `${s.branch} → ${target}:${s.base}/`,
    };
  },
  render: (row, _spec, format) => serialize(rowDocument(row), format === 'json' ? 'json' : 'yaml'),
  sample: 'sink-gitlab.yaml', docs: 'gitlab.md',
};
