// Operator configuration from the environment, validated once at start; a bad value stops the
// process with a message naming the variable and how to fix it.
import { readFileSync } from 'node:fs';
import { EndpointGuard, endpointPolicyFromEnv, type EndpointPolicy } from '../activities/sinks/endpoints.js';
import { CLUSTER_NAME_PATTERN, DEFAULT_CLUSTER_NAME, DEFAULT_TASK_QUEUE } from '../api/constants.js';
import { parseDuration } from '../api/duration.js';
import { parseTemporalMetrics, type TemporalMetricsSetting } from './telemetry.js';
import { leaderElectionFromEnv, type LeaderElectionConfig } from '../watcher/leader.js';
import { webhookConfigFromEnv, type WebhookConfig } from './webhook.js';
import { codecConfig, type CodecConfig } from './codec.js';

export interface OperatorConfig {
  temporalAddress: string;
  temporalNamespace: string;
  /** How to reach Temporal: TLS (server CA, client certificate, SNI) and an API key; empty = plaintext. */
  temporalAuth: TemporalAuth;
  /** Register temporalNamespace at start when it is missing (a bundled Temporal server). */
  registerNamespace: boolean;
  taskQueue: string;
  /** Path of a kubeconfig; empty means in-cluster or ~/.kube/config. */
  kubeconfig: string;
  httpPort: number;
  httpHost: string;
  /** Which halves run in this process: both (default), or only the watcher or the worker. */
  components: { watcher: boolean; worker: boolean };
  /** Namespaces whose Kollect CRs the watcher serves and whose objects it reads; empty = all. */
  watchNamespaces: string[];
  /** KOLLECT_TENANT_MODE (default true): namespaced Kollect objects are confined to their namespace and its KollectScope (docs/tenancy.md). */
  tenantMode: boolean;
  /** KOLLECT_CLUSTER_KINDS: serve KollectClusterTarget and KollectClusterInventory (default: only without KOLLECT_WATCH_NAMESPACES). */
  clusterKinds: boolean;
  /** Postgres URL of the store: row bodies and large Temporal payloads (required). */
  storeUrl: string;
  /** A workflow run older than this drains and continues as new. */
  maxRunAgeMs: number;
  /** How often the garbage collector's schedule runs. */
  gcIntervalMs: number;
  /** A prebuilt workflow bundle (npm run build writes dist/workflow-bundle.js); empty = bundle at start. */
  workflowBundle: string;
  /** This cluster's name in every row of an inventory without spec.cluster (KOLLECT_CLUSTER_NAME). */
  clusterName: string;
  /** Where sinks may connect (KOLLECT_ENDPOINT_ALLOW, KOLLECT_CLUSTER_CIDRS); docs/sinks.md#endpoint-guard. */
  endpoints: EndpointPolicy;
  /** Where the Temporal SDK serves its metrics, merged into /metrics (KOLLECT_TEMPORAL_METRICS; docs/metrics.md). */
  temporalMetrics: TemporalMetricsSetting;
  /** Only the holder of a Lease runs the watcher (KOLLECT_LEADER_*); docs/operations.md#high-availability. */
  leaderElection: LeaderElectionConfig;
  /** The validating admission webhook (KOLLECT_WEBHOOK_PORT, KOLLECT_WEBHOOK_CERT_DIR); undefined: not served. */
  webhook?: WebhookConfig;
  /** The Temporal UI's codec endpoint (KOLLECT_CODEC_*; worker/codec.ts); absent or no port = not served. */
  codec?: CodecConfig;
  /** Largest export of any inventory, bytes (KOLLECT_MAX_EXPORT_BYTES); spec.maxExportBytes may only lower it. Unset: no cap. */
  maxExportBytes?: number;
}

/**
 * The connection options both the client Connection and the worker's NativeConnection take. File
 * contents are read once at start: a rotated certificate or key takes effect on the next restart.
 */
export interface TemporalAuth {
  tls?: {
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
    serverNameOverride?: string;
  };
  apiKey?: string;
}

/**
 * TEMPORAL_TLS (true = TLS with the system's trusted CAs), TEMPORAL_TLS_CA_FILE,
 * TEMPORAL_TLS_CERT_FILE + TEMPORAL_TLS_KEY_FILE (mTLS), TEMPORAL_TLS_SERVER_NAME and
 * TEMPORAL_API_KEY_FILE. Any of them turns TLS on: an API key is never sent in plaintext.
 */
function temporalAuth(env: NodeJS.ProcessEnv): TemporalAuth {
  const tlsFlag = env.TEMPORAL_TLS ?? '';
  flag(tlsFlag, 'TEMPORAL_TLS');
  const cert = env.TEMPORAL_TLS_CERT_FILE ?? '';
  const key = env.TEMPORAL_TLS_KEY_FILE ?? '';
  if (Boolean(cert) !== Boolean(key)) {
    throw new TypeError(`TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together (a client certificate and its key), got only ${cert ? 'TEMPORAL_TLS_CERT_FILE' : 'TEMPORAL_TLS_KEY_FILE'}`);
  }
  const ca = env.TEMPORAL_TLS_CA_FILE ?? '';
  const serverName = env.TEMPORAL_TLS_SERVER_NAME ?? '';
  const apiKeyFile = env.TEMPORAL_API_KEY_FILE ?? '';
  const wanted = tlsFlag === 'true' || Boolean(ca || cert || serverName || apiKeyFile);
  if (tlsFlag === 'false' && wanted) throw new TypeError('TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* / TEMPORAL_API_KEY_FILE settings: an API key or certificate is only sent over TLS');
  if (!wanted) return {};
  const tls: NonNullable<TemporalAuth['tls']> = {};
  if (ca) tls.serverRootCACertificate = pemFile(ca, 'TEMPORAL_TLS_CA_FILE', 'CERTIFICATE');
  if (cert) tls.clientCertPair = { crt: pemFile(cert, 'TEMPORAL_TLS_CERT_FILE', 'CERTIFICATE'), key: pemFile(key, 'TEMPORAL_TLS_KEY_FILE', 'PRIVATE KEY') };
  if (serverName) tls.serverNameOverride = serverName;
  const auth: TemporalAuth = { tls };
  if (apiKeyFile) {
    const apiKey = readSetting(apiKeyFile, 'TEMPORAL_API_KEY_FILE').toString('utf8').trim();
    if (!apiKey) throw new TypeError(`TEMPORAL_API_KEY_FILE: ${apiKeyFile} is empty`);
    auth.apiKey = apiKey;
  }
  return auth;
}

function flag(text: string | undefined, name: string): boolean {
  if (!['', 'true', 'false'].includes(text ?? '')) throw new TypeError(`${name} must be true or false, got "${text}"`);
  return text === 'true';
}

function readSetting(file: string, name: string): Buffer {
  try { return readFileSync(file); } catch (err) {
    throw new TypeError(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/** A PEM file holding at least one block of `label` (PRIVATE KEY also matches RSA/EC PRIVATE KEY). */
function pemFile(file: string, name: string, label: string): Buffer {
  const data = readSetting(file, name);
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(data.toString('utf8'))) throw new TypeError(`${name}: ${file} holds no PEM ${label}`);
  return data;
}

function clusterName(text: string | undefined): string {
  if (text === undefined || text === '') return DEFAULT_CLUSTER_NAME;
  if (text.length > 63 || !CLUSTER_NAME_PATTERN.test(text)) {
    throw new TypeError(`KOLLECT_CLUSTER_NAME must be a DNS label (lower-case letters, digits and -, at most 63), got "${text}"`);
  }
  return text;
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
    temporalAuth: temporalAuth(env),
    registerNamespace: flag(env.KOLLECT_REGISTER_NAMESPACE, 'KOLLECT_REGISTER_NAMESPACE'),
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
    tenantMode: flag(env.KOLLECT_TENANT_MODE || 'true', 'KOLLECT_TENANT_MODE'),
    clusterKinds: flag(env.KOLLECT_CLUSTER_KINDS || (env.KOLLECT_WATCH_NAMESPACES?.trim() ? 'false' : 'true'), 'KOLLECT_CLUSTER_KINDS'),
    endpoints: endpointPolicy(env),
    clusterName: clusterName(env.KOLLECT_CLUSTER_NAME),
    temporalMetrics: parseTemporalMetrics(env.KOLLECT_TEMPORAL_METRICS),
    leaderElection: leaderElectionFromEnv(env),
    webhook: webhookConfigFromEnv(env),
    codec: codecConfig(env),
    maxExportBytes: positiveInt(env.KOLLECT_MAX_EXPORT_BYTES, 'KOLLECT_MAX_EXPORT_BYTES'),
  };
}

/** A positive integer setting, undefined when unset or empty. */
function positiveInt(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw new TypeError(`${name} must be a positive integer (bytes), got "${text}"`);
  return n;
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
