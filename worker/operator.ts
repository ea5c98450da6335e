// The `kollect` operator process: the Temporal worker and the watcher in one process, with
// health and metrics endpoints and graceful shutdown on SIGTERM/SIGINT.
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as k8s from '@kubernetes/client-node';
import { loadConfig, type OperatorConfig } from './config.js';
import { jsonLog } from './log.js';
import { startHttp } from './http.js';
import { startCodecServer } from './codec.js';
import { startWatcher, type Watcher } from '../watcher/index.js';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from '../activities/index.js';
import { Kube } from '../activities/kube.js';
import { startTelemetry } from './telemetry.js';
import { EndpointGuard } from '../activities/sinks/endpoints.js';
import { createConnectionTestActivities } from '../activities/connection-test.js';
import { sinkDescriptors, closeAll } from '../activities/sinks/registry.js';
import { PostgresPayloadStore, kollectDataConverter } from './payloads.js';
import { BodyStore } from '../store/bodies.js';
import { createCollectorActivities } from '../activities/collect.js';
import { ensureCollectorSchedule } from './schedule.js';
import { ensureNamespace, claimNamespace, NamespaceClaimedError } from './namespace.js';
import { leaderElected, type LeaderElected } from '../watcher/leader.js';
import { startWebhook, type Webhook } from './webhook.js';
import { kubeTransport } from '../watcher/kube.js';
import { extractionLimitsFromEnv, sensitivePolicyFromEnv } from '../api/extract/index.js';

export async function runOperator(config: OperatorConfig): Promise<{ stop(): Promise<void>; httpPort: number; webhookPort?: number; codecPort?: number }> {
  const log = jsonLog('operator');
  const telemetry = await startTelemetry({ temporal: config.temporalMetrics, worker: config.components.worker, log });
  const registry = telemetry.registry;

  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig); else kc.loadFromDefault();

  // The validating admission webhook (docs/admission.md), when KOLLECT_WEBHOOK_PORT is set.
  // Started first: it needs only the apiserver, and Kollect objects cannot be written while it is
  // registered with failurePolicy Fail and not answering (Temporal or the store may still be down).
  let webhook: Webhook | undefined;
  if (config.webhook) {
    webhook = await startWebhook({
      config: config.webhook, transport: kubeTransport(kc), clusterName: config.clusterName, log, registry,
      tenancy: { tenantMode: config.tenantMode, watchNamespaces: config.watchNamespaces }, maxExportBytes: config.maxExportBytes,
      sensitive: sensitivePolicyFromEnv(process.env), limits: extractionLimitsFromEnv(process.env),
      ...(config.watchNamespaces.length ? { namespaces: config.watchNamespaces } : {}),
    });
  }

  // One database holds row bodies and claim-checked payloads. An outage is reported (log, /readyz,
  // metric) and retried by whoever needs it; it never ends the process.
  const store = new PostgresPayloadStore(config.storeUrl, { log });
  const bodies = new BodyStore(config.storeUrl, { log });
  const storeUp = telemetry.storeUp;
  storeUp.set(1);
  telemetry.watchStore(bodies);
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
  // Refused, not retried: another cluster's operator already works in this namespace.
  await retrying('temporal_namespace', () => claimNamespace(clientConnection, config.temporalNamespace, config.taskQueue, config.clusterName, log), log, (err) => err instanceof NamespaceClaimedError);
  if (config.components.worker) {
    const guard = new EndpointGuard(config.endpoints);
    log('endpoint_policy', { allow: config.endpoints.allow, clusterCidrs: config.endpoints.clusterCidrs });
    nativeConnection = await retrying('temporal', () => NativeConnection.connect({ address: config.temporalAddress, ...config.temporalAuth }), log);
    worker = await Worker.create({
      connection: nativeConnection, namespace: config.temporalNamespace, taskQueue: config.taskQueue, dataConverter, ...workflowCode(config, log),
      activities: {
        ...createActivities({ kube: new Kube(kc), store: bodies, sinks: sinkDescriptors, guard, log, metrics: telemetry.exports, settings: { maxRunAgeMs: config.maxRunAgeMs, clusterName: config.clusterName, tenantMode: config.tenantMode, maxExportBytes: config.maxExportBytes } }),
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
  // With leader election only the Lease holder runs it; the others stand by (watcher/leader.ts).
  let leader: LeaderElected<Watcher> | undefined;
  if (config.components.watcher) {
    const start = (): Promise<Watcher> => startWatcher({
      kc, log, temporal: { client, taskQueue: config.taskQueue, store: bodies }, metrics: telemetry.watcher, clusterName: config.clusterName,
      ...(config.watchNamespaces.length ? { namespaces: config.watchNamespaces } : {}),
      tenancy: { tenantMode: config.tenantMode }, clusterKinds: config.clusterKinds,
    });
    if (config.leaderElection.enabled) leader = leaderElected({ kc, config: config.leaderElection, log, registry, start });
    else watcher = await start();
  }

  const http = await startHttp({
    host: config.httpHost, port: config.httpPort, registry, metricsText: telemetry.scrape,
    ready: () => {
      const detail: Record<string, boolean> = {};
      if (worker) detail.worker = worker.getState() === 'RUNNING';
      if (watcher) detail.watcher = watcher.ready();
      // A standby is ready: it has nothing to serve until it leads.
      if (leader) detail.watcher = leader.current()?.ready() ?? !leader.isLeader();
      // Reported, not gating: a store outage stalls exports and deltas, which resume by themselves.
      const storeOk = bodies.available;
      storeUp.set(storeOk ? 1 : 0);
      return { ok: Object.values(detail).every(Boolean), detail: { ...detail, store: storeOk, ...(leader ? { leader: leader.isLeader() } : {}) } };
    },
  });
  // The Temporal UI's codec endpoint, on a port of its own when KOLLECT_CODEC_PORT is set (docs/temporal-ui.md).
  // A port it cannot listen on is logged, not fatal: the exports do not depend on it.
  const codec = config.codec?.port !== undefined
    ? await startCodecServer({ config: config.codec, namespace: config.temporalNamespace, store, log }).catch((err: unknown) => { log('codec_listen_failed', { error: (err as Error).message }); return undefined; })
    : undefined;
  log('started', { components: config.components, temporal: config.temporalAddress, temporalTls: config.temporalAuth.tls !== undefined, namespace: config.temporalNamespace, taskQueue: config.taskQueue, httpPort: http.port });

  return {
    httpPort: http.port,
    ...(webhook ? { webhookPort: webhook.port } : {}),
    ...(codec ? { codecPort: codec.port } : {}),
    async stop() {
      log('stopping');
      await webhook?.close();
      watcher?.stop();
      await watcher?.closed();
      await leader?.stop();
      // The SDK's runtime also reacts to SIGTERM/SIGINT and may have begun draining already.
      if (worker?.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await nativeConnection?.close();
      await clientConnection.close();
      clearInterval(storeProbe);
      await codec?.close(); // before the store it reads
      telemetry.stop();
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

/**
 * Connects, retrying every 2 s while the server is unreachable (logged once per outage): an
 * unreachable dependency never ends the process. An error `fatal` accepts is thrown at once.
 */
async function retrying<T>(what: string, connect: () => Promise<T>, log: (event: string, fields?: Record<string, unknown>) => void, fatal: (err: unknown) => boolean = () => false): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      const c = await connect();
      if (attempt > 1) log(`${what}_reachable`, { attempts: attempt });
      return c;
    } catch (err) {
      if (fatal(err)) throw err;
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
  const op = await runOperator(config).catch((err: unknown) => {
    // A configuration conflict is said in one line; anything else keeps its stack.
    process.stderr.write(`kollect: ${err instanceof NamespaceClaimedError ? err.message : ((err as Error).stack ?? String(err))}\n`);
    process.exit(err instanceof NamespaceClaimedError ? 2 : 1);
  });
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    op.stop().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
