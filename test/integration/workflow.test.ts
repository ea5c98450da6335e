// inventoryWorkflow on the real Temporal server, with its activities replaced by recorders:
// parallel per-sink exports, partial success, catch-up after a failing sink recovers, event sinks
// receive deltas and tombstones, status writes, suspend, and deletion through the finalizer.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker, NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { waitFor } from '../harness/util.js';
import { deltaSignal, resyncSignal, inventoryDeletedSignal, suspendSignal, statusQuery, configChangedSignal, inventoryWorkflowId } from '../../workflows/definitions.js';
import type { InventoryConfig, InventoryRef } from '../../workflows/config.js';
import type { ExportActivityInput, StatusInput } from '../../activities/index.js';
import type { ExportResult } from '../../activities/sinks/types.js';
import type { Row } from '../../api/rows.js';
import type { DeltaBatch } from '../../api/signals.js';
import type { inventoryWorkflow } from '../../workflows/inventory.js';

const row = (uid: string, hash = 'h1'): Row => ({ target: 'cms', cluster: 'c1', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'app', name: `cm-${uid}`, uid, attributes: { v: hash }, hash });

describe('inventoryWorkflow', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c(); });

  it('fans out to every sink, survives a failing one, catches it up, and ends through the finalizer', async () => {
    const { address, namespace } = service('temporal');
    const taskQueue = `wf-${randomBytes(4).toString('hex')}`;
    const ref: InventoryRef = { namespace: 'team-a', name: taskQueue };
    const exports: { type: string; input: ExportActivityInput }[] = [];
    const statuses: StatusInput[] = [];
    let finalized = 0;
    let natsDown = true;
    const suspend = false;
    const config = (): InventoryConfig => ({
      generation: 1, cluster: 'c1', intervalMs: 100, suspend, targets: ['cms'], problems: [],
      sinks: [
        { kind: 'KollectDatabaseSink', name: 'pg', type: 'fakedb', intervalMs: 100, maxAttempts: 1, suspended: false, generation: 1 },
        { kind: 'KollectSnapshotSink', name: 'git', type: 'fakegit', intervalMs: 100, maxAttempts: 1, suspended: false, generation: 1 },
        { kind: 'KollectEventSink', name: 'nats', type: 'fakenats', intervalMs: 100, maxAttempts: 1, suspended: false, generation: 1 },
      ],
    });
    const record = (type: string) => (input: ExportActivityInput): Promise<ExportResult> => {
      exports.push({ type, input });
      if (type === 'fakenats' && natsDown) return Promise.reject(new Error('nats: connection refused'));
      const n = type === 'fakenats' ? input.changes.upserts.length + input.changes.deletes.length : input.rows.length;
      return Promise.resolve({ rowsExported: n, upserts: n, deletes: 0, detail: `${type} ok` });
    };
    const activities = {
      loadInventoryConfig: () => Promise.resolve(config()),
      patchInventoryStatus: (_r: InventoryRef, s: StatusInput) => { statuses.push(s); return Promise.resolve(); },
      finalizeInventory: () => { finalized++; return Promise.resolve(); },
      exportFakedb: record('fakedb'), exportFakegit: record('fakegit'), exportFakenats: record('fakenats'),
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
    const handle = await client.workflow.signalWithStart<typeof inventoryWorkflow, [DeltaBatch]>('inventoryWorkflow', {
      workflowId, taskQueue, args: [ref], signal: deltaSignal, signalArgs: [{ target: 'cms', upserts: [row('a'), row('b')], deletes: [] }],
    });
    const got = (type: string) => exports.filter((e) => e.type === type);
    const lastOk = (type: string) => got(type).at(-1)?.input;

    // state sinks get the full snapshot; the failing event sink does not block them
    await waitFor('first exports', () => Promise.resolve(got('fakedb').length > 0 && got('fakegit').length > 0 && got('fakenats').length > 0), 20_000);
    expect(lastOk('fakedb')!.rows.map((r) => r.uid).sort()).toEqual(['a', 'b']);
    expect(lastOk('fakegit')!.rows).toHaveLength(2);
    await waitFor('status shows the nats error', async () => {
      const v = await handle.query(statusQuery);
      return v.sinks.some((s) => s.name === 'nats' && s.lastError?.includes('connection refused')) && v.sinks.filter((s) => s.lastError === '').length === 2;
    }, 20_000);
    expect(statuses.length).toBeGreaterThan(0);

    // an update and a delete while nats is down; then nats returns and catches up with no manual step
    await handle.signal(deltaSignal, { target: 'cms', upserts: [row('a', 'h2')], deletes: [{ target: 'cms', uid: 'b' }] });
    await waitFor('state sinks converge', () => Promise.resolve(lastOk('fakedb')!.rows.length === 1 && lastOk('fakedb')!.rows[0]!.hash === 'h2'), 20_000);
    natsDown = false;
    await waitFor('nats catches up', async () => {
      const v = await handle.query(statusQuery);
      return v.sinks.find((s) => s.name === 'nats')?.lastError === '' && v.sinks.every((s) => s.exportedVersion === v.version);
    }, 90_000);
    const natsOk = got('fakenats').at(-1)!.input;
    expect(natsOk.rows).toEqual([]);
    expect(natsOk.changes.upserts.map((r) => [r.uid, r.hash])).toEqual([['a', 'h2']]);
    expect(natsOk.changes.deletes.map((t) => t.uid)).toEqual(['b']);

    // a resync without 'a' deletes it everywhere
    await handle.signal(resyncSignal, { target: 'cms', id: 'r1', part: 0, parts: 1, uids: [] });
    await waitFor('resync delete propagates', () => Promise.resolve(lastOk('fakedb')!.rows.length === 0 && got('fakenats').at(-1)!.input.changes.deletes.some((t) => t.uid === 'a')), 20_000);

    // suspended: changes are held back; resumed: exported
    const before = exports.length;
    await handle.signal(suspendSignal, true);
    await handle.signal(deltaSignal, { target: 'cms', upserts: [row('c')], deletes: [] });
    await new Promise((r) => setTimeout(r, 1500));
    expect(exports.length).toBe(before);
    expect((await handle.query(statusQuery)).suspended).toBe(true);
    await handle.signal(suspendSignal, false);
    await waitFor('resumed export', () => Promise.resolve(lastOk('fakedb')!.rows.some((r) => r.uid === 'c')), 20_000);

    // configuration changes are re-read; deletion ends the workflow through the finalizer
    await handle.signal(configChangedSignal);
    await handle.signal(inventoryDeletedSignal);
    await handle.result();
    expect(finalized).toBe(1);
    const exportActivities = (await handle.fetchHistory()).events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name?.startsWith('exportFake')) ?? [];
    expect(exportActivities.length).toBeGreaterThanOrEqual(9);
  }, 180_000);
});
