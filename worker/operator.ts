// The `kollect` operator process: the Temporal worker and the watcher in one process, with
// health and metrics endpoints and graceful shutdown on SIGTERM/SIGINT.
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
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
import { EndpointGuard } from '../activities/sinks/endpoints.js';
import { createConnectionTestActivities } from '../activities/connection-test.js';
import { sinkDescriptors, closeAll } from '../activities/sinks/registry.js';
import { PostgresPayloadStore, kollectDataConverter } from './payloads.js';
import { BodyStore } from '../store/bodies.js';
import { createCollectorActivities } from '../activities/collect.js';
import { ensureCollectorSchedule } from './schedule.js';
import { ensureNamespace } from './namespace.js';

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
  // Probed in the background too, so /readyz and the metric tell an outage while nothing is exported.
  const storeProbe = setInterval(() => { void bodies.ping(); }, 10_000);
  storeProbe.unref();
  const dataConverter = kollectDataConverter(store);

  // The worker half: inventory workflows and their export activities.
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let nativeConnection: NativeConnection | undefined;
  const clientConnection = await retrying('temporal', () => Connection.connect({ address: config.temporalAddress, ...config.temporalAuth }), log);
  const client = new Client({ connection: clientConnection, namespace: config.temporalNamespace, dataConverter });
  if (config.registerNamespace) await retrying('temporal_namespace', () => ensureNamespace(clientConnection, config.temporalNamespace, log), log);
  if (config.components.worker) {
    const guard = new EndpointGuard(config.endpoints);
    log('endpoint_policy', { allow: config.endpoints.allow, clusterCidrs: config.endpoints.clusterCidrs });
    nativeConnection = await retrying('temporal', () => NativeConnection.connect({ address: config.temporalAddress, ...config.temporalAuth }), log);
    worker = await Worker.create({
      connection: nativeConnection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, dataConverter, ...workflowCode(config, log),
      activities: {
        ...createActivities({ kube: new Kube(kc), store: bodies, sinks: sinkDescriptors, guard, log, metrics: exportMetrics(registry), settings: { maxRunAgeMs: config.maxRunAgeMs, clusterName: config.clusterName, maxExportBytes: config.maxExportBytes } }),
        ...createConnectionTestActivities({ kube: new Kube(kc), sinks: sinkDescriptors, guard, log }),
        ...createCollectorActivities({ client, taskQueue: config.taskQueue, store: bodies, payloads: store, log }),
      },
    });
    // Not fatal: the collector waits for the next start (or is scheduled by another replica).
    await ensureCollectorSchedule(client, config.taskQueue, config.gcIntervalMs, log).catch((err: unknown) => log('gc_schedule_failed', { error: (err as Error).message }));
    running = worker.run();
    running.catch((err: unknown) => log('worker_failed', { error: (err as Error).message }));
  }

  // The watcher half: Kollect CRs and the watched objects, as signals to the inventory workflows.
  let watcher: Watcher | undefined;
  if (config.components.watcher) {
    watcher = await startWatcher({
      kc, log, temporal: { client, taskQueue: config.taskQueue, store: bodies }, metrics: promWatcherMetrics(registry), clusterName: config.clusterName,
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
  log('started', { components: config.components, temporal: config.temporalAddress, temporalTls: config.temporalAuth.tls !== undefined, namespace: config.temporalNamespace, taskQueue: config.taskQueue, httpPort: http.port });

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
      await clientConnection.close();
      clearInterval(storeProbe);
      await closeAll();
      await store.close();
      await bodies.close();
      await http.close();
      log('stopped');
    },
  };
}

/**
 * The workflow code: a prebuilt bundle when there is one (KOLLECT_WORKFLOW_BUNDLE, or
 * dist/workflow-bundle.js beside the compiled operator), else bundled now from workflows/ (webpack
 * in this process: slower start, a few hundred MiB more memory).
 */
function workflowCode(config: OperatorConfig, log: (event: string, fields?: Record<string, unknown>) => void): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const compiled = !import.meta.url.endsWith('.ts');
  const beside = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));
  const codePath = config.workflowBundle || (compiled && existsSync(beside) ? beside : '');
  if (codePath) {
    if (!existsSync(codePath)) throw new TypeError(`KOLLECT_WORKFLOW_BUNDLE: no file at ${codePath} (npm run build writes dist/workflow-bundle.js)`);
    log('workflow_bundle', { codePath });
    return { workflowBundle: { codePath } };
  }
  return { workflowsPath: fileURLToPath(new URL(`../workflows/index.${compiled ? 'js' : 'ts'}`, import.meta.url)) };
}

/** Connects, retrying every 2 s while the server is unreachable (logged once per outage): an unreachable dependency never ends the process. */
async function retrying<T>(what: string, connect: () => Promise<T>, log: (event: string, fields?: Record<string, unknown>) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const c = await connect();
      if (attempt > 1) log(`${what}_reachable`, { attempts: attempt });
      return c;
    } catch (err) {
      if (attempt === 1) log(`${what}_unreachable`, { error: (err as Error).message, retryEveryMs: 2000 });
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
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
