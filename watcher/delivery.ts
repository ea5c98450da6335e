// Sends an outbox's signals to the inventory workflows through Temporal. Every signal is a
// signalWithStart, so the first change (or resync, or deletion) of an inventory starts its
// workflow, and a workflow that ended is started again by the next signal.
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { configChangedSignal, deltaSignal, inventoryDeletedSignal, inventoryWorkflowId, resyncSignal, INVENTORY_WORKFLOW_TYPE } from '../workflows/definitions.js';
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
