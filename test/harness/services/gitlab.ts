// A fake GitLab (REST API v4 and Git over HTTP) over the git service's bare repos, served
// in-process over HTTPS on its own loopback port, with a serving certificate from a CA made per
// run and a per-run PRIVATE-TOKEN (plus a valid token that is a member of no project).
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceDef, Running } from '../service.js';
import { issueServerCert, makeCa } from '../pki.js';
import { freePort, httpsGet, waitFor } from '../util.js';
import { createGitLabFake } from '../gitlab-fake.js';
import { execFileP, restartable } from './git.js';

const newToken = (secret: (label: string) => string): string => `glpat-${secret('gl')}`;

export const gitlab: ServiceDef<'gitlab'> = {
  name: 'gitlab',
  dependsOn: ['git'],
  async start(ctx): Promise<Running<'gitlab'>> {
    const gitEp = ctx.endpoints.git;
    if (!gitEp) throw new Error('gitlab needs the git service (its repositories back the fake)');
    const dir = path.join(ctx.runDir, 'gitlab');
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, 'scratch-objects'), { recursive: true });
    mkdirSync(path.join(dir, 'tls'), { recursive: true });
    // Reads repos the tests (maybe another user) created; no caller ~/.gitconfig leaks in.
    writeFileSync(path.join(home, '.gitconfig'), '[safe]\n\tdirectory = *\n');
    // CA alone in its directory, so git clients can point http.sslCAPath at it and trust nothing else.
    const pki = await makeCa(path.join(dir, 'ca'), 'kollect-gitlab-ca');
    const [crt, key] = await issueServerCert({ ...pki, dir: path.join(dir, 'tls') }, 'gitlab');
    const logFile = path.join(dir, 'gitlab.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const endpoint = { url, apiUrl: `${url}/api/v4`, token: newToken((l) => ctx.secret(l)), strangerToken: newToken((l) => ctx.secret(l)), caFile: pki.caCert };
    const server = createGitLabFake({
      reposDir: gitEp.reposDir, token: endpoint.token, strangerToken: endpoint.strangerToken, home, webUrl: url, log,
      git: { baseUrl: gitEp.baseUrl, ca: readFileSync(gitEp.caFile), username: gitEp.username, password: gitEp.password },
      tls: { cert: readFileSync(crt), key: readFileSync(key) },
    });
    const version = `gitlab-fake REST v4 (${(await execFileP('git', ['--version'])).stdout.trim()})`;
    const ready = () => waitFor('gitlab', async () => (await httpsGet(`${endpoint.apiUrl}/version`, pki.caCert, { 'PRIVATE-TOKEN': endpoint.token })).status === 200, 10_000);
    const listener = await restartable(server, port);
    await ready();
    return {
      endpoint, version, logFile,
      stop: () => listener.stop(),
      async start() { await listener.start(); await ready(); },
    };
  },
};
