// inventoryWorkflow: one long-lived entity workflow per KollectInventory. It holds the canonical
// snapshot (InventoryState), debounces, fans out one export activity per due sink, records each
// outcome and writes status through an activity. State and its rules live in state.ts.
import {
  proxyActivities, setHandler, condition, continueAsNew, workflowInfo, allHandlersFinished, ApplicationFailure,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';
import type { ExportResult } from '../activities/sinks/types.js';
import { InventoryState, sinkId, type SerializedState, type SinkConfig } from './state.js';
import { exportActivityName, type InventoryConfig, type InventoryRef } from './config.js';
import {
  changesSignal, isResync, configChangedSignal, inventoryDeletedSignal, suspendSignal, statusQuery, previewQuery,
  type InventoryStatusView,
} from './definitions.js';

type Activities = ReturnType<typeof createActivities>;
type ExportFn = (input: Parameters<Activities['exportSink']>[0]) => Promise<ExportResult>;

const control = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2 },
});

/** How long the first change waits for its neighbours before an export starts. */
const SETTLE_MS = 1_000;

export interface InventoryWorkflowArgs extends InventoryRef {
  /** Carried across continue-as-new. */
  state?: SerializedState;
  pendingSince?: Record<string, number>;
}

export async function inventoryWorkflow(args: InventoryWorkflowArgs): Promise<void> {
  const ref: InventoryRef = { namespace: args.namespace, name: args.name };
  const state = InventoryState.from(args.state);
  const pendingSince = new Map<string, number>(Object.entries(args.pendingSince ?? {}));
  let config: InventoryConfig | undefined;
  let configDirty = true;
  let deleted = false;
  let suspendOverride: boolean | undefined;
  let statusDirty = true;
  let statusInFlight = false;
  let completions = 0;
  const inFlight = new Set<string>();

  const markPending = (): void => {
    const now = Date.now();
    for (const id of state.sinks.keys()) if (!pendingSince.has(id)) pendingSince.set(id, now);
  };
  // Rows are taken whatever the target: a Target added to the inventory may deliver rows before
  // configChanged makes the workflow re-read its config. Rows of targets the config does not list
  // are dropped when the config is (re)loaded (retainTargets), not on arrival.
  setHandler(changesSignal, (m) => {
    if ((isResync(m) ? state.applyResync(m) : state.applyDelta(m)) > 0) markPending();
  });
  setHandler(configChangedSignal, () => { configDirty = true; });
  setHandler(inventoryDeletedSignal, () => { deleted = true; });
  setHandler(suspendSignal, (s) => { suspendOverride = s; statusDirty = true; });
  setHandler(statusQuery, (): InventoryStatusView => view());
  setHandler(previewQuery, (limit) => [...state.rows.values()].slice(0, Math.max(0, Math.min(limit || 20, 100))));

  const suspended = (): boolean => suspendOverride ?? config?.suspend ?? false;
  const view = (): InventoryStatusView => ({
    rows: state.rows.size, version: state.version, suspended: suspended(),
    sinks: [...state.sinks.keys()].map((id) => state.statusOf(id)).filter((s) => s !== undefined),
  });

  const dueAt = (c: SinkConfig, now: number): number | undefined => {
    const due = state.nextDueMs(c, now);
    if (due === undefined) return undefined;
    const since = pendingSince.get(sinkId(c));
    return since === undefined ? due : Math.max(due, since + SETTLE_MS);
  };

  const runExport = async (c: SinkConfig, cfg: InventoryConfig): Promise<void> => {
    const id = sinkId(c);
    const now = Date.now();
    state.recordAttempt(id, now);
    const sink = state.sinks.get(id);
    const isEvent = c.kind === 'KollectEventSink';
    const since = sink?.exportedVersion ?? 0;
    const version = state.version;
    pendingSince.delete(id);
    const options: ActivityOptions = {
      summary: `${c.kind} ${ref.namespace}/${c.name} (${c.type})`,
      startToCloseTimeout: '10 minutes',
      retry: {
        maximumAttempts: c.maxAttempts, initialInterval: '1 second', maximumInterval: '30 seconds', backoffCoefficient: 2,
        nonRetryableErrorTypes: ['SinkConfigError', 'ExportTooLarge'],
      },
    };
    const acts = proxyActivities<Record<string, ExportFn>>(options);
    const exportFn = acts[exportActivityName(c.type)];
    try {
      if (!exportFn) throw ApplicationFailure.nonRetryable(`no export activity for sink type ${c.type}`, 'SinkConfigError');
      const result = await exportFn({
        inventory: { ...ref, cluster: cfg.cluster },
        sink: { kind: c.kind, namespace: ref.namespace, name: c.name, type: c.type },
        exportId: `${workflowInfo().runId}/${id}/${version}`,
        version, maxExportBytes: cfg.maxExportBytes,
        rows: isEvent ? [] : [...state.rows.values()],
        changes: isEvent ? { ...state.changesSince(since), sinceVersion: since } : { upserts: [], deletes: [], sinceVersion: since },
      });
      state.recordSuccess(id, { version, generation: c.generation, nowMs: Date.now(), rowsExported: result.rowsExported, detail: result.detail });
    } catch (err) {
      state.recordFailure(id, { nowMs: Date.now(), error: failureMessage(err) });
      if (!pendingSince.has(id)) pendingSince.set(id, Date.now());
    } finally {
      inFlight.delete(id);
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

  for (;;) {
    if (configDirty && !deleted) {
      configDirty = false;
      const loaded = await control.loadInventoryConfig(ref);
      if (!loaded) deleted = true;
      else {
        config = loaded;
        state.syncSinks(loaded.sinks);
        if (state.retainTargets(new Set(loaded.targets)) > 0) markPending();
        for (const id of [...pendingSince.keys()]) if (!state.sinks.has(id)) pendingSince.delete(id);
        if (state.rows.size > 0 || state.version > 0) markPending();
        statusDirty = true;
      }
    }
    if (deleted) {
      await condition(() => inFlight.size === 0 && !statusInFlight);
      await control.finalizeInventory(ref);
      return;
    }
    const cfg = config;
    if (!cfg) continue;

    const now = Date.now();
    let nextMs: number | undefined;
    if (!suspended()) {
      for (const c of cfg.sinks) {
        const id = sinkId(c);
        if (inFlight.has(id)) continue;
        const due = dueAt(c, now);
        if (due === undefined) continue;
        if (due <= now) {
          inFlight.add(id);
          void runExport(c, cfg);
        } else nextMs = nextMs === undefined ? due : Math.min(nextMs, due);
      }
    }
    if (statusDirty && !statusInFlight) void writeStatus();

    if (workflowInfo().continueAsNewSuggested && inFlight.size === 0 && !statusInFlight) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof inventoryWorkflow>({ ...ref, state: state.serialize(), pendingSince: Object.fromEntries(pendingSince) });
    }

    const seenVersion = state.version;
    const seenCompletions = completions;
    const wake = (): boolean => configDirty || deleted || state.version !== seenVersion || completions !== seenCompletions
      || (statusDirty && !statusInFlight) || (workflowInfo().continueAsNewSuggested && inFlight.size === 0 && !statusInFlight);
    if (nextMs === undefined) await condition(wake);
    else await condition(wake, Math.max(1, nextMs - Date.now()));
  }
}

function failureMessage(err: unknown): string {
  // ActivityFailure wraps the activity's ApplicationFailure; its message is what the user needs.
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e?.cause && typeof e.cause === 'object') e = e.cause;
  return (e?.message ?? String(err)).slice(0, 1000);
}
