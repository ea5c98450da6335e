// inventoryWorkflow: one long-lived entity workflow per KollectInventory. It owns the canonical
// snapshot index (InventoryState: keys, hashes, versions; bodies are in the body store), orders
// every change, debounces, fans out one export activity per due sink, records each outcome and
// writes status through an activity. Runs stay bounded: past the history budget or the maximum
// run age it starts no new export, lets in-flight ones finish, then continues as new.
// See docs/decisions/0006 and 0009.
import {
  proxyActivities, setHandler, condition, continueAsNew, workflowInfo, allHandlersFinished, ApplicationFailure,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ExportRequest, ExportReply } from '../activities/sinks/types.js';
import { InventoryState, sinkId, type ExportEntries, type SerializedState, type SinkConfig } from './state.js';
import { exportActivityName, type InventoryConfig, type InventoryRef } from './config.js';
import {
  changesSignal, isResync, configChangedSignal, inventoryDeletedSignal, suspendSignal, statusQuery, previewQuery, markLiveUpdate,
  type InventoryStatusView,
} from './definitions.js';

type Activities = ReturnType<typeof createActivities>;
type ExportFn = (req: ExportRequest, entries: ExportEntries) => Promise<ExportReply>;

const control = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/** How long the first change waits for its neighbours before an export starts. */
const SETTLE_MS = 1_000;
/** Drain and continue as new past these (below the server's 4,096-event / 4 MB suggestion, so a drain stays under it). */
export const HISTORY_EVENTS_BUDGET = 3_000;
export const HISTORY_BYTES_BUDGET = 3 * 1024 * 1024;
/** An export attempt that stops heartbeating for this long is retried (a lost worker costs seconds). */
export const EXPORT_HEARTBEAT_TIMEOUT = '20 seconds';
/** Failure types of the export activities that retrying cannot fix. */
export const NON_RETRYABLE_EXPORT_ERRORS = ['SinkConfigError', 'ExportTooLarge', 'DeleteGuard'];

export interface InventoryWorkflowArgs extends InventoryRef {
  /** Carried across continue-as-new. */
  state?: SerializedState;
  pendingSince?: Record<string, number>;
}

export const shouldContinueAsNew = (runStartMs: number, maxRunAgeMs: number, nowMs: number): boolean => {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength >= HISTORY_EVENTS_BUDGET || info.historySize >= HISTORY_BYTES_BUDGET
    || nowMs - runStartMs >= maxRunAgeMs;
};

export async function inventoryWorkflow(args: InventoryWorkflowArgs): Promise<void> {
  const ref: InventoryRef = { namespace: args.namespace, name: args.name };
  const runStartMs = Date.now();
  const state = InventoryState.from(args.state, workflowInfo().runId);
  const pendingSince = new Map<string, number>(Object.entries(args.pendingSince ?? {}));
  let config: InventoryConfig | undefined;
  let configDirty = true;
  let deleted = false;
  let suspendOverride: boolean | undefined;
  let statusDirty = true;
  let statusInFlight = false;
  let completions = 0;
  const inFlight = new Set<string>();
  /** Entries of the exports in flight: the collector must keep their bodies too. */
  const inFlightEntries = new Map<string, ExportEntries>();

  const markPending = (): void => {
    const now = Date.now();
    for (const id of state.sinks.keys()) if (!pendingSince.has(id)) pendingSince.set(id, now);
  };
  const checkComplete = (): void => { if (config && state.checkComplete(config.targets)) { markPending(); statusDirty = true; } };
  // Rows are taken whatever the target: a Target added to the inventory may deliver rows before
  // configChanged makes the workflow re-read its config. Rows of targets the config does not list
  // are dropped when the config is (re)loaded (retainTargets), not on arrival.
  setHandler(changesSignal, (m) => {
    if (isResync(m)) {
      if (state.applyResync(m) > 0) markPending();
      checkComplete();
      statusDirty = true;
    } else if (state.applyDelta(m) > 0) markPending();
  });
  setHandler(configChangedSignal, () => { configDirty = true; });
  setHandler(inventoryDeletedSignal, () => { deleted = true; });
  setHandler(suspendSignal, (s) => { suspendOverride = s; statusDirty = true; });
  setHandler(statusQuery, (): InventoryStatusView => view());
  setHandler(previewQuery, (limit) => [...state.rows.values()].slice(0, Math.max(0, Math.min(limit || 20, 100))));
  setHandler(markLiveUpdate, async () => {
    const hashes = new Set<string>();
    for (const r of state.rows.values()) hashes.add(r.hash);
    for (const t of state.tombstones.values()) hashes.add(t.hash);
    for (const e of inFlightEntries.values()) for (const r of [...e.upserts, ...e.deletes]) hashes.add(r.hash);
    await control.touchBodies([...hashes]);
    return { touched: hashes.size };
  });

  const suspended = (): boolean => suspendOverride ?? config?.suspend ?? false;
  const view = (): InventoryStatusView => ({
    rows: state.rows.size, version: state.version, lineage: state.lineage, awaitingResync: state.awaitingResync(config?.targets ?? []),
    suspended: suspended(), sinks: [...state.sinks.keys()].map((id) => state.statusOf(id)).filter((s) => s !== undefined),
  });

  const dueAt = (c: SinkConfig, cfg: InventoryConfig, now: number): number | undefined => {
    const due = state.nextDueMs(c, now, cfg.fullReconcileIntervalMs);
    if (due === undefined) return undefined;
    const since = pendingSince.get(sinkId(c));
    return since === undefined ? due : Math.max(due, since + SETTLE_MS);
  };

  const runExport = async (c: SinkConfig, cfg: InventoryConfig): Promise<void> => {
    const id = sinkId(c);
    state.recordAttempt(id, Date.now());
    pendingSince.delete(id);
    const { plan, entries } = state.plan(c, Date.now(), cfg.fullReconcileIntervalMs);
    inFlightEntries.set(id, entries);
    const options: ActivityOptions = {
      summary: `${c.kind} ${ref.namespace}/${c.name} (${c.type}, ${plan.mode})`,
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: EXPORT_HEARTBEAT_TIMEOUT,
      retry: {
        maximumAttempts: c.maxAttempts, initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2,
        nonRetryableErrorTypes: NON_RETRYABLE_EXPORT_ERRORS,
      },
    };
    const exportFn = proxyActivities<Record<string, ExportFn>>(options)[exportActivityName(c.type)];
    try {
      if (!exportFn) throw ApplicationFailure.nonRetryable(`no export activity for sink type ${c.type}`, 'SinkConfigError');
      const reply = await exportFn({
        inventory: { ...ref, cluster: cfg.cluster },
        sink: { kind: c.kind, namespace: ref.namespace, name: c.name, type: c.type },
        exportId: `${plan.lineage}/${id}/${plan.version}`, plan,
        maxExportBytes: cfg.maxExportBytes, maxDeletePercent: c.maxDeletePercent,
      }, entries);
      const ahead = state.recordSuccess(id, plan, { ...reply, generation: c.generation, nowMs: Date.now() });
      if (ahead) { state.rotateLineage(`${workflowInfo().runId}@${state.version}`); statusDirty = true; }
      if (reply.outcome === 'needsFull') pendingSince.set(id, Date.now());
    } catch (err) {
      const f = failureOf(err);
      state.recordFailure(id, { nowMs: Date.now(), error: f.message, reason: f.type === 'DeleteGuard' ? 'DeleteHeld' : 'ExportFailed' });
      if (!pendingSince.has(id)) pendingSince.set(id, Date.now());
    } finally {
      inFlight.delete(id);
      inFlightEntries.delete(id);
      completions++;
      statusDirty = true;
    }
  };

  const writeStatus = async (): Promise<void> => {
    statusInFlight = true;
    statusDirty = false;
    try {
      await control.patchInventoryStatus(ref, { ...view(), problems: config?.problems ?? [] });
    } catch {
      statusDirty = true; // retried on the next loop turn
    } finally {
      statusInFlight = false;
      completions++;
    }
  };

  const reloadConfig = async (): Promise<void> => {
    configDirty = false;
    const loaded = await control.loadInventoryConfig(ref);
    if (!loaded) { deleted = true; return; }
    config = loaded;
    state.syncSinks(loaded.sinks);
    if (state.retainTargets(new Set(loaded.targets)) > 0) markPending();
    for (const id of [...pendingSince.keys()]) if (!state.sinks.has(id)) pendingSince.delete(id);
    if (state.rows.size > 0 || state.version > 0) markPending();
    checkComplete();
    statusDirty = true;
  };

  for (;;) {
    if (configDirty && !deleted) await reloadConfig();
    if (deleted) {
      await condition(() => inFlight.size === 0 && !statusInFlight);
      await control.finalizeInventory(ref);
      return;
    }
    const cfg = config;
    if (!cfg) continue;

    const now = Date.now();
    const draining = shouldContinueAsNew(runStartMs, cfg.maxRunAgeMs, now);
    let nextMs: number | undefined = draining ? undefined : runStartMs + cfg.maxRunAgeMs;
    if (!suspended() && !draining) {
      for (const c of cfg.sinks) {
        const id = sinkId(c);
        if (inFlight.has(id)) continue;
        const due = dueAt(c, cfg, now);
        if (due === undefined) continue;
        if (due <= now) {
          inFlight.add(id);
          void runExport(c, cfg);
        } else nextMs = nextMs === undefined ? due : Math.min(nextMs, due);
      }
    }
    if (statusDirty && !statusInFlight) void writeStatus();

    if (draining && inFlight.size === 0 && !statusInFlight) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof inventoryWorkflow>({ ...ref, state: state.serialize(), pendingSince: Object.fromEntries(pendingSince) });
    }

    const seenVersion = state.version;
    const seenCompletions = completions;
    const wake = (): boolean => configDirty || deleted || state.version !== seenVersion || completions !== seenCompletions
      || (statusDirty && !statusInFlight) || (!draining && shouldContinueAsNew(runStartMs, cfg.maxRunAgeMs, Date.now()));
    if (nextMs === undefined) await condition(wake);
    else await condition(wake, Math.max(1, nextMs - Date.now()));
  }
}

/** The message and failure type the user needs: ActivityFailure wraps the activity's ApplicationFailure. */
function failureOf(err: unknown): { message: string; type?: string } {
  let e = err as { message?: string; cause?: unknown; type?: string } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause;
  return { message: (e?.message ?? String(err)).slice(0, 1000), type: e?.type };
}
