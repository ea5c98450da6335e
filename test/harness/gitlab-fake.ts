// A fake of GitLab over HTTPS: the REST API v4 (projects, branches, merge requests) and Git over
// HTTP at <project path>.git, over the harness's bare repos. Branch data is read from the real
// repositories; merge requests live in memory (they survive stop/start because the server object
// does). Status codes and bodies follow GitLab's Grape API as its documentation describes it
// (gitlab-org/gitlab, doc/api/rest/index.md, doc/api/merge_requests.md, doc/api/projects.md);
// test/smoke/gitlab.test.ts checks the answers against those descriptions.
//
// Who may do what (doc/api/rest/index.md, "Authentication" and "Status codes"):
// - the per-run token (PRIVATE-TOKEN, Bearer, private_token) is a member of every project;
// - the stranger token is a valid user who is a member of none: project routes answer
//   404 Project Not Found, as GitLab does for a project the user cannot see;
// - no token: the projects are private, so a GET of one answers 404 Project Not Found (the
//   endpoint takes anonymous requests, but shows only public projects) and a write answers 401;
// - a token GitLab does not know answers 401 {"message":"401 Unauthorized"} on every route.
// Git over HTTP takes Basic auth with the token as password (any username, e.g. `oauth2`) and
// forwards to the git service; a missing or wrong one gets 401 and `WWW-Authenticate: Basic`.
import { execFile } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, type WriteStream } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import path from 'node:path';

export interface GitLabFakeOptions {
  reposDir: string;
  /** The git service the repositories are served from; git requests are forwarded to it with its credentials. */
  git: { baseUrl: string; ca: Buffer; username: string; password: string };
  token: string;
  /** A valid token of a user who is a member of no project. */
  strangerToken: string;
  /** Private HOME for git (its .gitconfig sets safe.directory); scratch objects go under it too. */
  home: string;
  /** Origin this server is reachable at: web_url fields, http_url_to_repo, Link headers. */
  webUrl: string;
  tls: { cert: Buffer; key: Buffer };
  log: WriteStream;
}

type Params = Record<string, unknown>;
class ApiError extends Error {
  constructor(readonly status: number, readonly body: unknown) { super(JSON.stringify(body)); }
}
const notFound = (what: string) => new ApiError(404, { message: `404 ${what}` });
const unauthorized = () => new ApiError(401, { message: '401 Unauthorized' });
/** One API request as the routes see it. */
interface Req { res: http.ServerResponse; url: URL; caller: Caller }
const missing = (names: string[]) => new ApiError(400, { error: names.map((n) => `${n} is missing`).join(', ') });

interface Project { id: number; path: string; dir: string; createdAt: string }
interface MergeRequest {
  id: number; iid: number; projectId: number; title: string; description: string | null;
  state: 'opened' | 'closed' | 'merged'; source: string; target: string; removeSource: boolean | null; squash: boolean;
  sha: string; targetSha: string; createdAt: string; updatedAt: string; closedAt: string | null; mergedAt: string | null;
  mergeCommitSha: string | null;
}
/** Who a request comes from (see the header). */
type Caller = 'member' | 'stranger' | 'anonymous';

function gitIn(home: string, dir: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('git', ['--git-dir', dir, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: home, ...extraEnv }, maxBuffer: 64 << 20 },
      (err, stdout) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 128) : 0, out: stdout }));
  });
}

const bool = (v: unknown) => v === true || v === 'true' || v === '1' || v === 1;
const str = (v: unknown): string | undefined => (v === undefined || v === null ? undefined
  : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
const now = () => new Date().toISOString();
const isDraft = (title: string) => /^\s*(\[draft\]|\(draft\)|draft:|draft\s+-|\[wip\]|wip:)/i.test(title);

const FIELDS = ['refname:strip=2', 'objectname', 'parent', 'authorname', 'authoremail', 'authordate:iso-strict',
  'committername', 'committeremail', 'committerdate:iso-strict', 'contents:subject', 'contents'];
const FORMAT = `${FIELDS.map((f) => `%(${f})`).join('%00')}%1e`;

export function createGitLabFake(o: GitLabFakeOptions): https.Server {
  const projects = new Map<string, Project>();
  const byId = new Map<number, Project>();
  const mrs: MergeRequest[] = [];
  let nextMrId = 1;
  const git = (dir: string, args: string[], env?: Record<string, string>) => gitIn(o.home, dir, args, env);
  // merge-tree writes trees; send them to a scratch store so reads never add objects to the real repo.
  const scratch = (dir: string) => ({ GIT_OBJECT_DIRECTORY: path.join(o.home, 'scratch-objects'), GIT_ALTERNATE_OBJECT_DIRECTORIES: path.join(dir, 'objects') });
  const author = { id: 1, username: 'kollect-bot', name: 'Kollect Bot', state: 'active', locked: false, avatar_url: null, web_url: `${o.webUrl}/kollect-bot` };
  const stranger = { id: 2, username: 'stranger', name: 'Stranger', state: 'active', locked: false, avatar_url: null, web_url: `${o.webUrl}/stranger` };

  const register = (p: string): Project => {
    let proj = projects.get(p);
    if (!proj) {
      proj = { id: projects.size + 1, path: p, dir: path.join(o.reposDir, `${p}.git`), createdAt: now() };
      projects.set(p, proj);
      byId.set(proj.id, proj);
    }
    return proj;
  };
  // Numeric ids are handed out in first-seen order; a scan makes repos created on disk addressable.
  const scan = (dir = o.reposDir, prefix = '', depth = 0): void => {
    if (depth > 4 || !existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory()) continue;
      if (e.name.endsWith('.git')) register(`${prefix}${e.name.slice(0, -4)}`);
      else scan(path.join(dir, e.name), `${prefix}${e.name}/`, depth + 1);
    }
  };
  const project = (id: string): Project => {
    if (/^\d+$/.test(id)) {
      if (!byId.has(Number(id))) scan();
      const p = byId.get(Number(id));
      if (p) return p;
    } else if (!id.split('/').some((s) => s === '' || s === '.' || s === '..') && existsSync(path.join(o.reposDir, `${id}.git`, 'HEAD'))) {
      return register(id);
    }
    throw notFound('Project Not Found');
  };

  interface Commit { id: string; parents: string[]; authorName: string; authorEmail: string; authored: string; committerName: string; committerEmail: string; committed: string; title: string; message: string }
  const refs = async (p: Project, pattern = 'refs/heads'): Promise<Map<string, Commit>> => {
    const { out } = await git(p.dir, ['for-each-ref', `--format=${FORMAT}`, pattern]);
    const m = new Map<string, Commit>();
    for (const rec of out.split('\x1e')) {
      const f = rec.replace(/^\n/, '').split('\0');
      if (f.length < FIELDS.length) continue;
      const email = (s = '') => s.replace(/^<|>$/g, '');
      m.set(f[0]!, { id: f[1]!, parents: f[2] ? f[2].split(' ') : [], authorName: f[3]!, authorEmail: email(f[4]), authored: f[5]!,
        committerName: f[6]!, committerEmail: email(f[7]), committed: f[8]!, title: f[9]!, message: f[10]! });
    }
    return m;
  };
  const branchSha = async (p: Project, b: string) => (await refs(p, `refs/heads/${b}`)).get(b)?.id;
  const defaultBranch = async (p: Project) => (await git(p.dir, ['symbolic-ref', '--short', 'HEAD'])).out.trim() || 'main';

  const commitJson = (p: Project, c: Commit) => ({
    id: c.id, short_id: c.id.slice(0, 8), created_at: c.committed, parent_ids: c.parents, title: c.title, message: c.message,
    author_name: c.authorName, author_email: c.authorEmail, authored_date: c.authored,
    committer_name: c.committerName, committer_email: c.committerEmail, committed_date: c.committed,
    trailers: {}, extended_trailers: {}, web_url: `${o.webUrl}/${p.path}/-/commit/${c.id}`,
  });
  const branches = async (p: Project) => {
    const [all, def] = [await refs(p), await defaultBranch(p)];
    const merged = all.has(def) ? new Set((await git(p.dir, ['for-each-ref', '--format=%(refname:strip=2)', `--merged=refs/heads/${def}`, 'refs/heads'])).out.split('\n')) : new Set<string>();
    return [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, c]) => ({
      name, commit: commitJson(p, c), merged: name !== def && merged.has(name), protected: name === def,
      developers_can_push: false, developers_can_merge: false, can_push: true, default: name === def,
      web_url: `${o.webUrl}/${p.path}/-/tree/${name}`,
    }));
  };
  const projectJson = async (p: Project) => {
    const slash = p.path.lastIndexOf('/');
    const ns = slash < 0 ? { id: 1, name: 'kollect-bot', path: 'kollect-bot', kind: 'user', full_path: 'kollect-bot' }
      : { id: 1000 + p.id, name: p.path.slice(0, slash), path: p.path.slice(0, slash), kind: 'group', full_path: p.path.slice(0, slash) };
    const name = p.path.slice(slash + 1);
    const empty = (await git(p.dir, ['for-each-ref', '--count=1', 'refs/heads'])).out.trim() === '';
    return {
      id: p.id, description: null, name, name_with_namespace: p.path.split('/').join(' / '), path: name, path_with_namespace: p.path,
      created_at: p.createdAt, default_branch: await defaultBranch(p), tag_list: [], topics: [], ssh_url_to_repo: null,
      http_url_to_repo: `${o.webUrl}/${p.path}.git`, web_url: `${o.webUrl}/${p.path}`, readme_url: null, avatar_url: null,
      forks_count: 0, star_count: 0, last_activity_at: now(), namespace: { ...ns, parent_id: null, avatar_url: null, web_url: `${o.webUrl}/${ns.full_path}` },
      visibility: 'private', empty_repo: empty, archived: false, merge_requests_enabled: true, issues_enabled: true,
      merge_method: 'merge', remove_source_branch_after_merge: true, only_allow_merge_if_pipeline_succeeds: false,
    };
  };

  // GitLab marks an MR merged when its source commits reach the target by a plain push; mirror that.
  const refresh = async (p: Project, mr: MergeRequest) => {
    if (mr.state !== 'opened') return;
    const [src, tgt] = [await branchSha(p, mr.source), await branchSha(p, mr.target)];
    if (src) mr.sha = src;
    if (tgt && tgt !== mr.targetSha && (await git(p.dir, ['merge-base', '--is-ancestor', mr.sha, tgt])).code === 0) {
      mr.state = 'merged'; mr.mergedAt = mr.updatedAt = now();
    }
  };
  const mrJson = async (p: Project, mr: MergeRequest, detail: boolean) => {
    await refresh(p, mr);
    const tgt = await branchSha(p, mr.target);
    const clean = tgt ? (await git(p.dir, ['merge-tree', '--write-tree', '--no-messages', tgt, mr.sha], scratch(p.dir))).code === 0 : false;
    const base: Params = {
      id: mr.id, iid: mr.iid, project_id: p.id, title: mr.title, description: mr.description, state: mr.state,
      created_at: mr.createdAt, updated_at: mr.updatedAt, merged_by: mr.mergedAt ? author : null, merge_user: mr.mergedAt ? author : null,
      merged_at: mr.mergedAt, closed_by: mr.state === 'closed' ? author : null, closed_at: mr.closedAt,
      target_branch: mr.target, source_branch: mr.source, user_notes_count: 0, upvotes: 0, downvotes: 0, author,
      assignees: [], assignee: null, reviewers: [], source_project_id: p.id, target_project_id: p.id, labels: [],
      draft: isDraft(mr.title), work_in_progress: isDraft(mr.title), milestone: null, merge_when_pipeline_succeeds: false,
      merge_status: clean ? 'can_be_merged' : 'cannot_be_merged',
      detailed_merge_status: mr.state !== 'opened' ? 'not_open' : isDraft(mr.title) ? 'draft_status' : clean ? 'mergeable' : 'conflict',
      sha: mr.sha, merge_commit_sha: mr.mergeCommitSha, squash_commit_sha: null, discussion_locked: null,
      should_remove_source_branch: null, force_remove_source_branch: mr.removeSource, prepared_at: mr.createdAt,
      reference: `!${mr.iid}`, references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${p.path}!${mr.iid}` },
      web_url: `${o.webUrl}/${p.path}/-/merge_requests/${mr.iid}`,
      time_stats: { time_estimate: 0, total_time_spent: 0, human_time_estimate: null, human_total_time_spent: null },
      squash: mr.squash, squash_on_merge: mr.squash, task_completion_status: { count: 0, completed_count: 0 },
      has_conflicts: !clean, blocking_discussions_resolved: true, approvals_before_merge: null,
    };
    if (!detail) return base;
    const mb = tgt ? (await git(p.dir, ['merge-base', tgt, mr.sha])).out.trim() : '';
    const changed = mb ? (await git(p.dir, ['diff', '--name-only', mb, mr.sha])).out.split('\n').filter(Boolean).length : 0;
    return {
      ...base, subscribed: true, changes_count: String(changed), latest_build_started_at: null, latest_build_finished_at: null,
      first_deployed_to_production_at: null, pipeline: null, head_pipeline: null,
      diff_refs: { base_sha: mb || null, head_sha: mr.sha, start_sha: tgt ?? null }, merge_error: null, first_contribution: false, user: { can_merge: true },
    };
  };

  const conflict = (p: Project, mr: Pick<MergeRequest, 'source' | 'target'>, self?: MergeRequest) => {
    const other = mrs.find((m) => m !== self && m.projectId === p.id && m.state === 'opened' && m.source === mr.source && m.target === mr.target);
    if (other) throw new ApiError(409, { message: [`Another open merge request already exists for this source branch: !${other.iid}`] });
  };
  const checkBranches = async (p: Project, pairs: [string, string][]) => {
    const errs: Record<string, string[]> = {};
    for (const [field, b] of pairs) if (!(await branchSha(p, b))) errs[field] = ['does not exist'];
    if (Object.keys(errs).length) throw new ApiError(400, { message: errs });
  };
  const findMr = (p: Project, iid: string) => {
    if (!/^\d+$/.test(iid)) throw new ApiError(400, { error: 'merge_request_iid is invalid' });
    const mr = mrs.find((m) => m.projectId === p.id && m.iid === Number(iid));
    if (!mr) throw notFound('Not found');
    return mr;
  };

  // Merge a merge request (doc/api/merge_requests.md, "Merge a merge request"): 405 when it cannot
  // merge (not open, draft, conflicts), 409 when `sha` is not the source branch's HEAD. This fake
  // runs no pipelines, so `auto_merge` / `merge_when_pipeline_succeeds` find no active pipeline
  // to wait for and the merge happens at once, as GitLab does for a mergeable request in that case.
  // A merge commit on the target (merge method `merge`), then the source branch is removed when
  // `should_remove_source_branch` or the request's `force_remove_source_branch` says so.
  const merge = async (p: Project, mr: MergeRequest, q: Params) => {
    await refresh(p, mr);
    const tgt = await branchSha(p, mr.target);
    if (mr.state !== 'opened' || isDraft(mr.title) || !tgt) throw new ApiError(405, { message: '405 Method Not Allowed' });
    if (q.sha !== undefined && str(q.sha) !== mr.sha) throw new ApiError(409, { message: `SHA does not match HEAD of source branch: ${mr.sha}` });
    const tree = await git(p.dir, ['merge-tree', '--write-tree', '--no-messages', tgt, mr.sha]);
    if (tree.code !== 0) throw new ApiError(405, { message: '405 Method Not Allowed' });
    const who = { GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: 'kollect-bot@example.invalid', GIT_COMMITTER_NAME: author.name, GIT_COMMITTER_EMAIL: 'kollect-bot@example.invalid' };
    const message = str(q.merge_commit_message) ?? `Merge branch '${mr.source}' into '${mr.target}'\n\n${mr.title}\n\nSee merge request ${p.path}!${mr.iid}`;
    const commit = (await git(p.dir, ['commit-tree', tree.out.trim().split('\n')[0]!, '-p', tgt, '-p', mr.sha, '-m', message], who)).out.trim();
    if (!commit || (await git(p.dir, ['update-ref', `refs/heads/${mr.target}`, commit, tgt])).code !== 0) throw new ApiError(422, { message: 'Branch cannot be merged' });
    const remove = q.should_remove_source_branch !== undefined ? bool(q.should_remove_source_branch) : mr.removeSource === true;
    if (remove) await git(p.dir, ['update-ref', '-d', `refs/heads/${mr.source}`]);
    mr.state = 'merged'; mr.mergedAt = mr.updatedAt = now(); mr.mergeCommitSha = commit; mr.targetSha = commit;
    return mrJson(p, mr, true);
  };

  // Offset pagination (doc/api/rest/index.md, "Offset-based pagination"): page (default 1),
  // per_page (default 20, max 100); x-page, x-per-page, x-total, x-total-pages, x-next-page and
  // x-prev-page headers, and a Link header with rel prev, next, first and last.
  const page = <T>(items: T[], q: Params, req: Req): T[] => {
    const per = Math.min(Math.max(Number(q.per_page) || 20, 1), 100);
    const n = Math.max(Number(q.page) || 1, 1);
    const pages = Math.max(Math.ceil(items.length / per), 1);
    const res = req.res;
    res.setHeader('X-Page', String(n)); res.setHeader('X-Per-Page', String(per));
    res.setHeader('X-Total', String(items.length)); res.setHeader('X-Total-Pages', String(pages));
    res.setHeader('X-Next-Page', n < pages ? String(n + 1) : ''); res.setHeader('X-Prev-Page', n > 1 ? String(n - 1) : '');
    const link = (to: number, rel: string) => {
      const u = new URL(req.url.pathname + req.url.search, o.webUrl);
      u.searchParams.set('page', String(to)); u.searchParams.set('per_page', String(per));
      return `<${u.toString()}>; rel="${rel}"`;
    };
    const links = [n > 1 && link(n - 1, 'prev'), n < pages && link(n + 1, 'next'), link(1, 'first'), link(pages, 'last')];
    res.setHeader('Link', links.filter(Boolean).join(', '));
    return items.slice((n - 1) * per, n * per);
  };

  async function route(method: string, seg: string[], q: Params, req: Req): Promise<[number, unknown]> {
    if (seg[0] === 'version' && seg.length === 1) {
      if (req.caller === 'anonymous') throw unauthorized();
      return [200, { version: '17.0.0-kollect-fake', revision: 'fake' }];
    }
    if (seg[0] === 'user' && seg.length === 1) {
      if (req.caller === 'anonymous') throw unauthorized();
      return [200, req.caller === 'member' ? author : stranger];
    }
    if (seg[0] !== 'projects' || !seg[1]) throw new ApiError(404, { error: '404 Not Found' });
    // Private projects: invisible to a stranger and to anonymous reads; an anonymous write is 401.
    if (req.caller === 'anonymous' && method !== 'GET') throw unauthorized();
    if (req.caller !== 'member') throw notFound('Project Not Found');
    const p = project(seg[1]);
    const [what, sub, ...rest] = seg.slice(2);
    const allow = (...m: string[]) => { if (!m.includes(method)) throw new ApiError(405, { error: '405 Not Allowed' }); };

    if (what === undefined) { allow('GET'); return [200, await projectJson(p)]; }
    if (what === 'repository' && sub === 'branches') {
      if (rest.length) {
        allow('GET');
        const b = (await branches(p)).find((x) => x.name === rest.join('/'));
        if (!b) throw notFound('Branch Not Found');
        return [200, b];
      }
      allow('GET', 'POST');
      if (method === 'GET') {
        const s = str(q.search);
        const match = (n: string) => !s || (s.startsWith('^') ? n.startsWith(s.slice(1)) : s.endsWith('$') ? n.endsWith(s.slice(0, -1)) : n.includes(s));
        return [200, page((await branches(p)).filter((b) => match(b.name)), q, req)];
      }
      const [branch, ref] = [str(q.branch), str(q.ref)];
      const miss = [!branch && 'branch', !ref && 'ref'].filter((x): x is string => !!x);
      if (miss.length || !branch || !ref) throw missing(miss);
      if ((await git(p.dir, ['check-ref-format', `refs/heads/${branch}`])).code !== 0) throw new ApiError(400, { message: 'Branch name is invalid' });
      if (await branchSha(p, branch)) throw new ApiError(400, { message: 'Branch already exists' });
      const sha = (await git(p.dir, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).out.trim();
      if (!sha) throw new ApiError(400, { message: `Invalid reference name: ${ref}` });
      if ((await git(p.dir, ['update-ref', `refs/heads/${branch}`, sha, ''])).code !== 0) throw new ApiError(400, { message: 'Branch already exists' });
      return [201, (await branches(p)).find((b) => b.name === branch)];
    }
    if (what !== 'merge_requests') throw new ApiError(404, { error: '404 Not Found' });

    if (sub === undefined && method === 'GET') {
      const state = str(q.state) ?? 'all';
      if (!['opened', 'closed', 'locked', 'merged', 'all'].includes(state)) throw new ApiError(400, { error: 'state does not have a valid value' });
      const iids = ([] as unknown[]).concat(q['iids[]'] ?? q.iids ?? []).map(Number);
      const mine = mrs.filter((m) => m.projectId === p.id);
      for (const m of mine) await refresh(p, m);
      const key = str(q.order_by) === 'updated_at' ? 'updatedAt' : 'createdAt';
      const dir = str(q.sort) === 'asc' ? 1 : -1;
      const list = mine.filter((m) => (state === 'all' || m.state === state)
        && (!q.source_branch || m.source === str(q.source_branch)) && (!q.target_branch || m.target === str(q.target_branch))
        && (!iids.length || iids.includes(m.iid))
        && (!q.search || `${m.title}\n${m.description ?? ''}`.toLowerCase().includes(str(q.search)!.toLowerCase())))
        .sort((a, b) => (a[key] === b[key] ? a.id - b.id : a[key] < b[key] ? -1 : 1) * dir);
      return [200, await Promise.all(page(list, q, req).map((m) => mrJson(p, m, false)))];
    }
    if (sub === undefined && method === 'POST') {
      const [title, source, target] = [str(q.title), str(q.source_branch), str(q.target_branch)];
      const miss = [title === undefined && 'title', !source && 'source_branch', !target && 'target_branch'].filter((x): x is string => !!x);
      if (miss.length || title === undefined || !source || !target) throw missing(miss);
      if (!title.trim()) throw new ApiError(400, { message: { title: ["can't be blank"] } });
      if (source === target) throw new ApiError(422, { message: ["You can't use same project/branch for source and target"] });
      await checkBranches(p, [['source_branch', source], ['target_branch', target]]);
      const [sha, targetSha] = [(await branchSha(p, source))!, (await branchSha(p, target))!];
      conflict(p, { source, target }); // checked after the awaits so concurrent creates cannot both pass
      const t = now();
      const mr: MergeRequest = {
        id: nextMrId++, iid: mrs.filter((m) => m.projectId === p.id).length + 1, projectId: p.id, title, description: str(q.description) ?? null,
        state: 'opened', source, target, removeSource: q.remove_source_branch === undefined ? null : bool(q.remove_source_branch),
        squash: bool(q.squash), sha, targetSha, createdAt: t, updatedAt: t, closedAt: null, mergedAt: null, mergeCommitSha: null,
      };
      mrs.push(mr);
      return [201, await mrJson(p, mr, true)];
    }
    if (sub === undefined) throw new ApiError(405, { error: '405 Not Allowed' });
    if (rest.length === 1 && rest[0] === 'merge') { allow('PUT'); return [200, await merge(p, findMr(p, sub), q)]; }
    if (rest.length) throw new ApiError(404, { error: '404 Not Found' });
    const mr = findMr(p, sub);
    allow('GET', 'PUT');
    if (method === 'GET') return [200, await mrJson(p, mr, true)];

    const updatable = ['title', 'description', 'state_event', 'target_branch', 'remove_source_branch', 'squash', 'assignee_id', 'assignee_ids',
      'reviewer_ids', 'labels', 'add_labels', 'remove_labels', 'milestone_id', 'discussion_locked', 'allow_collaboration'];
    if (!updatable.some((k) => q[k] !== undefined)) throw new ApiError(400, { error: `${updatable.join(', ')} are missing, at least one parameter must be provided` });
    const ev = str(q.state_event);
    if (ev !== undefined && ev !== 'close' && ev !== 'reopen') throw new ApiError(400, { error: 'state_event does not have a valid value' });
    if (q.title !== undefined && !str(q.title)?.trim()) throw new ApiError(400, { error: 'title is empty' });
    await refresh(p, mr);
    const target = str(q.target_branch) ?? mr.target;
    if (target !== mr.target) await checkBranches(p, [['target_branch', target]]);
    const state = ev === 'close' && mr.state === 'opened' ? 'closed' : ev === 'reopen' && mr.state === 'closed' ? 'opened' : mr.state;
    if (state === 'opened') conflict(p, { source: mr.source, target }, mr);
    if (q.title !== undefined) mr.title = str(q.title)!;
    if (q.description !== undefined) mr.description = str(q.description) ?? null;
    if (q.remove_source_branch !== undefined) mr.removeSource = bool(q.remove_source_branch);
    if (q.squash !== undefined) mr.squash = bool(q.squash);
    if (target !== mr.target) { mr.target = target; mr.targetSha = (await branchSha(p, target)) ?? ''; }
    if (state !== mr.state) {
      mr.closedAt = state === 'closed' ? now() : null;
      if (state === 'opened') mr.targetSha = (await branchSha(p, mr.target)) ?? '';
      mr.state = state;
    }
    mr.updatedAt = now();
    return [200, await mrJson(p, mr, true)];
  }

  const digest = (t: string) => createHash('sha256').update(t).digest();
  const [memberHash, strangerHash] = [digest(o.token), digest(o.strangerToken)];
  /** The caller a token names; undefined for a token GitLab does not know (401). */
  const callerOf = (given: string | undefined): Caller | undefined => {
    if (given === undefined) return 'anonymous';
    const d = digest(given);
    return timingSafeEqual(d, memberHash) ? 'member' : timingSafeEqual(d, strangerHash) ? 'stranger' : undefined;
  };
  const apiCaller = (req: http.IncomingMessage, url: URL) => {
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    return callerOf(str(req.headers['private-token']) ?? bearer ?? url.searchParams.get('private_token') ?? url.searchParams.get('access_token') ?? undefined);
  };
  /** Git over HTTP: Basic auth whose password is a token; only a member may read or push. */
  const gitCaller = (req: http.IncomingMessage): Caller | undefined => {
    const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!m?.[1]) return 'anonymous';
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    return i > 0 ? callerOf(decoded.slice(i + 1)) : undefined;
  };
  const gitBase = new URL(o.git.baseUrl);
  const gitAuth = `Basic ${Buffer.from(`${o.git.username}:${o.git.password}`).toString('base64')}`;

  /** Forwards a git smart-HTTP request for `<project>.git/<rest>` to the git service. */
  const forwardGit = (req: http.IncomingMessage, res: http.ServerResponse, repo: string, rest: string, query: string, t0: number) => {
    const done = (status: number) => o.log.write(`${new Date().toISOString()} ${req.method} /${repo}.git/${rest} ${status} ${Date.now() - t0}ms\n`);
    const caller = gitCaller(req);
    const exists = !repo.split('/').some((s) => s === '' || s === '.' || s === '..') && existsSync(path.join(o.reposDir, `${repo}.git`, 'HEAD'));
    if (caller !== 'member' || !exists) {
      req.resume();
      // GitLab asks for credentials for a private project it cannot show, whoever asks.
      const status = caller === 'member' ? 404 : 401;
      res.writeHead(status, { 'Content-Type': 'text/plain', ...(status === 401 ? { 'WWW-Authenticate': 'Basic realm="GitLab"' } : {}) })
        .end(status === 401 ? 'HTTP Basic: Access denied\n' : 'The project you were looking for could not be found.\n');
      done(status);
      return;
    }
    const headers: http.OutgoingHttpHeaders = { authorization: gitAuth };
    for (const h of ['content-type', 'content-length', 'content-encoding', 'accept', 'accept-encoding', 'git-protocol', 'transfer-encoding']) {
      if (req.headers[h] !== undefined) headers[h] = req.headers[h];
    }
    const upstream = https.request({
      host: gitBase.hostname, port: gitBase.port, method: req.method, ca: o.git.ca, headers,
      path: `${gitBase.pathname}/${repo.split('/').map(encodeURIComponent).join('/')}.git/${rest}${query}`,
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on('end', () => done(up.statusCode ?? 502));
    });
    upstream.on('error', (err) => { if (!res.headersSent) res.writeHead(502).end(`upstream: ${err.message}\n`); done(502); });
    req.pipe(upstream);
  };

  return https.createServer({ cert: o.tls.cert, key: o.tls.key }, (req, res) => {
    const t0 = Date.now();
    const url = new URL(req.url ?? '/', 'http://fake');
    const rawPath = (req.url ?? '/').split('?')[0]!;
    const gitRoute = /^\/(.+)\.git\/(info\/refs|git-upload-pack|git-receive-pack)$/.exec(rawPath);
    if (gitRoute) {
      let repo: string;
      try { repo = decodeURIComponent(gitRoute[1]!); } catch { res.writeHead(400).end(); return; }
      forwardGit(req, res, repo, gitRoute[2]!, url.search, t0);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => { size += c.length; if (size <= 1 << 20) chunks.push(c); });
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
        o.log.write(`${new Date().toISOString()} ${req.method} ${rawPath} ${status} ${Date.now() - t0}ms\n`);
      };
      const work = async (): Promise<[number, unknown]> => {
        if (!rawPath.startsWith('/api/v4/')) throw new ApiError(404, { error: '404 Not Found' });
        const caller = apiCaller(req, url);
        if (!caller) throw unauthorized();
        if (size > 1 << 20) throw new ApiError(413, { message: '413 Request Entity Too Large' });
        let seg: string[];
        try { seg = rawPath.slice('/api/v4/'.length).split('/').filter((s, i, a) => s !== '' || i < a.length - 1).map(decodeURIComponent); }
        catch { throw new ApiError(400, { error: 'invalid URL encoding' }); }
        // Query parameters and body parameters merge, as in Grape; the body wins.
        const q: Params = {};
        for (const [k, v] of url.searchParams) q[k] = k.endsWith('[]') ? ([] as unknown[]).concat(q[k] ?? [], v) : v;
        const body = Buffer.concat(chunks).toString('utf8');
        const ct = req.headers['content-type'] ?? '';
        if (body.trim()) {
          if (ct.includes('json')) {
            try { Object.assign(q, JSON.parse(body) as Params); } catch { throw new ApiError(400, { error: 'The provided content-type \'application/json\' is invalid' }); }
          } else for (const [k, v] of new URLSearchParams(body)) q[k] = k.endsWith('[]') ? ([] as unknown[]).concat(q[k] ?? [], v) : v;
        }
        return route(req.method ?? 'GET', seg, q, { res, url, caller });
      };
      work().then(([s, b]) => send(s, b), (err: unknown) => {
        if (err instanceof ApiError) send(err.status, err.body);
        else { o.log.write(`  error: ${(err as Error).stack ?? String(err)}\n`); send(500, { message: '500 Internal Server Error' }); }
      });
    });
  });
}
