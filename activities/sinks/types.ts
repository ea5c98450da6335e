// The one interface every sink backend implements. A backend knows nothing of Kubernetes or
// Temporal: the export activity resolves the sink CR, its Secret and the row bodies, then calls
// export(). The contract (docs/decisions/0009): a state sink applies the changes after the
// watermark it stored with its data, or a full reconcile, and refuses to move its watermark
// backwards; an event sink publishes every change with a dedupe id unique across lineages.
import type { RowEntry, VersionedRow, Tombstone } from '../../api/rows.js';
import type { SerializationFormat, SinkKind } from '../../api/types.js';
import type { ExportPlan, ExportOutcome } from '../../workflows/state.js';
import type { EndpointGuard } from './endpoints.js';

export interface InventoryIdentity { namespace: string; name: string; cluster: string }

/** What the workflow asks of one export activity (the entries travel as a second argument). */
export interface ExportRequest {
  inventory: InventoryIdentity;
  sink: { kind: SinkKind; namespace: string; name: string; type: string };
  /** Unique per export round of this inventory; the same on every retry of that round. */
  exportId: string;
  plan: ExportPlan;
  maxExportBytes?: number;
  /** Delete guard (percent of the sink's rows), state sinks only. */
  maxDeletePercent: number;
}

/** What an export activity returns to the workflow: no bodies, and of refused rows only a count and samples. */
export interface ExportReply extends ExportOutcome { upserts: number; deletes: number }

/** One row a sink refused: its key (`target/uid`), the object (`namespace/name`) and why. */
export interface RowRejection { key: string; object: string; reason: string }

/** Rows a sink refused in one export: how many, and the first few (never every key: payloads stay small). */
export interface RejectedRows { count: number; samples: RowRejection[] }

/** Samples an export reports of its refused rows. */
export const MAX_REJECTION_SAMPLES = 3;

/**
 * Poison rows (docs/sinks.md#poison-rows): a row the sink cannot store is skipped, not the whole
 * export. The backend records it here, removes any earlier version of it it holds (the sink must
 * not keep a stale version silently), applies the rest, and reports `summary()` in its reply.
 */
export class Rejections {
  count = 0;
  readonly samples: RowRejection[] = [];
  add(row: { target: string; uid: string; namespace: string; name: string }, reason: string): void {
    this.count++;
    if (this.samples.length < MAX_REJECTION_SAMPLES) {
      this.samples.push({ key: `${row.target}/${row.uid}`, object: row.namespace ? `${row.namespace}/${row.name}` : row.name, reason: reason.slice(0, 300) });
    }
  }
  /** For the reply: undefined when nothing was refused. */
  summary(): RejectedRows | undefined {
    return this.count ? { count: this.count, samples: [...this.samples] } : undefined;
  }
}

/** What a backend receives: the plan, and the rows with their bodies read from the store. */
export interface ExportInput {
  inventory: InventoryIdentity;
  sink: ExportRequest['sink'];
  exportId: string;
  plan: ExportPlan;
  /**
   * Upserts (every row, for a full reconcile) in version order, bodies read in bounded pages.
   * `want` skips entries before their bodies are read (e.g. rows the sink already holds by hash).
   */
  upserts: (want?: (e: RowEntry) => boolean) => AsyncIterable<VersionedRow[]>;
  upsertCount: number;
  /** Keys (`target/uid`) of every row of the snapshot: what a full reconcile keeps. Empty for a delta. */
  keep: ReadonlySet<string>;
  /** Deleted rows with their identity (delta only). */
  deletes: Tombstone[];
  maxDeletePercent: number;
}

/** A stored watermark: the lineage and version a state sink holds. */
export interface Watermark { lineage: string; version: number }

export interface SinkContext<Spec> {
  /** The type-specific block of the sink's spec (e.g. spec.postgres), defaults not yet applied. */
  spec: Spec;
  /** Keys of the sink's Secret (spec.secretRef); empty when none. Never log these. */
  credentials: Record<string, string>;
  /** PEM CA bundle from spec.tls.caSecretRef, when set. */
  caPem?: string;
  /** spec.format as written (snapshot sinks); the descriptor's formats say which apply. */
  format?: SerializationFormat;
  log: (event: string, fields?: Record<string, unknown>) => void;
  /** Aborted when the attempt is cancelled or lost its heartbeat: stop before committing anything. */
  signal?: AbortSignal;
  /**
   * Checks every address the backend connects to (docs/sinks.md#endpoint-guard); default the
   * process's guard from KOLLECT_ENDPOINT_ALLOW / KOLLECT_CLUSTER_CIDRS.
   */
  guard?: EndpointGuard;
  /** spec.create: whether the sink may create its bucket, table, topic or stream (default true). */
  create?: boolean;
}

/** A configuration problem retrying cannot fix (bad URL, missing key). Becomes non-retryable. */
export class SinkConfigError extends Error {
  override readonly name = 'SinkConfigError';
  constructor(readonly field: string, message: string) { super(`${field}: ${message}`); }
}

/** The export would delete an unusual share of the sink's rows without a complete resync behind it. */
export class DeleteGuardError extends Error {
  override readonly name = 'DeleteGuard';
  constructor(readonly deletes: number, readonly held: number, readonly maxPercent: number) {
    super(`delete guard: this export would delete ${deletes} of the ${held} rows the sink holds (more than spec.maxDeletePercent ${maxPercent}%) and the snapshot has no complete resync behind it; held until every target has resynced`);
  }
}

/** Throws DeleteGuardError when `deletes` of `held` is above the guard and the resync is incomplete. */
export function checkDeleteGuard(input: Pick<ExportInput, 'plan' | 'maxDeletePercent'>, deletes: number, held: number): void {
  if (input.plan.resyncComplete || deletes === 0 || input.maxDeletePercent >= 100) return;
  if (deletes * 100 > held * input.maxDeletePercent) throw new DeleteGuardError(deletes, held, input.maxDeletePercent);
}

/**
 * What a state sink does given its stored watermark: apply the plan, do nothing (it already holds
 * this version or a newer one: a retried or stale attempt), or ask for a full reconcile (its
 * watermark is from another lineage, missing, or behind the delta's start).
 */
export function decideWatermark(stored: Watermark | undefined, plan: ExportPlan): { action: 'apply'; aheadVersion?: undefined } | { action: 'noop' | 'needsFull'; aheadVersion?: number } {
  const same = stored?.lineage === plan.lineage;
  const aheadVersion = same && stored.version > plan.version ? stored.version : undefined;
  if (plan.mode === 'full') return same && stored.version > plan.version ? { action: 'noop', aheadVersion } : { action: 'apply' };
  if (!same) return { action: 'needsFull' };
  if (stored.version >= plan.version) return { action: 'noop', aheadVersion };
  if (stored.version < plan.fromVersion) return { action: 'needsFull' };
  return { action: 'apply' };
}

/** The result of an export its watermark check stopped (nothing written). */
export function skipped(d: { action: 'noop' | 'needsFull'; aheadVersion?: number }, stored: Watermark | undefined): ExportReply {
  const detail = d.action === 'noop' ? `already at version ${stored?.version}` : `watermark ${stored ? `${stored.lineage}@${stored.version}` : 'absent'}: full reconcile needed`;
  return { outcome: d.action, aheadVersion: d.aheadVersion, rowsExported: 0, upserts: 0, deletes: 0, detail };
}

/** What a connection probe found (KollectConnectionTest, the sink's Ready condition). */
export interface ProbeResult {
  /** One line: what was reached and checked, e.g. `bucket inventories readable (versitygw)`. */
  detail: string;
}

export interface SinkBackend<Spec = unknown> {
  /** spec.type value, e.g. `postgres`. */
  readonly type: string;
  readonly kind: SinkKind;
  export(input: ExportInput, ctx: SinkContext<Spec>): Promise<ExportReply>;
  /**
   * Connects with the sink's real credentials and checks that its bucket, table, topic or stream
   * can be reached (or created, when spec.create allows): writes no rows. Throws what export would.
   */
  probe?(ctx: SinkContext<Spec>): Promise<ProbeResult>;
  /** Secrets the backend derives from the credentials (e.g. a Basic auth token), to redact as well. */
  derivedSecrets?(credentials: Readonly<Record<string, string>>): string[];
  /** Releases pooled connections (worker shutdown). */
  close?(): Promise<void>;
}
