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
