// An S3 server: versitygw (Apache-2.0) over a posix directory, path-style, static root keys.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor, tcpOpen } from '../util.js';
import { tools, versions } from '../tools.js';

export const s3: ServiceDef<'s3'> = {
  name: 's3',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 's3');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const port = await freePort();
    const logFile = path.join(dir, 'versitygw.log');
    const endpoint = {
      endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'kollect',
      secretAccessKey: ctx.secret('s3'), forcePathStyle: true as const,
    };
    const r = singleProcess<'s3'>({
      name: 's3', version: `versitygw ${versions.VERSITYGW_VERSION}`, logFile, endpoint,
      launch: () => new ManagedProcess({
        cmd: tools.versitygw(), logFile,
        env: { ROOT_ACCESS_KEY: endpoint.accessKeyId, ROOT_SECRET_KEY: endpoint.secretAccessKey },
        args: ['--port', `127.0.0.1:${port}`, '--region', endpoint.region, 'posix', path.join(dir, 'data')],
      }),
      ready: (p) => waitFor('s3', () => tcpOpen(port), 30_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
