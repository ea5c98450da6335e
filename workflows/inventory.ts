// inventoryWorkflow: one long-lived entity workflow per KollectInventory. It owns the canonical
// snapshot index (InventoryState: keys, hashes, versions; bodies are in the body store), orders
// every change, and runs export rounds (ExportRounds: which sink is due, what it gets). Runs stay
// bounded: past the history budget or the maximum run age it starts no new export, lets in-flight
// ones finish, then continues as new. See docs/decisions/0006 and 0009.
import { proxyActivities, setCurrentDetails, setHandler, condition, continueAsNew, workflowInfo, allHandlersFinished, ApplicationFailure } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ExportRequest, ExportReply } from '../activities/sinks/types.js';
import { InventoryState, type ExportEntries, type SerializedState } from './state.js';
import { ExportRounds, inventoryDetails, type StartedExport } from './exports.js';
import { exportActivityName, type InventoryConfig, type InventoryRef } from './config.js';
import {
  changesSignal, isResync, configChangedSignal, inventoryDeletedSignal, suspendSignal, statusQuery, previewQuery, markLiveUpdate,
  type InventoryStatusView,
} from './definitions.js';

type ExportFn = (req: ExportRequest, entries: ExportEntries) => Promise<ExportReply>;

const control = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/** Drain and continue as new past these (below the server's 4,096-event / 4 MB suggestion, so a drain stays under it). */
export const HISTORY_EVENTS_BUDGET = 3_000;
export const HISTORY_BYTES_BUDGET = 3 * 1024 * 1024;

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
  const rounds = new ExportRounds(state, args.pendingSince);
  let config: InventoryConfig | undefined;
  let configDirty = true;
  let deleted = false;
  let suspendOverride: boolean | undefined;
  let statusDirty = true;
  let statusInFlight = false;

  const checkComplete = (): void => { if (config && state.checkComplete(config.targets)) { rounds.markPending(Date.now()); statusDirty = true; } };
  // Rows are taken whatever the target: a Target added to the inventory may deliver rows before
  // configChanged makes the workflow re-read its config. Rows of targets the config does not list
  // are dropped when the config is (re)loaded (retainTargets), not on arrival.
  setHandler(changesSignal, (m) => {
    if (isResync(m)) {
      if (state.applyResync(m) > 0) rounds.markPending(Date.now());
      checkComplete();
      statusDirty = true;
    } else if (state.applyDelta(m) > 0) rounds.markPending(Date.now());
  });
  setHandler(configChangedSignal, () => { configDirty = true; });
  setHandler(inventoryDeletedSignal, () => { deleted = true; });
  setHandler(suspendSignal, (s) => { suspendOverride = s; statusDirty = true; });
  setHandler(statusQuery, (): InventoryStatusView => view());
  setHandler(previewQuery, (limit) => [...state.rows.values()].slice(0, Math.max(0, Math.min(limit || 20, 100))));
  setHandler(markLiveUpdate, async () => {
    const hashes = rounds.liveHashes();
    await control.touchBodies(hashes);
    return { touched: hashes.length };
  });

  const suspended = (): boolean => suspendOverride ?? config?.suspend ?? false;
  const view = (): InventoryStatusView => ({
    rows: state.rows.size, version: state.version, lineage: state.lineage, awaitingResync: state.awaitingResync(config?.targets ?? []),
    missingRows: Object.fromEntries(state.missing),
    suspended: suspended(), sinks: [...state.sinks.keys()].map((id) => state.statusOf(id)).filter((s) => s !== undefined),
    targetRows: state.targetCounts(config?.targets ?? []),
  });

  const runExport = async (e: StartedExport): Promise<void> => {
    try {
      const exportFn = proxyActivities<Record<string, ExportFn>>(e.options)[exportActivityName(e.sink.type)];
      if (!exportFn) throw ApplicationFailure.nonRetryable(`no export activity for sink type ${e.sink.type}`, 'SinkConfigError');
      const reply = await exportFn(e.request, e.entries);
      if (rounds.succeeded(e, reply, Date.now())) state.rotateLineage(`${workflowInfo().runId}@${state.version}`);
    } catch (err) {
      rounds.failed(e, failureOf(err), Date.now());
    } finally {
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
      rounds.completions++;
    }
  };

  const reloadConfig = async (): Promise<void> => {
    configDirty = false;
    const loaded = await control.loadInventoryConfig(ref);
    if (!loaded) { deleted = true; return; }
    config = loaded;
    state.syncSinks(loaded.sinks);
    if (state.retainTargets(new Set(loaded.targets)) > 0) rounds.markPending(Date.now());
    rounds.prune();
    if (state.rows.size > 0 || state.version > 0) rounds.markPending(Date.now());
    checkComplete();
    statusDirty = true;
  };

  for (;;) {
    if (configDirty && !deleted) await reloadConfig();
    if (deleted) {
      await condition(() => rounds.inFlight.size === 0 && !statusInFlight);
      await control.finalizeInventory(ref);
      return;
    }
    const cfg = config;
    if (!cfg) continue;

    const draining = shouldContinueAsNew(runStartMs, cfg.maxRunAgeMs, Date.now());
    let nextMs: number | undefined;
    if (!draining) {
      nextMs = runStartMs + cfg.maxRunAgeMs;
      if (!suspended()) {
        const due = rounds.due(cfg, Date.now());
        for (const c of due.now) void runExport(rounds.begin(ref, c, cfg, Date.now()));
        if (due.nextMs !== undefined) nextMs = Math.min(nextMs, due.nextMs);
      }
    }
    if (statusDirty && !statusInFlight) void writeStatus();

    if (draining && rounds.inFlight.size === 0 && !statusInFlight) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof inventoryWorkflow>({ ...ref, state: state.serialize(), pendingSince: Object.fromEntries(rounds.pendingSince) });
    }

    setCurrentDetails(inventoryDetails(ref, view())); // the UI's "Current Details"; no command
    const seenVersion = state.version;
    const seenCompletions = rounds.completions;
    const wake = (): boolean => configDirty || deleted || state.version !== seenVersion || rounds.completions !== seenCompletions
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
