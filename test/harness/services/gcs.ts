// A GCS emulator: fsouza/fake-gcs-server, filesystem backend so a restart keeps objects.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor } from '../util.js';
import { tools, versions } from '../tools.js';

export const gcs: ServiceDef<'gcs'> = {
  name: 'gcs',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'gcs');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    mkdirSync(path.join(dir, 'seed'), { recursive: true });
    const port = await freePort();
    const logFile = path.join(dir, 'fake-gcs-server.log');
    const endpoint = { apiEndpoint: `http://127.0.0.1:${port}`, projectId: 'kollect-test' };
    const r = singleProcess<'gcs'>({
      name: 'gcs', version: `fake-gcs-server ${versions.FAKE_GCS_VERSION}`, logFile, endpoint,
      launch: () => new ManagedProcess({
        cmd: tools.fakeGcs(), logFile,
        args: ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'filesystem',
          '-filesystem-root', path.join(dir, 'data'), '-data', path.join(dir, 'seed'),
          '-public-host', `127.0.0.1:${port}`, '-external-url', endpoint.apiEndpoint, '-log-level', 'warn'],
      }),
      ready: (p) => waitFor('gcs', async () => (await fetch(`${endpoint.apiEndpoint}/storage/v1/b`)).ok, 30_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
