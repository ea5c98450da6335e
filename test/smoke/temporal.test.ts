// The Temporal server is real: a worker polls it, a workflow runs an activity, and the history
// holds the ActivityTaskCompleted event.
import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker, NativeConnection } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import * as activities from './fixtures/echo-activities.js';
import type { echoWorkflow } from './fixtures/echo-workflow.js';

describe('temporal', () => {
  it('runs a workflow that calls an activity', async () => {
    const { address, namespace } = service('temporal');
    const taskQueue = `smoke-${randomBytes(4).toString('hex')}`;
    const nativeConnection = await NativeConnection.connect({ address });
    const worker = await Worker.create({
      connection: nativeConnection, namespace, taskQueue, activities,
      workflowsPath: fileURLToPath(new URL('./fixtures/echo-workflow.ts', import.meta.url)),
    });
    const connection = await Connection.connect({ address });
    const client = new Client({ connection, namespace });
    try {
      const result = await worker.runUntil(client.workflow.execute<typeof echoWorkflow>('echoWorkflow', { taskQueue, workflowId: taskQueue, args: ['hello'] }));
      expect(result).toBe('workflow saw: HELLO');
      const history = await client.workflow.getHandle(taskQueue).fetchHistory();
      const completed = (history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes);
      expect(completed).toHaveLength(1);
    } finally {
      await connection.close();
      await nativeConnection.close();
    }
  }, 120_000);
});
