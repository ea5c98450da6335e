// The one interface every sink backend implements. A backend knows nothing of Kubernetes or
// Temporal: the export activity resolves the sink CR and its Secret, then calls export().
import type { VersionedRow, Tombstone } from '../../api/rows.js';
import type { SinkKind } from '../../api/types.js';

export interface InventoryIdentity { namespace: string; name: string; cluster: string }

export interface ExportInput {
  inventory: InventoryIdentity;
  sink: { kind: SinkKind; namespace: string; name: string; type: string };
  /** Unique per export round of this inventory; the same on every retry of that round. */
  exportId: string;
  /** Snapshot version this export brings the sink to. */
  version: number;
  /** The whole canonical snapshot: state sinks converge to exactly this. */
  rows: VersionedRow[];
  /** What changed since this sink's last successful export: event sinks emit exactly this. */
  changes: { upserts: VersionedRow[]; deletes: Tombstone[]; sinceVersion: number };
}

export interface ExportResult {
  /** Rows the sink holds (state sinks) or events emitted (event sinks) by this export. */
  rowsExported: number;
  upserts: number;
  deletes: number;
  /** Backend detail worth showing in status, e.g. `commit 1a2b3c4` or `no change`. */
  detail: string;
}

export interface SinkContext<Spec> {
  /** The type-specific block of the sink's spec (e.g. spec.postgres), defaults not yet applied. */
  spec: Spec;
  /** Keys of the sink's Secret (spec.secretRef); empty when none. Never log these. */
  credentials: Record<string, string>;
  /** PEM CA bundle from spec.tls.caSecretRef, when set. */
  caPem?: string;
  format?: 'yaml' | 'json';
  log: (event: string, fields?: Record<string, unknown>) => void;
  signal?: AbortSignal;
}

/** A configuration problem retrying cannot fix (bad URL, missing key). Becomes non-retryable. */
export class SinkConfigError extends Error {
  override readonly name = 'SinkConfigError';
  constructor(readonly field: string, message: string) { super(`${field}: ${message}`); }
}

export interface SinkBackend<Spec = unknown> {
  /** spec.type value, e.g. `postgres`. */
  readonly type: string;
  readonly kind: SinkKind;
  export(input: ExportInput, ctx: SinkContext<Spec>): Promise<ExportResult>;
  /** Releases pooled connections (worker shutdown). */
  close?(): Promise<void>;
}
