// The inventory's canonical snapshot and per-sink export bookkeeping. Pure and deterministic:
// the workflow drives it, unit tests exercise it without a server.
import type { Row, VersionedRow, Tombstone } from '../api/rows.js';
import { rowKey } from '../api/rows.js';
import type { DeltaBatch, ResyncPart } from '../api/signals.js';
import type { SinkExportStatus, SinkKind } from '../api/types.js';

/** One sink as the resolved inventory configuration names it. */
export interface SinkConfig {
  kind: SinkKind;
  name: string;
  type: string;
  intervalMs: number;
  maxAttempts: number;
  suspended: boolean;
  /** Changes when the sink's spec changes: a new generation is exported in full again. */
  generation: number;
}

export interface SinkState {
  kind: SinkKind;
  name: string;
  type: string;
  exportedVersion: number;
  exportedGeneration: number;
  lastAttemptMs?: number;
  lastSuccessMs?: number;
  lastError?: string;
  consecutiveFailures: number;
  circuit: 'closed' | 'open' | 'halfOpen';
  openUntilMs?: number;
  rowsExported?: number;
  detail?: string;
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

/** What continue-as-new carries: everything needed to resume exactly. */
export interface SerializedState {
  version: number;
  rows: VersionedRow[];
  tombstones: Tombstone[];
  sinks: SinkState[];
  resyncs: { id: string; target: string; parts: number; seen: number[]; uids: string[] }[];
}

export const sinkId = (s: { kind: string; name: string }): string => `${s.kind}/${s.name}`;

export class InventoryState {
  version = 0;
  readonly rows = new Map<string, VersionedRow>();
  readonly tombstones = new Map<string, Tombstone>();
  readonly sinks = new Map<string, SinkState>();
  private readonly resyncs = new Map<string, { target: string; parts: number; seen: Set<number>; uids: Set<string> }>();

  static from(s?: SerializedState): InventoryState {
    const st = new InventoryState();
    if (!s) return st;
    st.version = s.version;
    for (const r of s.rows) st.rows.set(rowKey(r), r);
    for (const t of s.tombstones) st.tombstones.set(rowKey(t), t);
    for (const k of s.sinks) st.sinks.set(sinkId(k), k);
    for (const r of s.resyncs) st.resyncs.set(r.id, { target: r.target, parts: r.parts, seen: new Set(r.seen), uids: new Set(r.uids) });
    return st;
  }

  serialize(): SerializedState {
    return {
      version: this.version,
      rows: [...this.rows.values()],
      tombstones: [...this.tombstones.values()],
      sinks: [...this.sinks.values()],
      resyncs: [...this.resyncs.entries()].map(([id, r]) => ({ id, target: r.target, parts: r.parts, seen: [...r.seen], uids: [...r.uids] })),
    };
  }

  /** Applies a batch; returns how many rows changed. Rows of targets not in the inventory are ignored. */
  applyDelta(batch: DeltaBatch, targets?: ReadonlySet<string>): number {
    let changed = 0;
    for (const row of batch.upserts) {
      if (targets && !targets.has(row.target)) continue;
      if (this.upsert(row)) changed++;
    }
    for (const d of batch.deletes) {
      if (this.remove(rowKey(d))) changed++;
    }
    return changed;
  }

  /** Collects resync parts; once all parts of an id are in, deletes the target's rows not listed. */
  applyResync(part: ResyncPart): number {
    let r = this.resyncs.get(part.id);
    if (!r) {
      r = { target: part.target, parts: part.parts, seen: new Set(), uids: new Set() };
      this.resyncs.set(part.id, r);
    }
    r.seen.add(part.part);
    for (const uid of part.uids) r.uids.add(uid);
    if (r.seen.size < r.parts) return 0;
    this.resyncs.delete(part.id);
    let removed = 0;
    for (const [key, row] of [...this.rows]) {
      if (row.target === r.target && !r.uids.has(row.uid) && this.remove(key)) removed++;
    }
    return removed;
  }

  /** Drops rows of targets the inventory no longer references. */
  retainTargets(targets: ReadonlySet<string>): number {
    let removed = 0;
    for (const [key, row] of [...this.rows]) if (!targets.has(row.target) && this.remove(key)) removed++;
    return removed;
  }

  private upsert(row: Row): boolean {
    const key = rowKey(row);
    const prev = this.rows.get(key);
    if (prev && prev.hash === row.hash) return false;
    this.version++;
    this.rows.set(key, { ...row, version: this.version });
    this.tombstones.delete(key);
    return true;
  }

  private remove(key: string): boolean {
    const prev = this.rows.get(key);
    if (!prev) return false;
    this.version++;
    this.rows.delete(key);
    const { target, uid, cluster, apiVersion, kind, namespace, name } = prev;
    this.tombstones.set(key, { target, uid, cluster, apiVersion, kind, namespace, name, version: this.version });
    return true;
  }

  /** Rows and deletes after `since`, in version order: what an event sink has not emitted yet. */
  changesSince(since: number): { upserts: VersionedRow[]; deletes: Tombstone[] } {
    const upserts = [...this.rows.values()].filter((r) => r.version > since).sort((a, b) => a.version - b.version);
    const deletes = [...this.tombstones.values()].filter((t) => t.version > since).sort((a, b) => a.version - b.version);
    return { upserts, deletes };
  }

  /** Forgets tombstones every sink has already exported past. */
  collectTombstones(): void {
    const floor = Math.min(...[...this.sinks.values()].map((s) => s.exportedVersion), this.version);
    for (const [key, t] of this.tombstones) if (t.version <= floor) this.tombstones.delete(key);
  }

  /** Aligns sink bookkeeping with the configuration: new sinks start at version 0, removed ones go. */
  syncSinks(configs: SinkConfig[]): void {
    const wanted = new Set(configs.map(sinkId));
    for (const id of [...this.sinks.keys()]) if (!wanted.has(id)) this.sinks.delete(id);
    for (const c of configs) {
      const s = this.sinks.get(sinkId(c));
      if (!s) this.sinks.set(sinkId(c), { kind: c.kind, name: c.name, type: c.type, exportedVersion: 0, exportedGeneration: 0, consecutiveFailures: 0, circuit: 'closed' });
      else s.type = c.type;
    }
  }

  /** When the sink may next export, or undefined if it has nothing to do. */
  nextDueMs(c: SinkConfig, nowMs: number): number | undefined {
    const s = this.sinks.get(sinkId(c));
    if (!s || c.suspended) return undefined;
    const behind = s.exportedVersion < this.version || s.exportedGeneration !== c.generation || s.lastSuccessMs === undefined;
    if (!behind) return undefined;
    let due = s.lastSuccessMs === undefined ? nowMs : s.lastSuccessMs + c.intervalMs;
    if (s.lastError !== undefined && s.lastAttemptMs !== undefined) due = Math.max(due, s.lastAttemptMs + FAILED_EXPORT_RETRY_MS);
    if (s.circuit === 'open' && s.openUntilMs !== undefined) due = Math.max(due, s.openUntilMs);
    return due;
  }

  recordAttempt(id: string, nowMs: number): void {
    const s = this.sinks.get(id);
    if (!s) return;
    s.lastAttemptMs = nowMs;
    if (s.circuit === 'open' && s.openUntilMs !== undefined && nowMs >= s.openUntilMs) s.circuit = 'halfOpen';
  }

  recordSuccess(id: string, r: { version: number; generation: number; nowMs: number; rowsExported: number; detail: string }): void {
    const s = this.sinks.get(id);
    if (!s) return;
    s.exportedVersion = Math.max(s.exportedVersion, r.version);
    s.exportedGeneration = r.generation;
    s.lastSuccessMs = r.nowMs;
    s.rowsExported = r.rowsExported;
    s.detail = r.detail;
    s.lastError = undefined;
    s.consecutiveFailures = 0;
    s.circuit = 'closed';
    s.openUntilMs = undefined;
    this.collectTombstones();
  }

  recordFailure(id: string, r: { nowMs: number; error: string }, policy: BreakerPolicy = DEFAULT_BREAKER): void {
    const s = this.sinks.get(id);
    if (!s) return;
    s.lastError = r.error;
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
    return {
      kind: s.kind, name: s.name, type: s.type,
      lastAttemptTime: iso(s.lastAttemptMs), lastSuccessTime: iso(s.lastSuccessMs),
      lastError: s.lastError ?? '', rowsExported: s.rowsExported ?? 0,
      consecutiveFailures: s.consecutiveFailures, circuit: s.circuit,
      exportedVersion: s.exportedVersion, detail: s.detail ?? '',
    };
  }
}
