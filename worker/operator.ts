// The `kollect` operator process: the Temporal worker and the watcher in one process, with
// health and metrics endpoints and graceful shutdown on SIGTERM/SIGINT.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as k8s from '@kubernetes/client-node';
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import { loadConfig, type OperatorConfig } from './config.js';
import { jsonLog } from './log.js';
import { startHttp } from './http.js';
import { startWatcher } from '../watcher/index.js';
import { createActivities } from '../activities/index.js';
import { Kube } from '../activities/kube.js';
import { exportMetrics } from '../activities/metrics.js';
import { sinkBackends, closeAll } from '../activities/sinks/registry.js';
import { PostgresPayloadStore, kollectDataConverter } from './payloads.js';

export async function runOperator(config: OperatorConfig): Promise<{ stop(): Promise<void>; httpPort: number }> {
  const log = jsonLog('operator');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kollect_' });
  new Gauge({ name: 'kollect_build_info', help: 'Kollect build information; always 1.', labelNames: ['version'], registers: [registry] })
    .set({ version: process.env.npm_package_version ?? '0.1.0' }, 1);

  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig); else kc.loadFromDefault();
  const watcher = await startWatcher({ kc, log });

  const store = config.payloadStoreUrl ? new PostgresPayloadStore(config.payloadStoreUrl) : undefined;
  if (!store) log('payload_store_disabled', { hint: 'set KOLLECT_PAYLOAD_STORE_URL to a Postgres URL; large inventories need it' });
  const dataConverter = kollectDataConverter(store);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const workflowsPath = fileURLToPath(new URL('../workflows/index' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url));
  const worker = await Worker.create({
    connection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, workflowsPath, dataConverter,
    activities: createActivities({ kube: new Kube(kc), backends: sinkBackends, log, metrics: exportMetrics(registry) }),
  });
  const running = worker.run();
  running.catch((err: unknown) => log('worker_failed', { error: (err as Error).message }));
  const http = await startHttp({
    host: config.httpHost, port: config.httpPort, registry,
    ready: () => {
      const detail = { worker: worker.getState() === 'RUNNING', apiserver: watcher.ready() };
      return { ok: detail.worker && detail.apiserver, detail };
    },
  });
  log('started', { temporal: config.temporalAddress, namespace: config.temporalNamespace, taskQueue: config.taskQueue, httpPort: http.port });

  return {
    httpPort: http.port,
    async stop() {
      log('stopping');
      watcher.stop();
      worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
      await closeAll();
      await store?.close();
      await http.close();
      log('stopped');
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  let config: OperatorConfig;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`kollect: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const op = await runOperator(config);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    op.stop().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
