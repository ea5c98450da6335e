// Debian's PostgreSQL, initdb'd into the run directory (as the postgres user when we are root).
import { mkdirSync, chownSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor, run } from '../util.js';
import { tools } from '../tools.js';

export const postgres: ServiceDef<'postgres'> = {
  name: 'postgres',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'postgres');
    const data = path.join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    const asRoot = process.getuid?.() === 0;
    const user = asRoot ? 'postgres' : undefined;
    if (asRoot) {
      chmodSync(ctx.runDir, 0o755); // mkdtemp makes it 0700; the postgres user must traverse it
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    const port = await freePort();
    const password = ctx.secret('pg');
    await run(tools.postgresBin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { user });
    const logFile = path.join(dir, 'postgres.log');
    const endpoint = { host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres', url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres` };
    const version = (await run(tools.postgresBin('postgres'), ['--version'])).trim();
    const r = singleProcess<'postgres'>({
      name: 'postgres', version, logFile, endpoint,
      launch: () => new ManagedProcess({
        cmd: tools.postgresBin('postgres'), logFile, user,
        args: ['-D', data, '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off',
          '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
      }),
      ready: (p) => waitFor('postgres', async () => {
        const c = new pg.Client({ connectionString: endpoint.url });
        await c.connect();
        try { await c.query('select 1'); } finally { await c.end(); }
        return true;
      }, 30_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
