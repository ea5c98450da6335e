// Operator configuration from the environment, validated once at start; a bad value stops the
// process with a message naming the variable and how to fix it.
import { DEFAULT_TASK_QUEUE } from '../api/constants.js';

export interface OperatorConfig {
  temporalAddress: string;
  temporalNamespace: string;
  taskQueue: string;
  /** Path of a kubeconfig; empty means in-cluster or ~/.kube/config. */
  kubeconfig: string;
  httpPort: number;
  httpHost: string;
  /** Which halves run in this process: both (default), or only the watcher or the worker. */
  components: { watcher: boolean; worker: boolean };
  /** Namespaces whose Kollect CRs the watcher serves; empty = all. */
  watchNamespaces: string[];
  /** Postgres URL of the payload claim-check store; empty = compression only. */
  payloadStoreUrl: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  const port = Number(env.KOLLECT_HTTP_PORT ?? '8081');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`KOLLECT_HTTP_PORT must be a port number 0-65535, got "${env.KOLLECT_HTTP_PORT}"`);
  }
  const temporalAddress = env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  if (!/^[^:\s]+:\d+$/.test(temporalAddress)) {
    throw new TypeError(`TEMPORAL_ADDRESS must be host:port, got "${temporalAddress}"`);
  }
  return {
    temporalAddress,
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: env.KOLLECT_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    kubeconfig: env.KUBECONFIG ?? '',
    httpPort: port,
    httpHost: env.KOLLECT_HTTP_HOST ?? '0.0.0.0',
    payloadStoreUrl: env.KOLLECT_PAYLOAD_STORE_URL ?? '',
    components: parseComponents(env.KOLLECT_COMPONENTS ?? 'all'),
    watchNamespaces: (env.KOLLECT_WATCH_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
}

function parseComponents(text: string): OperatorConfig['components'] {
  const parts = new Set(text.split(',').map((s) => s.trim()));
  for (const p of parts) {
    if (!['all', 'watcher', 'worker'].includes(p)) throw new TypeError(`KOLLECT_COMPONENTS must be all, watcher or worker (comma-separated), got "${text}"`);
  }
  const all = parts.has('all');
  return { watcher: all || parts.has('watcher'), worker: all || parts.has('worker') };
}
