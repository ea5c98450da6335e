// The postgres sink against the harness's real PostgreSQL.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { PostgresSinkSpec } from '../../api/types.js';
import { MIGRATIONS_TABLE, PostgresBackend } from '../../activities/sinks/postgres.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { SinkConfigError, type ExportInput, type SinkContext } from '../../activities/sinks/types.js';
import { service } from '../harness/endpoints.js';

const schema = `kt_${randomBytes(4).toString('hex')}`;
const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, labels: { app: `web-${i}` } } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

let round = 0;
function input(rows: VersionedRow[], inv = inventory): ExportInput {
  round++;
  return { inventory: inv, sink: { kind: 'KollectDatabaseSink', namespace: 'team-a', name: 'pg', type: 'postgres' }, exportId: `exp-${round}`, version: round, rows, changes: { upserts: rows, deletes: [], sinceVersion: 0 } };
}

/** The harness URL without its password (the sink takes it from the Secret). */
const sinkUrl = () => { const u = new URL(service('postgres').url); u.password = ''; return u.toString(); };
function ctx(spec: Partial<PostgresSinkSpec> = {}, over: Partial<SinkContext<PostgresSinkSpec>> = {}): SinkContext<PostgresSinkSpec> {
  return { spec: { url: sinkUrl(), schema, ...spec }, credentials: { password: service('postgres').password }, log: (event, fields) => logs.push({ event, fields }), ...over };
}

let admin: pg.Client;
const backends: PostgresBackend[] = [];
function backend(opts: ConstructorParameters<typeof PostgresBackend>[0] = {}): PostgresBackend {
  const b = new PostgresBackend(opts);
  backends.push(b);
  return b;
}

interface Stored { target_name: string; source_uid: string; cluster: string; name: string; attributes: Record<string, unknown>; content_hash: string; snapshot_version: string; xmin: string }
async function stored(table: string, inv = inventory): Promise<Stored[]> {
  const r = await admin.query<Stored>(`SELECT target_name, source_uid, cluster, name, attributes, content_hash, snapshot_version, xmin::text FROM ${schema}.${table}
    WHERE inventory_namespace = $1 AND inventory_name = $2 ORDER BY cluster, target_name, source_uid`, [inv.namespace, inv.name]);
  return r.rows;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  admin = new pg.Client({ connectionString: service('postgres').url, connectionTimeoutMillis: 5_000 });
  await admin.connect();
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await admin.end();
});

/** The error a promise rejects with; fails the test when it resolves instead. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

describe('postgres sink', () => {
  it('creates schema and table, then no-ops, updates exactly the changed row, and deletes what left the snapshot', async () => {
    const b = backend();
    const c = ctx({ table: 'inv_rows' });
    const rows = [row(1), row(2), row(3)];

    const first = await b.export(input(rows), c);
    expect(first).toEqual({ rowsExported: 3, upserts: 3, deletes: 0, detail: 'upserted 3, deleted 0' });
    const cols = await admin.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'inv_rows' ORDER BY ordinal_position`, [schema]);
    expect(cols.rows.map((r) => r.column_name)).toEqual(['inventory_namespace', 'inventory_name', 'target_name', 'source_uid', 'cluster', 'api_version', 'kind', 'namespace', 'name', 'attributes', 'content_hash', 'snapshot_version', 'exported_at']);
    const pk = await admin.query<{ cols: string }>(`SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) AS cols FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary`, [`${schema}.inv_rows`]);
    expect(pk.rows[0]?.cols).toBe('inventory_namespace,inventory_name,target_name,source_uid');
    const migrations = await admin.query(`SELECT table_name, version FROM ${schema}.${MIGRATIONS_TABLE}`);
    expect(migrations.rows).toEqual([{ table_name: 'inv_rows', version: 1 }]);
    const before = await stored('inv_rows');
    expect(before.map((r) => [r.source_uid, r.name, r.attributes])).toEqual([['uid-1', 'web-1', { replicas: 1, labels: { app: 'web-1' } }], ['uid-2', 'web-2', { replicas: 2, labels: { app: 'web-2' } }], ['uid-3', 'web-3', { replicas: 3, labels: { app: 'web-3' } }]]);
    // JSONB is queryable server-side
    expect((await admin.query(`SELECT name FROM ${schema}.inv_rows WHERE attributes @> '{"labels":{"app":"web-2"}}'`)).rows).toEqual([{ name: 'web-2' }]);

    const again = await b.export(input(rows), c);
    expect(again).toEqual({ rowsExported: 3, upserts: 0, deletes: 0, detail: 'upserted 0, deleted 0' });
    expect(await stored('inv_rows'), 'no row rewritten (same xmin)').toEqual(before);

    const changed = row(2, { attributes: { replicas: 7 }, version: 5 });
    const upd = await b.export(input([rows[0]!, changed, rows[2]!]), c);
    expect(upd.detail).toBe('upserted 1, deleted 0');
    const afterUpd = await stored('inv_rows');
    expect(afterUpd[0]).toEqual(before[0]);
    expect(afterUpd[2]).toEqual(before[2]);
    expect(afterUpd[1]).toMatchObject({ attributes: { replicas: 7 }, content_hash: changed.hash, snapshot_version: '5' });
    expect(afterUpd[1]!.xmin).not.toBe(before[1]!.xmin);

    const del = await b.export(input([rows[0]!, changed]), c);
    expect(del).toEqual({ rowsExported: 2, upserts: 0, deletes: 1, detail: 'upserted 0, deleted 1' });
    expect((await stored('inv_rows')).map((r) => r.source_uid)).toEqual(['uid-1', 'uid-2']);

    const empty = await b.export(input([]), c);
    expect(empty.deletes).toBe(2);
    expect(await stored('inv_rows')).toEqual([]);
  });

  it('reconciles only its own (cluster, inventory): other clusters and inventories in the shared table stay', async () => {
    const b = backend();
    const c = ctx({ table: 'fleet_rows' });
    const otherInv = { ...inventory, name: 'other' };
    const c2 = { ...inventory, cluster: 'c2' };
    await b.export(input([row(1), row(2)]), c);
    await b.export(input([row(1, { uid: 'o-1' })], otherInv), c);
    await b.export(input([row(1, { cluster: 'c2', uid: 'c2-1' })], c2), c);

    const r = await b.export(input([row(2)]), c);
    expect(r.deletes).toBe(1);
    expect((await stored('fleet_rows')).map((x) => `${x.cluster}/${x.source_uid}`)).toEqual(['c1/uid-2', 'c2/c2-1']);
    expect((await stored('fleet_rows', otherInv)).map((x) => x.source_uid)).toEqual(['o-1']);
  });

  it('migrates once when several workers start together (advisory lock)', async () => {
    const table = 'race_rows';
    const results = await Promise.all([1, 2, 3, 4].map((i) => backend().export(input([row(i)], { ...inventory, name: `inv-${i}` }), ctx({ table }))));
    expect(results.every((r) => r.upserts === 1)).toBe(true);
    const m = await admin.query(`SELECT version FROM ${schema}.${MIGRATIONS_TABLE} WHERE table_name = $1`, [table]);
    expect(m.rows).toEqual([{ version: 1 }]);
  });

  it('fails fast and retryably when the server is unreachable, without the password in the error', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const port = await closedPort();
    logs.length = 0;
    const t0 = Date.now();
    const err = await failure(backend().export(input([row(1)]), ctx({ url: `postgres://kollect@127.0.0.1:${port}/inventory` }, { credentials: { password } })));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err).not.toBeInstanceOf(SinkConfigError);
    expect(err.message).toMatch(/ECONNREFUSED|connect/i);
    for (const text of [err.message, err.stack ?? '', JSON.stringify(logs)]) expect(text).not.toContain(password);
  });

  it('redacts a credential the server echoes back, and rejects a password in the URL as a config error', async () => {
    // The harness's server trusts loopback, so a wrong password is not refused; a value the server
    // quotes back (here a database name equal to the password) exercises the redaction instead.
    const password = `pw${randomBytes(8).toString('hex')}`;
    const u = new URL(sinkUrl());
    u.pathname = `/${password}`;
    logs.length = 0;
    const err = await failure(backend().export(input([row(1)]), ctx({ url: u.toString() }, { credentials: { password } })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/database "\*\*\*" does not exist/);
    expect((err as SinkExportError).code).toBe('3D000');
    for (const text of [err.message, err.stack ?? '', JSON.stringify(logs)]) expect(text).not.toContain(password);

    const withPw = new URL(sinkUrl());
    withPw.password = password;
    const cfg = await failure(backend().export(input([row(1)]), ctx({ url: withPw.toString() })));
    expect(cfg).toBeInstanceOf(SinkConfigError);
    expect(cfg.message).not.toContain(password);
    const bad = await failure(backend().export(input([row(1)]), ctx({ table: 'rows; DROP TABLE x' })));
    expect(bad).toBeInstanceOf(SinkConfigError);
    expect((bad as SinkConfigError).field).toBe('spec.postgres.table');
  });

  it('exports 10k rows in batches (timing printed)', async () => {
    const b = backend();
    const c = ctx({ table: 'bulk_rows' });
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}`, attributes: { replicas: i, image: `nginx:1.${i}`, labels: { app: 'web', tier: 'front' }, ports: [80, 443] } }));
    await b.export(input([row(0)]), c); // migrate first so timings are of the export alone
    let t = Date.now();
    const first = await b.export(input(rows), c);
    const firstMs = Date.now() - t;
    t = Date.now();
    const noop = await b.export(input(rows), c);
    const noopMs = Date.now() - t;
    rows[42] = row(42, { attributes: { replicas: 0 }, version: 2 });
    const shrunk = rows.slice(0, 9_000);
    t = Date.now();
    const mixed = await b.export(input(shrunk), c);
    const mixedMs = Date.now() - t;
    console.log(`[postgres sink] 10k rows: initial ${firstMs} ms (${first.detail}), unchanged ${noopMs} ms (${noop.detail}), 1 changed + 1k deleted ${mixedMs} ms (${mixed.detail})`);
    expect(first.upserts).toBe(10_000);
    expect(noop.upserts).toBe(0);
    expect(mixed).toMatchObject({ upserts: 1, deletes: 1_000 });
    expect(Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.bulk_rows`)).rows[0]?.n)).toBe(9_000);
  }, 120_000);
});
