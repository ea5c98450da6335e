// The Postgres sink's credentials against a server that checks them: the harness server trusts
// every local connection, so this test adds a password rule (scram-sha-256) for a role of its own
// to the server's pg_hba.conf and reloads it. Two findings of the security review, on the real
// server: the sink never falls back to the operator's own PG* environment when a Secret has no
// password, and its connection pool is keyed by the credentials, so a sink with a wrong password
// never rides on another sink's authenticated pool.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import type { VersionedRow } from '../../api/rows.js';
import type { PostgresSinkSpec } from '../../api/types.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { PostgresBackend, postgresSink } from '../../activities/sinks/postgres.js';
import type { SinkContext } from '../../activities/sinks/types.js';
import { endpoints, service } from '../harness/endpoints.js';
import { viaSharedPath } from '../support/sinks/shared-path.js';
import { exportInput } from '../support/export-input.js';

const id = randomBytes(3).toString('hex');
const role = `kt_auth_${id}`;
const password = `${endpoints().canary}pgauth${id}`;
const schema = `kt_auth_${id}`;
const inventory = { namespace: 'team-a', name: 'auth', cluster: 'c1' };
const sink = { kind: 'KollectDatabaseSink' as const, namespace: 'team-a', name: 'pg', type: 'postgres' };

let admin: pg.Client;
let hbaFile = '';
let hbaBefore = '';
const backend = viaSharedPath(postgresSink as SinkDescriptor<never>, new PostgresBackend());

function row(i: number): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i } as Record<string, unknown>, version: 1 };
  return { ...r, hash: createHash('sha256').update(JSON.stringify(r)).digest('hex') };
}
let version = 0;
const full = () => exportInput([row(1)], { sink, mode: 'full', version: ++version, inventory });
function ctx(credentials: Record<string, string>): SinkContext<PostgresSinkSpec> {
  const u = new URL(service('postgres').url);
  u.username = role;
  u.password = '';
  return { spec: { url: u.toString(), schema, sslMode: 'disable' }, credentials, log: () => undefined };
}
const failure = (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('the export was expected to fail'); }, (err: unknown) => err as Error);

beforeAll(async () => {
  admin = new pg.Client({ connectionString: service('postgres').url });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
  hbaFile = (await admin.query<{ hba_file: string }>('SHOW hba_file')).rows[0]!.hba_file;
  hbaBefore = readFileSync(hbaFile, 'utf8');
  // First match wins: this role must authenticate; everyone else keeps the harness's trust.
  writeFileSync(hbaFile, `host all ${role} 127.0.0.1/32 scram-sha-256\n${hbaBefore}`);
  await admin.query('SELECT pg_reload_conf()');
});

afterAll(async () => {
  await backend.close?.();
  if (hbaFile) { writeFileSync(hbaFile, hbaBefore); await admin.query('SELECT pg_reload_conf()'); }
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`DROP ROLE IF EXISTS ${role}`);
  await admin.end();
});

describe('postgres sink credentials on a server that checks them', () => {
  it('never uses the operator\'s PGPASSWORD when the Secret has no password', async () => {
    const saved = process.env.PGPASSWORD;
    process.env.PGPASSWORD = password; // the right password, but the operator's, not the sink's
    try {
      const err = await failure(backend.export(full(), ctx({})));
      expect(err.message).toMatch(/password authentication failed|password/i);
      expect(err.message).not.toContain(password);
    } finally {
      if (saved === undefined) delete process.env.PGPASSWORD; else process.env.PGPASSWORD = saved;
    }
  });

  it('keys its pool by the credentials: after a successful export, a wrong password is refused, not served from the pool', async () => {
    expect((await backend.export(full(), ctx({ password }))).outcome).toBe('applied');
    const err = await failure(backend.export(full(), ctx({ password: `${password}-wrong` })));
    expect(err.message).toMatch(/password authentication failed/);
    expect(err.message).not.toContain(password);
    // The right one still works, on its own pool.
    expect((await backend.export(full(), ctx({ password }))).outcome).toBe('applied');
  });
});
