// The watcher against the real apiserver and the real Temporal server. A recorder workflow
// registered as 'inventoryWorkflow' on this file's own task queue receives what the watcher
// sends, so each test checks both the signals (batched, coalesced, resynced) and the snapshot
// they add up to.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { waitFor, sleep } from '../harness/util.js';
import type { Condition } from '../../api/types.js';
import type { Row, RowRef } from '../../api/rows.js';
import { INVENTORY_FINALIZER, type Watcher } from '../../watcher/index.js';
import { LIST_DONE, NETWORK_ERROR, BACKOFF, WATCH_START, type InformerEvent } from '../../watcher/informer.js';
import type { KubeObject } from '../../watcher/kube.js';
import type { Recorded } from './fixtures/recorder-workflow.js';
import { watcherEnv, apiserverProxy, type WatcherEnv } from './fixtures/watcher-env.js';

const uidOf = (o: KubeObject): string => o.metadata!.uid!;
const deltas = (rec: Recorded[]) => rec.flatMap((r) => (r.signal === 'delta' ? [r.batch] : []));
const resyncs = (rec: Recorded[]) => rec.flatMap((r) => (r.signal === 'resync' ? [r.part] : []));
const upsertsOf = (rec: Recorded[], uid: string): RowRef[] => deltas(rec).flatMap((b) => b.upserts.filter((r) => r.uid === uid));
const ready = (o: KubeObject): Condition | undefined => ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
const byName = (rows: Row[]): Record<string, unknown> => Object.fromEntries(rows.map((r) => [r.name, r.attributes.value]));

const PROFILE = {
  apiVersion: 'v1', kind: 'ConfigMap',
  attributes: [{ name: 'value', cel: 'object.data.value' }, { name: 'cmName', jsonPath: '{.metadata.name}' }],
};

describe('watcher on the real apiserver and Temporal', () => {
  let env: WatcherEnv;
  let watcher: Watcher;
  const events: { informer: string; e: InformerEvent }[] = [];
  const cms: Record<string, KubeObject> = {};

  beforeAll(async () => {
    env = await watcherEnv('watcher');
    // The operator's cluster name (KOLLECT_CLUSTER_NAME): rows of an inventory without spec.cluster carry it.
    watcher = await env.startWatcher({ clusterName: 'east' });
    watcher.onInformerEvent((informer, e) => events.push({ informer, e }));
  });
  afterAll(async () => { await env?.close(); });

  it('collects ConfigMaps selected by a Target into its Inventory: batched upserts, a resync, the finalizer, Ready conditions', async () => {
    for (const n of ['a', 'b', 'c']) cms[n] = await env.configMap(`cm-${n}`, { value: n }, { app: 'kx' });
    await env.configMap('unrelated', { value: 'z' }, { app: 'other' });
    await env.put('KollectProfile', 'cms', PROFILE);
    await env.put('KollectTarget', 't1', { profileRef: { name: 'cms' }, namespaces: [env.ns], labelSelector: { matchLabels: { app: 'kx' } } });
    await env.put('KollectInventory', 'inv1', { targetRefs: [{ name: 't1' }], cluster: 'c1' });

    const rows = await env.waitSnapshot('inv1', '3 rows', (r) => r.length === 3);
    expect(byName(rows)).toEqual({ 'cm-a': 'a', 'cm-b': 'b', 'cm-c': 'c' });
    for (const r of rows) {
      expect(r).toMatchObject({ target: 't1', cluster: 'c1', apiVersion: 'v1', kind: 'ConfigMap', namespace: env.ns });
      expect(r.attributes.cmName).toBe(r.name);
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const rec = await env.recorded('inv1');
    // One flush carries all three rows: the initial list is not sent object by object.
    expect(deltas(rec).filter((b) => b.upserts.length > 0)).toHaveLength(1);
    await waitFor('resync of t1', async () => resyncs(await env.recorded('inv1')).some((p) => p.uids.length > 0), 10_000);
    // (An Inventory seen before its Target may first get an empty resync for it: harmless.)
    const resync = resyncs(await env.recorded('inv1')).filter((p) => p.target === 't1').at(-1);
    expect(resync).toMatchObject({ target: 't1', part: 0, parts: 1 });
    expect(resync!.uids).toEqual(['a', 'b', 'c'].map((n) => uidOf(cms[n]!)).sort());
    expect(rec[0]).toEqual({ signal: 'configChanged' });

    await waitFor('finalizer on inv1', async () => ((await env.get('KollectInventory', 'inv1')).metadata?.finalizers ?? []).includes(INVENTORY_FINALIZER), 10_000);
    await waitFor('Profile Ready', async () => ready(await env.get('KollectProfile', 'cms'))?.status === 'True', 10_000);
    await waitFor('Target Ready', async () => ready(await env.get('KollectTarget', 't1'))?.reason === 'Collecting', 10_000);
    expect(ready(await env.get('KollectTarget', 't1'))?.message).toBe(`Collecting ConfigMap (v1) from namespaces ${env.ns}`);
  });

  it('sends a changed row, skips a change that does not alter the row, and deletes on delete or when the selector no longer matches', async () => {
    await env.patchConfigMap('cm-a', { data: { value: 'a2' } });
    await env.waitSnapshot('inv1', 'cm-a updated', (r) => byName(r)['cm-a'] === 'a2');

    // An annotation is not extracted: same hash, nothing sent.
    const before = (await env.recorded('inv1')).length;
    await env.patchConfigMap('cm-b', { metadata: { annotations: { note: 'irrelevant' } } });
    await sleep(2500);
    expect((await env.recorded('inv1')).length).toBe(before);

    await env.deleteConfigMap('cm-c');
    await env.patchConfigMap('cm-b', { metadata: { labels: { app: 'moved' } } });
    const rows = await env.waitSnapshot('inv1', 'cm-b and cm-c gone', (r) => r.length === 1);
    expect(byName(rows)).toEqual({ 'cm-a': 'a2' });
    const deleted = deltas(await env.recorded('inv1')).flatMap((b) => b.deletes.map((d) => d.uid));
    expect(deleted).toEqual(expect.arrayContaining([uidOf(cms.c!), uidOf(cms.b!)]));
  });

  it('coalesces: ten quick changes of one object send its last row, not ten', async () => {
    const uid = uidOf(cms.a!);
    const sentBefore = upsertsOf(await env.recorded('inv1'), uid).length;
    for (let i = 1; i <= 10; i++) await env.patchConfigMap('cm-a', { data: { value: `v${i}` } });
    await env.waitSnapshot('inv1', 'cm-a at v10', (r) => byName(r)['cm-a'] === 'v10');
    await watcher.flushed();
    const sent = upsertsOf(await env.recorded('inv1'), uid).slice(sentBefore);
    expect(sent.length).toBeLessThanOrEqual(3); // one flush per second at most: ≤ 3 windows in practice
    const last = sent.at(-1)!;
    expect((await env.bodies([last.hash])).get(last.hash)!.attributes.value).toBe('v10');
  });

  it('two Targets on the same kind and namespace share one informer; an all-namespaces Target reads only the watcher\'s namespaces (docs/tenancy.md)', async () => {
    const listsBefore = events.filter((x) => x.informer === `v1/ConfigMap@${env.ns}` && x.e.type === LIST_DONE).length;
    await env.put('KollectTarget', 't2', { profileRef: { name: 'cms' }, namespaces: [env.ns], labelSelector: { matchLabels: { app: 'kx2' } } });
    const otherNs = `${env.ns}-b`;
    await env.createNamespace(otherNs);
    const label = `all-${randomBytes(3).toString('hex')}`;
    await env.put('KollectTarget', 't3', { profileRef: { name: 'cms' }, labelSelector: { matchLabels: { everywhere: label } } });
    await env.put('KollectInventory', 'inv2', { targetRefs: [{ name: 't2' }, { name: 't3' }] });
    await env.configMap('cm-kx2', { value: 'two' }, { app: 'kx2' });
    await env.configMap('cm-here', { value: 'here' }, { everywhere: label });
    await env.configMap('cm-there', { value: 'there' }, { everywhere: label }, otherNs);

    const rows = await env.waitSnapshot('inv2', '2 rows', (r) => r.length === 2);
    // The watcher serves env.ns only (its namespaces): t3 reads no other namespace, so no
    // cluster-wide informer lists cm-there.
    expect(rows.map((r) => `${r.target}:${r.namespace}/${r.name}:${r.cluster}`).sort()).toEqual([
      `t2:${env.ns}/cm-kx2:east`, `t3:${env.ns}/cm-here:east`,
    ].sort());
    expect(ready(await env.get('KollectTarget', 't3'))?.message).toBe(`Collecting ConfigMap (v1) from namespaces ${env.ns}`);
    const informers = watcher.informers().filter((i) => i.id.startsWith('v1/ConfigMap@'));
    expect(informers.map((i) => [i.id, i.refs]).sort()).toEqual([[`v1/ConfigMap@${env.ns}`, 3]]);
    // t2 and t3 joined the running informer: it was not listed again.
    expect(events.filter((x) => x.informer === `v1/ConfigMap@${env.ns}` && x.e.type === LIST_DONE).length).toBe(listsBefore);
    expect(byName(Object.values(await env.snapshot('inv1')))).toEqual({ 'cm-a': 'v10' });
  });

  it('a Profile whose CEL does not compile gets Ready=False with the compiler message; its Target stops, the watcher carries on; fixing it resumes', async () => {
    await env.put('KollectProfile', 'bad', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'value', cel: 'object.data.value +' }] });
    await env.put('KollectTarget', 't-bad', { profileRef: { name: 'bad' }, namespaces: [env.ns] });
    await env.put('KollectInventory', 'inv-bad', { targetRefs: [{ name: 't-bad' }] });
    await waitFor('bad profile condition', async () => ready(await env.get('KollectProfile', 'bad'))?.status === 'False', 10_000);
    const cond = ready(await env.get('KollectProfile', 'bad'))!;
    expect(cond.reason).toBe('CompileError');
    expect(cond.message).toMatch(/^spec\.attributes\[0\]\.cel: /);
    await waitFor('target not collecting', async () => ready(await env.get('KollectTarget', 't-bad'))?.reason === 'ProfileError', 10_000);
    expect(ready(await env.get('KollectTarget', 't-bad'))!.message).toContain(cond.message);

    // Still alive: other Targets keep flowing.
    await env.patchConfigMap('cm-a', { data: { value: 'after-bad' } });
    await env.waitSnapshot('inv1', 'cm-a after the bad profile', (r) => byName(r)['cm-a'] === 'after-bad');

    await env.patch('KollectProfile', 'bad', { spec: { attributes: [{ name: 'value', cel: 'object.data.value + "!"' }] } });
    await waitFor('fixed profile', async () => ready(await env.get('KollectProfile', 'bad'))?.status === 'True', 10_000);
    const rows = await env.waitSnapshot('inv-bad', 'rows after the fix', (r) => r.some((x) => x.name === 'cm-a'));
    expect(byName(rows)['cm-a']).toBe('after-bad!');
    await waitFor('target collecting', async () => ready(await env.get('KollectTarget', 't-bad'))?.reason === 'Collecting', 10_000);
  });

  it('signals configChanged when the Inventory changes or a sink it references changes', async () => {
    const count = async (): Promise<number> => (await env.recorded('inv1')).filter((r) => r.signal === 'configChanged').length;
    const start = await count();
    await env.put('KollectDatabaseSink', 'db1', { type: 'postgres', postgres: { url: 'postgres://kollect@db:5432/kollect' } });
    await env.patch('KollectInventory', 'inv1', { spec: { databaseSinkRefs: [{ name: 'db1' }] } });
    await waitFor('configChanged for the inventory edit', async () => (await count()) === start + 1, 10_000);
    await env.patch('KollectDatabaseSink', 'db1', { spec: { maxAttempts: 3 } });
    await waitFor('configChanged for the sink edit', async () => (await count()) === start + 2, 10_000);
    // A sink nobody references changes nothing.
    await env.put('KollectDatabaseSink', 'db-unused', { type: 'postgres', postgres: { url: 'postgres://kollect@db:5432/kollect' } });
    await sleep(2000);
    expect(await count()).toBe(start + 2);
  });

  it('a Target dropped from an Inventory, or deleted, leaves it through an empty resync', async () => {
    const t1Rows = Object.values(await env.snapshot('inv1')).length;
    await env.waitSnapshot('inv-bad', 't-bad rows', (r) => r.some((x) => x.target === 't-bad'));
    const emptied = (rec: Recorded[]) => resyncs(rec).filter((p) => p.target === 't-bad' && p.uids.length === 0).length;
    const before = emptied(await env.recorded('inv-bad'));
    await env.patch('KollectInventory', 'inv-bad', { spec: { targetRefs: [{ name: 't1' }] } });
    await env.waitSnapshot('inv-bad', 'only t1 rows', (r) => r.length === t1Rows && r.every((x) => x.target === 't1'));
    expect(emptied(await env.recorded('inv-bad'))).toBe(before + 1);

    await env.patch('KollectInventory', 'inv-bad', { spec: { targetRefs: [{ name: 't1' }, { name: 't-bad' }] } });
    await env.waitSnapshot('inv-bad', 't-bad back', (r) => r.some((x) => x.target === 't-bad'));
    await env.remove('KollectTarget', 't-bad');
    await env.waitSnapshot('inv-bad', 't-bad gone', (r) => r.length === t1Rows && r.every((x) => x.target === 't1'));
    expect(emptied(await env.recorded('inv-bad'))).toBe(before + 2);
  });

  it('collects a kind whose CRD is created after the Target (discovery refresh; the new resource answers 429 until its storage is ready)', async () => {
    const group = `gadgets${randomBytes(3).toString('hex')}.kollect.dev`;
    await env.put('KollectProfile', 'gadgets', { apiVersion: `${group}/v1`, kind: 'Gadget', attributes: [{ name: 'value', cel: 'object.spec.size' }] });
    await env.put('KollectTarget', 't-gadgets', { profileRef: { name: 'gadgets' }, namespaces: [env.ns] });
    await env.put('KollectInventory', 'inv-gadgets', { targetRefs: [{ name: 't-gadgets' }] });
    await waitFor('KindNotFound', async () => ready(await env.get('KollectTarget', 't-gadgets'))?.reason === 'KindNotFound', 10_000);

    await env.kube.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: {
      metadata: { name: `gadgets.${group}` },
      spec: { group, scope: 'Namespaced', names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } } }] },
    } });
    await waitFor('Gadget CRD served', async () => {
      try { await env.kube.request('GET', `/apis/${group}/v1/namespaces/${env.ns}/gadgets`); return true; } catch { return false; }
    }, 30_000);
    await env.kube.request('POST', `/apis/${group}/v1/namespaces/${env.ns}/gadgets`, { body: { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'g1' }, spec: { size: 7 } } });
    const rows = await env.waitSnapshot('inv-gadgets', 'the gadget row', (r) => r.length === 1, 45_000);
    expect(rows[0]).toMatchObject({ kind: 'Gadget', apiVersion: `${group}/v1`, name: 'g1', attributes: { value: 7 } });
    // Whatever the Gadget informer hit on the way was a retryable 429, never a give-up.
    for (const x of events.filter((y) => y.informer.includes('/Gadget@') && y.e.type === NETWORK_ERROR)) expect(x.e).toMatchObject({ status: 429 });
  });

  it('after a restart, the resync carries exactly the surviving uids: deletes missed while the watcher was down are reconciled', async () => {
    const survivors = [await env.configMap('cm-r1', { value: 'r1' }, { app: 'kx' }), await env.configMap('cm-r2', { value: 'r2' }, { app: 'kx' })];
    await env.waitSnapshot('inv1', 'r1 and r2 present', (r) => r.length === 3);
    watcher.stop();
    await watcher.closed();
    const cutoff = (await env.recorded('inv1')).length;

    await env.deleteConfigMap('cm-r2');
    await env.deleteConfigMap('cm-a');
    const fresh = await env.configMap('cm-r3', { value: 'r3' }, { app: 'kx' });

    watcher = await env.startWatcher();
    watcher.onInformerEvent((informer, e) => events.push({ informer, e }));
    const rows = await env.waitSnapshot('inv1', 'only survivors after restart', (r) => r.length === 2 && r.every((x) => x.name !== 'cm-a'));
    expect(byName(rows)).toEqual({ 'cm-r1': 'r1', 'cm-r3': 'r3' });
    await watcher.flushed();
    const after = (await env.recorded('inv1')).slice(cutoff);
    const [resync, ...more] = resyncs(after).filter((p) => p.target === 't1');
    expect(more).toHaveLength(0);
    expect(resync!.uids).toEqual([uidOf(survivors[0]!), uidOf(fresh)].sort());
    // The restarted watcher sent no delete for what vanished while it was down: the resync did it.
    expect(deltas(after).flatMap((b) => b.deletes)).toEqual([]);
  });

  it('rides out an apiserver outage: watch errors, backoff, then the changes made meanwhile arrive', async () => {
    watcher.stop();
    await watcher.closed();
    const proxy = await apiserverProxy(env.kc);
    const seen: InformerEvent[] = [];
    try {
      watcher = await env.startWatcher({ kc: proxy.kc, informer: { backoff: { initialMs: 200, maxMs: 1000 } } });
      watcher.onInformerEvent((informer, e) => { if (informer === `v1/ConfigMap@${env.ns}`) seen.push(e); });
      await waitFor('t1 live behind the proxy', () => Promise.resolve(watcher.targets().some((t) => t.target === `${env.ns}/t1` && t.live)), 20_000);
      await proxy.cut();
      await env.deleteConfigMap('cm-r1');
      await env.patchConfigMap('cm-r3', { data: { value: 'during-outage' } });
      await waitFor('watch error seen', () => Promise.resolve(seen.some((e) => e.type === NETWORK_ERROR) && seen.some((e) => e.type === BACKOFF)), 20_000);
      await proxy.restore();
      const rows = await env.waitSnapshot('inv1', 'outage changes applied', (r) => r.length === 1 && byName(r)['cm-r3'] === 'during-outage', 30_000);
      expect(rows[0]!.name).toBe('cm-r3');
      // The informer came back by itself after the errors: it watched again or relisted (which of the
      // two depends on where the cut caught it).
      const firstError = seen.findIndex((e) => e.type === NETWORK_ERROR);
      const recovered = seen.slice(firstError + 1).filter((e) => e.type === WATCH_START || e.type === LIST_DONE);
      expect(recovered.length, `events after the first error: ${seen.slice(firstError).map((e) => e.type).join(', ')}`).toBeGreaterThanOrEqual(1);
    } finally {
      watcher.stop();
      await watcher.closed();
      await proxy.close();
    }
    watcher = await env.startWatcher();
  });

  it('relists periodically as a safety net and resyncs after each relist', async () => {
    watcher.stop();
    await watcher.closed();
    watcher = await env.startWatcher({ informer: { relistIntervalMs: 1500 } });
    const cutoff = (await env.recorded('inv1')).length;
    await waitFor('three t1 resyncs', async () => resyncs((await env.recorded('inv1')).slice(cutoff)).filter((p) => p.target === 't1').length >= 3, 20_000);
    const parts = resyncs((await env.recorded('inv1')).slice(cutoff)).filter((p) => p.target === 't1');
    expect(new Set(parts.map((p) => p.id)).size).toBe(parts.length);
    expect(new Set(parts.map((p) => p.uids.join()))).toEqual(new Set([Object.values(await env.snapshot('inv1')).map((r) => r.uid).sort().join()]));
    watcher.stop();
    await watcher.closed();
    watcher = await env.startWatcher();
  });

  it('an Inventory being deleted gets inventoryDeleted and nothing after it', async () => {
    await waitFor('finalizer on inv2', async () => ((await env.get('KollectInventory', 'inv2')).metadata?.finalizers ?? []).includes(INVENTORY_FINALIZER), 10_000);
    await env.remove('KollectInventory', 'inv2');
    await waitFor('inventoryDeleted', async () => (await env.recorded('inv2')).some((r) => r.signal === 'inventoryDeleted'), 15_000);
    await env.configMap('cm-kx2-late', { value: 'late' }, { app: 'kx2' });
    await sleep(2000);
    const rec = await env.recorded('inv2');
    expect(rec.at(-1)).toEqual({ signal: 'inventoryDeleted' });
    // The workflow owns finalizer removal; here the test plays its part.
    await env.patch('KollectInventory', 'inv2', { metadata: { finalizers: null } });
  });
});
