// Messages between sandbox.ts and its worker threads (sandbox-worker.ts).
import type { KollectProfileSpec } from '../types.js';
import type { Row } from '../rows.js';
import type { ExtractionLimits } from './limits.js';
import type { RowContext } from './profile.js';
import type { MetricSample } from './metrics.js';

/** Int32 slots of the shared progress buffer. */
export const TICK = 0; // +1 when an object starts, and when a batch ends
export const STEP = 1; // the profile step running (profile.ts FILTER_STEP, attribute index) or DONE_STEP
export const DONE_STEP = -2;
export const PROGRESS_SLOTS = 2;

export interface WorkerData { progress: SharedArrayBuffer }

export interface WorkerJob {
  id: number;
  /** Identity of (spec, limits): the worker compiles each key once. */
  key: string;
  spec: KollectProfileSpec;
  limits: ExtractionLimits;
  ctx: RowContext;
  objects: unknown[];
}

export type WorkerReply =
  /** samples: per object, its custom metric samples (only when the profile has spec.metrics). */
  | { id: number; rows: (Row | null)[]; samples?: MetricSample[][] }
  | { id: number; limit: { field: string; limit: string; detail: string } }
  | { id: number; error: string };
