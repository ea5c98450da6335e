// inventoryWorkflow on the real Temporal server, with model sinks (test/support/model-sink.ts)
// that follow the export contract: parallel per-sink exports, partial success, catch-up after a
// failing sink recovers, deltas and tombstones, suspend, deletion through the finalizer; a run
// that starts without state never wipes a sink; a run drains its exports before continuing as new.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker, NativeConnection } from '@temporalio/worker';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { waitFor, sleep } from '../harness/util.js';
import { deltaSignal, resyncSignal, inventoryDeletedSignal, suspendSignal, statusQuery, configChangedSignal, inventoryWorkflowId } from '../../workflows/definitions.js';
import type { InventoryConfig, InventoryRef } from '../../workflows/config.js';
import type { StatusInput } from '../../activities/index.js';
import type { RowRef } from '../../api/rows.js';
import type { DeltaBatch } from '../../api/signals.js';
import type { inventoryWorkflow } from '../../workflows/inventory.js';
import type { SinkConfig } from '../../workflows/state.js';
import { ModelSink } from '../support/model-sink.js';
import { recordHistory } from '../replay/record.js';

const ref = (uid: string, hash = 'h1'): RowRef => ({ uid, hash });
const sinkCfg = (kind: SinkConfig['kind'], name: string, type: string): SinkConfig => ({ kind, name, type, intervalMs: 100, maxAttempts: 1, suspended: false, generation: 1, maxDeletePercent: 50 });

interface Env {
  client: Client;
  handle: WorkflowHandle<typeof inventoryWorkflow>;
  sinks: { db: ModelSink; git: ModelSink; nats: ModelSink };
  statuses: StatusInput[];
  finalized: () => number;
  signal(batch: DeltaBatch): Promise<void>;
  resync(uids: string[]): Promise<void>;
}

describe('inventoryWorkflow', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c(); });

  async function start(over: Partial<InventoryConfig> = {}): Promise<Env> {
    const { address, namespace } = service('temporal');
    const taskQueue = `wf-${randomBytes(4).toString('hex')}`;
    const ref: InventoryRef = { namespace: 'team-a', name: taskQueue };
    const sinks = { db: new ModelSink('state'), git: new ModelSink('state'), nats: new ModelSink('event') };
    const statuses: StatusInput[] = [];
    let finalized = 0;
    const config = (): InventoryConfig => ({
      generation: 1, cluster: 'c1', intervalMs: 100, suspend: false, targets: ['cms'], problems: [],
      fullReconcileIntervalMs: 24 * 3600_000, maxRunAgeMs: 24 * 3600_000,
      sinks: [sinkCfg('KollectDatabaseSink', 'pg', 'fakedb'), sinkCfg('KollectSnapshotSink', 'git', 'fakegit'), sinkCfg('KollectEventSink', 'nats', 'fakenats')],
      ...over,
    });
    const activities = {
      loadInventoryConfig: () => Promise.resolve(config()),
      patchInventoryStatus: (_r: InventoryRef, s: StatusInput) => { statuses.push(s); return Promise.resolve(); },
      finalizeInventory: () => { finalized++; return Promise.resolve(); },
      exportFakedb: sinks.db.export.bind(sinks.db), exportFakegit: sinks.git.export.bind(sinks.git), exportFakenats: sinks.nats.export.bind(sinks.nats),
    };
    const nc = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nc, namespace, taskQueue, activities,
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    });
    const running = worker.run();
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    cleanup.push(async () => { worker.shutdown(); await running; await connection.close(); await nc.close(); });
    const workflowId = inventoryWorkflowId(ref.namespace, ref.name);
    const signal = async (batch: DeltaBatch): Promise<void> => {
      await client.workflow.signalWithStart<typeof inventoryWorkflow, [DeltaBatch]>('inventoryWorkflow', { workflowId, taskQueue, args: [ref], signal: deltaSignal, signalArgs: [batch] });
    };
    await signal({ target: 'cms', upserts: [], deletes: [] });
    let n = 0;
    return {
      client, handle: client.workflow.getHandle(workflowId), sinks, statuses, finalized: () => finalized, signal,
      resync: (uids) => client.workflow.getHandle(workflowId).signal(resyncSignal, { target: 'cms', id: `r${n++}`, part: 0, parts: 1, uids }),
    };
  }

  it('fans out to every sink, survives a failing one, catches it up, and ends through the finalizer', async () => {
    const env = await start();
    const { db, git, nats } = env.sinks;
    nats.down = true;
    await env.signal({ target: 'cms', upserts: [ref('a'), ref('b')], deletes: [] });
    // state sinks wait for the first complete resync: nothing may be deleted before it
    await sleep(1500);
    expect(db.calls).toHaveLength(0);
    expect((await env.handle.query(statusQuery)).awaitingResync).toEqual(['cms']);
    await env.resync(['a', 'b']);

    await waitFor('state sinks hold the snapshot', () => Promise.resolve(db.rows.size === 2 && git.rows.size === 2), 20_000);
    expect(db.calls[0]!.req.plan.mode).toBe('full');
    await waitFor('status shows the nats error', async () => {
      const v = await env.handle.query(statusQuery);
      return v.sinks.some((s) => s.name === 'nats' && s.lastError?.includes('connection refused')) && v.sinks.filter((s) => s.lastError === '').length === 2;
    }, 20_000);
    expect(env.statuses.length).toBeGreaterThan(0);

    // an update and a delete while nats is down: the state sinks get a delta; nats catches up
    await env.signal({ target: 'cms', upserts: [ref('a', 'h2')], deletes: [{ target: 'cms', uid: 'b' }] });
    await waitFor('state sinks converge', () => Promise.resolve(db.rows.size === 1 && db.rows.get('cms/a') === 'h2'), 20_000);
    const delta = db.calls.at(-1)!;
    expect(delta.req.plan.mode).toBe('delta');
    expect(delta.entries.upserts.map((e) => e.uid)).toEqual(['a']);
    expect(delta.entries.deletes.map((e) => e.uid)).toEqual(['b']);
    nats.down = false;
    await waitFor('nats catches up', async () => {
      const v = await env.handle.query(statusQuery);
      return v.sinks.find((s) => s.name === 'nats')?.lastError === '' && v.sinks.every((s) => s.exportedVersion === v.version);
    }, 90_000);
    expect([...nats.published.values()].map((p) => `${p.type} ${p.key} ${p.hash}`).sort()).toEqual(['delete cms/b h1', 'upsert cms/a h2']);

    // a resync without 'a' deletes it everywhere
    await env.resync([]);
    await waitFor('resync delete propagates', () => Promise.resolve(db.rows.size === 0 && git.rows.size === 0 && [...nats.published.values()].some((p) => p.type === 'delete' && p.key === 'cms/a')), 20_000);

    // suspended: changes are held back; resumed: exported
    const before = db.calls.length;
    await env.handle.signal(suspendSignal, true);
    await env.signal({ target: 'cms', upserts: [ref('c')], deletes: [] });
    await sleep(1500);
    expect(db.calls.length).toBe(before);
    expect((await env.handle.query(statusQuery)).suspended).toBe(true);
    await env.handle.signal(suspendSignal, false);
    await waitFor('resumed export', () => Promise.resolve(db.rows.has('cms/c')), 20_000);

    // configuration changes are re-read; deletion ends the workflow through the finalizer
    await env.handle.signal(configChangedSignal);
    await env.handle.signal(inventoryDeletedSignal);
    await env.handle.result();
    expect(env.finalized()).toBe(1);
    const history = await env.handle.fetchHistory();
    recordHistory('lifecycle', history);
    const exportActivities = history.events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name?.startsWith('exportFake')) ?? [];
    expect(exportActivities.length).toBeGreaterThanOrEqual(9);
    // the activity inputs name hashes, never bodies, and carry a heartbeat timeout
    const scheduled = exportActivities[0]!.activityTaskScheduledEventAttributes!;
    expect(Number(scheduled.heartbeatTimeout?.seconds ?? 0)).toBeGreaterThan(0);
  }, 180_000);

  it('a run that starts without state (terminated) deletes nothing until the targets have resynced', async () => {
    const env = await start();
    const { db, git, nats } = env.sinks;
    const uids = ['a', 'b', 'c', 'd', 'e', 'f'];
    await env.signal({ target: 'cms', upserts: uids.map((u) => ref(u)), deletes: [] });
    await env.resync(uids);
    await waitFor('six rows everywhere', () => Promise.resolve(db.rows.size === 6 && git.rows.size === 6 && nats.published.size === 6), 20_000);
    const firstLineage = db.watermark!.lineage;

    // the workflow is terminated; the next change starts a new run with no state
    await env.handle.terminate('test: lose the state');
    let minRows = Infinity;
    const poll = setInterval(() => { minRows = Math.min(minRows, db.rows.size, git.rows.size); }, 20);
    try {
      await env.signal({ target: 'cms', upserts: [ref('a', 'h2')], deletes: [] });
      await waitFor('event sink gets the change at once', () => Promise.resolve([...nats.published.values()].some((p) => p.hash === 'h2')), 20_000);
      // a resync listing rows the new run does not hold deletes nothing and keeps state sinks waiting
      await env.resync(uids);
      await sleep(2000);
      const v = await env.handle.query(statusQuery);
      expect(v.lineage).not.toBe(firstLineage);
      expect(v.awaitingResync).toEqual(['cms']);
      expect(db.rows.size).toBe(6);
      // the watcher's resend (references) and the next resync complete the lineage: full reconcile
      await env.signal({ target: 'cms', upserts: uids.map((u) => ref(u, u === 'a' ? 'h2' : 'h1')), deletes: [] });
      await env.resync(uids);
      await waitFor('state sinks reconciled in the new lineage', () => Promise.resolve(db.watermark?.lineage === v.lineage && git.watermark?.lineage === v.lineage), 20_000);
      await env.handle.signal(inventoryDeletedSignal);
      await env.handle.result();
      recordHistory('new-lineage', await env.handle.fetchHistory());
    } finally {
      clearInterval(poll);
    }
    expect(minRows).toBe(6);
    expect(db.rows.size).toBe(6);
    expect(db.rows.get('cms/a')).toBe('h2');
    expect(db.calls.at(-1)!.req.plan.mode).toBe('full');
    // event ids stay unique across lineages: nothing of the new run was taken for a duplicate
    expect(nats.duplicates).toBe(0);
  }, 120_000);

  it('an attempt held past its heartbeat timeout is retried, and when it finally runs it cannot overwrite the newer export', async () => {
    const env = await start({ sinks: [{ ...sinkCfg('KollectDatabaseSink', 'pg', 'fakedb'), maxAttempts: 3 }] });
    const { db } = env.sinks;
    await env.signal({ target: 'cms', upserts: [ref('a'), ref('b')], deletes: [] });
    await env.resync(['a', 'b']);
    await waitFor('first export', () => Promise.resolve(db.rows.size === 2), 20_000);
    // the first attempt of the next export hangs without heartbeats (a stuck or partitioned worker)
    let releaseStale = (): void => undefined;
    let held = false;
    db.gate = (req) => {
      if (held || req.plan.mode !== 'delta') return Promise.resolve();
      held = true;
      return new Promise((r) => { releaseStale = r; });
    };
    await env.signal({ target: 'cms', upserts: [ref('c')], deletes: [] });
    const t0 = Date.now();
    await waitFor('the retry applies c', () => Promise.resolve(db.rows.has('cms/c')), 60_000);
    const retriedAfterMs = Date.now() - t0;
    expect(retriedAfterMs).toBeLessThan(45_000); // the heartbeat timeout (20 s), not the 10-minute start-to-close
    await env.signal({ target: 'cms', upserts: [ref('d')], deletes: [] });
    await waitFor('a newer export applies d', () => Promise.resolve(db.rows.has('cms/d')), 20_000);
    const newer = db.watermark!.version;
    const before = [...db.rows];
    releaseStale(); // the stale attempt finally runs its write
    await waitFor('the stale attempt answered', () => Promise.resolve(db.calls.filter((c) => c.reply).length === db.calls.length), 10_000);
    const stale = db.calls.find((c) => c.req.plan.mode === 'delta' && c.entries.upserts.some((e) => e.uid === 'c'))!;
    expect(stale.reply).toMatchObject({ outcome: 'noop', aheadVersion: newer });
    expect(db.watermark!.version).toBe(newer);
    expect([...db.rows]).toEqual(before);
  }, 120_000);

  it('drains in-flight exports, then continues as new carrying the snapshot', async () => {
    const env = await start({ maxRunAgeMs: 4_000 });
    const { db, git } = env.sinks;
    await env.signal({ target: 'cms', upserts: [ref('a'), ref('b')], deletes: [] });
    await env.resync(['a', 'b']);
    await waitFor('first export', () => Promise.resolve(db.rows.size === 2 && git.rows.size === 2), 20_000);
    const firstRun = (await env.handle.describe()).runId;
    // hold the next db export past the run's age: the run must wait for it before continuing
    let release = (): void => undefined;
    db.gate = () => new Promise((r) => { release = r; });
    await env.signal({ target: 'cms', upserts: [ref('c')], deletes: [] });
    await waitFor('db export in flight', () => Promise.resolve(db.calls.length >= 2 && !db.calls.at(-1)!.reply), 20_000);
    await sleep(4_500);
    expect((await env.handle.describe()).runId).toBe(firstRun);
    db.gate = () => Promise.resolve();
    release();
    await waitFor('continued as new', async () => (await env.handle.describe()).runId !== firstRun, 20_000);
    const old = env.client.workflow.getHandle(env.handle.workflowId, firstRun);
    const oldHistory = await old.fetchHistory();
    recordHistory('continued-as-new', oldHistory);
    const events = oldHistory.events ?? [];
    expect(events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(events.length).toBeLessThan(4096);
    // no activity of the old run was left without its completion
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).length;
    const closed = events.filter((e) => e.activityTaskCompletedEventAttributes || e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes).length;
    expect(closed).toBe(scheduled);
    // the carried state keeps the lineage and the watermarks: the next change is a delta
    await env.signal({ target: 'cms', upserts: [ref('d')], deletes: [] });
    await waitFor('delta after continue-as-new', () => Promise.resolve(db.rows.has('cms/d')), 20_000);
    expect(db.calls.at(-1)!.req.plan.mode).toBe('delta');
    expect(db.rows.size).toBe(4);
  }, 120_000);
});
