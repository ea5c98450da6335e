// Large payloads never travel inline (docs/decisions/0006): with Kollect's data converter a
// ~6 MB snapshot goes through a workflow and two activities on the real Temporal server, the
// history holds only small claims, and the two activities share one content-addressed blob.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Worker, NativeConnection } from '@temporalio/worker';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { PostgresPayloadStore, kollectDataConverter } from '../../worker/payloads.js';

const rows = Array.from({ length: 12_000 }, (_, i) => ({
  target: 'cms', uid: `${i}-${randomBytes(8).toString('hex')}`, attributes: { image: `registry.example/app-${i}:1.${i}`, blob: randomBytes(180).toString('base64') },
}));

describe('payloads', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c(); });

  it('compresses and claim-checks a snapshot far above the 2 MB blob limit', async () => {
    const { address, namespace } = service('temporal');
    const table = `payloads_${randomBytes(4).toString('hex')}`;
    const store = new PostgresPayloadStore(service('postgres').url, { table });
    const dataConverter = kollectDataConverter(store);
    const taskQueue = `payload-${randomBytes(4).toString('hex')}`;
    const nc = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nc, namespace, taskQueue, dataConverter,
      activities: { measure: (r: unknown[]) => Promise.resolve(r.length) },
      workflowsPath: fileURLToPath(new URL('./fixtures/big-payload-workflow.ts', import.meta.url)),
    });
    const running = worker.run();
    const connection = await Connection.connect({ address });
    cleanup.push(async () => { worker.shutdown(); await running; await connection.close(); await nc.close(); await store.close(); });

    expect(Buffer.byteLength(JSON.stringify(rows))).toBeGreaterThan(4_000_000);
    const client = new Client({ connection, namespace, dataConverter });
    const handle = await client.workflow.start('bigPayloadWorkflow', { taskQueue, workflowId: taskQueue, args: [rows] });
    expect(await handle.result()).toEqual([rows.length, rows.length]);

    // Every payload in the history is small: the rows are in the store, referenced by hash.
    const history = await handle.fetchHistory();
    const sizes = (history.events ?? []).flatMap((e) => [
      ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
      ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
    ]).map((p) => p.data?.length ?? 0);
    expect(sizes.length).toBe(3);
    expect(Math.max(...sizes)).toBeLessThan(4096);
    const db = new pg.Client({ connectionString: service('postgres').url });
    await db.connect();
    try {
      const { rows: blobs } = await db.query<{ n: string; bytes: string }>(`SELECT count(*) AS n, sum(bytes) AS bytes FROM ${table}`);
      // start input and both activity inputs are the same payload: one blob, compressed
      expect(Number(blobs[0]!.n)).toBe(1);
      expect(Number(blobs[0]!.bytes)).toBeLessThan(Buffer.byteLength(JSON.stringify(rows)));
    } finally { await db.end(); }
  }, 120_000);

  it('without the store the same snapshot is refused, which is why the store exists', async () => {
    const { address, namespace } = service('temporal');
    const connection = await Connection.connect({ address });
    cleanup.push(() => connection.close());
    const client = new Client({ connection, namespace });
    const big = rows.map((r) => ({ ...r, pad: randomBytes(300).toString('hex') }));
    const err = await client.workflow.start('bigPayloadWorkflow', { taskQueue: 'nobody', workflowId: `refused-${randomBytes(4).toString('hex')}`, args: [big] })
      .then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeDefined();
    const chain = [err?.message, (err?.cause as Error | undefined)?.message].join(' ');
    expect(err instanceof WorkflowFailedError || /size|large|limit|exceed|Failed to start/i.test(chain)).toBe(true);
  }, 60_000);
});
