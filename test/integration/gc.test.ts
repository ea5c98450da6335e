// The garbage collector (workflows/collect.ts) on the real Temporal server and Postgres, run while
// an export is in flight and the inventory's run is draining to continue as new: every body the
// index, the export or the carried state names survives; unreferenced bodies and old payload
// blobs go; the continued run still replays from its claim-checked input on a fresh worker.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Worker, NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { waitFor } from '../harness/util.js';
import { deltaSignal, resyncSignal, configChangedSignal, statusQuery, inventoryWorkflowId, INVENTORY_WORKFLOW_TYPE } from '../../workflows/definitions.js';
import type { InventoryConfig } from '../../workflows/config.js';
import type { DeltaBatch } from '../../api/signals.js';
import type { Row } from '../../api/rows.js';
import type { ExportRequest } from '../../activities/sinks/types.js';
import type { ExportEntries } from '../../workflows/state.js';
import type { collectGarbageWorkflow } from '../../workflows/collect.js';
import { BodyStore } from '../../store/bodies.js';
import { PostgresPayloadStore, kollectDataConverter } from '../../worker/payloads.js';
import { createCollectorActivities } from '../../activities/collect.js';
import { ModelSink } from '../support/model-sink.js';

const row = (uid: string, v: string): Row => ({ target: 'cms', cluster: 'c1', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'app', name: `cm-${uid}`, uid, attributes: { v }, hash: `hash-${uid}-${v}` });

describe('garbage collection', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c(); });

  it('never deletes what a live run, its carried state or an export in flight names', async () => {
    const { address, namespace } = service('temporal');
    const url = service('postgres').url;
    const id = randomBytes(4).toString('hex');
    const taskQueue = `gc-${id}`;
    const store = new BodyStore(url, { table: `gc_bodies_${id}` });
    const payloads = new PostgresPayloadStore(url, { table: `gc_payloads_${id}` });
    const sql = new pg.Client({ connectionString: url });
    await sql.connect();
    cleanup.push(async () => { await sql.end(); await store.close(); await payloads.close(); });
    const dataConverter = kollectDataConverter(payloads, 1024); // claim-check anything above 1 KiB
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace, dataConverter });
    cleanup.push(() => connection.close());

    const sink = new ModelSink('state');
    const read: string[] = [];
    const config: InventoryConfig = {
      generation: 1, cluster: 'c1', intervalMs: 100, suspend: false, targets: ['cms'], problems: [], fullReconcileIntervalMs: 86_400_000, maxRunAgeMs: 60_000,
      sinks: [{ kind: 'KollectDatabaseSink', name: 'pg', type: 'readingdb', intervalMs: 100, maxAttempts: 1, suspended: false, generation: 1, maxDeletePercent: 50 }],
    };
    const log = (): void => undefined;
    const startWorker = async () => {
      const nc = await NativeConnection.connect({ address });
      const worker = await Worker.create({
        connection: nc, namespace, taskQueue, dataConverter,
        workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
        activities: {
          loadInventoryConfig: () => Promise.resolve(config), patchInventoryStatus: () => Promise.resolve(), finalizeInventory: () => Promise.resolve(),
          touchBodies: (hashes: string[]) => store.touch(hashes),
          // a state sink that reads the bodies of what it exports, after its gate, as the real export path does
          exportReadingdb: async (req: ExportRequest, entries: ExportEntries) => {
            const reply = await sink.export(req, entries);
            const bodies = await store.get(entries.upserts.map((e) => e.hash));
            read.push(...[...bodies.values()].map((b) => `${b.uid}:${String(b.attributes.v)}`));
            return reply;
          },
          ...createCollectorActivities({ client, taskQueue, store, payloads, log }),
        },
      });
      const running = worker.run();
      return async () => { worker.shutdown(); await running; await nc.close(); };
    };
    let stopWorker = await startWorker();
    cleanup.push(() => stopWorker());

    const ref = { namespace: 'team-a', name: taskQueue };
    const workflowId = inventoryWorkflowId(ref.namespace, ref.name);
    const send = async (rows: Row[]): Promise<void> => {
      await store.put(rows); // the watcher's order: bodies first, then the signal naming them
      await client.workflow.signalWithStart(INVENTORY_WORKFLOW_TYPE, { workflowId, taskQueue, args: [ref], signal: deltaSignal, signalArgs: [{ target: 'cms', upserts: rows.map((r) => ({ uid: r.uid, hash: r.hash })), deletes: [] } satisfies DeltaBatch] });
    };
    await send([row('a', '1'), row('b', '1'), row('c', '1')]);
    await store.put([row('x', 'orphan')]); // written, never signalled
    await client.workflow.getHandle(workflowId).signal(resyncSignal, { target: 'cms', id: 'r1', part: 0, parts: 1, uids: ['a', 'b', 'c'] });
    await waitFor('first export', () => Promise.resolve(sink.rows.size === 3), 30_000);

    // the next export is held; b changes; the run passes its age and drains towards continue-as-new
    let release = (): void => undefined;
    sink.gate = () => new Promise((r) => { release = r; });
    cleanup.push(() => { release(); return Promise.resolve(); }); // a failed run must not leave the worker draining forever
    config.maxRunAgeMs = 1_000;
    await client.workflow.getHandle(workflowId).signal(configChangedSignal);
    await send([row('b', '2')]);
    await waitFor('export of b:2 in flight', () => Promise.resolve(sink.calls.length >= 2 && !sink.calls.at(-1)!.reply), 30_000);
    const firstRun = (await client.workflow.getHandle(workflowId).describe()).runId;
    // everything looks old to the collector; an old payload blob nobody names
    await sql.query(`UPDATE gc_bodies_${id} SET touched_at = now() - interval '2 days'`);
    await payloads.sweep(new Date(0)); // creates the table if no payload was large enough yet
    await sql.query(`INSERT INTO gc_payloads_${id} (id, data, bytes, created_at) VALUES ('old-unreferenced', '\\x00', 1, now() - interval '30 days')`);

    const result = await client.workflow.execute<typeof collectGarbageWorkflow>('collectGarbageWorkflow', {
      workflowId: `gc-round-${id}`, taskQueue, args: [{ bodyGraceMs: 0, payloadGraceMs: 0 }],
    });
    expect(result.inventories).toBe(1);
    const held = (await sql.query<{ hash: string }>(`SELECT hash FROM gc_bodies_${id} ORDER BY hash`)).rows.map((r) => r.hash);
    expect(held).toEqual(['hash-a-1', 'hash-b-2', 'hash-c-1']); // b:1 (replaced) and x (never named) went
    expect(result.bodiesDeleted).toBe(2);
    expect((await sql.query(`SELECT 1 FROM gc_payloads_${id} WHERE id = 'old-unreferenced'`)).rowCount).toBe(0);

    // the held export finishes with its bodies; the run continues as new; a fresh worker replays it
    config.maxRunAgeMs = 60_000; // for the next run
    sink.gate = () => Promise.resolve();
    release();
    await waitFor('continued as new', async () => (await client.workflow.getHandle(workflowId).describe()).runId !== firstRun, 30_000);
    expect(read).toContain('b:2');
    await stopWorker();
    stopWorker = await startWorker();
    await send([row('d', '1')]);
    await waitFor('the continued run works on a fresh worker', async () => (await client.workflow.getHandle(workflowId).query(statusQuery)).rows === 4 && sink.rows.size === 4, 30_000);
  }, 180_000);
});
