// Sends an outbox's signals to the inventory workflows through Temporal. Every signal is a
// signalWithStart, so the first change (or resync, or deletion) of an inventory starts its
// workflow, and a workflow that ended is started again by the next signal.
import { isGrpcServiceError, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { API_VERSION, KOLLECT_PLURALS } from '../api/constants.js';
import {
  configChangedSignal, connectionTestWorkflowId, deltaSignal, inventoryDeletedSignal, inventoryWorkflowId, resyncSignal, CONNECTION_TEST_WORKFLOW_TYPE, INVENTORY_WORKFLOW_TYPE,
} from '../workflows/definitions.js';
import type { ConnectionTestHooks } from './connection-tests.js';
import { KubeApiError, type KubeTransport } from './kube.js';
import type { InventoryRef, OutSignal, SignalSender } from './outbox.js';
import type { BodyStore } from '../store/bodies.js';

export { INVENTORY_WORKFLOW_TYPE };

const GRPC_INVALID_ARGUMENT = 3;

/**
 * The server refuses signals past its per-run limit (history.maximumSignalsPerExecution) with
 * INVALID_ARGUMENT, but that clears once the run continues as new: retry it, never drop rows.
 */
const SIGNAL_LIMIT = /limit for signal/i;

/** Temporal refused the payload itself (blob size limit, bad encoding): resending cannot help. */
export function isPermanentSignalError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isGrpcServiceError(e)) return (e.code as number) === GRPC_INVALID_ARGUMENT && !SIGNAL_LIMIT.test(`${e.details ?? ''} ${e.message}`);
    if ((e as Error).name === 'PayloadConverterError' || (e as Error).name === 'ValueError') return true;
  }
  return false;
}

/** Sends through Temporal; a delta's bodies go to the store first, so no signal names a hash the store lacks. */
export function temporalSender(client: Client, taskQueue: string, store: BodyStore): SignalSender {
  return {
    isPermanent: isPermanentSignalError,
    async send(ref: InventoryRef, s: OutSignal): Promise<void> {
      if (s.kind === 'delta') await store.put(s.bodies);
      const base = { workflowId: inventoryWorkflowId(ref.namespace, ref.name), taskQueue, args: [{ namespace: ref.namespace, name: ref.name }] };
      switch (s.kind) {
        case 'delta': await client.workflow.signalWithStart(INVENTORY_WORKFLOW_TYPE, { ...base, signal: deltaSignal, signalArgs: [s.batch] }); break;
        case 'resync': await client.workflow.signalWithStart(INVENTORY_WORKFLOW_TYPE, { ...base, signal: resyncSignal, signalArgs: [s.part] }); break;
        case 'configChanged': await client.workflow.signalWithStart(INVENTORY_WORKFLOW_TYPE, { ...base, signal: configChangedSignal, signalArgs: [] }); break;
        case 'inventoryDeleted': await client.workflow.signalWithStart(INVENTORY_WORKFLOW_TYPE, { ...base, signal: inventoryDeletedSignal, signalArgs: [] }); break;
      }
    },
  };
}

/** Starts a KollectConnectionTest's probe workflow (once per test uid) and deletes expired tests. */
export function temporalConnectionTests(client: Client, taskQueue: string, transport: KubeTransport): ConnectionTestHooks {
  return {
    async start(ref) {
      try {
        await client.workflow.start(CONNECTION_TEST_WORKFLOW_TYPE, {
          workflowId: connectionTestWorkflowId(ref), taskQueue, args: [ref],
          workflowIdReusePolicy: 'REJECT_DUPLICATE', workflowExecutionTimeout: '15 minutes',
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },
    async remove(ref) {
      const path = `/apis/${API_VERSION}/namespaces/${encodeURIComponent(ref.namespace)}/${KOLLECT_PLURALS.KollectConnectionTest}/${encodeURIComponent(ref.name)}`;
      try {
        await transport.request('DELETE', path, { body: { preconditions: { uid: ref.uid } } });
      } catch (err) {
        if (!(err instanceof KubeApiError && (err.status === 404 || err.status === 409))) throw err;
      }
    },
  };
}
