// The postgres sink against the harness's real PostgreSQL.
import { EndpointGuard, EndpointRefusedError } from '../../activities/sinks/endpoints.js';
import { viaSharedPath } from '../support/sinks/shared-path.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { PostgresSinkSpec } from '../../api/types.js';
import { MIGRATIONS_TABLE, PostgresBackend, postgresSink, WATERMARKS_TABLE } from '../../activities/sinks/postgres.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { DeleteGuardError, SinkConfigError, type InventoryIdentity, type SinkContext } from '../../activities/sinks/types.js';
import { service } from '../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../support/export-input.js';

const schema = `kt_${randomBytes(4).toString('hex')}`;
const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, labels: { app: `web-${i}` } } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

type Opts = Partial<Omit<ExportInputOptions, 'inventory'>> & { inventory?: InventoryIdentity };
const sink = { kind: 'KollectDatabaseSink' as const, namespace: 'team-a', name: 'pg', type: 'postgres' };
/** A full reconcile to exactly `rows`; its version defaults to a fresh, higher one each call. */
let round = 0;
function full(rows: VersionedRow[], opts: Opts = {}): TestExportInput {
  return exportInput(rows, { sink, ...opts, mode: 'full', version: opts.version ?? 1_000 + ++round, inventory: opts.inventory ?? inventory });
}
/** The changes after `fromVersion` up to `version`. */
function delta(rows: VersionedRow[], opts: Opts & { fromVersion: number; version: number }): TestExportInput {
  return exportInput(rows, { sink, ...opts, mode: 'delta', inventory: opts.inventory ?? inventory });
}

/** The harness URL without its password (the sink takes it from the Secret). */
const sinkUrl = () => { const u = new URL(service('postgres').url); u.password = ''; return u.toString(); };
function ctx(spec: Partial<PostgresSinkSpec> = {}, over: Partial<SinkContext<PostgresSinkSpec>> = {}): SinkContext<PostgresSinkSpec> {
  return { spec: { url: sinkUrl(), schema, sslMode: 'disable', ...spec }, credentials: { password: service('postgres').password }, log: (event, fields) => logs.push({ event, fields }), ...over };
}

let admin: pg.Client;
const backends: PostgresBackend[] = [];
function backend(opts: ConstructorParameters<typeof PostgresBackend>[0] = {}): PostgresBackend {
  const b = viaSharedPath(postgresSink as SinkDescriptor<never>, new PostgresBackend(opts));
  backends.push(b);
  return b;
}

interface Stored { target_name: string; source_uid: string; cluster: string; name: string; attributes: Record<string, unknown>; content_hash: string; snapshot_version: string; xmin: string }
async function stored(table: string, inv = inventory): Promise<Stored[]> {
  const r = await admin.query<Stored>(`SELECT target_name, source_uid, cluster, name, attributes, content_hash, snapshot_version, xmin::text FROM ${schema}.${table}
    WHERE inventory_namespace = $1 AND inventory_name = $2 ORDER BY cluster, target_name, source_uid`, [inv.namespace, inv.name]);
  return r.rows;
}

interface StoredWatermark { lineage: string; version: string; export_id: string; updated_at: Date }
async function watermark(table: string, inv = inventory): Promise<StoredWatermark | undefined> {
  const r = await admin.query<StoredWatermark>(`SELECT lineage, version::text, export_id, updated_at FROM ${schema}.${WATERMARKS_TABLE}
    WHERE table_name = $1 AND inventory_namespace = $2 AND inventory_name = $3 AND cluster = $4`, [table, inv.namespace, inv.name, inv.cluster]);
  return r.rows[0];
}
/** Rows and watermark of one table and inventory, to check an export changed nothing (xmin included). */
const snapshotOf = async (table: string, inv = inventory) => ({ rows: await stored(table, inv), watermark: await watermark(table, inv) });

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
  it('creates schema and tables, then re-applies as a no-op, updates exactly the changed row, and deletes what left the snapshot', async () => {
    const b = backend();
    const c = ctx({ table: 'inv_rows' });
    const rows = [row(1), row(2), row(3)];

    const first = await b.export(full(rows, { version: 3 }), c);
    expect(first).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 3, deletes: 0, detail: 'full: upserted 3, deleted 0' });
    const cols = await admin.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'inv_rows' ORDER BY ordinal_position`, [schema]);
    expect(cols.rows.map((r) => r.column_name)).toEqual(['inventory_namespace', 'inventory_name', 'target_name', 'source_uid', 'cluster', 'api_version', 'kind', 'namespace', 'name', 'attributes', 'content_hash', 'snapshot_version', 'exported_at']);
    const pk = await admin.query<{ cols: string }>(`SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey, a.attnum)) AS cols FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary`, [`${schema}.inv_rows`]);
    expect(pk.rows[0]?.cols).toBe('inventory_namespace,inventory_name,target_name,source_uid');
    const migrations = await admin.query(`SELECT table_name, version FROM ${schema}.${MIGRATIONS_TABLE} ORDER BY version`);
    expect(migrations.rows).toEqual([{ table_name: 'inv_rows', version: 1 }, { table_name: 'inv_rows', version: 2 }]);
    expect(await watermark('inv_rows')).toMatchObject({ lineage: 'lineage-a', version: '3', export_id: 'exp-lineage-a-full-3' });
    const before = await stored('inv_rows');
    expect(before.map((r) => [r.source_uid, r.name, r.attributes])).toEqual([['uid-1', 'web-1', { replicas: 1, labels: { app: 'web-1' } }], ['uid-2', 'web-2', { replicas: 2, labels: { app: 'web-2' } }], ['uid-3', 'web-3', { replicas: 3, labels: { app: 'web-3' } }]]);
    // JSONB is queryable server-side
    expect((await admin.query(`SELECT name FROM ${schema}.inv_rows WHERE attributes @> '{"labels":{"app":"web-2"}}'`)).rows).toEqual([{ name: 'web-2' }]);

    // the scheduled full reconcile of an unchanged snapshot: no body read, no row rewritten
    const sameInput = full(rows, { version: 3 });
    const again = await b.export(sameInput, c);
    expect(again).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 0, deletes: 0, detail: 'full: upserted 0, deleted 0' });
    expect(sameInput.reads.rows, 'bodies read for rows the sink already holds').toBe(0);
    expect(await stored('inv_rows'), 'no row rewritten (same xmin)').toEqual(before);

    const changed = row(2, { attributes: { replicas: 7 }, version: 5 });
    const updInput = full([rows[0]!, changed, rows[2]!], { version: 5 });
    const upd = await b.export(updInput, c);
    expect(upd.detail).toBe('full: upserted 1, deleted 0');
    expect(updInput.reads.rows).toBe(1);
    const afterUpd = await stored('inv_rows');
    expect(afterUpd[0]).toEqual(before[0]);
    expect(afterUpd[2]).toEqual(before[2]);
    expect(afterUpd[1]).toMatchObject({ attributes: { replicas: 7 }, content_hash: changed.hash, snapshot_version: '5' });
    expect(afterUpd[1]!.xmin).not.toBe(before[1]!.xmin);

    const del = await b.export(full([rows[0]!, changed], { version: 6 }), c);
    expect(del).toEqual({ outcome: 'applied', rowsExported: 2, upserts: 0, deletes: 1, detail: 'full: upserted 0, deleted 1' });
    expect((await stored('inv_rows')).map((r) => r.source_uid)).toEqual(['uid-1', 'uid-2']);

    const empty = await b.export(full([], { version: 7 }), c);
    expect(empty).toMatchObject({ outcome: 'applied', rowsExported: 0, deletes: 2 });
    expect(await stored('inv_rows')).toEqual([]);
    expect(await watermark('inv_rows')).toMatchObject({ lineage: 'lineage-a', version: '7' });
  });

  it('reconciles only its own (cluster, inventory): other clusters and inventories in the shared table stay', async () => {
    const b = backend();
    const c = ctx({ table: 'fleet_rows' });
    const otherInv = { ...inventory, name: 'other' };
    const c2 = { ...inventory, cluster: 'c2' };
    await b.export(full([row(1), row(2)]), c);
    await b.export(full([row(1, { uid: 'o-1' })], { inventory: otherInv }), c);
    await b.export(full([row(1, { cluster: 'c2', uid: 'c2-1' })], { inventory: c2 }), c);

    const r = await b.export(full([row(2)]), c);
    expect(r.deletes).toBe(1);
    expect((await stored('fleet_rows')).map((x) => `${x.cluster}/${x.source_uid}`)).toEqual(['c1/uid-2', 'c2/c2-1']);
    expect((await stored('fleet_rows', otherInv)).map((x) => x.source_uid)).toEqual(['o-1']);
    // one watermark per (table, inventory, cluster)
    const marks = await admin.query<{ inventory_name: string; cluster: string }>(`SELECT inventory_name, cluster FROM ${schema}.${WATERMARKS_TABLE} WHERE table_name = 'fleet_rows' ORDER BY 1, 2`);
    expect(marks.rows).toEqual([{ inventory_name: 'apps', cluster: 'c1' }, { inventory_name: 'apps', cluster: 'c2' }, { inventory_name: 'other', cluster: 'c1' }]);
  });

  it('migrates once when several workers start together (advisory lock)', async () => {
    const table = 'race_rows';
    const results = await Promise.all([1, 2, 3, 4].map((i) => backend().export(full([row(i)], { inventory: { ...inventory, name: `inv-${i}` } }), ctx({ table }))));
    expect(results.every((r) => r.outcome === 'applied' && r.upserts === 1)).toBe(true);
    const m = await admin.query(`SELECT version FROM ${schema}.${MIGRATIONS_TABLE} WHERE table_name = $1 ORDER BY version`, [table]);
    expect(m.rows).toEqual([{ version: 1 }, { version: 2 }]);
  });

  it('applies a delta after a full reconcile: only the changed rows are written, the watermark moves to its version', async () => {
    const b = backend();
    const table = 'delta_rows';
    const c = ctx({ table });
    const base = [row(1), row(2, { version: 2 }), row(3, { version: 3 }), row(4, { version: 3 }), row(5, { version: 3 })];
    await b.export(full(base, { version: 3 }), c);
    const before = await stored(table);
    expect(before).toHaveLength(5);

    const changed = row(2, { attributes: { replicas: 20 }, version: 4 });
    const added = row(6, { version: 5 });
    const gone = tombstone(base[3]!, 6);
    const d = delta([changed, added], { fromVersion: 3, version: 6, deletes: [gone], rowCount: 5 });
    const r = await b.export(d, c);
    expect(r).toEqual({ outcome: 'applied', rowsExported: 5, upserts: 2, deletes: 1, detail: 'delta: upserted 2, deleted 1' });
    expect(d.reads.rows).toBe(2);
    const after = await stored(table);
    expect(after.map((x) => x.source_uid)).toEqual(['uid-1', 'uid-2', 'uid-3', 'uid-5', 'uid-6']);
    const byUid = (rs: Stored[]) => new Map(rs.map((x) => [x.source_uid, x]));
    const [was, now] = [byUid(before), byUid(after)];
    for (const uid of ['uid-1', 'uid-3', 'uid-5']) expect(now.get(uid), `${uid} untouched`).toEqual(was.get(uid));
    expect(now.get('uid-2')).toMatchObject({ attributes: { replicas: 20 }, content_hash: changed.hash, snapshot_version: '4' });
    expect(now.get('uid-6')).toMatchObject({ name: 'web-6', snapshot_version: '5' });
    expect(await watermark(table)).toMatchObject({ lineage: 'lineage-a', version: '6', export_id: 'exp-lineage-a-delta-6' });

    // a delta overlapping the watermark (it starts before 6) applies what is new; upserts are idempotent
    const r2 = await b.export(delta([changed, row(7, { version: 7 })], { fromVersion: 5, version: 7, rowCount: 6 }), c);
    expect(r2).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 0 });
    expect((await stored(table)).map((x) => x.source_uid)).toEqual(['uid-1', 'uid-2', 'uid-3', 'uid-5', 'uid-6', 'uid-7']);
    expect((await watermark(table))?.version).toBe('7');
  });

  it('is idempotent: the same delta again is a noop and changes nothing', async () => {
    const b = backend();
    const table = 'idem_rows';
    const c = ctx({ table });
    await b.export(full([row(1), row(2)], { version: 2 }), c);
    const d = () => delta([row(3, { version: 3 })], { fromVersion: 2, version: 4, deletes: [tombstone(row(1), 4)], rowCount: 2 });
    expect(await b.export(d(), c)).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1 });
    const held = await snapshotOf(table);

    const retried = d();
    const again = await b.export(retried, c);
    expect(again).toEqual({ outcome: 'noop', rowsExported: 0, upserts: 0, deletes: 0, detail: 'already at version 4' });
    expect(again.aheadVersion).toBeUndefined();
    expect(retried.reads.calls, 'a noop reads no body').toBe(0);
    expect(await snapshotOf(table)).toEqual(held);
    // and from another worker (no cached migration state)
    expect((await backend().export(d(), c)).outcome).toBe('noop');
    expect(await snapshotOf(table)).toEqual(held);
  });

  it('fences a stale attempt: after version 5, an older export of the same lineage is a noop reporting aheadVersion 5', async () => {
    const b = backend();
    const table = 'fence_rows';
    const c = ctx({ table });
    await b.export(full([row(1, { version: 5 }), row(2, { attributes: { replicas: 50 }, version: 5 })], { version: 5 }), c);
    const held = await snapshotOf(table);

    // the older attempt holds older content and lacks a row: applying it would lose both
    const staleFull = await b.export(full([row(1), row(3)], { version: 3 }), c);
    expect(staleFull).toMatchObject({ outcome: 'noop', aheadVersion: 5, upserts: 0, deletes: 0 });
    const staleDelta = await b.export(delta([row(2, { version: 3 })], { fromVersion: 2, version: 3, deletes: [tombstone(row(1), 3)] }), c);
    expect(staleDelta).toMatchObject({ outcome: 'noop', aheadVersion: 5, upserts: 0, deletes: 0 });
    expect(await snapshotOf(table)).toEqual(held);

    // the same version is no "ahead"
    expect(await b.export(delta([], { fromVersion: 4, version: 5 }), c)).toMatchObject({ outcome: 'noop', aheadVersion: undefined });
  });

  it('fences racing attempts under the advisory lock: the newer version wins whichever commits first', async () => {
    const table = 'fence_race_rows';
    const c = ctx({ table });
    await backend().export(full([row(0)], { version: 1 }), c);
    const newer = [row(1, { version: 5 }), row(2, { version: 5 })];
    const older = [row(1, { version: 3 }), row(3, { version: 3 })];
    for (let i = 0; i < 3; i++) {
      const [a, z] = await Promise.all([backend().export(full(older, { version: 3 + 10 * i }), c), backend().export(full(newer, { version: 5 + 10 * i }), c)]);
      expect(z.outcome).toBe('applied');
      expect(['applied', 'noop']).toContain(a.outcome);
      if (a.outcome === 'noop') expect(a.aheadVersion).toBe(5 + 10 * i);
      expect((await stored(table)).map((x) => x.source_uid)).toEqual(['uid-1', 'uid-2']);
      expect((await watermark(table))?.version).toBe(String(5 + 10 * i));
    }
  });

  it('asks for a full reconcile when a delta does not follow its watermark (absent, other lineage, gap) and changes nothing', async () => {
    const b = backend();
    const table = 'needsfull_rows';
    const c = ctx({ table });
    const ok = { fromVersion: 4, version: 5 };

    // no watermark at all (a new table, or the rows of another tool)
    const absent = await b.export(delta([row(1, { version: 5 })], ok), c);
    expect(absent).toEqual({ outcome: 'needsFull', rowsExported: 0, upserts: 0, deletes: 0, detail: 'watermark absent: full reconcile needed' });
    expect(await snapshotOf(table)).toEqual({ rows: [], watermark: undefined });

    await b.export(full([row(1, { version: 2 }), row(2, { version: 4 })], { version: 4, lineage: 'lineage-a' }), c);
    const held = await snapshotOf(table);

    const other = await b.export(delta([row(3, { version: 5 })], { ...ok, lineage: 'lineage-b', deletes: [tombstone(row(1), 5)] }), c);
    expect(other).toMatchObject({ outcome: 'needsFull', upserts: 0, deletes: 0, detail: 'watermark lineage-a@4: full reconcile needed' });
    expect(other.aheadVersion).toBeUndefined();
    const gap = await b.export(delta([row(3, { version: 7 })], { fromVersion: 6, version: 7, deletes: [tombstone(row(1), 7)] }), c);
    expect(gap).toMatchObject({ outcome: 'needsFull', upserts: 0, deletes: 0 });
    expect(await snapshotOf(table)).toEqual(held);

    // the delta that does follow applies; a full reconcile of another lineage replaces the watermark
    expect(await b.export(delta([row(3, { version: 5 })], ok), c)).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect(await b.export(full([row(3, { version: 1 })], { version: 1, lineage: 'lineage-b' }), c)).toMatchObject({ outcome: 'applied', deletes: 2 });
    expect(await watermark(table)).toMatchObject({ lineage: 'lineage-b', version: '1' });
  });

  it('holds a full reconcile that would delete more than maxDeletePercent without a complete resync, and applies it with one', async () => {
    const b = backend();
    const table = 'guard_rows';
    const c = ctx({ table });
    const ten = Array.from({ length: 10 }, (_, i) => row(i));
    await b.export(full(ten, { version: 10 }), c);
    const held = await snapshotOf(table);

    const four = ten.slice(0, 4); // 6 of 10 deleted: 60% > 50%
    const err = await failure(b.export(full(four, { version: 11, resyncComplete: false }), c));
    expect(err).toBeInstanceOf(DeleteGuardError);
    expect(err.name).toBe('DeleteGuard');
    expect(err).toMatchObject({ deletes: 6, held: 10, maxPercent: 50 });
    expect(err.message).toContain('would delete 6 of the 10 rows');
    expect(await snapshotOf(table), 'nothing deleted, watermark unchanged').toEqual(held);
    // a delta is guarded the same way
    const dErr = await failure(b.export(delta([], { fromVersion: 10, version: 12, deletes: ten.slice(0, 6).map((r) => tombstone(r, 12)), resyncComplete: false }), c));
    expect(dErr.name).toBe('DeleteGuard');
    expect(await snapshotOf(table)).toEqual(held);
    // a higher limit lets it through; exactly the limit is not above it
    const five = ten.slice(0, 5);
    expect(await b.export(full(five, { version: 11, resyncComplete: false, maxDeletePercent: 50 }), c)).toMatchObject({ outcome: 'applied', deletes: 5 });
    expect(await b.export(full(ten, { version: 12 }), c)).toMatchObject({ outcome: 'applied', upserts: 5 });

    const ok = await b.export(full(four, { version: 13, resyncComplete: true }), c);
    expect(ok).toMatchObject({ outcome: 'applied', upserts: 0, deletes: 6 });
    expect((await stored(table)).map((x) => x.source_uid)).toEqual(four.map((r) => r.uid));
    expect((await watermark(table))?.version).toBe('13');
  });

  it('commits nothing when the attempt is cancelled: before it starts, or after its writes, before COMMIT', async () => {
    const b = backend();
    const table = 'abort_rows';
    const c = ctx({ table });
    await b.export(full([row(1), row(2)], { version: 2 }), c);
    const held = await snapshotOf(table);
    const next = (onPage?: () => void) => full([row(1, { attributes: { replicas: 10 }, version: 3 }), row(3, { version: 3 }), row(4, { version: 3 })], { version: 3, pageSize: 1, onPage });

    const early = new AbortController();
    early.abort();
    const e1 = await failure(b.export(next(), { ...c, signal: early.signal }));
    expect(e1).toBeInstanceOf(SinkExportError);
    expect(e1.message).toMatch(/abort/i);
    expect(await snapshotOf(table)).toEqual(held);

    // cancelled while writing (after the first page went in): the transaction rolls back whole
    const late = new AbortController();
    let pages = 0;
    const input = next(() => { pages++; late.abort(); });
    const e2 = await failure(b.export(input, { ...c, signal: late.signal }));
    expect(pages).toBe(3); // the writes did run; the check before COMMIT stopped them
    expect(e2.message).toMatch(/abort/i);
    expect(await snapshotOf(table), 'no row written or deleted, watermark unchanged').toEqual(held);

    // the backend is fine afterwards (the client of the aborted transaction was not reused half-way)
    expect(await b.export(next(), c)).toMatchObject({ outcome: 'applied', upserts: 3, deletes: 1 });
    expect((await watermark(table))?.version).toBe('3');
  });

  it('fails fast and retryably when the server is unreachable, without the password in the error', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const port = await closedPort();
    logs.length = 0;
    const t0 = Date.now();
    const err = await failure(backend().export(full([row(1)]), ctx({ url: `postgres://kollect@127.0.0.1:${port}/inventory` }, { credentials: { password } })));
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
    const err = await failure(backend().export(full([row(1)]), ctx({ url: u.toString() }, { credentials: { password } })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/database "\*\*\*" does not exist/);
    expect((err as SinkExportError).code).toBe('3D000');
    for (const text of [err.message, err.stack ?? '', JSON.stringify(logs)]) expect(text).not.toContain(password);

    const withPw = new URL(sinkUrl());
    withPw.password = password;
    const cfg = await failure(backend().export(full([row(1)]), ctx({ url: withPw.toString() })));
    expect(cfg).toBeInstanceOf(SinkConfigError);
    expect(cfg.message).not.toContain(password);
    const bad = await failure(backend().export(full([row(1)]), ctx({ table: 'rows; DROP TABLE x' })));
    expect(bad).toBeInstanceOf(SinkConfigError);
    expect((bad as SinkConfigError).field).toBe('spec.postgres.table');
  });

  it('probes with the real credentials, honours spec.create, and is refused by the endpoint guard', async () => {
    const b = backend();
    const probe = await b.probe(ctx({ table: 'probed_rows' }));
    expect(probe.detail).toMatch(/^connected to .* \(PostgreSQL \d+.*table kt_[0-9a-f]+\.probed_rows ready$/);
    const missing = await failure(b.probe(ctx({ table: 'never_created' }, { create: false })));
    expect(missing).toBeInstanceOf(SinkConfigError);
    expect((missing as SinkConfigError).field).toBe('spec.create');
    const refused = await failure(b.export(full([row(1)]), ctx({ table: 'never_created' }, { create: false })));
    expect((refused as SinkConfigError).field).toBe('spec.create');
    expect((await admin.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [`${schema}.never_created`])).rows[0]?.r).toBeNull();
    const strict = await failure(backend().export(full([row(1)]), ctx({ table: 'guarded_rows' }, { guard: new EndpointGuard({ allow: [], clusterCidrs: [] }) })));
    expect(strict).toBeInstanceOf(EndpointRefusedError);
    expect(strict.message).toMatch(/\(loopback\)/);
    expect((await admin.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [`${schema}.guarded_rows`])).rows[0]?.r).toBeNull();
  });

  it('verifies TLS unless told otherwise: against a server without TLS, the default sslMode writes nothing', async () => {
    const err = await failure(backend().export(full([row(1)]), ctx({ table: 'tls_default_rows', sslMode: undefined })));
    expect(err.message).toMatch(/does not support SSL/i);
    expect((await admin.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [`${schema}.tls_default_rows`])).rows[0]?.r).toBeNull();
  });

  it('exports 10k rows in batches (timing printed)', async () => {
    const b = backend();
    const c = ctx({ table: 'bulk_rows' });
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}`, attributes: { replicas: i, image: `nginx:1.${i}`, labels: { app: 'web', tier: 'front' }, ports: [80, 443] } }));
    await b.export(full([row(0)], { version: 1 }), c); // migrate first so timings are of the export alone
    let t = Date.now();
    const first = await b.export(full(rows, { version: 2 }), c);
    const firstMs = Date.now() - t;
    t = Date.now();
    const noop = await b.export(full(rows, { version: 2 }), c);
    const noopMs = Date.now() - t;
    rows[42] = row(42, { attributes: { replicas: 0 }, version: 3 });
    const shrunk = rows.slice(0, 9_000);
    t = Date.now();
    const mixed = await b.export(full(shrunk, { version: 3 }), c);
    const mixedMs = Date.now() - t;
    t = Date.now();
    const d = await b.export(delta([row(43, { attributes: { replicas: 0 }, version: 4 })], { fromVersion: 3, version: 5, deletes: rows.slice(8_000, 9_000).map((r) => tombstone(r, 5)), rowCount: 8_000 }), c);
    const deltaMs = Date.now() - t;
    console.log(`[postgres sink] 10k rows: initial ${firstMs} ms (${first.detail}), unchanged ${noopMs} ms (${noop.detail}), 1 changed + 1k deleted ${mixedMs} ms (${mixed.detail}), delta 1 changed + 1k deleted ${deltaMs} ms (${d.detail})`);
    expect(first.upserts).toBe(10_000);
    expect(noop.upserts).toBe(0);
    expect(mixed).toMatchObject({ upserts: 1, deletes: 1_000 });
    expect(d).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1_000 });
    expect(Number((await admin.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.bulk_rows`)).rows[0]?.n)).toBe(8_000);
  }, 120_000);
});
