// The mongodb sink against the harness's FerretDB (MongoDB wire protocol, no transactions).
import { viaSharedPath } from '../support/sinks/shared-path.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { MongodbSinkSpec } from '../../api/types.js';
import { EndpointGuard, EndpointRefusedError } from '../../activities/sinks/endpoints.js';
import {
  INDEXES, MongodbBackend, WATERMARKS_COLLECTION, documentId, mongodbSink, watermarkId, type RowDocument, type WatermarkDocument,
} from '../../activities/sinks/mongodb.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { DeleteGuardError, SinkConfigError, type InventoryIdentity, type SinkContext } from '../../activities/sinks/types.js';
import { startService, stopService } from '../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../support/export-input.js';
import { mongodbFixture, withMongo } from '../support/sinks/mongodb.js';

const run = randomBytes(4).toString('hex');
const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, labels: { 'app.kubernetes.io/name': `web-${i}` } } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

type Opts = Partial<Omit<ExportInputOptions, 'inventory'>> & { inventory?: InventoryIdentity };
const sink = { kind: 'KollectDatabaseSink' as const, namespace: 'team-a', name: 'mongo', type: 'mongodb' };
let round = 0;
/** A full reconcile to exactly `rows`; its version defaults to a fresh, higher one each call. */
function full(rows: VersionedRow[], opts: Opts = {}): TestExportInput {
  return exportInput(rows, { sink, ...opts, mode: 'full', version: opts.version ?? 1_000 + ++round, inventory: opts.inventory ?? inventory });
}
function delta(rows: VersionedRow[], opts: Opts & { fromVersion: number; version: number }): TestExportInput {
  return exportInput(rows, { sink, ...opts, mode: 'delta', inventory: opts.inventory ?? inventory });
}

const specs: MongodbSinkSpec[] = [];
/** A database of its own for one test. */
function spec(name: string, over: Partial<MongodbSinkSpec> = {}): MongodbSinkSpec {
  const s = { ...mongodbFixture.spec(`${run}_${name}`) as MongodbSinkSpec, ...over };
  specs.push(s);
  return s;
}
function ctx(s: MongodbSinkSpec, over: Partial<SinkContext<MongodbSinkSpec>> = {}): SinkContext<MongodbSinkSpec> {
  return { ...mongodbFixture.context(s, (event, fields) => logs.push({ event, fields })), ...over };
}

const backends: MongodbBackend[] = [];
function backend(opts: ConstructorParameters<typeof MongodbBackend>[0] = {}): MongodbBackend {
  const b = viaSharedPath(mongodbSink as SinkDescriptor<never>, new MongodbBackend(opts));
  backends.push(b);
  return b;
}

afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await Promise.all(specs.map((s) => mongodbFixture.cleanup!(s).catch(() => undefined)));
});

/** The inventory's documents, ordered by _id. */
async function docs(s: MongodbSinkSpec, inv: InventoryIdentity = inventory): Promise<RowDocument[]> {
  return withMongo((c) => c.db(s.database).collection<RowDocument>(s.collection!)
    .find({ inventory_namespace: inv.namespace, inventory_name: inv.name, cluster: inv.cluster }).sort({ _id: 1 }).toArray());
}
async function watermark(s: MongodbSinkSpec, inv: InventoryIdentity = inventory): Promise<WatermarkDocument | null> {
  return withMongo((c) => c.db(s.database).collection<WatermarkDocument>(WATERMARKS_COLLECTION).findOne({ _id: watermarkId(s.collection!, inv) }));
}
/** Documents and watermark of one inventory, to check an export changed nothing (exported_at included). */
const snapshotOf = async (s: MongodbSinkSpec, inv: InventoryIdentity = inventory) => ({ docs: await docs(s, inv), watermark: await watermark(s, inv) });
const uids = async (s: MongodbSinkSpec, inv: InventoryIdentity = inventory) => (await docs(s, inv)).map((d) => d.source_uid);
/** What the sink holds, as the shared fixture reads it (keys decoded). */
const held = async (s: MongodbSinkSpec, inv: InventoryIdentity = inventory) => Object.fromEntries(await mongodbFixture.read(s, inv));
const expected = (rows: VersionedRow[]) => Object.fromEntries(rows.map((r) => [`${r.target}/${r.uid}`, { attributes: r.attributes, hash: r.hash }]));

async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

describe('mongodb sink', () => {
  it('creates the collection and its indexes, writes one document per row, re-applies unchanged rows as no writes, updates and deletes', async () => {
    const b = backend();
    const s = spec('crud');
    const c = ctx(s);
    const rows = [row(1), row(2), row(3)];
    expect(await b.export(full(rows, { version: 3 }), c)).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 3, deletes: 0, detail: 'full: upserted 3, deleted 0' });

    const first = await docs(s);
    expect(first[0]).toMatchObject({
      _id: documentId(inventory, 'deployments', 'uid-1'), inventory_namespace: 'team-a', inventory_name: 'apps', cluster: 'c1', target_name: 'deployments',
      source_uid: 'uid-1', api_version: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web-1',
      attributes: { replicas: 1, labels: { 'app%2Ekubernetes%2Eio/name': 'web-1' } }, content_hash: rows[0]!.hash, snapshot_version: 1,
    });
    expect(first[0]!.exported_at).toBeInstanceOf(Date);
    expect(first[0]!._id).toBe('team-a/apps/c1/deployments/uid-1');
    expect(await held(s)).toEqual(expected(rows));
    const indexes = await withMongo((m) => m.db(s.database).collection(s.collection!).indexes());
    for (const i of INDEXES) expect(indexes.find((x) => x.name === i.name)?.key).toEqual(i.key);
    expect(await watermark(s)).toMatchObject({ lineage: 'lineage-a', version: 3, exportId: 'exp-lineage-a-full-3', state: 'committed', cluster: 'c1' });
    expect((await watermark(s))?.pending).toBeUndefined();
    // the encoded key is queryable
    const byLabel = await withMongo((m) => m.db(s.database).collection<RowDocument>(s.collection!).find({ 'attributes.labels.app%2Ekubernetes%2Eio/name': 'web-2' }).toArray());
    expect(byLabel.map((d) => d.name)).toEqual(['web-2']);

    // the scheduled full reconcile of an unchanged snapshot: no body read, no document rewritten
    const same = full(rows, { version: 4 });
    expect(await b.export(same, c)).toMatchObject({ outcome: 'applied', upserts: 0, deletes: 0 });
    expect(same.reads.rows).toBe(0);
    expect(await docs(s)).toEqual(first);

    const changed = row(2, { attributes: { replicas: 7 }, version: 5 });
    const upd = full([rows[0]!, changed], { version: 5 });
    expect(await b.export(upd, c)).toEqual({ outcome: 'applied', rowsExported: 2, upserts: 1, deletes: 1, detail: 'full: upserted 1, deleted 1' });
    expect(upd.reads.rows).toBe(1);
    const after = await docs(s);
    expect(after[0]).toEqual(first[0]);
    expect(after[1]).toMatchObject({ attributes: { replicas: 7 }, content_hash: changed.hash, snapshot_version: 5 });
    expect(await held(s)).toEqual(expected([rows[0]!, changed]));

    expect(await b.export(full([], { version: 6 }), c)).toMatchObject({ outcome: 'applied', rowsExported: 0, deletes: 2 });
    expect(await docs(s)).toEqual([]);
    expect(await watermark(s)).toMatchObject({ lineage: 'lineage-a', version: 6, state: 'committed' });
  });

  it('applies a delta: only changed rows written, tombstones deleted; the same delta again is a noop that changes nothing', async () => {
    const b = backend();
    const s = spec('delta');
    const c = ctx(s);
    const base = [row(1), row(2, { version: 2 }), row(3, { version: 3 }), row(4, { version: 3 })];
    await b.export(full(base, { version: 3 }), c);
    const before = new Map((await docs(s)).map((d) => [d.source_uid, d]));

    const changed = row(2, { attributes: { replicas: 20 }, version: 4 });
    const d = () => delta([changed, row(5, { version: 5 }), base[0]!], { fromVersion: 3, version: 6, deletes: [tombstone(base[3]!, 6)], rowCount: 4 });
    expect(await b.export(d(), c)).toEqual({ outcome: 'applied', rowsExported: 4, upserts: 2, deletes: 1, detail: 'delta: upserted 2, deleted 1' });
    const after = new Map((await docs(s)).map((x) => [x.source_uid, x]));
    expect([...after.keys()]).toEqual(['uid-1', 'uid-2', 'uid-3', 'uid-5']);
    for (const uid of ['uid-1', 'uid-3']) expect(after.get(uid), `${uid} untouched`).toEqual(before.get(uid));
    expect(after.get('uid-2')).toMatchObject({ attributes: { replicas: 20 }, snapshot_version: 4 });
    expect(await watermark(s)).toMatchObject({ version: 6, exportId: 'exp-lineage-a-delta-6', state: 'committed' });

    const kept = await snapshotOf(s);
    const again = d();
    expect(await b.export(again, c)).toEqual({ outcome: 'noop', rowsExported: 0, upserts: 0, deletes: 0, detail: 'already at version 6' });
    expect(again.reads.calls).toBe(0);
    expect(await backend().export(d(), c)).toMatchObject({ outcome: 'noop' });
    expect(await snapshotOf(s)).toEqual(kept);
    // a stale full of the same lineage is fenced
    expect(await b.export(full([row(1)], { version: 4 }), c)).toMatchObject({ outcome: 'noop', aheadVersion: 6 });
    expect(await snapshotOf(s)).toEqual(kept);
  });

  it('asks for a full reconcile when a delta does not follow its watermark (absent, other lineage, gap), writing nothing', async () => {
    const b = backend();
    const s = spec('needsfull');
    const c = ctx(s);
    expect(await b.export(delta([row(1, { version: 5 })], { fromVersion: 4, version: 5 }), c))
      .toEqual({ outcome: 'needsFull', rowsExported: 0, upserts: 0, deletes: 0, detail: 'watermark absent: full reconcile needed' });
    expect(await snapshotOf(s)).toEqual({ docs: [], watermark: null });

    await b.export(full([row(1), row(2)], { version: 4 }), c);
    const kept = await snapshotOf(s);
    expect(await b.export(delta([row(3, { version: 5 })], { fromVersion: 4, version: 5, lineage: 'lineage-b' }), c)).toMatchObject({ outcome: 'needsFull', detail: 'watermark lineage-a@4: full reconcile needed' });
    expect(await b.export(delta([row(3, { version: 7 })], { fromVersion: 6, version: 7 }), c)).toMatchObject({ outcome: 'needsFull', upserts: 0 });
    expect(await snapshotOf(s)).toEqual(kept);
    expect(await b.export(full([row(9)], { version: 1, lineage: 'lineage-b' }), c)).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 2 });
    expect(await watermark(s)).toMatchObject({ lineage: 'lineage-b', version: 1 });
  });

  it('restores exactly the snapshot after foreign edits, deletes and additions', async () => {
    const b = backend();
    const s = spec('foreign');
    const c = ctx(s);
    const rows = [row(1), row(2), row(3)];
    await b.export(full(rows, { version: 2 }), c);
    await withMongo(async (m) => {
      const col = m.db(s.database).collection<Record<string, unknown>>(s.collection!);
      await col.replaceOne({ _id: documentId(inventory, 'deployments', 'uid-1') } as never, { ...inventory, inventory_namespace: 'team-a', inventory_name: 'apps', target_name: 'deployments', source_uid: 'uid-1', attributes: { replicas: 99 } });
      await col.deleteOne({ _id: documentId(inventory, 'deployments', 'uid-2') } as never);
      await col.insertOne({ _id: 'stray' as never, inventory_namespace: 'team-a', inventory_name: 'apps', cluster: 'c1', target_name: 'deployments', source_uid: 'uid-x' });
      await col.insertOne({ _id: documentId(inventory, 'deployments', 'uid-y') as never, inventory_namespace: 'team-a', inventory_name: 'apps', cluster: 'c1', target_name: 'deployments', source_uid: 'uid-y' });
    });
    const r = await b.export(full(rows, { version: 3 }), c);
    expect(r).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 2 });
    expect(await held(s)).toEqual(expected(rows));
    expect((await docs(s)).map((d) => d._id)).toEqual(rows.map((x) => documentId(inventory, x.target, x.uid)));
  });

  it('keeps two clusters and two inventories sharing one collection apart', async () => {
    const b = backend();
    const s = spec('fleet');
    const c = ctx(s);
    const c2 = { ...inventory, cluster: 'c2' };
    const other = { ...inventory, name: 'other' };
    await b.export(full([row(1), row(2)], { version: 10 }), c);
    await b.export(full([row(1, { cluster: 'c2' }), row(5, { cluster: 'c2' })], { version: 10, inventory: c2 }), c);
    await b.export(full([row(1)], { version: 10, inventory: other }), c);
    // the same target/uid in two clusters are two documents
    expect(await uids(s, c2)).toEqual(['uid-1', 'uid-5']);

    // a full reconcile and a delta of c1 delete uid-1 and uid-2 of c1 only
    expect(await b.export(full([row(2)], { version: 50 }), c)).toMatchObject({ deletes: 1 });
    expect(await b.export(delta([], { fromVersion: 50, version: 51, deletes: [tombstone(row(2), 51)], resyncComplete: true }), c)).toMatchObject({ outcome: 'applied', deletes: 1 });
    expect(await uids(s)).toEqual([]);
    expect(await uids(s, c2)).toEqual(['uid-1', 'uid-5']);
    expect(await uids(s, other)).toEqual(['uid-1']);
    const marks = await withMongo((m) => m.db(s.database).collection<WatermarkDocument>(WATERMARKS_COLLECTION).find().sort({ _id: 1 }).toArray());
    expect(marks.map((w) => `${w.inventory_name}/${w.cluster}`)).toEqual(['apps/c1', 'apps/c2', 'other/c1']);
  });

  it('holds an export that would delete more than maxDeletePercent without a complete resync', async () => {
    const b = backend();
    const s = spec('guard');
    const c = ctx(s);
    const ten = Array.from({ length: 10 }, (_, i) => row(i));
    await b.export(full(ten, { version: 10 }), c);
    const kept = await snapshotOf(s);
    const err = await failure(b.export(full(ten.slice(0, 4), { version: 11, resyncComplete: false }), c));
    expect(err).toBeInstanceOf(DeleteGuardError);
    expect(err).toMatchObject({ deletes: 6, held: 10, maxPercent: 50 });
    const dErr = await failure(b.export(delta([], { fromVersion: 10, version: 12, deletes: ten.slice(0, 6).map((r) => tombstone(r, 12)), resyncComplete: false }), c));
    expect(dErr.name).toBe('DeleteGuard');
    // nothing was written, so the watermark document is put back as it was
    expect(await snapshotOf(s)).toEqual(kept);
    expect(await b.export(full(ten.slice(0, 4), { version: 13, resyncComplete: true }), c)).toMatchObject({ outcome: 'applied', deletes: 6 });
  });

  it('an export interrupted half-way leaves the watermark unchanged, and its retry converges', async () => {
    const b = backend({ batchSize: 2 });
    const s = spec('abort');
    const c = ctx(s);
    const base = [row(1), row(2)];
    await b.export(full(base, { version: 2 }), c);
    const next = Array.from({ length: 6 }, (_, i) => row(i + 1, { attributes: { replicas: 100 + i }, version: 3 }));
    const ac = new AbortController();
    let pages = 0;
    const interrupted = full(next, { version: 3, pageSize: 2, onPage: () => { if (++pages === 2) ac.abort(); } });
    const err = await failure(b.export(interrupted, { ...c, signal: ac.signal }));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/abort/i);
    const wm = await watermark(s);
    expect(wm).toMatchObject({ lineage: 'lineage-a', version: 2, state: 'applying', pending: { version: 3, exportId: 'exp-lineage-a-full-3' } });
    expect(wm!.pending!.expiresAt.getTime(), 'lease released').toBe(0);
    expect((await docs(s)).length, 'the first pages were written').toBeGreaterThan(2);

    const retry = await b.export(full(next, { version: 3 }), c);
    expect(retry).toMatchObject({ outcome: 'applied' });
    expect(await held(s)).toEqual(expected(next));
    expect(await watermark(s)).toMatchObject({ version: 3, state: 'committed' });
    expect((await watermark(s))?.pending).toBeUndefined();
  });

  it('after a half-applied export of a newer version, an older delta asks for a full reconcile', async () => {
    const b = backend({ batchSize: 1 });
    const s = spec('halfway');
    const c = ctx(s);
    await b.export(full([row(1), row(2)], { version: 2 }), c);
    const ac = new AbortController();
    const newer = delta([row(1, { attributes: { replicas: 9 }, version: 8 }), row(3, { version: 8 })], { fromVersion: 2, version: 8, pageSize: 1, onPage: () => ac.abort() });
    await failure(b.export(newer, { ...c, signal: ac.signal }));
    const older = await b.export(delta([row(4, { version: 3 })], { fromVersion: 2, version: 3 }), c);
    expect(older).toMatchObject({ outcome: 'needsFull', detail: 'export exp-lineage-a-delta-8 stopped while applying lineage-a@8: full reconcile needed' });
    // the delta of that version (or a later one) replays idempotently
    expect(await b.export(delta([row(1, { attributes: { replicas: 9 }, version: 8 }), row(3, { version: 8 })], { fromVersion: 2, version: 8 }), c)).toMatchObject({ outcome: 'applied' });
    expect(await uids(s)).toEqual(['uid-1', 'uid-2', 'uid-3']);
    expect(await watermark(s)).toMatchObject({ version: 8, state: 'committed' });
  });

  it('two racing exports: each applies or fails retryably (never a config error), and a retry converges', async () => {
    const s = spec('race');
    const c = ctx(s);
    await backend().export(full([row(0)], { version: 1 }), c);
    const rows = Array.from({ length: 40 }, (_, i) => row(i, { version: 5 }));
    const results = await Promise.allSettled([
      backend({ batchSize: 5 }).export(full(rows, { version: 5, exportId: 'exp-a', pageSize: 5 }), c),
      backend({ batchSize: 5 }).export(full(rows, { version: 6, exportId: 'exp-b', pageSize: 5 }), c),
    ]);
    // Usually one holds the lease and applies; on FerretDB under load both were also seen to fail
    // (each losing the lease to the other), which the retry below covers (docs/decisions/0014).
    for (const r of results) {
      // The loser stops with a retryable error: mostly refused the lease (LEASE_HELD); on FerretDB
      // under load it was also seen to lose it mid-way (LEASE_LOST) or to collide on a row insert
      // (a duplicate key: both attempts writing, see docs/decisions/0014). Never a config error.
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(SinkExportError);
        expect(r.reason).not.toBeInstanceOf(SinkConfigError);
      } else expect(['applied', 'noop']).toContain(r.value.outcome);
    }
    // whatever lost retries: the newer version ends committed
    await backend().export(full(rows, { version: 6, exportId: 'exp-b' }), c);
    expect(await watermark(s)).toMatchObject({ version: 6, state: 'committed' });
    expect(Object.keys(await held(s))).toHaveLength(40);
  });

  it('refuses bad settings as SinkConfigError naming the field, without echoing the password', async () => {
    const b = backend();
    const s = spec('config');
    const url = mongodbFixture.spec('x') as MongodbSinkSpec;
    const bad: [Partial<MongodbSinkSpec>, string, Partial<SinkContext<MongodbSinkSpec>>?][] = [
      [{ url: url.url.replace('mongodb://', 'mongodb://kollect:hunter22@') }, 'spec.mongodb.url'],
      [{ url: url.url.replace('mongodb://', 'postgres://') }, 'spec.mongodb.url'],
      [{ url: `${url.url}&tlsCAFile=/etc/passwd` }, 'spec.mongodb.url'],
      [{ url: url.url.replace(/\/\?/, '/admin?') }, 'spec.mongodb.url'],
      [{ collection: 'system.users' }, 'spec.mongodb.collection'],
      [{ database: 'a.b' }, 'spec.mongodb.database'],
      [{ authSource: 'admin', url: `${url.url}&authSource=other` }, 'spec.mongodb.authSource'],
      [{}, 'spec.secretRef', { credentials: { password: 'hunter22' } }],
      [{}, 'spec.mongodb.collection', { create: false }],
    ];
    for (const [over, field, extra] of bad) {
      const err = await failure(b.export(full([row(1)]), ctx({ ...s, ...over }, extra)));
      expect(err, JSON.stringify(over)).toBeInstanceOf(SinkConfigError);
      expect((err as SinkConfigError).field).toBe(field);
      expect(err.message).not.toContain('hunter22');
    }
    expect(await withMongo(async (m) => (await m.db(s.database).listCollections().toArray()).length), 'nothing created').toBe(0);
    // with spec.create true the probe creates the collection; then create: false is satisfied once the watermark collection exists too
    expect((await b.probe(ctx(s))).detail).toMatch(new RegExp(`^collection ${s.database}\\.kollect_rows reachable on mongodb://127\\.0\\.0\\.1:\\d+/\\?authMechanism=PLAIN \\(server `));
    await b.export(full([row(1)], { version: 1 }), ctx(s));
    expect(await b.export(full([row(1), row(2)], { version: 2 }), ctx(s, { create: false }))).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect(mongodbSink.locate(s, inventory)).toEqual({ endpoint: s.url, location: `collection ${s.database}.kollect_rows` });
  });

  it('refuses the loopback server when the endpoint guard does not allow it, writing nothing', async () => {
    const s = spec('refused');
    const guard = new EndpointGuard({ allow: [], clusterCidrs: [] });
    const err = await failure(backend().export(full([row(1)]), ctx(s, { guard })));
    expect(err).toBeInstanceOf(EndpointRefusedError);
    expect((err as SinkConfigError).field).toBe('spec.mongodb.url');
    const probeErr = await failure(backend().probe(ctx(s, { guard })));
    expect(probeErr).toBeInstanceOf(EndpointRefusedError);
    expect(await withMongo(async (m) => (await m.db().admin().listDatabases()).databases.map((d) => d.name))).not.toContain(s.database);
  });

  it('fails fast and retryably while the server is down, then the same export succeeds with nothing lost or duplicated', async () => {
    const b = backend();
    const s = spec('outage');
    const c = ctx(s);
    const rows = Array.from({ length: 20 }, (_, i) => row(i));
    await b.export(full(rows.slice(0, 10), { version: 1 }), c);
    const input = () => delta(rows.slice(10), { fromVersion: 1, version: 2, deletes: [tombstone(rows[0]!, 2)], rowCount: 19 });
    await stopService('mongodb');
    let err: Error;
    try {
      logs.length = 0;
      const t0 = Date.now();
      err = await failure(b.export(input(), c));
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await startService('mongodb');
    }
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err).not.toBeInstanceOf(SinkConfigError);
    for (const text of [err.message, JSON.stringify(logs)]) expect(text).not.toContain(mongodbFixture.secret().password);
    expect(await b.export(input(), c)).toMatchObject({ outcome: 'applied', upserts: 10, deletes: 1 });
    expect(await held(s)).toEqual(expected(rows.slice(1)));
    expect(await withMongo((m) => m.db(s.database).collection(s.collection!).countDocuments())).toBe(19);
  }, 40_000);

  it('exports 10k rows in full, then a 100-row delta (timings printed)', async () => {
    const b = backend();
    const s = spec('bench');
    const c = ctx(s);
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}`, attributes: { replicas: i, image: `nginx:1.${i}`, labels: { app: 'web', tier: 'front' }, ports: [80, 443] } }));
    await b.export(full([row(0)], { version: 1 }), c); // collection and indexes first: the timings are of the exports alone
    let t = Date.now();
    const first = await b.export(full(rows, { version: 2 }), c);
    const fullMs = Date.now() - t;
    const changed = Array.from({ length: 100 }, (_, i) => row(i * 7, { attributes: { replicas: -i }, version: 3 }));
    t = Date.now();
    const d = await b.export(delta(changed, { fromVersion: 2, version: 3, rowCount: 10_000 }), c);
    const deltaMs = Date.now() - t;
    console.log(`[bench] mongodb 10k full: ${fullMs} ms; 100-row delta: ${deltaMs} ms`);
    expect(first).toMatchObject({ outcome: 'applied', upserts: 10_000 });
    expect(d).toMatchObject({ outcome: 'applied', upserts: 100 });
    expect(await withMongo((m) => m.db(s.database).collection(s.collection!).countDocuments())).toBe(10_000);
  }, 120_000);
});
