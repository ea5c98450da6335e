// Messages between sandbox.ts and its worker threads (sandbox-worker.ts).
import type { KollectProfileSpec } from '../types.js';
import type { Row } from '../rows.js';
import type { ExtractionLimits } from './limits.js';
import type { FieldError, RowContext } from './profile.js';
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

/**
 * What one object became: its row (null: filtered out) with the evaluation errors of this object,
 * or quarantined (RowQuarantinedError: over the row size or depth cap), or failed (the
 * evaluation threw something else; only this object is affected).
 */
export type RowOutcome =
  /** samples: the object's custom metric samples, when the profile has spec.metrics and made a row. */
  | { row: Row | null; errors?: FieldError[]; samples?: MetricSample[] }
  | { quarantined: { field: string; limit: string; detail: string } }
  | { failed: string };

export type WorkerReply =
  | { id: number; outcomes: RowOutcome[] }
  | { id: number; limit: { field: string; limit: string; detail: string } }
  | { id: number; error: string };
