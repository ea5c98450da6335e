// The inventory configuration as the loadInventoryConfig activity resolves it (no secrets).
import type { SinkConfig } from './state.js';

export interface InventoryRef { namespace: string; name: string }

export interface InventoryConfig {
  generation: number;
  cluster: string;
  intervalMs: number;
  suspend: boolean;
  maxExportBytes?: number;
  /** spec.fullReconcileInterval: how often state sinks get a full reconcile. */
  fullReconcileIntervalMs: number;
  /** Operator setting: a run older than this drains and continues as new (bounded histories). */
  maxRunAgeMs: number;
  targets: string[];
  sinks: SinkConfig[];
  /** Problems the user must fix (a referenced sink that does not exist); shown in status. */
  problems: string[];
}

export const exportActivityName = (type: string): string => `export${type.charAt(0).toUpperCase()}${type.slice(1)}`;
