// Temporal refuses signals past a run's limit (history.maximumSignalsPerExecution, 10,000 by
// default). Here 10,050 one-row signals reach a workflow whose worker is not running yet: the
// server refuses the last ones, the watcher's classifier calls that retryable (not a bad
// payload to drop), and once the worker runs, the workflow drains, continues as new and takes
// the retried signals. Nothing is lost. It runs its own Temporal server: 10,000 signals in a
// minute would slow every other test's workflows on the shared one.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker, NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { extraServiceCtx } from '../harness/harness.js';
import { temporal } from '../harness/services/temporal.js';
import { waitFor, sleep } from '../harness/util.js';
import { deltaSignal, statusQuery, inventoryWorkflowId } from '../../workflows/definitions.js';
import { INVENTORY_WORKFLOW_TYPE, isPermanentSignalError } from '../../watcher/delivery.js';
import type { InventoryConfig } from '../../workflows/config.js';
import type { DeltaBatch } from '../../api/signals.js';
import { ModelSink } from '../support/model-sink.js';

const SIGNALS = 10_050;

describe('the signal limit of a run', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c(); });

  it(`loses nothing when ${SIGNALS} signals cross the 10,000-signal boundary`, async () => {
    const server = await temporal.start(extraServiceCtx('signal-limit'));
    cleanup.push(() => server.stop());
    const { address, namespace } = server.endpoint;
    const taskQueue = `limit-${randomBytes(4).toString('hex')}`;
    const ref = { namespace: 'team-a', name: taskQueue };
    const workflowId = inventoryWorkflowId(ref.namespace, ref.name);
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    cleanup.push(() => connection.close());

    const send = (i: number): Promise<unknown> => client.workflow.signalWithStart(INVENTORY_WORKFLOW_TYPE, {
      workflowId, taskQueue, args: [ref], signal: deltaSignal,
      signalArgs: [{ target: 'cms', upserts: [{ uid: `u${i}`, hash: 'h1' }], deletes: [] } satisfies DeltaBatch],
    });
    const refused: number[] = [];
    const messages = new Set<string>();
    let next = 0;
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < SIGNALS) {
        const i = next++;
        try { await send(i); } catch (err) {
          expect(isPermanentSignalError(err)).toBe(false); // retryable: the watcher keeps the rows
          messages.add(`${(err as Error).message}: ${((err as { cause?: Error }).cause?.message ?? '')}`);
          refused.push(i);
        }
      }
    }));
    process.stdout.write(`${JSON.stringify({ signals: SIGNALS, sendMs: Date.now() - t0, refused: refused.length, messages: [...messages] })}\n`);
    expect(refused.length).toBeGreaterThanOrEqual(SIGNALS - 10_000);

    const firstRun = (await client.workflow.getHandle(workflowId).describe()).runId;
    // the worker starts: the run drains and continues as new; the refused signals are retried
    const db = new ModelSink('state');
    const config: InventoryConfig = {
      generation: 1, cluster: 'c1', intervalMs: 100, suspend: false, targets: ['cms'], problems: [], fullReconcileIntervalMs: 86_400_000, maxRunAgeMs: 86_400_000,
      sinks: [{ kind: 'KollectDatabaseSink', name: 'pg', type: 'fakedb', intervalMs: 100, maxAttempts: 1, suspended: false, generation: 1, maxDeletePercent: 50 }],
    };
    const nc = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nc, namespace, taskQueue,
      activities: { loadInventoryConfig: () => Promise.resolve(config), patchInventoryStatus: () => Promise.resolve(), finalizeInventory: () => Promise.resolve(), exportFakedb: db.export.bind(db) },
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    });
    const running = worker.run();
    cleanup.push(async () => { worker.shutdown(); await running; await nc.close(); });
    for (const i of refused) {
      for (let attempt = 0; ; attempt++) {
        try { await send(i); break; } catch (err) {
          if (isPermanentSignalError(err) || attempt > 360) throw err; // the run continues as new within seconds; 3 min for a loaded machine
          await sleep(500);
        }
      }
    }
    await waitFor(`all ${SIGNALS} rows in the workflow`, async () => (await client.workflow.getHandle(workflowId).query(statusQuery).catch(() => undefined))?.rows === SIGNALS, 120_000);
    expect((await client.workflow.getHandle(workflowId).describe()).runId).not.toBe(firstRun);
  }, 600_000);
});
