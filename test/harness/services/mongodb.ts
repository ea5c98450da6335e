// A MongoDB-wire server: FerretDB v1 with its SQLite backend (no registry ships a real mongod).
// FerretDB v1 has no transactions and no change streams; the MongoDB sink must not need them.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor } from '../util.js';
import { tools, versions } from '../tools.js';

export const mongodb: ServiceDef<'mongodb'> = {
  name: 'mongodb',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'mongodb');
    mkdirSync(path.join(dir, 'sqlite'), { recursive: true });
    const port = await freePort();
    const logFile = path.join(dir, 'ferretdb.log');
    const endpoint = { url: `mongodb://127.0.0.1:${port}/` };
    const r = singleProcess<'mongodb'>({
      name: 'mongodb', version: `FerretDB ${versions.FERRETDB_VERSION} (SQLite backend)`, logFile, endpoint,
      launch: () => new ManagedProcess({
        cmd: tools.ferretdb(), logFile,
        args: ['--handler=sqlite', `--sqlite-url=file:${path.join(dir, 'sqlite')}/`, `--listen-addr=127.0.0.1:${port}`,
          `--state-dir=${dir}`, '--telemetry=disable', '--debug-addr=-', '--log-level=warn'],
      }),
      ready: (p) => waitFor('mongodb', async () => {
        const c = new MongoClient(endpoint.url, { serverSelectionTimeoutMS: 1000 });
        try { await c.db('admin').command({ ping: 1 }); } finally { await c.close(); }
        return true;
      }, 30_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
