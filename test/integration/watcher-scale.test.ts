// An initial sync bigger than one signal, on the real apiserver and Temporal: 1,000 ConfigMaps of
// ~2 KB rows reach the inventory workflow packed into as few signals as the 256 KiB budget allows,
// none over it, followed by one resync; a burst of updates is coalesced to about one signal per
// second. Prints the numbers it measured. KOLLECT_WATCHER_SCALE_N=10000 runs it bigger.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { waitFor } from '../harness/util.js';
import { inventoryWorkflowId } from '../../workflows/definitions.js';
import { summaryQuery, type RecordedSummary } from './fixtures/recorder-workflow.js';
import { watcherEnv, type WatcherEnv } from './fixtures/watcher-env.js';

const N = Number(process.env.KOLLECT_WATCHER_SCALE_N ?? 1000);
const BUDGET = 256 * 1024;

describe('watcher at scale', () => {
  let env: WatcherEnv;
  beforeAll(async () => { env = await watcherEnv('wscale'); });
  afterAll(async () => { await env?.close(); });

  it(`syncs ${N} objects in signals within the payload budget, then coalesces an update burst`, async () => {
    const summary = (): Promise<RecordedSummary | undefined> =>
      env.client.workflow.getHandle(inventoryWorkflowId(env.ns, 'inv')).query(summaryQuery).catch(() => undefined);
    for (let i = 0; i < N; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => env.configMap(`cm-${i + j}`, { value: String(i + j), blob: 'x'.repeat(2000) }, { app: 'scale' })));
    }
    await env.put('KollectProfile', 'p', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'value', cel: 'object.data.value' }, { name: 'blob', jsonPath: '{.data.blob}' }] });
    await env.put('KollectTarget', 't', { profileRef: { name: 'p' }, namespaces: [env.ns], labelSelector: { matchLabels: { app: 'scale' } } });
    await env.put('KollectInventory', 'inv', { targetRefs: [{ name: 't' }] });

    const t0 = Date.now();
    const watcher = await env.startWatcher();
    await waitFor('all rows', async () => (await summary())?.rows === N, 60_000 + N * 20);
    const syncMs = Date.now() - t0;
    await watcher.flushed();
    const s = (await summary())!;
    expect(s.maxDeltaBytes).toBeLessThanOrEqual(BUDGET);
    // packed: no more signals than the bytes need, plus slack for one partly filled batch per flush
    expect(s.deltas).toBeLessThanOrEqual(Math.ceil(s.deltaBytes / BUDGET) + 2);
    expect(s.resyncParts).toBe(1);

    const t1 = Date.now();
    for (let i = 0; i < 200; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => env.patchConfigMap(`cm-${i + j}`, { data: { value: `u${i + j}` } })));
    }
    const writeMs = Date.now() - t1;
    const values = async (): Promise<unknown[]> => [...(await env.bodies((await summary())!.hashes)).values()].map((r) => r.attributes.value);
    await waitFor('200 updates', async () => (await values()).filter((v) => String(v).startsWith('u')).length === 200, 30_000);
    const burstMs = Date.now() - t1;
    const after = (await summary())!;
    // at most about one flush per second, plus the one in flight when the burst started
    expect(after.deltas - s.deltas).toBeLessThanOrEqual(Math.ceil(burstMs / 1000) + 1);
    process.stdout.write(`${JSON.stringify({ objects: N, syncMs, deltaSignals: s.deltas, deltaBytes: s.deltaBytes, maxDeltaBytes: s.maxDeltaBytes, updates: 200, updateWriteMs: writeMs, updatesVisibleMs: burstMs, updateSignals: after.deltas - s.deltas })}\n`);
  }, 180_000 + N * 100);
});
