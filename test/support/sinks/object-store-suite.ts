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
import { DeleteGuardError, SinkConfigError, type SinkContext } from '../../../activities/sinks/types.js';
import { startService, stopService } from '../../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../export-input.js';
import type { SinkFixture } from './fixture.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, image: `nginx:1.${i}` } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}
const rows = (n: number, from = 0): VersionedRow[] => Array.from({ length: n }, (_, i) => row(from + i));

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
      await expectField(spec, 'spec.format', { format: 'parquet' as never });
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

    it('bench: a 10k-row full export, then a 100-row delta', async () => {
      const spec = await fresh();
      const b = backend();
      const c = ctx(spec);
      const base = rows(10_000);
      let t0 = Date.now();
      expect(await b.export(full(base, { version: 1 }), c)).toMatchObject({ outcome: 'applied', upserts: 10_000 });
      const fullMs = Date.now() - t0;
      const changed = rows(100).map((x) => row(Number(x.uid.slice(4)), { attributes: { replicas: 100 }, version: 2 }));
      t0 = Date.now();
      expect(await b.export(delta(changed, { fromVersion: 1, version: 2, snapshot: base }), c)).toMatchObject({ outcome: 'applied', upserts: 100 });
      const deltaMs = Date.now() - t0;
      const manifestBytes = (await (await raw(spec)).get(`${prefixOf(spec)}/${MANIFEST}`))!.body.length;
      t0 = Date.now();
      expect(await b.export(full(base.map((x, i) => (i < 100 ? changed[i]! : x)), { version: 3 }), c)).toMatchObject({ outcome: 'applied', upserts: 0 });
      const unchangedMs = Date.now() - t0;
      console.log(`[bench] ${type} 10k full: ${fullMs} ms; 100-row delta: ${deltaMs} ms; unchanged 10k full: ${unchangedMs} ms; manifest ${manifestBytes} bytes`);
    }, 120_000);
  });
}
