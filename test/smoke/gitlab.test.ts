// Smoke test of the fake GitLab API: merge requests over a real bare repo served by the git service.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { endpoints, service } from '../harness/endpoints.js';
import { bareGit, createBareRepo, gitCli, gitClient } from '../support/git.js';
import { gitlabApi } from '../support/gitlab.js';

interface Mr { iid: number; state: string; web_url: string }
interface Branch { name: string; commit: { id: string } }

const api = <T = Record<string, unknown>>(method: string, route: string, opts: Parameters<typeof gitlabApi>[2] = {}) => gitlabApi<T>(method, route, opts);

/** A repo `smoke-<id>/app` with a commit on main and one more on feature/inventory. */
async function repoWithBranch() {
  const repo = await createBareRepo(`smoke-${randomUUID().slice(0, 8)}/app`);
  const work = path.join(mkdtempSync(path.join(endpoints().runDir, 'work-')), 'clone');
  await gitClient().clone(repo.url, work);
  const g = gitClient(work);
  writeFileSync(path.join(work, 'README.md'), '# app\n');
  await g.add('.').then(() => g.commit('initial')).then(() => g.push('origin', 'main'));
  await g.checkoutLocalBranch('feature/inventory');
  writeFileSync(path.join(work, 'inventory.yaml'), 'kind: ConfigMap\n');
  await g.add('.').then(() => g.commit('export inventory')).then(() => g.push('origin', 'feature/inventory'));
  const sha = (await g.revparse(['HEAD'])).trim();
  return { repo, id: encodeURIComponent(repo.name), sha };
}

describe('gitlab fake', () => {
  it('serves the project and its branches from the bare repo', async () => {
    const { repo, id, sha } = await repoWithBranch();
    const proj = await api<{ id: number }>('GET', `/projects/${id}`);
    expect(proj.status).toBe(200);
    expect(proj.body).toMatchObject({ path_with_namespace: repo.name, default_branch: 'main', http_url_to_repo: `${service('gitlab').url}/${repo.name}.git` });
    expect((await api('GET', `/projects/${proj.body.id}`)).body.path_with_namespace).toBe(repo.name); // numeric id

    const list = await api<Branch[]>('GET', `/projects/${id}/repository/branches`);
    expect(list.body.map((b) => b.name)).toEqual(['feature/inventory', 'main']);
    const one = await api('GET', `/projects/${id}/repository/branches/${encodeURIComponent('feature/inventory')}`);
    expect(one.body).toMatchObject({ name: 'feature/inventory', merged: false, default: false, commit: { id: sha, title: 'export inventory' } });
    expect((await api('GET', `/projects/${id}/repository/branches/nope`)).status).toBe(404);

    const created = await api<Branch>('POST', `/projects/${id}/repository/branches`, { form: { branch: 'release', ref: 'main' } });
    expect(created.status).toBe(201);
    expect(created.body.commit.id).toBe((await bareGit(repo.dir, ['rev-parse', 'main'])).trim());
    expect((await bareGit(repo.dir, ['rev-parse', 'refs/heads/release'])).trim()).toBe(created.body.commit.id);
  });

  it('creates, lists and updates a merge request; 409 on a duplicate, 400 for a missing branch', async () => {
    const { id, sha } = await repoWithBranch();
    const mr = await api<Mr>('POST', `/projects/${id}/merge_requests`, {
      json: { source_branch: 'feature/inventory', target_branch: 'main', title: 'Inventory export', description: 'by kollect', remove_source_branch: true },
    });
    expect(mr.status).toBe(201);
    expect(mr.body).toMatchObject({
      iid: 1, state: 'opened', title: 'Inventory export', description: 'by kollect', source_branch: 'feature/inventory',
      target_branch: 'main', sha, force_remove_source_branch: true, merge_status: 'can_be_merged', changes_count: '1',
    });
    expect(mr.body.web_url).toMatch(/\/-\/merge_requests\/1$/);

    const dup = await api<{ message: string[] }>('POST', `/projects/${id}/merge_requests`, { form: { source_branch: 'feature/inventory', target_branch: 'main', title: 'again' } });
    expect(dup.status).toBe(409);
    expect(dup.body.message[0]).toMatch(/Another open merge request already exists for this source branch: !1/);
    const gone = await api('POST', `/projects/${id}/merge_requests`, { json: { source_branch: 'nope', target_branch: 'main', title: 'x' } });
    expect(gone).toMatchObject({ status: 400, body: { message: { source_branch: ['does not exist'] } } });

    const open = await api<Mr[]>('GET', `/projects/${id}/merge_requests?state=opened&source_branch=feature/inventory&target_branch=main`);
    expect(open.body.map((m) => m.iid)).toEqual([1]);
    expect(open.headers['x-total']).toBe('1');

    const upd = await api('PUT', `/projects/${id}/merge_requests/1`, { json: { title: 'Inventory export (v2)', description: 'updated' } });
    expect(upd.body).toMatchObject({ iid: 1, title: 'Inventory export (v2)', description: 'updated', state: 'opened' });
    const closed = await api<Mr>('PUT', `/projects/${id}/merge_requests/1`, { form: { state_event: 'close' } });
    expect(closed.body.state).toBe('closed');
    expect((await api('GET', `/projects/${id}/merge_requests?state=opened`)).body).toEqual([]);
    expect((await api('GET', `/projects/${id}/merge_requests/1`)).body).toMatchObject({ state: 'closed', diff_refs: { head_sha: sha } });
    expect((await api<Mr>('PUT', `/projects/${id}/merge_requests/1`, { json: { state_event: 'reopen' } })).body.state).toBe('opened');
    expect((await api('GET', `/projects/${id}/merge_requests/2`)).status).toBe(404);
  });

  it('answers a token it does not know with 401 everywhere, a project nobody may see with 404, an anonymous write with 401', async () => {
    const { id } = await repoWithBranch();
    const post = { json: { source_branch: 'feature/inventory', target_branch: 'main', title: 't' } };
    for (const method of ['GET', 'POST']) {
      expect(await api(method, `/projects/${id}/merge_requests`, { token: 'glpat-wrong', ...(method === 'POST' ? post : {}) }))
        .toMatchObject({ status: 401, body: { message: '401 Unauthorized' } });
    }
    expect(await api('GET', `/projects/${id}`, { token: null })).toMatchObject({ status: 404, body: { message: '404 Project Not Found' } });
    expect(await api('POST', `/projects/${id}/merge_requests`, { token: null, ...post })).toMatchObject({ status: 401, body: { message: '401 Unauthorized' } });
    const stranger = service('gitlab').strangerToken;
    expect(await api('GET', `/projects/${id}`, { token: stranger })).toMatchObject({ status: 404, body: { message: '404 Project Not Found' } });
    expect(await api('GET', '/user', { token: stranger })).toMatchObject({ status: 200, body: { username: 'stranger' } });
    const bearer = await api('GET', `/projects/${id}`, { token: null, headers: { authorization: `Bearer ${service('gitlab').token}` } });
    expect(bearer.status).toBe(200);
    expect((await api('GET', `/projects/${id}/merge_requests`)).body).toEqual([]); // the refused requests created nothing
  });

  it('serves git over HTTPS at <project>.git to the token (Basic, any username), 401 without it', async () => {
    const { repo, sha } = await repoWithBranch();
    const ep = service('gitlab');
    const clone = `${ep.url}/${repo.name}.git`;
    const env = (password: string) => ({ ca: false, auth: { username: 'oauth2', password } });
    const trust = ['-c', `http.sslCAInfo=${ep.caFile}`, '-c', `http.sslCAPath=${path.dirname(ep.caFile)}`];
    const lsRemote = (password: string) => gitCli([...trust, 'ls-remote', clone, 'refs/heads/feature/inventory'], { env: env(password) });
    expect(await lsRemote(ep.token)).toContain(sha);
    await expect(lsRemote('glpat-wrong')).rejects.toThrow(/could not read Username|Authentication failed|401/);
    await expect(lsRemote(ep.strangerToken)).rejects.toThrow(/could not read Username|Authentication failed|401/);
  });
});

// What GitLab's documentation publishes about the answers the sink relies on (gitlab-org/gitlab:
// doc/api/rest/index.md "Authentication", "Status codes", "Offset-based pagination";
// doc/api/projects.md "Get a single project"; doc/api/merge_requests.md "Create MR", "Update MR",
// "Merge a merge request"), checked against the fake.
const DOCUMENTED = {
  unauthorized: { message: '401 Unauthorized' },
  projectFields: ['id', 'path_with_namespace', 'default_branch', 'http_url_to_repo', 'web_url', 'empty_repo', 'namespace'],
  mergeRequestFields: ['id', 'iid', 'project_id', 'title', 'description', 'state', 'target_branch', 'source_branch', 'sha', 'merge_commit_sha',
    'merge_when_pipeline_succeeds', 'detailed_merge_status', 'force_remove_source_branch', 'references', 'web_url', 'draft'],
  pagination: { defaultPerPage: 20, maxPerPage: 100, headers: ['x-page', 'x-per-page', 'x-total', 'x-total-pages', 'x-next-page', 'x-prev-page', 'link'] },
  merge: { shaMismatch: [409, /^SHA does not match HEAD of source branch/], cannotMerge: [405, '405 Method Not Allowed'] },
} as const;

/** rel → page of a Link header. */
const rels = (link: unknown): Record<string, string | null> => Object.fromEntries(String(link).split(', ').map((l): [string, string | null] => {
  const [, url, rel] = /^<([^>]+)>; rel="(\w+)"$/.exec(l) ?? [];
  return [rel ?? l, url ? new URL(url).searchParams.get('page') : null];
}));

describe('gitlab fake against the published API description', () => {
  it('project and merge request fields, 201 on create, 200 on update, 401 for an unknown token', async () => {
    const { id } = await repoWithBranch();
    const proj = await api('GET', `/projects/${id}`);
    expect(proj.status).toBe(200);
    for (const f of DOCUMENTED.projectFields) expect(proj.body, f).toHaveProperty(f);
    const created = await api('POST', `/projects/${id}/merge_requests`, { json: { source_branch: 'feature/inventory', target_branch: 'main', title: 'doc check' } });
    expect(created.status).toBe(201);
    for (const f of DOCUMENTED.mergeRequestFields) expect(created.body, f).toHaveProperty(f);
    expect((await api('PUT', `/projects/${id}/merge_requests/${String(created.body.iid)}`, { json: { title: 'doc check 2' } })).status).toBe(200);
    expect(await api('GET', `/projects/${id}/merge_requests`, { token: 'glpat-unknown' })).toMatchObject({ status: 401, body: DOCUMENTED.unauthorized });
    expect((await api('POST', `/projects/${id}/merge_requests`, { json: { source_branch: 'feature/inventory' } })).status, 'missing required attributes').toBe(400);
  });

  it('offset pagination: page and per_page (default 20, max 100), the x-* headers and a Link with prev, next, first, last', async () => {
    const { id } = await repoWithBranch();
    for (const b of ['p1', 'p2', 'p3']) {
      await api('POST', `/projects/${id}/repository/branches`, { form: { branch: b, ref: 'feature/inventory' } });
      expect((await api('POST', `/projects/${id}/merge_requests`, { json: { source_branch: b, target_branch: 'main', title: b } })).status).toBe(201);
    }
    const first = await api<Mr[]>('GET', `/projects/${id}/merge_requests?per_page=2`);
    for (const h of DOCUMENTED.pagination.headers) expect(first.headers, h).toHaveProperty(h);
    expect(first.body).toHaveLength(2);
    expect(first.headers).toMatchObject({ 'x-page': '1', 'x-per-page': '2', 'x-total': '3', 'x-total-pages': '2', 'x-next-page': '2', 'x-prev-page': '' });
    expect(rels(first.headers.link)).toEqual({ next: '2', first: '1', last: '2' });
    const second = await api<Mr[]>('GET', `/projects/${id}/merge_requests?per_page=2&page=2`);
    expect(second.body).toHaveLength(1);
    expect(rels(second.headers.link)).toEqual({ prev: '1', first: '1', last: '2' });
    expect((await api('GET', `/projects/${id}/merge_requests`)).headers['x-per-page']).toBe(String(DOCUMENTED.pagination.defaultPerPage));
    expect((await api('GET', `/projects/${id}/merge_requests?per_page=500`)).headers['x-per-page']).toBe(String(DOCUMENTED.pagination.maxPerPage));
  });

  it('merge: 409 when sha is not the source HEAD, 200 and merged otherwise, 405 once it cannot merge', async () => {
    const { repo, id, sha } = await repoWithBranch();
    const mr = await api<Mr>('POST', `/projects/${id}/merge_requests`, { json: { source_branch: 'feature/inventory', target_branch: 'main', title: 'merge me', remove_source_branch: true } });
    const [shaStatus, shaMessage] = DOCUMENTED.merge.shaMismatch;
    const moved = await api<{ message: string }>('PUT', `/projects/${id}/merge_requests/${mr.body.iid}/merge`, { json: { sha: '0'.repeat(40) } });
    expect(moved.status).toBe(shaStatus);
    expect(moved.body.message).toMatch(shaMessage);
    const merged = await api<Mr & { merge_commit_sha: string }>('PUT', `/projects/${id}/merge_requests/${mr.body.iid}/merge`, { json: { sha, auto_merge: true } });
    expect(merged).toMatchObject({ status: 200, body: { state: 'merged' } });
    expect((await bareGit(repo.dir, ['rev-parse', 'main'])).trim()).toBe(merged.body.merge_commit_sha);
    expect((await bareGit(repo.dir, ['for-each-ref', 'refs/heads/feature/inventory'])).trim(), 'source branch removed').toBe('');
    const [status, message] = DOCUMENTED.merge.cannotMerge;
    expect(await api('PUT', `/projects/${id}/merge_requests/${mr.body.iid}/merge`, { json: {} })).toMatchObject({ status, body: { message } });
  });
});
