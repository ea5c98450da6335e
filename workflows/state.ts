// The inventory's canonical snapshot index and per-sink export bookkeeping. Pure and
// deterministic: the workflow drives it, unit tests exercise it without a server.
//
// The index holds keys, hashes and versions only; bodies live in the body store. A *lineage* is
// one unbroken history of the index (the run that began it, carried across continue-as-new). A
// lineage that starts empty may not delete anything from a state sink until every target has
// completed a full resync in it (docs/decisions/0009).
import type { RowEntry } from '../api/rows.js';
import { rowKey } from '../api/rows.js';
import type { DeltaBatch, ResyncPart } from '../api/signals.js';
import type { SinkExportStatus, SinkKind } from '../api/types.js';
import type { RejectedRows } from '../activities/sinks/types.js';

/** One sink as the resolved inventory configuration names it. */
export interface SinkConfig {
  kind: SinkKind;
  name: string;
  type: string;
  intervalMs: number;
  maxAttempts: number;
  suspended: boolean;
  /** Changes when the sink's spec changes: a new generation gets a full reconcile. */
  generation: number;
  /** Delete guard of state sinks (percent of the sink's rows). */
  maxDeletePercent: number;
}

/** Snapshot and database sinks converge to the snapshot; event sinks receive every change. */
export const isStateSink = (kind: SinkKind): boolean => kind !== 'KollectEventSink';

export interface SinkState {
  kind: SinkKind;
  name: string;
  type: string;
  /** Version the sink acknowledged, in `exportedLineage`. */
  exportedVersion: number;
  exportedLineage?: string;
  exportedGeneration: number;
  /** The sink's watermark disagreed with ours: its next export is a full reconcile. */
  needsFull: boolean;
  lastFullMs?: number;
  lastAttemptMs?: number;
  lastSuccessMs?: number;
  lastError?: string;
  /** Status reason of the last failure (ExportFailed, DeleteHeld, Unreachable). */
  lastReason?: string;
  consecutiveFailures: number;
  circuit: 'closed' | 'open' | 'halfOpen';
  openUntilMs?: number;
  rowsExported?: number;
  detail?: string;
  /** Rows the sink refused since its last full reconcile (poison rows), with one sample. Status only. */
  quarantine?: { rows: number; sample?: string; lastMs: number };
}

export interface BreakerPolicy {
  /** Failed exports in a row that open the circuit. */
  failureThreshold: number;
  baseCooldownMs: number;
  maxCooldownMs: number;
}
export const DEFAULT_BREAKER: BreakerPolicy = { failureThreshold: 3, baseCooldownMs: 30_000, maxCooldownMs: 10 * 60_000 };
/** Retry delay after a failed export while the circuit is still closed. */
export const FAILED_EXPORT_RETRY_MS = 5_000;

/** Index entry as carried: [target, uid, hash, version] (compact: 100k rows are one claim-checked payload). */
type Packed = [string, string, string, number];

/** What continue-as-new carries: everything needed to resume exactly. */
export interface SerializedState {
  lineage: string;
  version: number;
  rows: Packed[];
  tombstones: Packed[];
  sinks: SinkState[];
  resyncs: { id: string; target: string; parts: number; seen: number[]; uids: string[] }[];
  /** Targets whose resync completed in this lineage with every listed row present. */
  resynced: string[];
  complete: boolean;
}

/** What one export does, decided by the workflow. Entries travel separately (see ExportEntries). */
export interface ExportPlan {
  lineage: string;
  /** full: make the sink exactly the snapshot; delta: apply the changes after fromVersion. */
  mode: 'full' | 'delta';
  /** The sink's watermark the delta starts from (0 for full). */
  fromVersion: number;
  /** The version the export brings the sink to. */
  version: number;
  /** Rows in the snapshot at `version`, and per target. */
  rowCount: number;
  targetCounts: Record<string, number>;
  /** Every target has completed a full resync in this lineage. */
  resyncComplete: boolean;
}

/** The rows an export names: every row (full) or the changes (delta), in version order. */
export interface ExportEntries { upserts: RowEntry[]; deletes: RowEntry[] }

/** What a sink reports back about its watermark. */
export interface ExportOutcome {
  /** applied: the sink now holds plan.version; noop: it already did (or was ahead); needsFull: its watermark disagrees. */
  outcome: 'applied' | 'noop' | 'needsFull';
  /** The sink's stored watermark version when it is ahead of the plan in the same lineage. */
  aheadVersion?: number;
  rowsExported: number;
  detail: string;
  /** Rows the sink refused (skipped, the rest applied): a count and a few samples, never every key. */
  rejected?: RejectedRows;
}

export const sinkId = (s: { kind: string; name: string }): string => `${s.kind}/${s.name}`;
const pack = (e: RowEntry): Packed => [e.target, e.uid, e.hash, e.version];
const unpack = ([target, uid, hash, version]: Packed): RowEntry => ({ target, uid, hash, version });
const byVersion = (a: RowEntry, b: RowEntry): number => a.version - b.version;

export class InventoryState {
  version = 0;
  readonly rows = new Map<string, RowEntry>();
  readonly tombstones = new Map<string, RowEntry>();
  readonly sinks = new Map<string, SinkState>();
  private readonly resyncs = new Map<string, { target: string; parts: number; seen: Set<number>; uids: Set<string> }>();
  private readonly resynced = new Set<string>();
  /** Set once every target of the configuration has resynced in this lineage; stays set. */
  complete = false;
  /** target → rows a completed resync listed that the index did not hold (the watcher resends them); shown in status. */
  readonly missing = new Map<string, number>();

  constructor(public lineage: string) {}

  /** Resumes carried state, or starts a new lineage named `newLineage`. */
  static from(s: SerializedState | undefined, newLineage: string): InventoryState {
    const st = new InventoryState(s?.lineage ?? newLineage);
    if (!s) return st;
    st.version = s.version;
    for (const p of s.rows) { const e = unpack(p); st.rows.set(rowKey(e), e); }
    for (const p of s.tombstones) { const e = unpack(p); st.tombstones.set(rowKey(e), e); }
    for (const k of s.sinks) st.sinks.set(sinkId(k), k);
    for (const r of s.resyncs) st.resyncs.set(r.id, { target: r.target, parts: r.parts, seen: new Set(r.seen), uids: new Set(r.uids) });
    for (const t of s.resynced) st.resynced.add(t);
    st.complete = s.complete;
    return st;
  }

  serialize(): SerializedState {
    return {
      lineage: this.lineage, version: this.version,
      rows: [...this.rows.values()].map(pack), tombstones: [...this.tombstones.values()].map(pack),
      sinks: [...this.sinks.values()],
      resyncs: [...this.resyncs.entries()].map(([id, r]) => ({ id, target: r.target, parts: r.parts, seen: [...r.seen], uids: [...r.uids] })),
      resynced: [...this.resynced], complete: this.complete,
    };
  }

  /** Rows per target, with 0 for each of `targets` that has none. */
  targetCounts(targets: readonly string[] = []): Record<string, number> {
    const counts: Record<string, number> = Object.fromEntries(targets.map((t) => [t, 0]));
    for (const r of this.rows.values()) counts[r.target] = (counts[r.target] ?? 0) + 1;
    return counts;
  }

  /** Applies a batch; returns how many rows changed. */
  applyDelta(batch: DeltaBatch): number {
    let changed = 0;
    for (const ref of batch.upserts) if (this.upsert(batch.target, ref.uid, ref.hash)) changed++;
    for (const d of batch.deletes) if (this.remove(rowKey(d))) changed++;
    return changed;
  }

  /**
   * Collects resync parts; once all parts of an id are in, deletes the target's rows not listed.
   * The target counts as resynced only when the index holds every listed row (a new lineage
   * holds only what was resent to it; rows still missing arrive with the watcher's resend).
   */
  applyResync(part: ResyncPart): number {
    let r = this.resyncs.get(part.id);
    if (!r) {
      // The parts of one relist are sent in order in one flush: a new id for the target means an
      // older partial resync was abandoned (the watcher restarted mid-way). Forget it, so carried
      // state cannot grow with resyncs that will never complete.
      for (const [id, old] of this.resyncs) if (old.target === part.target) this.resyncs.delete(id);
      r = { target: part.target, parts: part.parts, seen: new Set(), uids: new Set() };
      this.resyncs.set(part.id, r);
    }
    r.seen.add(part.part);
    for (const uid of part.uids) r.uids.add(uid);
    if (r.seen.size < r.parts) return 0;
    this.resyncs.delete(part.id);
    let removed = 0;
    let held = 0;
    for (const [key, row] of [...this.rows]) {
      if (row.target !== r.target) continue;
      if (r.uids.has(row.uid)) held++;
      else if (this.remove(key)) removed++;
    }
    const missing = r.uids.size - held;
    if (missing === 0) { this.resynced.add(r.target); this.missing.delete(r.target); } else this.missing.set(r.target, missing);
    return removed;
  }

  /** Latches `complete` once every target resynced in this lineage. Returns true when it just did. */
  checkComplete(targets: readonly string[]): boolean {
    if (this.complete || !targets.every((t) => this.resynced.has(t))) return false;
    this.complete = true;
    return true;
  }

  /** Targets still waiting for their first complete resync in this lineage. */
  awaitingResync(targets: readonly string[]): string[] {
    return this.complete ? [] : targets.filter((t) => !this.resynced.has(t));
  }

  /** Drops rows of targets the inventory no longer references. */
  retainTargets(targets: ReadonlySet<string>): number {
    let removed = 0;
    for (const [key, row] of [...this.rows]) if (!targets.has(row.target) && this.remove(key)) removed++;
    for (const t of [...this.resynced]) if (!targets.has(t)) this.resynced.delete(t);
    return removed;
  }

  /**
   * Starts a new lineage over the same index: a sink reported a watermark ahead of this
   * workflow in its own lineage (a reset replayed older history). Every state sink then gets a
   * full reconcile once every target has resynced again.
   */
  rotateLineage(lineage: string): void {
    this.lineage = lineage;
    this.complete = false;
    this.resynced.clear();
  }

  private upsert(target: string, uid: string, hash: string): boolean {
    const key = rowKey({ target, uid });
    const prev = this.rows.get(key);
    if (prev && prev.hash === hash) return false;
    this.version++;
    this.rows.set(key, { target, uid, hash, version: this.version });
    this.tombstones.delete(key);
    return true;
  }

  private remove(key: string): boolean {
    const prev = this.rows.get(key);
    if (!prev) return false;
    this.version++;
    this.rows.delete(key);
    this.tombstones.set(key, { ...prev, version: this.version });
    return true;
  }

  /** Rows and deletes after `since`, in version order. */
  changesSince(since: number): ExportEntries {
    const upserts = [...this.rows.values()].filter((r) => r.version > since).sort(byVersion);
    const deletes = [...this.tombstones.values()].filter((t) => t.version > since).sort(byVersion);
    return { upserts, deletes };
  }

  /** Forgets tombstones every sink has already exported past in this lineage. */
  collectTombstones(): void {
    const floor = Math.min(this.version, ...[...this.sinks.values()].map((s) => (s.exportedLineage === this.lineage ? s.exportedVersion : 0)));
    for (const [key, t] of this.tombstones) if (t.version <= floor) this.tombstones.delete(key);
  }

  /** Aligns sink bookkeeping with the configuration: new sinks start empty, removed ones go. */
  syncSinks(configs: readonly SinkConfig[]): void {
    const wanted = new Set(configs.map(sinkId));
    for (const id of [...this.sinks.keys()]) if (!wanted.has(id)) this.sinks.delete(id);
    for (const c of configs) {
      const s = this.sinks.get(sinkId(c));
      if (!s) this.sinks.set(sinkId(c), { kind: c.kind, name: c.name, type: c.type, exportedVersion: 0, exportedGeneration: 0, needsFull: true, consecutiveFailures: 0, circuit: 'closed' });
      else s.type = c.type;
    }
    this.collectTombstones();
  }

  /** Whether the next export of this sink must be a full reconcile. */
  needsFull(c: SinkConfig, nowMs: number, fullIntervalMs: number): boolean {
    const s = this.sinks.get(sinkId(c));
    if (!s || !isStateSink(c.kind)) return false;
    return s.needsFull || s.exportedLineage !== this.lineage || s.exportedGeneration !== c.generation
      || s.lastFullMs === undefined || nowMs - s.lastFullMs >= fullIntervalMs;
  }

  /** When the sink may next export, or undefined if it has nothing to do (or must wait for the resync). */
  nextDueMs(c: SinkConfig, nowMs: number, fullIntervalMs: number): number | undefined {
    const s = this.sinks.get(sinkId(c));
    if (!s || c.suspended) return undefined;
    const state = isStateSink(c.kind);
    if (state && !this.complete) return undefined; // nothing may be deleted before the resync: wait
    const behind = s.exportedLineage !== this.lineage || s.exportedVersion < this.version || s.lastSuccessMs === undefined
      || (state && (s.needsFull || s.exportedGeneration !== c.generation));
    let due: number;
    if (behind) due = s.lastSuccessMs === undefined ? nowMs : s.lastSuccessMs + c.intervalMs;
    else if (state && s.lastFullMs !== undefined) due = s.lastFullMs + fullIntervalMs; // the scheduled full reconcile
    else return undefined;
    if (s.lastError !== undefined && s.lastAttemptMs !== undefined) due = Math.max(due, s.lastAttemptMs + FAILED_EXPORT_RETRY_MS);
    if (s.circuit === 'open' && s.openUntilMs !== undefined) due = Math.max(due, s.openUntilMs);
    return due;
  }

  /** The export this sink should run now, with the entries it names. */
  plan(c: SinkConfig, nowMs: number, fullIntervalMs: number): { plan: ExportPlan; entries: ExportEntries } {
    const s = this.sinks.get(sinkId(c));
    const full = this.needsFull(c, nowMs, fullIntervalMs);
    const from = full || !s || s.exportedLineage !== this.lineage ? 0 : s.exportedVersion;
    const entries = full ? { upserts: [...this.rows.values()].sort(byVersion), deletes: [] } : this.changesSince(from);
    const targetCounts = this.targetCounts();
    return {
      plan: { lineage: this.lineage, mode: full ? 'full' : 'delta', fromVersion: from, version: this.version, rowCount: this.rows.size, targetCounts, resyncComplete: this.complete },
      entries,
    };
  }

  recordAttempt(id: string, nowMs: number): void {
    const s = this.sinks.get(id);
    if (!s) return;
    s.lastAttemptMs = nowMs;
    if (s.circuit === 'open' && s.openUntilMs !== undefined && nowMs >= s.openUntilMs) s.circuit = 'halfOpen';
  }

  /** Records what the sink reported. Returns true when the sink was ahead of this lineage (see rotateLineage). */
  recordSuccess(id: string, plan: ExportPlan, r: ExportOutcome & { generation: number; nowMs: number }): boolean {
    const s = this.sinks.get(id);
    if (!s) return false;
    s.lastError = undefined;
    s.lastReason = undefined;
    s.consecutiveFailures = 0;
    s.circuit = 'closed';
    s.openUntilMs = undefined;
    if (r.outcome === 'needsFull') {
      s.needsFull = true;
      s.detail = r.detail;
      return false;
    }
    if (r.aheadVersion !== undefined && plan.lineage === this.lineage && r.aheadVersion > this.version) return true;
    s.exportedVersion = s.exportedLineage === plan.lineage ? Math.max(s.exportedVersion, plan.version) : plan.version;
    s.exportedLineage = plan.lineage;
    s.exportedGeneration = r.generation;
    s.lastSuccessMs = r.nowMs;
    s.rowsExported = r.rowsExported;
    s.detail = r.detail;
    recordRejected(s, plan.mode, r);
    if (plan.mode === 'full') { s.lastFullMs = r.nowMs; s.needsFull = false; }
    this.collectTombstones();
    return false;
  }

  recordFailure(id: string, r: { nowMs: number; error: string; reason?: string }, policy: BreakerPolicy = DEFAULT_BREAKER): void {
    const s = this.sinks.get(id);
    if (!s) return;
    s.lastError = r.error;
    s.lastReason = r.reason ?? 'ExportFailed';
    s.consecutiveFailures++;
    if (s.circuit === 'halfOpen' || s.consecutiveFailures >= policy.failureThreshold) {
      const opens = Math.max(0, s.consecutiveFailures - policy.failureThreshold);
      const cooldown = Math.min(policy.maxCooldownMs, policy.baseCooldownMs * 2 ** opens);
      s.circuit = 'open';
      s.openUntilMs = r.nowMs + cooldown;
    }
  }

  statusOf(id: string): SinkExportStatus | undefined {
    const s = this.sinks.get(id);
    if (!s) return undefined;
    const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const reason = s.lastReason ?? (isStateSink(s.kind) && !this.complete ? 'AwaitingResync' : undefined);
    return {
      kind: s.kind, name: s.name, type: s.type,
      lastAttemptTime: iso(s.lastAttemptMs), lastSuccessTime: iso(s.lastSuccessMs),
      lastError: s.lastError ?? '', rowsExported: s.rowsExported ?? 0,
      consecutiveFailures: s.consecutiveFailures, circuit: s.circuit,
      exportedVersion: s.exportedLineage === this.lineage ? s.exportedVersion : 0, detail: s.detail ?? '',
      ...(reason ? { reason } : {}),
      ...(s.lastFullMs !== undefined ? { lastFullReconcileTime: iso(s.lastFullMs) } : {}),
      ...(s.quarantine ? { quarantine: { rows: s.quarantine.rows, ...(s.quarantine.sample ? { sample: s.quarantine.sample } : {}), lastTime: iso(s.quarantine.lastMs) } } : {}),
    };
  }
}

/**
 * Status only (no command depends on it, so replay is unaffected): a full reconcile counts the
 * refused rows afresh (none clears the count); a delta adds its refusals to the count since.
 */
function recordRejected(s: SinkState, mode: ExportPlan['mode'], r: ExportOutcome & { nowMs: number }): void {
  const n = r.rejected?.count ?? 0;
  if (n === 0) { if (mode === 'full') s.quarantine = undefined; return; }
  const first = r.rejected!.samples[0];
  const sample = first ? `${first.key} (${first.object}): ${first.reason}`.slice(0, 500) : undefined;
  s.quarantine = { rows: (mode === 'full' ? 0 : s.quarantine?.rows ?? 0) + n, sample, lastMs: r.nowMs };
}
