// Operator configuration from the environment, validated once at start; a bad value stops the
// process with a message naming the variable and how to fix it.
import { EndpointGuard, endpointPolicyFromEnv, type EndpointPolicy } from '../activities/sinks/endpoints.js';
import { DEFAULT_TASK_QUEUE } from '../api/constants.js';
import { parseDuration } from '../api/duration.js';

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
  /** Postgres URL of the store: row bodies and large Temporal payloads (required). */
  storeUrl: string;
  /** A workflow run older than this drains and continues as new. */
  maxRunAgeMs: number;
  /** How often the garbage collector's schedule runs. */
  gcIntervalMs: number;
  /** A prebuilt workflow bundle (npm run build writes dist/workflow-bundle.js); empty = bundle at start. */
  workflowBundle: string;
  /** Where sinks may connect (KOLLECT_ENDPOINT_ALLOW, KOLLECT_CLUSTER_CIDRS); docs/sinks.md#endpoint-guard. */
  endpoints: EndpointPolicy;
}

function endpointPolicy(env: NodeJS.ProcessEnv): EndpointPolicy {
  const policy = endpointPolicyFromEnv(env);
  try { new EndpointGuard(policy); } catch (err) { throw new TypeError((err as Error).message, { cause: err }); }
  return policy;
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
    storeUrl: storeUrl(env),
    maxRunAgeMs: atLeastMinute(env.KOLLECT_MAX_RUN_AGE ?? '24h', 'KOLLECT_MAX_RUN_AGE'),
    gcIntervalMs: atLeastMinute(env.KOLLECT_GC_INTERVAL ?? '6h', 'KOLLECT_GC_INTERVAL'),
    workflowBundle: env.KOLLECT_WORKFLOW_BUNDLE ?? '',
    components: parseComponents(env.KOLLECT_COMPONENTS ?? 'all'),
    watchNamespaces: (env.KOLLECT_WATCH_NAMESPACES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    endpoints: endpointPolicy(env),
  };
}

function storeUrl(env: NodeJS.ProcessEnv): string {
  // KOLLECT_PAYLOAD_STORE_URL is the name this setting had before row bodies moved to the store.
  const url = env.KOLLECT_STORE_URL || env.KOLLECT_PAYLOAD_STORE_URL || '';
  if (!url) {
    throw new TypeError('KOLLECT_STORE_URL is required: a postgres:// URL of the database that holds row bodies and large Temporal payloads (the Helm chart and `npm start` provide one)');
  }
  let u: URL;
  try { u = new URL(url); } catch { throw new TypeError('KOLLECT_STORE_URL must be a postgres:// URL'); }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new TypeError(`KOLLECT_STORE_URL must be a postgres:// URL, got ${u.protocol}//`);
  return url;
}

function atLeastMinute(text: string, name: string): number {
  let ms: number;
  try { ms = parseDuration(text, name); } catch (err) { throw new TypeError((err as Error).message, { cause: err }); }
  if (ms < 60_000) throw new TypeError(`${name} must be at least 1m, got "${text}"`);
  return ms;
}

function parseComponents(text: string): OperatorConfig['components'] {
  const parts = new Set(text.split(',').map((s) => s.trim()));
  for (const p of parts) {
    if (!['all', 'watcher', 'worker'].includes(p)) throw new TypeError(`KOLLECT_COMPONENTS must be all, watcher or worker (comma-separated), got "${text}"`);
  }
  const all = parts.has('all');
  return { watcher: all || parts.has('watcher'), worker: all || parts.has('worker') };
}
