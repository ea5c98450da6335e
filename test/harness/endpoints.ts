// The one typed module tests read connection details from. The harness writes endpoints.json
// into its run directory and exports KOLLECT_ENDPOINTS (its path) to the processes it starts.
import { readFileSync } from 'node:fs';

export interface KubeEndpoint {
  server: string;
  kubeconfig: string;
  /** CA that signed the apiserver's serving certificate (PEM file). */
  caFile: string;
  adminToken: string;
  /** A user with no RBAC bindings, for permission tests. */
  restrictedToken: string;
  restrictedUser: string;
  kubectl: string;
}
export interface TemporalEndpoint { address: string; namespace: string; uiUrl?: string; cli: string }
export interface PostgresEndpoint { host: string; port: number; user: string; password: string; database: string; url: string }
export interface NatsEndpoint { url: string; monitorUrl: string }
export interface KafkaEndpoint { brokers: string[] }
export interface MongoEndpoint { url: string }
export interface S3Endpoint { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; forcePathStyle: true }
export interface GcsEndpoint { apiEndpoint: string; projectId: string }
export interface BigQueryEndpoint { apiEndpoint: string; projectId: string }
export interface GitEndpoint {
  /** https://127.0.0.1:PORT/git — repositories are <baseUrl>/<name>.git */
  baseUrl: string;
  caFile: string;
  username: string;
  password: string;
  /** Directory holding the bare repositories; createRepo() adds one. */
  reposDir: string;
}
export interface GitLabEndpoint {
  /** https://127.0.0.1:PORT — the instance root; projects clone from <url>/<path>.git */
  url: string;
  /** <url>/api/v4 */
  apiUrl: string;
  /** A token of a member of every project. */
  token: string;
  /** A valid token of a user who is a member of no project (GitLab answers 404 for its projects). */
  strangerToken: string;
  /** CA that signed the fake's serving certificate (PEM file). */
  caFile: string;
}
export interface HelmEndpoint { bin: string }

export interface Endpoints {
  runDir: string;
  /**
   * A random marker inside every credential the harness makes (passwords, tokens, secret keys), so
   * that tests' sink Secrets carry it and the leak scan after the run (leak-scan.ts) can find any
   * credential that escaped into logs, status, events, sink contents or Temporal histories.
   */
  canary: string;
  /** URL of the harness control server (stop/start a service during a fault test). */
  controlUrl: string;
  kube?: KubeEndpoint;
  temporal?: TemporalEndpoint;
  postgres?: PostgresEndpoint;
  nats?: NatsEndpoint;
  kafka?: KafkaEndpoint;
  mongodb?: MongoEndpoint;
  s3?: S3Endpoint;
  gcs?: GcsEndpoint;
  bigquery?: BigQueryEndpoint;
  git?: GitEndpoint;
  gitlab?: GitLabEndpoint;
  helm?: HelmEndpoint;
}
export type ServiceName = Exclude<keyof Endpoints, 'runDir' | 'controlUrl'>;

/** The run directory's folder of operator logs (test/support/process.ts writes one file per child; the leak scan reads them). */
export const OPERATOR_LOGS_DIR = 'operator-logs';

let cached: Endpoints | undefined;

/** All endpoints of the running harness; throws if no harness is running. */
export function endpoints(): Endpoints {
  if (cached) return cached;
  const file = process.env.KOLLECT_ENDPOINTS;
  if (!file) throw new Error('KOLLECT_ENDPOINTS is not set: run tests through `npm test` (vitest global setup starts the services) or start them with `npm run services`');
  cached = JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
  return cached;
}

/** The endpoint of one service; fails loudly when the harness did not start it. */
export function service<K extends ServiceName>(name: K): NonNullable<Endpoints[K]> {
  const e = endpoints()[name];
  if (!e) throw new Error(`service "${name}" is not running in this harness (KOLLECT_SERVICES=${process.env.KOLLECT_SERVICES ?? 'all'})`);
  return e;
}

async function control(action: 'stop' | 'start', name: ServiceName): Promise<void> {
  const res = await fetch(`${endpoints().controlUrl}/${action}/${name}`, { method: 'POST' });
  if (!res.ok) throw new Error(`harness ${action} ${name}: ${res.status} ${await res.text()}`);
}
/** Stops a real server process (its data is kept), for fault tests. */
export const stopService = (name: ServiceName) => control('stop', name);
/** Starts it again on the same port and data, resolving once it is ready. */
export const startService = (name: ServiceName) => control('start', name);
