// KOLLECT_REGISTER_NAMESPACE: the operator registers a missing Temporal namespace at start (as a
// bundled Temporal server needs, having no job to do it), waits until the frontend serves it, and
// polls in it; a second start finds it there and changes nothing.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { installCrds } from '../support/e2e.js';

describe('operator registers its Temporal namespace', () => {
  const children: Child[] = [];
  afterAll(() => { for (const c of children) c.proc.kill('SIGKILL'); });
  const namespace = `kollect-${randomBytes(4).toString('hex')}`;

  const start = async (): Promise<Child> => {
    const port = await freePort();
    const op = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, TEMPORAL_NAMESPACE: namespace,
      KOLLECT_REGISTER_NAMESPACE: 'true', KOLLECT_TASK_QUEUE: namespace, KOLLECT_WATCH_NAMESPACES: namespace,
      KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_STORE_URL: service('postgres').url,
    });
    children.push(op);
    await waitFor('operator /readyz', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 90_000, () => op.proc.exitCode === null)
      .catch((err: unknown) => { console.log(op.output().slice(-3000)); throw err; });
    return op;
  };
  const events = (op: Child) => op.output().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { event: string }).event);

  it('registers a missing namespace once, then polls in it', async () => {
    await installCrds();
    const first = await start();
    expect(events(first)).toContain('temporal_namespace_registered');
    const connection = await Connection.connect({ address: service('temporal').address });
    try {
      const ns = await connection.workflowService.describeNamespace({ namespace });
      expect(Number(ns.config?.workflowExecutionRetentionTtl?.seconds)).toBe(3 * 24 * 3600);
      const tq = await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: namespace }, taskQueueType: 1 });
      expect(tq.pollers?.length ?? 0).toBeGreaterThan(0);
    } finally { await connection.close(); }
    first.proc.kill('SIGTERM');
    await first.exited;

    const second = await start();
    expect(events(second)).not.toContain('temporal_namespace_registered');
  }, 150_000);
});
