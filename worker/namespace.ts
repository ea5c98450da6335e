// The operator's Temporal namespace: registered when missing (KOLLECT_REGISTER_NAMESPACE), so a
// bundled Temporal server needs no job to create it (idempotent: an existing namespace is left as
// it is, and two operators registering at once both succeed), and claimed for one cluster, so two
// clusters' operators never share it (docs/decisions/0026).
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';

/** Retention of a namespace Kollect registers; the garbage collector reads the namespace's own. */
export const REGISTERED_RETENTION = '3d';

// gRPC status codes (the client's errors carry them as `code`).
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const PERMISSION_DENIED = 7;
const UNIMPLEMENTED = 12;
const codeOf = (err: unknown): number | undefined => (err as { code?: number }).code;

/** Namespace data key naming the cluster whose operators poll `taskQueue` in the namespace. */
export const clusterClaimKey = (taskQueue: string): string => `kollect.dev/cluster.${taskQueue}`;

/** Another cluster's operator already uses this Temporal namespace: a configuration error. */
export class NamespaceClaimedError extends Error {
  constructor(namespace: string, taskQueue: string, holder: string, cluster: string) {
    super(`TEMPORAL_NAMESPACE: task queue "${taskQueue}" of Temporal namespace "${namespace}" is used by the Kollect operator of cluster "${holder}" `
      + `(namespace data ${clusterClaimKey(taskQueue)}); this operator's cluster is "${cluster}" (KOLLECT_CLUSTER_NAME). `
      + 'Give each cluster its own Temporal namespace (chart value temporal.namespace): the activities on a task queue read '
      + "the apiserver of the worker that runs them, and inventory workflow ids are unique per namespace.");
    this.name = 'NamespaceClaimedError';
  }
}

/**
 * Registers `namespace` if absent, then resolves once the frontend serves it: its namespace cache
 * learns of a new namespace within seconds, and until then namespaced calls answer NotFound. Throws
 * while it does not (the caller retries).
 */
export async function ensureNamespace(connection: Connection, namespace: string, log: (event: string, fields?: Record<string, unknown>) => void): Promise<void> {
  const svc = connection.workflowService;
  try {
    await svc.describeNamespace({ namespace });
  } catch (err) {
    if (codeOf(err) !== NOT_FOUND) throw err;
    try {
      await svc.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(REGISTERED_RETENTION) });
      log('temporal_namespace_registered', { namespace, retention: REGISTERED_RETENTION });
    } catch (e) {
      if (codeOf(e) !== ALREADY_EXISTS) throw e;
    }
  }
  await svc.listWorkflowExecutions({ namespace, pageSize: 1 });
}

/**
 * Claims `taskQueue` of `namespace` for `cluster` in the namespace's data, or throws
 * NamespaceClaimedError when another cluster holds it. Read back after writing: of two clusters claiming at once, the one
 * whose write lost sees the other's name. A server that does not let the operator update the
 * namespace (Temporal Cloud's namespace-scoped keys) leaves it unclaimed, which is logged.
 */
export async function claimNamespace(connection: Connection, namespace: string, taskQueue: string, cluster: string, log: (event: string, fields?: Record<string, unknown>) => void): Promise<void> {
  const svc = connection.workflowService;
  const key = clusterClaimKey(taskQueue);
  const holder = async (): Promise<string | undefined> => (await svc.describeNamespace({ namespace })).namespaceInfo?.data?.[key];
  const held = await holder();
  if (held === cluster) return;
  if (held !== undefined) throw new NamespaceClaimedError(namespace, taskQueue, held, cluster);
  try {
    await svc.updateNamespace({ namespace, updateInfo: { data: { [key]: cluster } } });
  } catch (err) {
    if (codeOf(err) !== PERMISSION_DENIED && codeOf(err) !== UNIMPLEMENTED) throw err;
    log('temporal_namespace_unclaimed', { namespace, taskQueue, cluster, reason: (err as Error).message });
    return;
  }
  const now = await holder();
  if (now !== cluster) throw new NamespaceClaimedError(namespace, taskQueue, now ?? '(none)', cluster);
  log('temporal_namespace_claimed', { namespace, taskQueue, cluster });
}
