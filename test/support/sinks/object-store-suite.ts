// The integration tests of the object-store snapshot sinks (s3, gcs), run by each type's test file
// against its harness server: the contract is the same, only the store differs.
import { sinkDescriptors } from '../../../activities/sinks/registry.js';
import { viaSharedPath } from './shared-path.js';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../../api/rows.js';
import { EndpointGuard } from '../../../activities/sinks/endpoints.js';
import {
  MANIFEST, ObjectStoreBackend, parseManifest, resolvePrefix, type Manifest, type ObjectStore, type ObjectStoreBackendOptions, type ObjectStoreDriver,
  type ObjectStoreSpec,
} from '../../../activities/sinks/object-store.js';
import { SinkExportError } from '../../../activities/sinks/redact.js';
import { canonical } from '../../../activities/sinks/serialize.js';
import { DeleteGuardError, SinkConfigError, type SinkContext } from '../../../activities/sinks/types.js';
import { startService, stopService } from '../../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../export-input.js';
import { readParquet } from '../parquet.js';
import type { SinkFixture } from './fixture.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, image: `nginx:1.${i}` } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}
const rows = (n: number, from = 0): VersionedRow[] => Array.from({ length: n }, (_, i) => row(from + i));

/** Rows of the bench test: KOLLECT_SINK_BENCH_ROWS (default 2000, so the suite stays fast; the lead's bench runs 10000). */
const benchRows = Number(process.env.KOLLECT_SINK_BENCH_ROWS ?? 2_000);
const benchLabel = benchRows % 1000 === 0 ? `${benchRows / 1000}k` : String(benchRows);

async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

export function objectStoreSuite<Spec extends ObjectStoreSpec>(fx: SinkFixture<Spec>, newDriver: () => ObjectStoreDriver<Spec>): void {
  const type = fx.type;
  const sink = { kind: 'KollectSnapshotSink' as const, namespace: 'team-a', name: type, type };
  type Opts = Partial<Omit<ExportInputOptions, 'inventory' | 'sink' | 'mode'>>;
  const full = (r: VersionedRow[], opts: Opts & { version: number }): TestExportInput => exportInput(r, { sink, inventory, ...opts, mode: 'full' });
  const delta = (r: VersionedRow[], opts: Opts & { fromVersion: number; version: number }): TestExportInput => exportInput(r, { sink, inventory, ...opts, mode: 'delta' });

  const drivers: ObjectStoreDriver<Spec>[] = [];
  /** A backend of its own (own clients); retired objects deleted at once unless told otherwise. */
  function backend(opts: ObjectStoreBackendOptions = { retireAfterMs: 0 }): ObjectStoreBackend<Spec> {
    const d = newDriver();
    drivers.push(d);
    return viaSharedPath(sinkDescriptors[type]!, new ObjectStoreBackend(d, opts));
  }
  afterAll(async () => { await Promise.all(drivers.map((d) => d.close())); });

  const ctx = (spec: Spec, over: Partial<SinkContext<Spec>> = {}): SinkContext<Spec> => ({ ...fx.context(spec), ...over });
  const fresh = async (): Promise<Spec> => fx.spec(`${type}-${randomUUID().slice(0, 8)}`);
  /** The raw store, to look at objects and to edit them behind Kollect's back. */
  const raw = async (spec: Spec): Promise<ObjectStore> => { const d = newDriver(); drivers.push(d); return Promise.resolve(d.open(fx.context(spec))); };
  const prefixOf = (spec: Spec) => resolvePrefix(type, spec.pathTemplate, inventory);
  const manifestOf = async (spec: Spec): Promise<Manifest | undefined> => parseManifest((await (await raw(spec)).get(`${prefixOf(spec)}/${MANIFEST}`))?.body);
  async function keysOf(spec: Spec): Promise<string[]> {
    const out: string[] = [];
    for await (const page of (await raw(spec)).list(`${prefixOf(spec)}/`)) out.push(...page.map((o) => o.key.slice(prefixOf(spec).length + 1)));
    return out.sort();
  }
  const attrs = (r: VersionedRow[]) => new Map(r.map((x) => [`${x.target}/${x.uid}`, { attributes: x.attributes }]));

  describe(`${type} sink`, () => {
    it('creates the bucket, writes one object per row and the manifest; a delta updates and deletes; repeats are no-ops', async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      const role = row(9, { target: 'roles', namespace: '', kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', name: 'view' });
      const base = [row(1), row(2), role];
      expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: 3, deletes: 0, rowsExported: 3 });
      expect(await keysOf(spec)).toEqual(['manifest.json', 'rows/deployments/uid-1.json', 'rows/deployments/uid-2.json', 'rows/roles/uid-9.json']);
      const m = (await manifestOf(spec))!;
      expect(m).toMatchObject({ lineage: 'lineage-a', version: 1, format: 'json', rowCount: 3, targets: { deployments: 2, roles: 1 }, cluster: 'c1', inventory: { namespace: 'team-a', name: 'apps' }, retired: {} });
      expect(Object.keys(m.rows)).toEqual(['deployments/uid-1.json', 'deployments/uid-2.json', 'roles/uid-9.json']);
      const body = JSON.parse((await (await raw(spec)).get(`${prefixOf(spec)}/rows/roles/uid-9.json`))!.body.toString()) as Record<string, unknown>;
      expect(body).toEqual({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'view', uid: 'uid-9', cluster: 'c1', target: 'roles', attributes: { image: 'nginx:1.9', replicas: 9 } });
      expect(await fx.read(spec, inventory)).toEqual(attrs(base));

      // the same full reconcile again: nothing written, not even the manifest
      const tag = (await (await raw(spec)).get(`${prefixOf(spec)}/${MANIFEST}`))!.tag;
      expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: 0, deletes: 0, detail: 'no change' });
      expect((await (await raw(spec)).get(`${prefixOf(spec)}/${MANIFEST}`))!.tag).toBe(tag);

      // a delta: one row changes, one is added, one deleted
      const changed = row(2, { attributes: { replicas: 7 }, version: 2 });
      const d = delta([changed, row(3, { version: 2 })], { fromVersion: 1, version: 2, deletes: [tombstone(role, 2)], snapshot: [row(1), changed, row(3)] });
      expect(await b.export(d, c)).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1, rowsExported: 3 });
      expect(await fx.read(spec, inventory)).toEqual(attrs([row(1), changed, row(3)]));
      expect(await keysOf(spec)).toEqual(['manifest.json', 'rows/deployments/uid-1.json', 'rows/deployments/uid-2.json', 'rows/deployments/uid-3.json']);
      expect(await manifestOf(spec)).toMatchObject({ version: 2, rowCount: 3, targets: { deployments: 3 } });
      // the same delta again (a retry): noop
      expect(await b.export(d, c)).toMatchObject({ outcome: 'noop', upserts: 0 });
    });

    it('asks for a full reconcile when a delta does not follow the stored watermark', async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      expect(await b.export(delta([row(1)], { fromVersion: 0, version: 1 }), c)).toMatchObject({ outcome: 'needsFull', detail: 'watermark absent: full reconcile needed' });
      await b.export(full([row(1)], { version: 3 }), c);
      expect(await b.export(delta([row(2)], { fromVersion: 5, version: 6 }), c)).toMatchObject({ outcome: 'needsFull' });
      expect(await b.export(delta([row(2)], { fromVersion: 3, version: 4, lineage: 'lineage-b' }), c)).toMatchObject({ outcome: 'needsFull' });
      expect(await b.export(full([row(2)], { version: 2 }), c)).toMatchObject({ outcome: 'noop', aheadVersion: 3 });
      expect(await fx.read(spec, inventory)).toEqual(attrs([row(1)]));
    });

    it('a full reconcile repairs foreign edits: a modified, a deleted and an added object', async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      const base = rows(4);
      await b.export(full(base, { version: 1 }), c);
      const store = await raw(spec);
      const p = prefixOf(spec);
      await store.put(`${p}/rows/deployments/uid-0.json`, '{"hacked":true}\n', { contentType: 'application/json' });
      await store.delete([`${p}/rows/deployments/uid-1.json`]);
      await store.put(`${p}/rows/deployments/stray.json`, '{}\n', { contentType: 'application/json' });
      const input = full(base, { version: 2 });
      const r = await b.export(input, c);
      expect(r).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 0 });
      expect(r.detail).toContain('deleted 1 foreign');
      expect(input.reads.rows).toBe(2); // the untouched rows' bodies were never read
      expect(await fx.read(spec, inventory)).toEqual(attrs(base));
      expect(await keysOf(spec)).toEqual(['manifest.json', ...base.map((x) => `rows/deployments/${x.uid}.json`)]);
    });

    it('switches format with a full reconcile (yaml objects; the json ones retired)', async () => {
      const spec = await fresh();
      const b = backend();
      await b.export(full(rows(2), { version: 1 }), ctx(spec));
      expect(await b.export(delta([row(5)], { fromVersion: 1, version: 2 }), ctx(spec, { format: 'yaml' }))).toMatchObject({ outcome: 'needsFull' });
      expect(await b.export(full(rows(2), { version: 2 }), ctx(spec, { format: 'yaml' }))).toMatchObject({ outcome: 'applied', upserts: 2 });
      expect(await keysOf(spec)).toEqual(['manifest.json', 'rows/deployments/uid-0.yaml', 'rows/deployments/uid-1.yaml']);
      expect(await fx.read(spec, inventory)).toEqual(attrs(rows(2)));
    });

    it('holds an export that would delete most rows without a complete resync', async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      await b.export(full(rows(4), { version: 1 }), c);
      const before = await keysOf(spec);
      expect(await failure(b.export(full(rows(1), { version: 2, resyncComplete: false }), c))).toBeInstanceOf(DeleteGuardError);
      const d = delta([], { fromVersion: 1, version: 2, deletes: rows(3).map((x) => tombstone(x, 2)), resyncComplete: false, snapshot: rows(1, 3) });
      expect(await failure(b.export(d, c))).toBeInstanceOf(DeleteGuardError);
      expect(await keysOf(spec)).toEqual(before);
      expect(await manifestOf(spec)).toMatchObject({ version: 1 });
      expect(await b.export(full(rows(1), { version: 2 }), c)).toMatchObject({ outcome: 'applied', deletes: 3 });
    });

    it('refuses bad settings with a SinkConfigError naming the field', async () => {
      const spec = await fresh();
      const b = backend();
      const expectField = async (s: Spec, field: string, over: Partial<SinkContext<Spec>> = {}) => {
        const err = await failure(b.export(full([row(1)], { version: 1 }), ctx(s, over)));
        expect(err).toBeInstanceOf(SinkConfigError);
        expect((err as SinkConfigError).field).toBe(field);
      };
      await expectField({ ...spec, pathTemplate: 'kollect/../{cluster}/{namespace}/{inventory}' }, `spec.${type}.pathTemplate`);
      await expectField({ ...spec, pathTemplate: '/abs/{cluster}/{namespace}/{inventory}' }, `spec.${type}.pathTemplate`);
      await expectField({ ...spec, pathTemplate: 'kollect/{namespace}/{inventory}' }, `spec.${type}.pathTemplate`);
      await expectField({ ...spec, pathTemplate: 'k\u0001/{cluster}/{namespace}/{inventory}' }, `spec.${type}.pathTemplate`);
      await expectField({ ...spec, bucket: 'Not_A_Bucket!' }, `spec.${type}.bucket`);
      await expectField(spec, `spec.${type}.bucket`, { create: false });
      await expectField(spec, 'spec.format', { format: 'csv' as never });
      expect(await keysOf(spec).catch(() => [])).toEqual([]);
    });

    it('refuses an endpoint the guard forbids, writing nothing', async () => {
      const spec = await fresh();
      const err = await failure(backend().export(full([row(1)], { version: 1 }), ctx(spec, { guard: new EndpointGuard({ allow: [], clusterCidrs: [] }) })));
      expect(err).toBeInstanceOf(SinkConfigError);
      expect(err.message).toMatch(/127\.0\.0\.1 \(loopback\)/);
      expect((err as SinkConfigError).field).toMatch(new RegExp(`^spec\\.${type}\\.`));
      // the bucket was never created
      const probe = await failure(backend().probe(ctx(spec, { create: false })));
      expect((probe as SinkConfigError).field).toBe(`spec.${type}.bucket`);
    });

    it('probes: creates the bucket, writes no rows', async () => {
      const spec = await fresh();
      expect((await backend().probe(ctx(spec))).detail).toMatch(/bucket .* created/);
      expect((await backend().probe(ctx(spec))).detail).toMatch(/bucket .* reachable/);
      expect(await keysOf(spec)).toEqual([]);
    });

    it('fails retryably while the server is down, then the same export succeeds with nothing lost', async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      await b.export(full(rows(3), { version: 1 }), c);
      const d = delta([row(3), row(0, { attributes: { replicas: 0 }, version: 2 })], { fromVersion: 1, version: 2, deletes: [tombstone(row(1), 2)], snapshot: [row(0), row(2), row(3)] });
      await stopService(fx.service);
      try {
        const t0 = Date.now();
        const err = await failure(b.export(d, c));
        expect(err).toBeInstanceOf(SinkExportError);
        expect(err).not.toBeInstanceOf(SinkConfigError);
        expect(Date.now() - t0).toBeLessThan(15_000);
      } finally {
        await startService(fx.service);
      }
      expect(await b.export(d, c)).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1 });
      expect(await fx.read(spec, inventory)).toEqual(attrs([row(0, { attributes: { replicas: 0 } }), row(2), row(3)]));
    });

    it('a reader listing while exports run never finds a manifest naming a missing object', async () => {
      const spec = await fresh();
      const b = backend({ retireAfterMs: 60_000 }); // the default grace, shortened: readers take milliseconds here
      const c = ctx(spec);
      const store = await raw(spec);
      const p = prefixOf(spec);
      await b.export(full(rows(200), { version: 1 }), c);
      let running = true;
      let checks = 0;
      const missing: string[] = [];
      const reader = (async () => {
        while (running) {
          const m = parseManifest((await store.get(`${p}/${MANIFEST}`))?.body);
          const listed = new Set<string>();
          for await (const page of store.list(`${p}/rows/`)) for (const o of page) listed.add(o.key.slice(p.length + 6));
          for (const k of Object.keys(m?.rows ?? {})) if (!listed.has(k)) missing.push(`v${m!.version}: ${k}`);
          checks++;
        }
      })();
      // each delta replaces 50 rows by 50 new ones: deletes and creates every round
      for (let v = 2; v <= 9; v++) {
        const out = rows(50, (v - 2) * 50);
        const added = rows(50, 200 + (v - 2) * 50).map((x) => ({ ...x, version: v }));
        await b.export(delta(added, { fromVersion: v - 1, version: v, deletes: out.map((x) => tombstone(x, v)), rowCount: 200, targetCounts: { deployments: 200 } }), c);
      }
      running = false;
      await reader;
      expect(checks).toBeGreaterThan(2);
      expect(missing).toEqual([]);
      const m = (await manifestOf(spec))!;
      expect(Object.keys(m.rows)).toHaveLength(200);
      expect(Object.keys(m.retired)).toHaveLength(400);
    });

    it(`bench: a ${benchLabel}-row full export, then a 100-row delta`, async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      const base = rows(benchRows);
      let t0 = Date.now();
      expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: benchRows });
      const fullMs = Date.now() - t0;
      const changed = rows(100).map((x) => row(Number(x.uid.slice(4)), { attributes: { replicas: 100 }, version: 2 }));
      t0 = Date.now();
      expect(await b.export(delta(changed, { fromVersion: 1, version: 2, snapshot: base }), c)).toMatchObject({ outcome: 'applied', upserts: 100 });
      const deltaMs = Date.now() - t0;
      const manifestBytes = (await (await raw(spec)).get(`${prefixOf(spec)}/${MANIFEST}`))!.body.length;
      t0 = Date.now();
      expect(await b.export(full(base.map((x, i) => (i < 100 ? changed[i]! : x)), { version: 3 }), c)).toMatchObject({ outcome: 'applied', upserts: 0 });
      const unchangedMs = Date.now() - t0;
      console.log(`[bench] ${type} ${benchLabel} full: ${fullMs} ms; 100-row delta: ${deltaMs} ms; unchanged ${benchLabel} full: ${unchangedMs} ms; manifest ${manifestBytes} bytes`);
    }, 120_000);
  });
  parquetSuite();

  /** format parquet: part files and deltas, read back by pyarrow with the documented reader (fx.read). */
  function parquetSuite(): void {
    const targets = ['deployments', 'roles', 'services'];
    /** Rows spread over three targets. */
    const mixed = (n: number, from = 0): VersionedRow[] => Array.from({ length: n }, (_, i) => row(from + i, { target: targets[(from + i) % 3]! }));
    /** Small parts and few deltas, so a few hundred rows make several parts and compaction comes quickly. */
    const pq = (over: ObjectStoreBackendOptions = {}): ObjectStoreBackend<Spec> => backend({ retireAfterMs: 0, parquetPartRows: 40, parquetMaxDeltas: 3, ...over });
    const pctx = (spec: Spec): SinkContext<Spec> => ctx(spec, { format: 'parquet' });
    const snapshotOf = (m: Map<string, VersionedRow>) => attrs([...m.values()]);
    /** What pyarrow must read from the parts: every column of every row. */
    const columns = (r: VersionedRow): Record<string, string> => ({
      cluster: r.cluster, target: r.target, api_version: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid,
      attributes: JSON.stringify(canonical(r.attributes)), content_hash: r.hash, snapshot_version: String(r.version),
    });

    describe(`${type} sink, format parquet`, () => {
      it('a full export writes per-target parts of at most N rows, then the manifest; pyarrow reads back the snapshot; repeats write nothing', async () => {
        const spec = await fresh();
        const b = pq();
        const c = pctx(spec);
        const base = mixed(300);
        expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: 300, deletes: 0, rowsExported: 300 });
        const m = (await manifestOf(spec))!;
        const partNames = targets.flatMap((t) => [0, 1, 2].map((n) => `parquet/1/${t}-${n}.parquet`));
        expect(m).toMatchObject({ format: 'parquet', version: 1, rowCount: 300, rows: {}, deltas: [], retiredParts: {}, base: { version: 1, dir: 'parquet/1' } });
        expect(m.base!.parts.map((p) => [p.key, p.target, p.rows])).toEqual(partNames.map((k, i) => [k, targets[Math.floor(i / 3)], [40, 40, 20][i % 3]]));
        expect(await keysOf(spec)).toEqual(['manifest.json', ...partNames]);
        // every column of every row, as pyarrow reads the files
        const store = await raw(spec);
        const read: Record<string, string>[] = [];
        for (const p of m.base!.parts) {
          const body = (await store.get(`${prefixOf(spec)}/${p.key}`))!.body;
          expect(createHash('sha256').update(body).digest('hex')).toBe(p.sha256);
          read.push(...(await readParquet(body)).rows);
        }
        const byKey = (a: Record<string, string>, b: Record<string, string>) => (`${a.target}/${a.uid}` < `${b.target}/${b.uid}` ? -1 : 1);
        expect(read.sort(byKey)).toEqual(base.map(columns).sort(byKey));
        expect(await fx.read(spec, inventory)).toEqual(attrs(base));

        // the same full again: nothing written, not even the manifest
        const tag = (await store.get(`${prefixOf(spec)}/${MANIFEST}`))!.tag;
        expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: 0, detail: 'no change' });
        expect((await store.get(`${prefixOf(spec)}/${MANIFEST}`))!.tag).toBe(tag);
        // the same rows at a later version: the parts are kept as they are, only the manifest moves
        expect(await b.export(full(base, { version: 2 }), c)).toMatchObject({ outcome: 'applied', upserts: 0 });
        expect(await manifestOf(spec)).toMatchObject({ version: 2, base: { version: 2, parts: m.base!.parts } });
        expect(await keysOf(spec)).toEqual(['manifest.json', ...partNames]);
      });

      it('deltas add a delta part and deletes; a reader applying them in order sees the snapshot after each; after K deltas a full compacts', async () => {
        const spec = await fresh();
        const b = pq();
        const c = pctx(spec);
        const snapshot = new Map(mixed(120).map((r) => [`${r.target}/${r.uid}`, r]));
        await b.export(full([...snapshot.values()], { version: 1 }), c);
        const step = async (v: number, upserts: VersionedRow[], deletes: VersionedRow[]) => {
          for (const r of deletes) snapshot.delete(`${r.target}/${r.uid}`);
          for (const r of upserts) snapshot.set(`${r.target}/${r.uid}`, r);
          const d = delta(upserts, { fromVersion: v - 1, version: v, deletes: deletes.map((r) => tombstone(r, v)), snapshot: [...snapshot.values()] });
          expect(await b.export(d, c)).toMatchObject({ outcome: 'applied', upserts: upserts.length, deletes: deletes.length });
          expect(await fx.read(spec, inventory)).toEqual(snapshotOf(snapshot));
          return d;
        };
        const changed = (i: number, v: number) => row(i, { target: targets[i % 3]!, attributes: { replicas: 100 + v }, version: v });
        const d2 = await step(2, [changed(0, 2), changed(1, 2), ...mixed(2, 500).map((r) => ({ ...r, version: 2 }))], [snapshot.get('services/uid-2')!]);
        expect(await b.export(d2, c)).toMatchObject({ outcome: 'noop' }); // a retry
        await step(3, [changed(0, 3)], [snapshot.get('deployments/uid-3')!, snapshot.get('roles/uid-4')!]);
        await step(4, [], [snapshot.get('deployments/uid-6')!]); // deletes only: no part
        const m = (await manifestOf(spec))!;
        expect(m.deltas!.map((d) => [d.version, d.parts.map((p) => [p.key, p.rows]), d.deletes])).toEqual([
          [2, [['parquet/1/delta-v2.parquet', 4]], ['services/uid-2']],
          [3, [['parquet/1/delta-v3.parquet', 1]], ['deployments/uid-3', 'roles/uid-4']],
          [4, [], ['deployments/uid-6']],
        ]);

        // a 4th delta would make more than K = 3: the workflow is asked for a full reconcile
        const d5 = delta([changed(1, 5)], { fromVersion: 4, version: 5, snapshot: [...snapshot.values()] });
        const r5 = await b.export(d5, c);
        expect(r5).toMatchObject({ outcome: 'needsFull', upserts: 0 });
        expect(r5.detail).toMatch(/3 deltas listed \(at most 3\): full reconcile needed to compact/);
        snapshot.set('roles/uid-1', changed(1, 5));
        expect(await b.export(full([...snapshot.values()], { version: 5 }), c)).toMatchObject({ outcome: 'applied', upserts: 118, deletes: 0 });
        const compacted = (await manifestOf(spec))!;
        expect(compacted).toMatchObject({ version: 5, deltas: [], base: { version: 5, dir: 'parquet/5' }, retiredParts: {} });
        // every target changed since the base: all parts are new, and the old ones retired (and, with no grace here, deleted)
        expect(compacted.base!.parts.filter((p) => p.key.startsWith('parquet/1/'))).toEqual([]);
        expect(await keysOf(spec)).toEqual(['manifest.json', ...compacted.base!.parts.map((p) => p.key)].sort());
        expect(await fx.read(spec, inventory)).toEqual(snapshotOf(snapshot));

        // delta rows outnumbering the base's: a full as well
        const big = mixed(30, 1000).map((r) => ({ ...r, version: 6 }));
        expect((await b.export(delta(big, { fromVersion: 5, version: 6, deletes: [...snapshot.values()].slice(0, 90).map((r) => tombstone(r, 6)) }), c)).detail)
          .toMatch(/delta rows \(120\) would outnumber the base's \(118\)/);
      });

      it('a full reconcile repairs a deleted part, an edited part and a stray file', async () => {
        const spec = await fresh();
        const b = pq();
        const c = pctx(spec);
        const base = rows(100);
        await b.export(full(base, { version: 1 }), c);
        const before = (await manifestOf(spec))!.base!.parts;
        const store = await raw(spec);
        const p = prefixOf(spec);
        await store.delete([`${p}/${before[0]!.key}`]);
        await store.put(`${p}/${before[1]!.key}`, 'not parquet', { contentType: 'application/octet-stream' });
        await store.put(`${p}/parquet/1/stray.parquet`, 'x', { contentType: 'application/octet-stream' });
        const r = await b.export(full(base, { version: 2 }), c);
        expect(r).toMatchObject({ outcome: 'applied', upserts: 80, deletes: 0 });
        expect(r.detail).toContain('deleted 1 foreign');
        // the same bytes went back under the same keys
        expect((await manifestOf(spec))!.base!.parts.map((x) => [x.key, x.sha256])).toEqual(before.map((x) => [x.key, x.sha256]));
        expect(await keysOf(spec)).toEqual(['manifest.json', ...before.map((x) => x.key)]);
        expect(await fx.read(spec, inventory)).toEqual(attrs(base));
      });

      it('switches json → parquet and back with a full reconcile, retiring the other layout', async () => {
        const spec = await fresh();
        const b = pq();
        const base = rows(10);
        await b.export(full(base, { version: 1 }), ctx(spec));
        expect(await b.export(delta([row(50)], { fromVersion: 1, version: 2 }), pctx(spec))).toMatchObject({ outcome: 'needsFull' });
        expect(await b.export(full(base, { version: 2 }), pctx(spec))).toMatchObject({ outcome: 'applied', upserts: 10 });
        expect(await keysOf(spec)).toEqual(['manifest.json', 'parquet/2/deployments-0.parquet']);
        expect(await fx.read(spec, inventory)).toEqual(attrs(base));
        expect(await b.export(full(base, { version: 3 }), ctx(spec))).toMatchObject({ outcome: 'applied', upserts: 10 });
        expect(await keysOf(spec)).toEqual(['manifest.json', ...base.map((x) => `rows/deployments/${x.uid}.json`)]);
        expect((await manifestOf(spec))!.retiredParts).toBeUndefined(); // retired and, with no grace here, deleted
        expect(await fx.read(spec, inventory)).toEqual(attrs(base));
      });

      it('holds a parquet export that would delete most rows without a complete resync', async () => {
        const spec = await fresh();
        const b = pq();
        const c = pctx(spec);
        await b.export(full(rows(10), { version: 1 }), c);
        const before = await keysOf(spec);
        expect(await failure(b.export(full(rows(2), { version: 2, resyncComplete: false }), c))).toBeInstanceOf(DeleteGuardError);
        const d = delta([], { fromVersion: 1, version: 2, deletes: rows(8).map((x) => tombstone(x, 2)), resyncComplete: false, snapshot: rows(2, 8) });
        expect(await failure(b.export(d, c))).toBeInstanceOf(DeleteGuardError);
        expect(await keysOf(spec)).toEqual(before);
        expect(await b.export(full(rows(2), { version: 2 }), c)).toMatchObject({ outcome: 'applied', deletes: 8 });
        expect(await fx.read(spec, inventory)).toEqual(attrs(rows(2)));
      });

      it(`bench: a ${benchLabel}-row parquet full export, then a 100-row delta`, async () => {
        const spec = await fresh();
        const b = backend(); // the defaults: 20,000-row parts, 50 deltas
        const c = pctx(spec);
        const base = rows(benchRows);
        let t0 = Date.now();
        expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: benchRows });
        const fullMs = Date.now() - t0;
        const partBytes = (await (await raw(spec)).get(`${prefixOf(spec)}/${(await manifestOf(spec))!.base!.parts[0]!.key}`))!.body.length;
        const changed = rows(100).map((x) => row(Number(x.uid.slice(4)), { attributes: { replicas: 100 }, version: 2 }));
        t0 = Date.now();
        expect(await b.export(delta(changed, { fromVersion: 1, version: 2, snapshot: base }), c)).toMatchObject({ outcome: 'applied', upserts: 100 });
        const deltaMs = Date.now() - t0;
        const now = base.map((x, i) => (i < 100 ? changed[i]! : x));
        t0 = Date.now();
        expect(await b.export(full(now, { version: 3 }), c)).toMatchObject({ outcome: 'applied', upserts: benchRows });
        const compactMs = Date.now() - t0;
        t0 = Date.now();
        expect(await b.export(full(now, { version: 4 }), c)).toMatchObject({ outcome: 'applied', upserts: 0 });
        const unchangedMs = Date.now() - t0;
        console.log(`[bench] ${type} parquet ${benchLabel} full: ${fullMs} ms; 100-row delta: ${deltaMs} ms; compacting ${benchLabel} full: ${compactMs} ms; unchanged ${benchLabel} full: ${unchangedMs} ms; first part ${partBytes} bytes`);
      }, 120_000);
    });
  }
}
