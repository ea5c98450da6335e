// The inventory workflow's export rounds, as plain deterministic code: which sinks are due
// (debounced), what each export carries, and what comes back. The workflow (inventory.ts) only
// starts the activities this decides and waits. Unit-tested in exports.test.ts.
import type { ActivityOptions } from '@temporalio/workflow';
import type { ExportRequest, ExportReply } from '../activities/sinks/types.js';
import type { InventoryConfig, InventoryRef } from './config.js';
import type { InventoryStatusView } from './definitions.js';
import { sinkId, type ExportEntries, type ExportPlan, type InventoryState, type SinkConfig } from './state.js';

/** How long the first change waits for its neighbours before an export starts. */
export const SETTLE_MS = 1_000;
/** An export attempt that stops heartbeating for this long is retried (a lost worker costs seconds). */
export const EXPORT_HEARTBEAT_TIMEOUT = '20 seconds';
/** Failure types of the export activities that retrying cannot fix. */
export const NON_RETRYABLE_EXPORT_ERRORS = ['SinkConfigError', 'SecretNotAllowed', 'ExportTooLarge', 'DeleteGuard'];

/** One export to start: the activity's options, request and entries. */
export interface StartedExport { sink: SinkConfig; options: ActivityOptions; request: ExportRequest; entries: ExportEntries; plan: ExportPlan }

/** Status reason of a sink by the failure type its export activity threw (default ExportFailed). */
export const FAILURE_REASONS: Readonly<Record<string, string>> = { DeleteGuard: 'DeleteHeld', SinkUnreachable: 'Unreachable', SecretNotAllowed: 'SecretNotAllowed' };
/** The status reason of a failure of `type` (also the reason label of kollect_sink_errors_total). */
export const failureReason = (type: string | undefined): string => (type && Object.hasOwn(FAILURE_REASONS, type) ? FAILURE_REASONS[type]! : 'ExportFailed');

/**
 * The export activity's summary in the Temporal UI (user metadata of the scheduling command, not
 * part of replay's determinism check; docs/decisions/0020): which inventory, which sink, and the
 * version range, e.g. `inventory ns/inv → KollectDatabaseSink ns/pg (postgres): delta v40→v42`.
 */
export function exportSummary(ref: InventoryRef, c: SinkConfig, plan: ExportPlan): string {
  const range = plan.mode === 'full' ? `full v0..v${plan.version}` : `delta v${plan.fromVersion}→v${plan.version}`;
  return `inventory ${ref.namespace}/${ref.name} → ${c.kind} ${ref.namespace}/${c.name} (${c.type}): ${range}`;
}

/**
 * The inventory workflow's "current details" in the Temporal UI (markdown, answered by the SDK's
 * metadata query; no command, so replay is unaffected; docs/decisions/0020): the snapshot version
 * and, per sink, the version it holds or why it is behind, as in the CR's status.sinkExports.
 */
export function inventoryDetails(ref: InventoryRef, v: InventoryStatusView): string {
  const lines = [`**Inventory ${ref.namespace}/${ref.name}**: snapshot v${v.version}, ${v.rows} rows${v.suspended ? ', suspended' : ''}` +
    (v.awaitingResync.length ? `, awaiting the first resync of ${v.awaitingResync.join(', ')}` : '')];
  for (const s of v.sinks) {
    const at = `holds v${s.exportedVersion ?? 0}${s.lastSuccessTime ? ` (last success ${s.lastSuccessTime})` : ''}`;
    const behind = s.reason ? `; **${s.reason}**${s.consecutiveFailures ? ` (${s.consecutiveFailures} failed in a row, circuit ${s.circuit})` : ''}` : '';
    const error = s.lastError ? `: ${s.lastError.slice(0, 300)}` : '';
    lines.push(`- ${s.kind} ${ref.namespace}/${s.name} (${s.type}): ${at}${behind}${error}`);
  }
  return `${lines[0]}\n\n${lines.slice(1).join('\n')}`.trimEnd();
}

export class ExportRounds {
  /** sink id → when the oldest change it has not exported arrived (debounce). */
  readonly pendingSince: Map<string, number>;
  /** sink id → entries of its export in flight (the garbage collector keeps their bodies). */
  readonly inFlight = new Map<string, ExportEntries>();
  /** Bumped whenever an export ends: the loop wakes on it. */
  completions = 0;

  constructor(private readonly state: InventoryState, carried: Record<string, number> = {}) {
    this.pendingSince = new Map(Object.entries(carried));
  }

  /** Something changed: every sink without an older pending change starts its settle time now. */
  markPending(nowMs: number): void {
    for (const id of this.state.sinks.keys()) if (!this.pendingSince.has(id)) this.pendingSince.set(id, nowMs);
  }

  /** Drops bookkeeping of sinks the configuration no longer has. */
  prune(): void {
    for (const id of [...this.pendingSince.keys()]) if (!this.state.sinks.has(id)) this.pendingSince.delete(id);
  }

  /** The sinks due now, and when the next one will be. */
  due(cfg: InventoryConfig, nowMs: number): { now: SinkConfig[]; nextMs?: number } {
    const now: SinkConfig[] = [];
    let nextMs: number | undefined;
    for (const c of cfg.sinks) {
      const id = sinkId(c);
      if (this.inFlight.has(id)) continue;
      let due = this.state.nextDueMs(c, nowMs, cfg.fullReconcileIntervalMs);
      if (due === undefined) continue;
      const since = this.pendingSince.get(id);
      if (since !== undefined) due = Math.max(due, since + SETTLE_MS);
      if (due <= nowMs) now.push(c);
      else nextMs = nextMs === undefined ? due : Math.min(nextMs, due);
    }
    return { now, nextMs };
  }

  /** Plans the export of `c` and marks it in flight. */
  begin(ref: InventoryRef, c: SinkConfig, cfg: InventoryConfig, nowMs: number): StartedExport {
    const id = sinkId(c);
    this.state.recordAttempt(id, nowMs);
    this.pendingSince.delete(id);
    const { plan, entries } = this.state.plan(c, nowMs, cfg.fullReconcileIntervalMs);
    this.inFlight.set(id, entries);
    return {
      sink: c, plan, entries,
      options: {
        summary: exportSummary(ref, c, plan),
        startToCloseTimeout: '10 minutes',
        heartbeatTimeout: EXPORT_HEARTBEAT_TIMEOUT,
        retry: {
          maximumAttempts: c.maxAttempts, initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2,
          nonRetryableErrorTypes: NON_RETRYABLE_EXPORT_ERRORS,
        },
      },
      request: {
        inventory: { ...ref, cluster: cfg.cluster },
        sink: { kind: c.kind, namespace: ref.namespace, name: c.name, type: c.type },
        exportId: `${plan.lineage}/${id}/${plan.version}`, plan,
        maxExportBytes: cfg.maxExportBytes, maxDeletePercent: c.maxDeletePercent,
      },
    };
  }

  /** Records a reply. Returns true when the sink is ahead of this lineage (the workflow starts a new one). */
  succeeded(e: StartedExport, reply: ExportReply, nowMs: number): boolean {
    const id = sinkId(e.sink);
    const ahead = this.state.recordSuccess(id, e.plan, { ...reply, generation: e.sink.generation, nowMs });
    if (reply.outcome === 'needsFull') this.pendingSince.set(id, nowMs);
    this.end(id);
    return ahead;
  }

  /**
   * Records a failure; `type` is the activity failure's type, shown as the sink's reason
   * (FAILURE_REASONS). Status only: no command depends on it, so replay is unaffected.
   */
  failed(e: StartedExport, f: { message: string; type?: string }, nowMs: number): void {
    const id = sinkId(e.sink);
    this.state.recordFailure(id, { nowMs, error: f.message, reason: failureReason(f.type) });
    if (!this.pendingSince.has(id)) this.pendingSince.set(id, nowMs);
    this.end(id);
  }

  /** Every body hash this run can still name: index, tombstones, exports in flight. */
  liveHashes(): string[] {
    const hashes = new Set<string>();
    for (const r of this.state.rows.values()) hashes.add(r.hash);
    for (const t of this.state.tombstones.values()) hashes.add(t.hash);
    for (const e of this.inFlight.values()) for (const r of [...e.upserts, ...e.deletes]) hashes.add(r.hash);
    return [...hashes];
  }

  private end(id: string): void {
    this.inFlight.delete(id);
    this.completions++;
  }
}
