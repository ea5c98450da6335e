// The `kollect` operator process: the Temporal worker and the watcher in one process, with
// health and metrics endpoints and graceful shutdown on SIGTERM/SIGINT.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as k8s from '@kubernetes/client-node';
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import { loadConfig, type OperatorConfig } from './config.js';
import { jsonLog } from './log.js';
import { startHttp } from './http.js';
import { startWatcher, promWatcherMetrics, type Watcher } from '../watcher/index.js';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from '../activities/index.js';
import { Kube } from '../activities/kube.js';
import { exportMetrics } from '../activities/metrics.js';
import { sinkBackends, closeAll } from '../activities/sinks/registry.js';
import { PostgresPayloadStore, kollectDataConverter } from './payloads.js';
import { BodyStore } from '../store/bodies.js';

export async function runOperator(config: OperatorConfig): Promise<{ stop(): Promise<void>; httpPort: number }> {
  const log = jsonLog('operator');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kollect_' });
  new Gauge({ name: 'kollect_build_info', help: 'Kollect build information; always 1.', labelNames: ['version'], registers: [registry] })
    .set({ version: process.env.npm_package_version ?? '0.1.0' }, 1);

  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig); else kc.loadFromDefault();

  // One database holds row bodies and claim-checked payloads. An outage is reported (log, /readyz,
  // metric) and retried by whoever needs it; it never ends the process.
  const store = new PostgresPayloadStore(config.storeUrl, { log });
  const bodies = new BodyStore(config.storeUrl, { log });
  const storeUp = new Gauge({ name: 'kollect_store_up', help: '1 when the last operation on the body store succeeded.', registers: [registry] });
  storeUp.set(1);
  const dataConverter = kollectDataConverter(store);

  // The worker half: inventory workflows and their export activities.
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  if (config.components.worker) {
    nativeConnection = await NativeConnection.connect({ address: config.temporalAddress });
    const workflowsPath = fileURLToPath(new URL('../workflows/index' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url));
    worker = await Worker.create({
      connection: nativeConnection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, workflowsPath, dataConverter,
      activities: createActivities({ kube: new Kube(kc), store: bodies, backends: sinkBackends, log, metrics: exportMetrics(registry), settings: { maxRunAgeMs: config.maxRunAgeMs } }),
    });
    running = worker.run();
    running.catch((err: unknown) => log('worker_failed', { error: (err as Error).message }));
  }

  // The watcher half: Kollect CRs and the watched objects, as signals to the inventory workflows.
  let clientConnection: Connection | undefined;
  let watcher: Watcher | undefined;
  if (config.components.watcher) {
    clientConnection = await Connection.connect({ address: config.temporalAddress });
    const client = new Client({ connection: clientConnection, namespace: config.temporalNamespace, dataConverter });
    watcher = await startWatcher({
      kc, log, temporal: { client, taskQueue: config.taskQueue, store: bodies }, metrics: promWatcherMetrics(registry),
      ...(config.watchNamespaces.length ? { namespaces: config.watchNamespaces } : {}),
    });
  }

  const http = await startHttp({
    host: config.httpHost, port: config.httpPort, registry,
    ready: () => {
      const detail: Record<string, boolean> = {};
      if (worker) detail.worker = worker.getState() === 'RUNNING';
      if (watcher) detail.watcher = watcher.ready();
      // Reported, not gating: a store outage stalls exports and deltas, which resume by themselves.
      const storeOk = bodies.available;
      storeUp.set(storeOk ? 1 : 0);
      return { ok: Object.values(detail).every(Boolean), detail: { ...detail, store: storeOk } };
    },
  });
  log('started', { components: config.components, temporal: config.temporalAddress, namespace: config.temporalNamespace, taskQueue: config.taskQueue, httpPort: http.port });

  return {
    httpPort: http.port,
    async stop() {
      log('stopping');
      watcher?.stop();
      await watcher?.closed();
      // The SDK's runtime also reacts to SIGTERM/SIGINT and may have begun draining already.
      if (worker?.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await nativeConnection?.close();
      await clientConnection?.close();
      await closeAll();
      await store.close();
      await bodies.close();
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
