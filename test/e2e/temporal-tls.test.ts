// The operator reaches Temporal over TLS and mTLS with the TEMPORAL_TLS_* settings: a TLS front
// (mTLS required, serving certificate only for a name other than the address) stands before the
// real Temporal server; with the CA, the client pair and the server name the operator becomes
// ready and polls, and without a client certificate it never gets through.
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor, sleep } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { installCrds } from '../support/e2e.js';
import { tlsFront, tlsMaterial, type TlsFront } from '../support/tls-proxy.js';

const SERVER_NAME = 'temporal.kollect.test';

describe('operator → Temporal over mTLS', () => {
  const children: Child[] = [];
  let front: TlsFront;
  let material: Awaited<ReturnType<typeof tlsMaterial>>;
  const taskQueue = `tls-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    material = await tlsMaterial(mkdtempSync(path.join(os.tmpdir(), 'kollect-tls-')), SERVER_NAME);
    const [host, port] = service('temporal').address.split(':');
    front = await tlsFront({ target: { host: host!, port: Number(port) }, cert: material.serverCert, key: material.serverKey, clientCa: material.pki.caCert });
    await installCrds();
  });
  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await front?.close();
  });

  const operator = (env: Record<string, string>, httpPort: number): Child => {
    const c = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: `127.0.0.1:${front.port}`, KOLLECT_TASK_QUEUE: taskQueue,
      KOLLECT_HTTP_PORT: String(httpPort), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: taskQueue,
      KOLLECT_STORE_URL: service('postgres').url, TEMPORAL_TLS_CA_FILE: material.pki.caCert, TEMPORAL_TLS_SERVER_NAME: SERVER_NAME, ...env,
    });
    children.push(c);
    return c;
  };

  it('becomes ready and polls its task queue with the CA, client pair and server name', async () => {
    const port = await freePort();
    const op = operator({ TEMPORAL_TLS_CERT_FILE: material.clientCert, TEMPORAL_TLS_KEY_FILE: material.clientKey }, port);
    await waitFor('operator /readyz over mTLS', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 90_000, () => op.proc.exitCode === null)
      .catch((err: unknown) => { console.log(op.output().slice(-3000)); throw err; });
    const connection = await Connection.connect({ address: service('temporal').address });
    try {
      const tq = await connection.workflowService.describeTaskQueue({ namespace: service('temporal').namespace, taskQueue: { name: taskQueue }, taskQueueType: 1 });
      expect(tq.pollers?.length ?? 0).toBeGreaterThan(0);
    } finally { await connection.close(); }
    const started = op.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; temporalTls?: boolean }).find((e) => e.event === 'started');
    expect(started?.temporalTls).toBe(true);
  }, 120_000);

  it('does not get through without a client certificate, and says so', async () => {
    const port = await freePort();
    const op = operator({}, port);
    await waitFor('the operator reports Temporal unreachable', () => Promise.resolve(op.output().includes('"temporal_unreachable"')), 30_000, () => op.proc.exitCode === null);
    await sleep(1000);
    expect(op.output()).not.toContain('"started"');
    expect((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status).not.toBe(200);
  }, 60_000);
});
