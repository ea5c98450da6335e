// Registers the operator's Temporal namespace when it is missing (KOLLECT_REGISTER_NAMESPACE), so
// a bundled Temporal server needs no job to create it. Idempotent: an existing namespace is left
// as it is, and two operators registering at once both succeed.
import type { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';

/** Retention of a namespace Kollect registers; the garbage collector reads the namespace's own. */
export const REGISTERED_RETENTION = '3d';

// gRPC status codes (the client's errors carry them as `code`).
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const codeOf = (err: unknown): number | undefined => (err as { code?: number }).code;

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
