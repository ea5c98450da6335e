// The operator process end to end on the real apiserver and Temporal: it becomes ready, polls its
// task queue, serves metrics, stops cleanly on SIGTERM, and refuses bad configuration by name.
import { describe, it, expect, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { installCrds } from '../support/e2e.js';

describe('kollect operator process', () => {
  const children: Child[] = [];
  afterAll(() => { for (const c of children) c.proc.kill('SIGKILL'); });

  it('becomes ready, polls Temporal, serves metrics and shuts down on SIGTERM', async () => {
    const kube = service('kube');
    const temporal = service('temporal');
    const port = await freePort();
    const taskQueue = `op-${randomBytes(4).toString('hex')}`;
    await installCrds(); // the watcher is ready once it has synced the Kollect CRs
    const op = runEntry('worker/operator.ts', {
      KUBECONFIG: kube.kubeconfig, TEMPORAL_ADDRESS: temporal.address, KOLLECT_TASK_QUEUE: taskQueue,
      KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: taskQueue,
      KOLLECT_STORE_URL: service('postgres').url,
    });
    children.push(op);
    const base = `http://127.0.0.1:${port}`;
    await waitFor('operator /readyz', async () => (await fetch(`${base}/readyz`)).status === 200, 90_000, () => op.proc.exitCode === null);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^kollect_build_info\{version="[^"]+"\} 1$/m);
    expect(metrics).toContain('kollect_process_resident_memory_bytes');

    const connection = await Connection.connect({ address: temporal.address });
    try {
      const tq = await connection.workflowService.describeTaskQueue({ namespace: temporal.namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
      expect(tq.pollers?.length ?? 0).toBeGreaterThan(0);
    } finally {
      await connection.close();
    }

    op.proc.kill('SIGTERM');
    const code = await op.exited;
    if (code !== 0) console.log(op.output().slice(-3000));
    expect(code).toBe(0);
    const events = op.output().split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(['apiserver_reachable', 'started', 'stopping', 'stopped']));
  }, 150_000);

  it('names the bad variable when configuration is invalid', async () => {
    const op = runEntry('worker/operator.ts', { KOLLECT_HTTP_PORT: 'eighty', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    children.push(op);
    expect(await op.exited).toBe(2);
    expect(op.output()).toContain('KOLLECT_HTTP_PORT must be a port number 0-65535, got "eighty"');
  }, 60_000);

  it('refuses to start without a store, naming the variable', async () => {
    const op = runEntry('worker/operator.ts', { TEMPORAL_ADDRESS: '127.0.0.1:1', KOLLECT_STORE_URL: '', KOLLECT_PAYLOAD_STORE_URL: '' });
    children.push(op);
    expect(await op.exited).toBe(2);
    expect(op.output()).toContain('KOLLECT_STORE_URL is required');
  }, 60_000);
});
