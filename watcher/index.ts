// The watcher side of the operator: it checks that the apiserver answers, and — given a Temporal
// client — runs the controller that turns watched objects into row deltas for the inventory
// workflows (controller.ts). Options are validated here, once; a bad one throws a TypeError
// naming it.
import * as k8s from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { Log } from '../worker/log.js';
import { DEFAULT_CLUSTER_NAME } from '../api/constants.js';
import { Controller } from './controller.js';
import { temporalConnectionTests, temporalSender } from './delivery.js';
import { ConnectionTests } from './connection-tests.js';
import type { BodyStore } from '../store/bodies.js';
import { Discovery } from './discovery.js';
import { compileInformerConfig, type InformerConfigInput } from './informer.js';
import { InformerPool, type InformerInfo, type InformerTap } from './informer-pool.js';
import { kubeTransport } from './kube.js';
import { noopMetrics, type WatcherMetrics } from './metrics.js';
import { compileDeliveryConfig, type DeliveryConfig } from './outbox.js';
import { ExtractionPool, extractionLimitsFromEnv, sensitivePolicyFromEnv, type ExtractionLimits, type SensitivePolicy } from '../api/extract/index.js';

export { promWatcherMetrics, type WatcherMetrics } from './metrics.js';
export { INVENTORY_FINALIZER } from './controller.js';
export { INVENTORY_WORKFLOW_TYPE } from './delivery.js';

export interface WatcherOptions {
  kc: k8s.KubeConfig;
  log: Log;
  /** Apiserver reachability probe period (ms). */
  checkEveryMs?: number;
  /** Where inventory workflows run, and the body store every signalled hash is written to first. Without it the watcher only probes the apiserver. */
  temporal?: { client: Client; taskQueue: string; store: BodyStore };
  /** Serve Kollect CRs in these namespaces only, and read objects in these only; default all namespaces. */
  namespaces?: string[];
  /** Tenant mode (api/tenancy.ts, docs/tenancy.md); default off. The operator passes KOLLECT_TENANT_MODE. */
  tenancy?: { tenantMode: boolean };
  /** Serve the cluster kinds (KOLLECT_CLUSTER_KINDS); default only without `namespaces`. */
  clusterKinds?: boolean;
  /** List/watch behaviour: page size, watch timeout, relist period, inactivity timeout, backoff. */
  informer?: InformerConfigInput;
  /** Flush interval per inventory, signal size budget, resync part size, retry backoff. */
  delivery?: Partial<Omit<DeliveryConfig, 'retry'>> & { retry?: Partial<DeliveryConfig['retry']> };
  /** A Target whose kind the apiserver does not serve (CRD not installed yet) looks again this often (ms). */
  unknownKindRetryMs?: number;
  /** Cluster name of rows whose inventory has no spec.cluster (default `default`). */
  clusterName?: string;
  metrics?: WatcherMetrics;
  /** Extraction deadline, output caps and worker pool (default: KOLLECT_EXTRACT_* or their defaults). */
  extraction?: Partial<ExtractionLimits>;
  /** Sensitive kinds and allowed profiles (default: KOLLECT_SENSITIVE_KINDS, KOLLECT_ALLOW_SENSITIVE_PROFILES). */
  sensitive?: SensitivePolicy;
}

export interface Watcher {
  /** True while the apiserver answers and, with a controller, once the Kollect CRs are synced. */
  ready(): boolean;
  /** Stops probing, watching and sending; see closed(). */
  stop(): void;
  /** Resolves once everything stop() ended has wound down. */
  closed(): Promise<void>;
  /** Resolves when every inventory's queued signals have been sent. */
  flushed(): Promise<void>;
  /** The shared informers and their reference counts. */
  informers(): InformerInfo[];
  /** Every informer event (LIST_DONE, RELIST, OLD_RESOURCE_VERSION, NETWORK_ERROR, BACKOFF…). */
  onInformerEvent(tap: InformerTap): () => void;
  /** Each Target: collecting (live) or not, and the informers it uses. */
  targets(): { target: string; live: boolean; informers: string[] }[];
}

function validate(opts: WatcherOptions): void {
  if (opts.checkEveryMs !== undefined && !(opts.checkEveryMs > 0)) throw new TypeError(`watcher option checkEveryMs must be a positive number, got ${opts.checkEveryMs}`);
  if (opts.unknownKindRetryMs !== undefined && !(opts.unknownKindRetryMs > 0)) throw new TypeError(`watcher option unknownKindRetryMs must be a positive number, got ${opts.unknownKindRetryMs}`);
  if (opts.temporal && !opts.temporal.taskQueue) throw new TypeError('watcher option temporal.taskQueue must not be empty');
  for (const ns of opts.namespaces ?? []) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns)) throw new TypeError(`watcher option namespaces: "${ns}" is not a namespace name`);
  }
}

export async function startWatcher(opts: WatcherOptions): Promise<Watcher> {
  validate(opts);
  const informerConfig = compileInformerConfig(opts.informer);
  const delivery = compileDeliveryConfig(opts.delivery);
  const metrics = opts.metrics ?? noopMetrics;
  const { log } = opts;
  const transport = kubeTransport(opts.kc);

  let ok = false;
  const check = async (): Promise<void> => {
    try {
      const v = await transport.request<{ gitVersion?: string }>('GET', '/version');
      if (!ok) log('apiserver_reachable', { server: opts.kc.getCurrentCluster()?.server, version: v.gitVersion });
      ok = true;
    } catch (err) {
      if (ok) log('apiserver_unreachable', { error: (err as Error).message });
      ok = false;
    }
  };
  await check();
  const timer = setInterval(() => void check(), opts.checkEveryMs ?? 10_000);

  const pool = new InformerPool(transport, new Discovery(transport), informerConfig, metrics, log);
  let controller: Controller | undefined;
  let extraction: ExtractionPool | undefined;
  if (opts.temporal) {
    const limits = { ...extractionLimitsFromEnv(process.env), ...opts.extraction };
    extraction = new ExtractionPool(limits);
    controller = new Controller({
      transport, pool, delivery, metrics, log, extraction, limits,
      sensitive: opts.sensitive ?? sensitivePolicyFromEnv(process.env),
      sender: temporalSender(opts.temporal.client, opts.temporal.taskQueue, opts.temporal.store),
      namespaces: opts.namespaces,
      tenancy: { tenantMode: opts.tenancy?.tenantMode ?? false, watchNamespaces: opts.namespaces },
      clusterKinds: opts.clusterKinds,
      unknownKindRetryMs: opts.unknownKindRetryMs ?? 10_000,
      clusterName: opts.clusterName ?? DEFAULT_CLUSTER_NAME,
      connectionTests: new ConnectionTests(temporalConnectionTests(opts.temporal.client, opts.temporal.taskQueue, transport), log),
    });
    controller.start();
    log('watcher_started', { taskQueue: opts.temporal.taskQueue, namespaces: opts.namespaces ?? 'all', tenantMode: opts.tenancy?.tenantMode ?? false, flushIntervalMs: delivery.flushIntervalMs });
  } else {
    log('watcher_controller_disabled', { reason: 'no Temporal client given: only the apiserver is probed' });
  }

  let closing: Promise<void> | undefined;
  return {
    ready: () => ok && (controller?.synced ?? true),
    stop: () => {
      if (closing) return;
      clearInterval(timer);
      closing = (async () => {
        await controller?.stop();
        await extraction?.close();
        await pool.stopAll();
      })();
    },
    closed: () => closing ?? Promise.resolve(),
    flushed: () => controller?.flushed() ?? Promise.resolve(),
    informers: () => pool.informers(),
    onInformerEvent: (tap) => pool.tap(tap),
    targets: () => controller?.targetInfo() ?? [],
  };
}
