// Signals, queries and IDs of the inventory workflow, declared once and imported by both the
// workflow and its clients (watcher, status tooling).
import { defineSignal, defineQuery } from '@temporalio/workflow';
import type { DeltaBatch, ResyncPart } from '../api/signals.js';
import type { SinkExportStatus } from '../api/types.js';
import type { VersionedRow } from '../api/rows.js';

export const deltaSignal = defineSignal<[DeltaBatch]>('delta');
export const resyncSignal = defineSignal<[ResyncPart]>('resync');
/** The inventory or one of its sinks changed: re-read the configuration before the next export. */
export const configChangedSignal = defineSignal('configChanged');
/** The inventory is being deleted: stop exporting and end the workflow. */
export const inventoryDeletedSignal = defineSignal('inventoryDeleted');
export const suspendSignal = defineSignal<[boolean]>('suspend');

export interface InventoryStatusView {
  rows: number;
  version: number;
  suspended: boolean;
  sinks: SinkExportStatus[];
}
export const statusQuery = defineQuery<InventoryStatusView>('status');
export const previewQuery = defineQuery<VersionedRow[], [number]>('preview');

export const inventoryWorkflowId = (namespace: string, name: string): string => `kollect/inventory/${namespace}/${name}`;
