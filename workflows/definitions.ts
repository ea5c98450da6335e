// Signals, queries and IDs of the inventory workflow, declared once and imported by both the
// workflow and its clients (watcher, status tooling).
import { defineSignal, defineQuery, defineUpdate } from '@temporalio/workflow';
import type { DeltaBatch, ResyncPart } from '../api/signals.js';
import type { SinkExportStatus } from '../api/types.js';
import type { RowEntry } from '../api/rows.js';

// Deltas and resyncs share ONE signal name: signals that reach a workflow before its handlers are
// registered (a new run's first task) are dispatched name by name as each handler is set, so two
// names would reorder a resync behind later deltas and delete their rows. One name keeps history
// order. The two typed definitions below are the same signal, for senders.
export const CHANGES_SIGNAL = 'changes';
export const changesSignal = defineSignal<[DeltaBatch | ResyncPart]>(CHANGES_SIGNAL);
export const deltaSignal = defineSignal<[DeltaBatch]>(CHANGES_SIGNAL);
export const resyncSignal = defineSignal<[ResyncPart]>(CHANGES_SIGNAL);
export const isResync = (m: DeltaBatch | ResyncPart): m is ResyncPart => Array.isArray((m as ResyncPart).uids);
/** The inventory or one of its sinks changed: re-read the configuration before the next export. */
export const configChangedSignal = defineSignal('configChanged');
/** The inventory is being deleted: stop exporting and end the workflow. */
export const inventoryDeletedSignal = defineSignal('inventoryDeleted');
export const suspendSignal = defineSignal<[boolean]>('suspend');

export interface InventoryStatusView {
  rows: number;
  version: number;
  /** The snapshot's lineage (see workflows/state.ts). */
  lineage: string;
  /** Targets a new lineage still waits for (their first complete resync); empty once complete. */
  awaitingResync: string[];
  /** Per target still awaited: rows its last resync listed that the snapshot does not hold yet. */
  missingRows: Record<string, number>;
  suspended: boolean;
  sinks: SinkExportStatus[];
  /** Rows per target name (the kollect_inventory_rows metric); absent in views of older workers. */
  targetRows?: Record<string, number>;
}
export const statusQuery = defineQuery<InventoryStatusView>('status');
/** Up to `limit` (≤ 100) index entries: keys, hashes and versions (bodies are in the store). */
export const previewQuery = defineQuery<RowEntry[], [number]>('preview');

/**
 * The garbage collector asks each open inventory run to touch every body it can still name (its
 * index, its tombstones, the entries of its exports in flight); returns how many it touched.
 */
export const markLiveUpdate = defineUpdate<{ touched: number }>('markLive');

/** The workflow type of inventories (the name the worker registers `inventoryWorkflow` under). */
export const INVENTORY_WORKFLOW_TYPE = 'inventoryWorkflow';
/** The garbage collector's workflow type, run by the operator's schedule. */
export const COLLECT_WORKFLOW_TYPE = 'collectGarbageWorkflow';

export const CONNECTION_TEST_WORKFLOW_TYPE = 'connectionTestWorkflow';

/** One KollectConnectionTest object (its uid: a test deleted and created again under one name is a new test). */
export interface ConnectionTestRef { namespace: string; name: string; uid: string }
export const connectionTestWorkflowId = (r: ConnectionTestRef): string => `kollect/connectiontest/${r.namespace}/${r.name}/${r.uid}`;

/**
 * A KollectInventory's workflow ID; a KollectClusterInventory runs the same workflow with an
 * InventoryRef whose namespace is empty (docs/tenancy.md), under `kollect/clusterinventory/<name>`.
 */
export const inventoryWorkflowId = (namespace: string, name: string): string =>
  (namespace ? `kollect/inventory/${namespace}/${name}` : `kollect/clusterinventory/${name}`);
