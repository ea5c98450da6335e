// The bigquery sink against the harness's BigQuery emulator (bqemulator).
import { viaSharedPath } from '../support/sinks/shared-path.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { createHash, randomBytes } from 'node:crypto';
import type { TableMetadata } from '@google-cloud/bigquery';
import { afterAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { BigQuerySinkSpec } from '../../api/types.js';
import { BigQueryBackend, bigquerySink, WATERMARKS_TABLE, sqlString } from '../../activities/sinks/bigquery.js';
import { EndpointGuard, EndpointRefusedError } from '../../activities/sinks/endpoints.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { DeleteGuardError, SinkConfigError, type InventoryIdentity, type SinkContext } from '../../activities/sinks/types.js';
import { service, startService, stopService } from '../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../support/export-input.js';
import { bigqueryAdmin, bigqueryFixture, bigquerySql } from '../support/sinks/bigquery.js';

const run = randomBytes(4).toString('hex');
const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const sink = { kind: 'KollectDatabaseSink' as const, namespace: 'team-a', name: 'bq', type: 'bigquery' };

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, labels: { app: `web-${i}` } } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

type Opts = Partial<Omit<ExportInputOptions, 'inventory'>> & { inventory?: InventoryIdentity };
let round = 0;
const full = (rows: VersionedRow[], opts: Opts = {}): TestExportInput =>
  exportInput(rows, { sink, ...opts, mode: 'full', version: opts.version ?? 1_000 + ++round, inventory: opts.inventory ?? inventory });
const delta = (rows: VersionedRow[], opts: Opts & { fromVersion: number; version: number }): TestExportInput =>
  exportInput(rows, { sink, ...opts, mode: 'delta', inventory: opts.inventory ?? inventory });

const specs: BigQuerySinkSpec[] = [];
/** A spec with its own dataset. */
async function spec(name: string, over: Partial<BigQuerySinkSpec> = {}): Promise<BigQuerySinkSpec> {
  const s = { ...await bigqueryFixture.spec(`${run}_${name}`), ...over };
  specs.push(s);
  return s;
}
const ctx = (s: BigQuerySinkSpec, over: Partial<SinkContext<BigQuerySinkSpec>> = {}): SinkContext<BigQuerySinkSpec> => ({ ...bigqueryFixture.context(s), ...over });
const backends: BigQueryBackend[] = [];
function backend(): BigQueryBackend {
  const b = viaSharedPath(bigquerySink as SinkDescriptor<never>, new BigQueryBackend({ requestTimeoutMs: 10_000 }));
  backends.push(b);
  return b;
}

/** `target/uid → attributes:hash` of what the table holds for the inventory, sorted by key. */
async function held(s: BigQuerySinkSpec, inv = inventory): Promise<Record<string, string>> {
  const m = await bigqueryFixture.read(s, inv);
  const entries: [string, string][] = [...m].map(([k, v]) => [k, `${JSON.stringify(v.attributes)}:${v.hash ?? ''}`]);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}
async function watermark(s: BigQuerySinkSpec, inv = inventory): Promise<{ lineage: string; version: number; export_id: string } | undefined> {
  const [w] = await bigquerySql<{ lineage: string; version: number; export_id: string }>(`SELECT lineage, version, export_id FROM \`${s.project}.${s.dataset}.${WATERMARKS_TABLE}\`
    WHERE table_name = ${sqlString(s.table ?? 'kollect_rows')} AND inventory_namespace = ${sqlString(inv.namespace)} AND inventory_name = ${sqlString(inv.name)} AND cluster = ${sqlString(inv.cluster)}`);
  return w && { lineage: w.lineage, version: Number(w.version), export_id: w.export_id };
}
const stateOf = async (s: BigQuerySinkSpec) => ({ rows: await held(s), watermark: await watermark(s) });

async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await Promise.all(specs.map((s) => bigqueryFixture.cleanup!(s)));
});

describe('bigquery sink', () => {
  it('creates dataset and tables (partitioned on exported_at, clustered), applies a full reconcile, re-applies it unchanged, and a retried delta is a noop', async () => {
    const b = backend();
    const s = await spec('create');
    const rows = [row(1), row(2), row(3)];
    expect(await b.export(full(rows, { version: 3 }), ctx(s))).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 3, deletes: 0, detail: 'full: upserted 3, deleted 0' });

    const [meta] = await bigqueryAdmin().dataset(s.dataset!).table('kollect_rows').getMetadata() as [TableMetadata, ...unknown[]];
    expect(meta.timePartitioning).toMatchObject({ type: 'DAY', field: 'exported_at' });
    expect(meta.clustering).toEqual({ fields: ['inventory_namespace', 'inventory_name', 'cluster', 'kind'] });
    expect((meta.schema?.fields ?? []).map((f) => `${f.name}:${f.type}`)).toEqual([
      'inventory_namespace:STRING', 'inventory_name:STRING', 'cluster:STRING', 'target_name:STRING', 'source_uid:STRING', 'api_version:STRING',
      'kind:STRING', 'namespace:STRING', 'name:STRING', 'attributes:JSON', 'content_hash:STRING', 'snapshot_version:INT64', 'exported_at:TIMESTAMP']);
    expect(Object.keys(await held(s))).toEqual(['deployments/uid-1', 'deployments/uid-2', 'deployments/uid-3']);
    expect(await watermark(s)).toEqual({ lineage: 'lineage-a', version: 3, export_id: 'exp-lineage-a-full-3' });
    // attributes are JSON: queryable server-side
    expect(await bigquerySql(`SELECT name FROM \`${s.project}.${s.dataset}.kollect_rows\` WHERE JSON_VALUE(attributes, '$.labels.app') = 'web-2'`)).toEqual([{ name: 'web-2' }]);

    // the scheduled full reconcile of an unchanged snapshot reads no body and rewrites nothing
    const before = await stateOf(s);
    const same = full(rows, { version: 3 });
    expect(await b.export(same, ctx(s))).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 0, deletes: 0, detail: 'full: upserted 0, deleted 0' });
    expect(same.reads.rows).toBe(0);
    expect(await stateOf(s)).toEqual(before);

    const d = () => delta([row(4, { version: 4 })], { fromVersion: 3, version: 4, deletes: [tombstone(row(1), 4)], rowCount: 3 });
    expect(await b.export(d(), ctx(s))).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1 });
    const after = await stateOf(s);
    const retried = d();
    expect(await b.export(retried, ctx(s))).toEqual({ outcome: 'noop', rowsExported: 0, upserts: 0, deletes: 0, detail: 'already at version 4' });
    expect(retried.reads.calls).toBe(0);
    expect(await stateOf(s)).toEqual(after);
  });

  it('applies updates and deletes by delta, touching only its own (inventory, cluster), and no staging table is left', async () => {
    const b = backend();
    const s = await spec('delta');
    const c2 = { ...inventory, cluster: 'c2' };
    await b.export(full([row(1), row(2), row(3)], { version: 3 }), ctx(s));
    await b.export(full([row(1, { cluster: 'c2' })], { version: 3, inventory: c2 }), ctx(s));
    const changed = row(2, { attributes: { replicas: 20 }, version: 4 });
    const r = await b.export(delta([changed, row(5, { version: 5 })], { fromVersion: 3, version: 5, deletes: [tombstone(row(3), 5)], rowCount: 3 }), ctx(s));
    expect(r).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 2, deletes: 1, detail: 'delta: upserted 2, deleted 1' });
    expect(await held(s)).toEqual({
      'deployments/uid-1': `${JSON.stringify(row(1).attributes)}:${row(1).hash}`,
      'deployments/uid-2': `{"replicas":20}:${changed.hash}`,
      'deployments/uid-5': `${JSON.stringify(row(5).attributes)}:${row(5, { version: 5 }).hash}`,
    });
    expect(Object.keys(await held(s, c2))).toEqual(['deployments/uid-1']);
    expect((await watermark(s))?.version).toBe(5);
    expect((await watermark(s, c2))?.version).toBe(3);
    const [tables] = await bigqueryAdmin().dataset(s.dataset!).getTables();
    expect(tables.map((t) => t.id).sort()).toEqual(['kollect_rows', WATERMARKS_TABLE]);
  });

  it('restores exactly the snapshot on a full reconcile after rows were edited, deleted and added behind its back', async () => {
    const b = backend();
    const s = await spec('foreign');
    const rows = [row(1), row(2), row(3)];
    await b.export(full(rows, { version: 3 }), ctx(s));
    const snapshot = await held(s);
    const t = `\`${s.project}.${s.dataset}.kollect_rows\``;
    const mine = `inventory_namespace = 'team-a' AND inventory_name = 'apps' AND cluster = 'c1'`;
    await bigquerySql(`UPDATE ${t} SET attributes = JSON '{"edited":true}', content_hash = 'edited' WHERE ${mine} AND source_uid = 'uid-1'`);
    await bigquerySql(`DELETE FROM ${t} WHERE ${mine} AND source_uid = 'uid-2'`);
    await bigquerySql(`INSERT INTO ${t} (inventory_namespace, inventory_name, cluster, target_name, source_uid, api_version, kind, namespace, name, attributes, content_hash, snapshot_version, exported_at)
      VALUES ('team-a', 'apps', 'c1', 'deployments', 'uid-x', 'v1', 'Deployment', 'default', 'x', JSON '{}', 'x', 1, CURRENT_TIMESTAMP())`);

    const r = await b.export(full(rows, { version: 4 }), ctx(s));
    expect(r).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1 });
    expect(await held(s)).toEqual(snapshot);
  });

  it('asks for a full reconcile when a delta does not follow its watermark (absent, other lineage, gap) and changes nothing', async () => {
    const b = backend();
    const s = await spec('needsfull');
    const absent = await b.export(delta([row(1, { version: 5 })], { fromVersion: 4, version: 5 }), ctx(s));
    expect(absent).toEqual({ outcome: 'needsFull', rowsExported: 0, upserts: 0, deletes: 0, detail: 'watermark absent: full reconcile needed' });
    expect(await stateOf(s)).toEqual({ rows: {}, watermark: undefined });

    await b.export(full([row(1), row(2)], { version: 4 }), ctx(s));
    const before = await stateOf(s);
    expect(await b.export(delta([row(3, { version: 5 })], { fromVersion: 4, version: 5, lineage: 'lineage-b' }), ctx(s))).toMatchObject({ outcome: 'needsFull', detail: 'watermark lineage-a@4: full reconcile needed' });
    expect(await b.export(delta([row(3, { version: 7 })], { fromVersion: 6, version: 7, deletes: [tombstone(row(1), 7)] }), ctx(s))).toMatchObject({ outcome: 'needsFull' });
    // an older attempt of the same lineage is fenced
    expect(await b.export(full([row(9)], { version: 2 }), ctx(s))).toMatchObject({ outcome: 'noop', aheadVersion: 4 });
    expect(await stateOf(s)).toEqual(before);
  });

  it('holds an export that would delete more than maxDeletePercent without a complete resync, and applies it with one', async () => {
    const b = backend();
    const s = await spec('guard');
    const ten = Array.from({ length: 10 }, (_, i) => row(i));
    await b.export(full(ten, { version: 10 }), ctx(s));
    const before = await stateOf(s);
    const err = await failure(b.export(full(ten.slice(0, 4), { version: 11, resyncComplete: false }), ctx(s)));
    expect(err).toBeInstanceOf(DeleteGuardError);
    expect(err).toMatchObject({ deletes: 6, held: 10, maxPercent: 50 });
    const dErr = await failure(b.export(delta([], { fromVersion: 10, version: 12, deletes: ten.slice(0, 6).map((r) => tombstone(r, 12)), resyncComplete: false }), ctx(s)));
    expect(dErr).toBeInstanceOf(DeleteGuardError);
    expect(await stateOf(s)).toEqual(before);
    expect(await b.export(full(ten.slice(0, 4), { version: 13, resyncComplete: true }), ctx(s))).toMatchObject({ outcome: 'applied', deletes: 6 });
    expect(Object.keys(await held(s))).toHaveLength(4);
  });

  it('commits nothing when the attempt is cancelled while staging', async () => {
    const b = backend();
    const s = await spec('abort');
    await b.export(full([row(1)], { version: 1 }), ctx(s));
    const before = await stateOf(s);
    const ac = new AbortController();
    const input = full([row(1, { attributes: { replicas: 9 } }), row(2), row(3)], { version: 2, pageSize: 1, onPage: () => ac.abort() });
    const err = await failure(b.export(input, ctx(s, { signal: ac.signal })));
    // Aborted mid-upload: the abort itself, or the request stream it closed (`Premature close`).
    expect(err.message).toMatch(/abort|premature close/i);
    expect(await stateOf(s)).toEqual(before);
  });

  it('refuses bad configuration with a SinkConfigError naming the field, before any request', async () => {
    const b = backend();
    const s = await spec('config');
    const field = async (over: Partial<BigQuerySinkSpec>, extra: Partial<SinkContext<BigQuerySinkSpec>> = {}) =>
      ((await failure(b.export(full([row(1)]), ctx({ ...s, ...over }, extra)))) as SinkConfigError).field;
    expect(await field({ project: 'Bad Project' })).toBe('spec.bigquery.project');
    expect(await field({ apiEndpoint: 'http://bigquery.example.com' })).toBe('spec.bigquery.apiEndpoint');
    expect(await field({ apiEndpoint: 'ftp://127.0.0.1' })).toBe('spec.bigquery.apiEndpoint');
    expect(await field({ table: WATERMARKS_TABLE })).toBe('spec.bigquery.table');
    expect(await field({ clustering: ['attributes' as never] })).toBe('spec.bigquery.clustering');
    const secret = `-----BEGIN PRIVATE KEY-----${randomBytes(8).toString('hex')}`;
    const junk = await failure(b.export(full([row(1)]), ctx({ ...s, apiEndpoint: 'https://127.0.0.1:1' }, { credentials: { 'credentials.json': `{"private_key":"${secret}"` } })));
    expect(junk).toBeInstanceOf(SinkConfigError);
    expect((junk as SinkConfigError).field).toBe('spec.secretRef');
    expect(junk.message).not.toContain(secret);
    // an emulator endpoint never receives a key
    expect(await field({}, { credentials: { 'credentials.json': '{}' } })).toBe('spec.secretRef');
    // create: false and no dataset
    expect(await field({}, { create: false })).toBe('spec.bigquery.dataset');
    const [exists] = await bigqueryAdmin().dataset(s.dataset!).exists();
    expect(exists).toBe(false);
  });

  it('refuses the emulator on loopback under a guard that does not allow it, and writes nothing', async () => {
    const s = await spec('refused');
    const err = await failure(backend().export(full([row(1)]), ctx(s, { guard: new EndpointGuard({ allow: [], clusterCidrs: [] }) })));
    expect(err).toBeInstanceOf(EndpointRefusedError);
    expect(err).toBeInstanceOf(SinkConfigError);
    expect((err as SinkConfigError).field).toBe('spec.bigquery.apiEndpoint');
    const [exists] = await bigqueryAdmin().dataset(s.dataset!).exists();
    expect(exists).toBe(false);
  });

  it('fails retryably while the server is down, then the same export succeeds with nothing lost or duplicated', async () => {
    const b = backend();
    const s = await spec('outage');
    await b.export(full([row(1), row(2)], { version: 2 }), ctx(s));
    const next = () => delta([row(2, { attributes: { replicas: 22 }, version: 3 }), row(3, { version: 3 })], { fromVersion: 2, version: 3, deletes: [tombstone(row(1), 3)], rowCount: 2 });
    await stopService('bigquery');
    try {
      const err = await failure(b.export(next(), ctx(s)));
      expect(err).toBeInstanceOf(SinkExportError);
      expect(err).not.toBeInstanceOf(SinkConfigError);
      expect(err.message).toMatch(/ECONNREFUSED|connect/i);
    } finally {
      await startService('bigquery');
    }
    expect(await b.export(next(), ctx(s))).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1 });
    const rows = await bigquerySql<{ source_uid: string; n: number }>(`SELECT source_uid, COUNT(*) AS n FROM \`${s.project}.${s.dataset}.kollect_rows\` GROUP BY source_uid ORDER BY source_uid`);
    expect(rows.map((r) => `${r.source_uid}:${Number(r.n)}`)).toEqual(['uid-2:1', 'uid-3:1']);
    expect((await watermark(s))?.version).toBe(3);
  }, 60_000);

  it('exports 10k rows, then a 100-row delta (timing printed)', async () => {
    const b = backend();
    const s = await spec('bench');
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}`, attributes: { replicas: i, image: `nginx:1.${i}`, labels: { app: 'web', tier: 'front' }, ports: [80, 443] } }));
    let t = Date.now();
    const first = await b.export(full(rows, { version: 2 }), ctx(s));
    const fullMs = Date.now() - t;
    const changed = rows.slice(0, 100).map((r, i) => row(i, { namespace: r.namespace, attributes: { replicas: -i }, version: 3 }));
    t = Date.now();
    const d = await b.export(delta(changed.slice(0, 90), { fromVersion: 2, version: 3, deletes: rows.slice(9_990).map((r) => tombstone(r, 3)), rowCount: 9_990 }), ctx(s));
    const deltaMs = Date.now() - t;
    console.log(`[bench] bigquery 10k full: ${fullMs} ms; 100-row delta: ${deltaMs} ms (bqemulator, DuckDB; real BigQuery adds seconds of job latency per step)`);
    expect(first).toMatchObject({ outcome: 'applied', upserts: 10_000 });
    expect(d).toMatchObject({ outcome: 'applied', upserts: 90, deletes: 10 });
    const [{ n }] = await bigquerySql<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${s.project}.${s.dataset}.kollect_rows\``) as [{ n: number }];
    expect(Number(n)).toBe(9_990);
  }, 60_000);

  it('probes: creates what is missing and writes no row', async () => {
    const s = await spec('probe');
    const r = await backend().probe(ctx(s));
    expect(r.detail).toBe(`table ${s.project}.${s.dataset}.kollect_rows reachable (0 watermarks) (emulator, no credentials)`);
    expect(await held(s)).toEqual({});
    expect(service('bigquery').apiEndpoint).toMatch(/^http:\/\/127\./);
  });
});
