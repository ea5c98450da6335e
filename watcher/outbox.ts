// Per-inventory delivery: changes from every Target of one KollectInventory are coalesced here
// and flushed to its workflow at most once per flush interval, each signal well under Temporal's
// payload limit. OutboxState is the pure part (coalescing, dedupe by hash, resync sets);
// Outbox adds the timer, ordering, retry and the sender.
import type { Row, RowRef } from '../api/rows.js';
import type { DeltaBatch, ResyncPart } from '../api/signals.js';
import type { Log } from '../worker/log.js';
import { jsonBytes, resyncParts, splitDeltas } from './batching.js';
import { backoffDelay } from './informer.js';
import type { SignalKind, WatcherMetrics } from './metrics.js';

export interface InventoryRef { namespace: string; name: string }

export type OutSignal =
  | { kind: 'delta'; batch: DeltaBatch; bodies: Row[]; bytes: number; oversized: boolean }
  | { kind: 'resync'; part: ResyncPart; bytes: number }
  | { kind: 'configChanged'; bytes: 0 }
  | { kind: 'inventoryDeleted'; bytes: 0 };

export interface SignalSender {
  /** Sends one signal; a delta's `bodies` are written to the body store first. */
  send(ref: InventoryRef, s: OutSignal): Promise<void>;
  /** True when resending cannot help (payload refused): the signal is dropped and logged. */
  isPermanent(err: unknown): boolean;
}

export interface DeliveryConfig {
  /** Minimum time between two flushes of one inventory. */
  flushIntervalMs: number;
  /** Budget for one delta signal's JSON. */
  maxSignalBytes: number;
  /** uids per resync part. */
  resyncPartUids: number;
  /** Backoff between failed flushes. */
  retry: { initialMs: number; maxMs: number };
}

export const DEFAULT_DELIVERY_CONFIG: DeliveryConfig = Object.freeze({
  flushIntervalMs: 1_000,
  maxSignalBytes: 256 * 1024,
  resyncPartUids: 5_000,
  retry: Object.freeze({ initialMs: 1_000, maxMs: 30_000 }),
});

export function compileDeliveryConfig(input: Partial<Omit<DeliveryConfig, 'retry'>> & { retry?: Partial<DeliveryConfig['retry']> } = {}): DeliveryConfig {
  const c: DeliveryConfig = { ...DEFAULT_DELIVERY_CONFIG, ...input, retry: { ...DEFAULT_DELIVERY_CONFIG.retry, ...input.retry } };
  const check = (name: string, v: number, min: number, max = Infinity): void => {
    if (!Number.isFinite(v) || v < min || v > max) throw new TypeError(`delivery option ${name} must be a number in [${min}, ${max}], got ${String(v)}`);
  };
  check('flushIntervalMs', c.flushIntervalMs, 0);
  // Temporal warns above 512 KB per payload and refuses above 2 MB.
  check('maxSignalBytes', c.maxSignalBytes, 1024, 512 * 1024);
  check('resyncPartUids', c.resyncPartUids, 1, 10_000);
  check('retry.initialMs', c.retry.initialMs, 1);
  check('retry.maxMs', c.retry.maxMs, c.retry.initialMs);
  return c;
}

/** Coalesced, not yet sent changes of one inventory, and what its workflow holds per Target. */
export class OutboxState {
  /** target → uid → hash of the newest row given to the workflow (sent or pending). */
  private readonly latest = new Map<string, Map<string, string>>();
  /** target → uid → newest row (or a bare reference when only resent), or null for a delete. */
  private readonly pending = new Map<string, Map<string, Row | RowRef | null>>();
  private readonly resyncTargets = new Set<string>();
  private config = false;

  private of<V>(m: Map<string, Map<string, V>>, target: string): Map<string, V> {
    let x = m.get(target);
    if (!x) m.set(target, (x = new Map<string, V>()));
    return x;
  }

  /** Queues a row unless the workflow already has (or will get) this exact hash. */
  upsert(row: Row): boolean {
    const latest = this.of(this.latest, row.target);
    if (latest.get(row.uid) === row.hash) return false;
    latest.set(row.uid, row.hash);
    this.of(this.pending, row.target).set(row.uid, row);
    return true;
  }

  /** Queues a delete; it replaces a pending upsert of the same object. Always sent: after a
   * restart the workflow may hold rows this process never sent. */
  delete(target: string, uid: string): void {
    this.latest.get(target)?.delete(uid);
    this.of(this.pending, target).set(uid, null);
  }

  has(target: string, uid: string): boolean { return this.latest.get(target)?.has(uid) ?? false; }
  uids(target: string): string[] { return [...(this.latest.get(target)?.keys() ?? [])]; }
  hashOf(target: string, uid: string): string | undefined { return this.latest.get(target)?.get(uid); }

  /** The next flush sends the Target's full uid set (computed then, so it includes what the
   * same flush upserts before it). */
  resync(target: string): void { this.resyncTargets.add(target); }

  /** The Target no longer feeds this inventory: drop its pending changes, resync it to empty. */
  forgetTarget(target: string): void {
    this.pending.delete(target);
    this.latest.set(target, new Map());
    this.resyncTargets.add(target);
  }

  configChanged(): void { this.config = true; }

  /**
   * The workflow began a new lineage (it lost its state): forget which hashes it was given, so
   * the next sync of each Target sends every row again, bodies included (they are re-read from
   * the informer caches and written to the store again, so a body collected meanwhile is back).
   */
  forgetSent(): void {
    for (const m of this.latest.values()) m.clear();
  }

  clear(): void {
    this.pending.clear();
    this.latest.clear();
    this.resyncTargets.clear();
    this.config = false;
  }

  get empty(): boolean { return !this.config && this.resyncTargets.size === 0 && [...this.pending.values()].every((p) => p.size === 0); }

  /** Everything queued, as signals in send order: configChanged, deltas, resyncs. */
  take(cfg: Pick<DeliveryConfig, 'maxSignalBytes' | 'resyncPartUids'>, newId: () => string): OutSignal[] {
    const out: OutSignal[] = [];
    if (this.config) out.push({ kind: 'configChanged', bytes: 0 });
    for (const [target, changes] of this.pending) {
      const upserts: (Row | RowRef)[] = [];
      const deletes: string[] = [];
      for (const [uid, row] of changes) {
        if (row) upserts.push(row);
        else deletes.push(uid);
      }
      for (const b of splitDeltas(target, upserts, deletes, cfg.maxSignalBytes)) out.push({ kind: 'delta', ...b });
    }
    for (const target of this.resyncTargets) {
      for (const part of resyncParts(target, this.latest.get(target)?.keys() ?? [], newId(), cfg.resyncPartUids)) {
        out.push({ kind: 'resync', part, bytes: jsonBytes(part) });
      }
    }
    this.pending.clear();
    this.resyncTargets.clear();
    this.config = false;
    return out;
  }

  /** Puts back signals that were not delivered; anything queued since then is newer and wins. */
  restore(unsent: readonly OutSignal[]): void {
    for (const s of unsent) {
      if (s.kind === 'configChanged') this.config = true;
      else if (s.kind === 'resync') this.resyncTargets.add(s.part.target);
      else if (s.kind === 'delta') {
        const p = this.of(this.pending, s.batch.target);
        const bodies = new Map(s.bodies.map((r) => [r.uid, r]));
        for (const ref of s.batch.upserts) if (!p.has(ref.uid)) p.set(ref.uid, bodies.get(ref.uid) ?? ref);
        for (const d of s.batch.deletes) if (!p.has(d.uid)) p.set(d.uid, null);
      }
    }
  }

  /** A delta the workflow refused: forget its rows so that resyncs leave them out and a later
   * (smaller) version of the same row is sent. */
  dropped(s: OutSignal): void {
    if (s.kind !== 'delta') return;
    const latest = this.latest.get(s.batch.target);
    for (const row of s.batch.upserts) if (latest?.get(row.uid) === row.hash) latest.delete(row.uid);
  }
}

let seq = 0;
const resyncId = (): string => `${Date.now().toString(36)}-${process.pid.toString(36)}-${(seq++).toString(36)}`;

export class Outbox {
  readonly state = new OutboxState();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastFlushAt = 0;
  private failures = 0;
  private closed = false;
  private deleting = false;
  private readonly idleWaiters: (() => void)[] = [];
  /** When the oldest change not yet delivered happened (kollect_watcher_lag_seconds). */
  private oldestMs: number | undefined;

  constructor(
    readonly ref: InventoryRef,
    private readonly sender: SignalSender,
    private readonly config: DeliveryConfig,
    private readonly metrics: WatcherMetrics,
    private readonly log: Log,
    /** Called when delivery starts failing (with the error) and when it recovers. */
    private readonly onHealth: (ok: boolean, error?: unknown) => void = () => undefined,
  ) {}

  /** `at`: when the informer event behind the change happened (default now). */
  upsert(row: Row, at = Date.now()): void { if (!this.deleting && this.state.upsert(row)) { this.changedAt(at); this.schedule(); } }
  delete(target: string, uid: string, at = Date.now()): void { if (!this.deleting) { this.state.delete(target, uid); this.changedAt(at); this.schedule(); } }
  resync(target: string): void { if (!this.deleting) { this.state.resync(target); this.schedule(); } }
  forgetTarget(target: string): void { if (!this.deleting) { this.state.forgetTarget(target); this.schedule(); } }
  configChanged(): void { if (!this.deleting) { this.state.configChanged(); this.schedule(); } }
  forgetSent(): void { if (!this.deleting) this.state.forgetSent(); }

  /** The inventory is being deleted: pending changes are moot; send only inventoryDeleted. */
  inventoryDeleted(): void {
    if (this.deleting) return;
    this.deleting = true;
    this.state.clear();
    this.schedule();
  }

  get isDeleting(): boolean { return this.deleting; }
  get isClosed(): boolean { return this.closed; }

  /** Stops sending; anything pending is dropped (a restarted watcher relists and resyncs). */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wakeIdle();
  }

  /** Resolves when nothing is pending or in flight (or the outbox is closed). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean { return this.closed || (!this.timer && !this.flushing && !this.hasWork()); }
  private hasWork(): boolean { return this.deleting || !this.state.empty; }
  private wakeIdle(): void {
    if (!this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private changedAt(at: number): void {
    if (this.oldestMs === undefined || at < this.oldestMs) this.oldestMs = at;
  }

  private schedule(): void {
    if (this.closed || this.timer || this.flushing || !this.hasWork()) { this.wakeIdle(); return; }
    const delay = this.failures > 0
      ? backoffDelay(this.failures, this.config.retry)
      : Math.max(0, this.lastFlushAt + this.config.flushIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Timers count from the event loop's cached clock and can fire a little early by the
      // wall clock: keep the interval strict.
      if (this.failures === 0 && Date.now() < this.lastFlushAt + this.config.flushIntervalMs) { this.schedule(); return; }
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        this.schedule();
      });
    }, delay);
  }

  private async flush(): Promise<void> {
    this.lastFlushAt = Date.now();
    if (this.deleting) {
      if ((await this.sendOne({ kind: 'inventoryDeleted', bytes: 0 })) !== undefined) this.close();
      return;
    }
    const signals = this.state.take(this.config, resyncId);
    const since = this.oldestMs;
    this.oldestMs = undefined;
    for (let i = 0; i < signals.length; i++) {
      if (this.closed || this.deleting) return;
      const s = signals[i]!;
      if (s.kind === 'delta' && s.oversized) this.log('signal_oversized', { ...this.ids(), target: s.batch.target, bytes: s.bytes, budget: this.config.maxSignalBytes });
      const ok = await this.sendOne(s);
      if (ok === undefined) {
        this.state.restore(signals.slice(i));
        if (since !== undefined) this.changedAt(since);
        return;
      }
      if (!ok) this.state.dropped(s);
    }
    if (since !== undefined && signals.length > 0) this.metrics.signalLag?.((Date.now() - since) / 1000);
  }

  /** true: sent; false: refused for good and dropped; undefined: failed, retry later. */
  private async sendOne(s: OutSignal): Promise<boolean | undefined> {
    const kind: SignalKind = s.kind;
    try {
      await this.sender.send(this.ref, s);
      this.metrics.signalSent(kind, s.bytes);
      if (this.failures > 0) {
        this.log('signal_recovered', { ...this.ids(), signal: kind, after: this.failures });
        this.onHealth(true);
      }
      this.failures = 0;
      return true;
    } catch (err) {
      const permanent = this.sender.isPermanent(err);
      this.metrics.signalFailed(kind, !permanent);
      this.log(permanent ? 'signal_refused' : 'signal_failed', { ...this.ids(), signal: kind, bytes: s.bytes, error: (err as Error).message, attempt: this.failures + 1 });
      if (permanent) return false;
      if (this.failures === 0) this.onHealth(false, err);
      this.failures++;
      return undefined;
    }
  }

  private ids(): Record<string, string> {
    return { inventory: `${this.ref.namespace}/${this.ref.name}` };
  }
}
