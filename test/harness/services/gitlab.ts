// A fake GitLab REST API v4 (merge requests and branches) over the git service's bare repos,
// served in-process on its own loopback port with a per-run PRIVATE-TOKEN.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ServiceDef, Running } from '../service.js';
import { freePort, waitFor } from '../util.js';
import { createGitLabFake } from '../gitlab-fake.js';
import { execFileP, restartable } from './git.js';

export const gitlab: ServiceDef<'gitlab'> = {
  name: 'gitlab',
  dependsOn: ['git'],
  async start(ctx): Promise<Running<'gitlab'>> {
    const gitEp = ctx.endpoints.git;
    if (!gitEp) throw new Error('gitlab needs the git service (its repositories back the fake)');
    const dir = path.join(ctx.runDir, 'gitlab');
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, 'scratch-objects'), { recursive: true });
    // Reads repos the tests (maybe another user) created; no caller ~/.gitconfig leaks in.
    writeFileSync(path.join(home, '.gitconfig'), '[safe]\n\tdirectory = *\n');
    const logFile = path.join(dir, 'gitlab.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const port = await freePort();
    const webUrl = `http://127.0.0.1:${port}`;
    const endpoint = { apiUrl: `${webUrl}/api/v4`, token: `glpat-${randomBytes(15).toString('base64url')}` };
    const server = createGitLabFake({ reposDir: gitEp.reposDir, gitBaseUrl: gitEp.baseUrl, token: endpoint.token, home, webUrl, log });
    const version = `gitlab-fake REST v4 (${(await execFileP('git', ['--version'])).stdout.trim()})`;
    const ready = () => waitFor('gitlab', async () => (await fetch(`${endpoint.apiUrl}/version`, { headers: { 'PRIVATE-TOKEN': endpoint.token } })).ok, 10_000);
    const listener = await restartable(server, port);
    await ready();
    return {
      endpoint, version, logFile,
      stop: () => listener.stop(),
      async start() { await listener.start(); await ready(); },
    };
  },
};
