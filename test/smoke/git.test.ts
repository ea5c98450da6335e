// Smoke test of the git service: HTTPS with a per-run CA, Basic auth, push into a bare repo.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { endpoints, service } from '../harness/endpoints.js';
import { bareGit, basicAuth, createBareRepo, gitClient } from '../support/git.js';

const workDir = () => mkdtempSync(path.join(endpoints().runDir, 'work-'));

/** GET with the per-run CA trusted; resolves status and headers. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca: readFileSync(service('git').caFile), headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    }).on('error', reject);
  });
}

describe('git service', () => {
  it('clones over HTTPS trusting only the per-run CA, and a pushed commit lands in the bare repo', async () => {
    const repo = await createBareRepo();
    const work = path.join(workDir(), 'clone');
    await gitClient().clone(repo.url, work);
    writeFileSync(path.join(work, 'inventory.yaml'), 'kind: Deployment\nname: web\n');
    const g = gitClient(work);
    await g.add('inventory.yaml');
    await g.commit('export inventory');
    await g.push('origin', 'main');
    const head = (await g.revparse(['HEAD'])).trim();
    expect((await bareGit(repo.dir, ['log', '--format=%H %s', 'main'])).trim()).toBe(`${head} export inventory`);
    expect((await bareGit(repo.dir, ['show', 'main:inventory.yaml']))).toContain('name: web');
  });

  it('fails with a certificate error when the client does not trust the per-run CA', async () => {
    const repo = await createBareRepo();
    const err = await gitClient(undefined, { ca: false }).clone(repo.url, path.join(workDir(), 'clone')).then(() => undefined, (e: unknown) => e as Error);
    expect(err, 'clone without the per-run CA must fail').toBeInstanceOf(Error);
    expect(err?.message).toMatch(/certificate/i);
  });

  it('answers 401 with a Basic challenge for a wrong or missing password, and keeps the password out of its log', async () => {
    const repo = await createBareRepo();
    const infoRefs = `${repo.url}/info/refs?service=git-upload-pack`;
    const { username, password } = service('git');
    for (const headers of [{ authorization: basicAuth(username, `${password}x`) }, {} as Record<string, string>]) {
      const res = await get(infoRefs, headers);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Basic realm="kollect-git"');
    }
    expect((await get(infoRefs, { authorization: basicAuth() })).status).toBe(200);

    const wrong = gitClient(undefined, { auth: { username, password: 'not-the-password' } });
    await expect(wrong.clone(repo.url, path.join(workDir(), 'clone'))).rejects.toThrow(/401|Authentication failed|could not read Username/i);

    const log = readFileSync(path.join(endpoints().runDir, 'git', 'git.log'), 'utf8');
    expect(log).toMatch(/GET \/git\/\S+\/info\/refs 401/);
    expect(log).not.toContain(password);
  });
});
