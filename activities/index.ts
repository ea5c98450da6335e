// All I/O of the inventory workflow. Built by a factory that takes its dependencies, so tests
// inject real clients for the test servers.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { KollectInventory, KollectSink, SinkExportStatus, Condition, SinkRef, SinkKind } from '../api/types.js';
import { parseDuration } from '../api/duration.js';
import { DEFAULT_CLUSTER_NAME, SCOPE_NAME } from '../api/constants.js';
import { checkInventory, isScopeProblem, scopeProblem, sinkNamespaceOf, sinkOfRequest, workflowSinkName, SCOPE_DENIED, type ScopeLike } from '../api/tenancy.js';
import type { InventoryConfig, InventoryRef } from '../workflows/config.js';
import { exportActivityName } from '../workflows/config.js';
import type { SinkConfig } from '../workflows/state.js';
import { inventoryWorkflowId, type InventoryStatusView } from '../workflows/definitions.js';
import { failureReason, NON_RETRYABLE_EXPORT_ERRORS } from '../workflows/exports.js';
import { Kube, INVENTORY_FINALIZER, MissingSecretError } from './kube.js';
import { SinkConfigError, DeleteGuardError, type ExportInput, type ExportRequest, type ExportReply } from './sinks/types.js';
import type { SinkDescriptor } from './sinks/descriptor.js';
import type { EndpointGuard } from './sinks/endpoints.js';
import { runExport, sinkSecrets } from './sinks/run.js';
import { sinkContextOf } from './sink-context.js';
import { SecretNotAllowedError } from './secret-optin.js';
import { checkExportSize, exportLimit } from './export-size.js';
import type { ExportEntries } from '../workflows/state.js';
import { rowKey, type RowEntry, type Tombstone, type VersionedRow } from '../api/rows.js';
import { BODY_PAGE, type BodyStore } from '../store/bodies.js';
import { noMetrics, type ExportMetrics } from './metrics.js';
import { redact, secretValues, SinkUnreachableError } from './sinks/redact.js';

export interface ActivityDeps {
  kube: Kube;
  /** Where row bodies are read from. */
  store: BodyStore;
  /** Operator settings the workflow needs (it cannot read the environment). */
  settings?: { maxRunAgeMs?: number; clusterName?: string; /** KOLLECT_TENANT_MODE: sink types bounded by the KollectScope (api/tenancy.ts). */ tenantMode?: boolean; maxExportBytes?: number };
  /** Sink types by spec.type (activities/sinks/registry.ts). */
  sinks: Readonly<Record<string, SinkDescriptor<never>>>;
  /** Where sinks may connect; default the process's guard (KOLLECT_ENDPOINT_ALLOW, KOLLECT_CLUSTER_CIDRS). */
  guard?: EndpointGuard;
  log: (event: string, fields?: Record<string, unknown>) => void;
  metrics?: ExportMetrics;
}

export type StatusInput = InventoryStatusView & { problems: string[] };

const DEFAULT_INTERVAL = '30s';
const DEFAULT_FULL_RECONCILE = '24h';
export const DEFAULT_MAX_RUN_AGE_MS = 24 * 3600_000;
export const DEFAULT_MAX_DELETE_PERCENT = 50;
/** How often a running export tells Temporal it is alive (the heartbeat timeout is 20 s). */
const HEARTBEAT_EVERY_MS = 5_000;
/** The inventory conditions this activity writes; others (the watcher's Delivered) are kept as read. */
const OWN_CONDITIONS = ['Ready', 'Synced', 'SinkReachable'];
const SINK_LISTS: [keyof KollectInventory['spec'], SinkKind][] = [
  ['snapshotSinkRefs', 'KollectSnapshotSink'], ['databaseSinkRefs', 'KollectDatabaseSink'], ['eventSinkRefs', 'KollectEventSink'],
];

export function createActivities(deps: ActivityDeps) {
  const { kube, log, store } = deps;
  const metrics = deps.metrics ?? noMetrics;

  // A ref with an empty namespace is a KollectClusterInventory (same workflow: docs/tenancy.md).
  async function loadInventoryConfig(ref: InventoryRef): Promise<InventoryConfig | null> {
    const inv = await kube.get<KollectInventory>('KollectInventory', ref.namespace, ref.name);
    if (!inv || inv.metadata.deletionTimestamp) return null;
    const spec = inv.spec;
    const problems: string[] = [];
    const intervalOf = (text: string | undefined, field: string): number => {
      try { return parseDuration(text ?? spec.exportMinInterval ?? DEFAULT_INTERVAL, field); } catch (err) { problems.push((err as Error).message); return 30_000; }
    };
    const sinks: SinkConfig[] = [];
    for (const [list, kind] of SINK_LISTS) {
      const refs = (spec[list] as SinkRef[] | undefined) ?? [];
      for (const [i, r] of refs.entries()) {
        const sinkNs = sinkNamespaceOf(ref.namespace, spec, r as { namespace?: string });
        const sink = await kube.get<KollectSink>(kind, sinkNs, r.name);
        if (!sink) { problems.push(`spec.${list}[${i}]: ${kind} ${sinkNs}/${r.name} not found`); continue; }
        if (!deps.sinks[sink.spec.type]) { problems.push(`${kind} ${r.name}: spec.type ${sink.spec.type} has no backend in this version of Kollect`); continue; }
        const refused = deps.settings?.tenantMode ? checkInventory(inv, [{ ...sink, kind }], await scopes(ref.namespace), { tenantMode: true }) : [];
        if (refused.length) { problems.push(...refused.map(scopeProblem)); continue; }
        sinks.push({
          kind, name: workflowSinkName(ref.namespace, sinkNs, r.name), type: sink.spec.type,
          intervalMs: intervalOf(r.exportMinInterval, `spec.${list}[${i}].exportMinInterval`),
          maxAttempts: sink.spec.maxAttempts ?? 5, suspended: sink.spec.suspend ?? false,
          generation: sink.metadata.generation ?? 0, maxDeletePercent: sink.spec.maxDeletePercent ?? DEFAULT_MAX_DELETE_PERCENT,
        });
      }
    }
    return {
      generation: inv.metadata.generation ?? 0, cluster: spec.cluster ?? deps.settings?.clusterName ?? DEFAULT_CLUSTER_NAME,
      intervalMs: intervalOf(spec.exportMinInterval, 'spec.exportMinInterval'), suspend: spec.suspend ?? false,
      maxExportBytes: spec.maxExportBytes,
      fullReconcileIntervalMs: intervalOf(spec.fullReconcileInterval ?? DEFAULT_FULL_RECONCILE, 'spec.fullReconcileInterval'),
      maxRunAgeMs: deps.settings?.maxRunAgeMs ?? DEFAULT_MAX_RUN_AGE_MS, targets: (spec.targetRefs ?? []).map((t) => t.name), sinks, problems,
    };
  }

  /** The KollectScope of a namespace, as a list (empty: none; a cluster inventory has none). */
  async function scopes(namespace: string): Promise<ScopeLike[]> {
    if (!namespace) return [];
    const s = await kube.get<ScopeLike>('KollectScope', namespace, SCOPE_NAME);
    return s ? [s] : [];
  }

  async function exportSink(request: ExportRequest, entries: ExportEntries): Promise<ExportReply> {
    // A cluster inventory's sink is named `<namespace>/<name>` in the workflow: the sink itself.
    const req: ExportRequest = { ...request, sink: { ...request.sink, ...sinkOfRequest(request.sink) } };
    const started = Date.now();
    const descriptor = deps.sinks[req.sink.type];
    const ids = { inventory: `${req.inventory.namespace}/${req.inventory.name}`, sink: `${req.sink.kind}/${req.sink.name}` };
    const series = { inventory: ids.inventory, sink_kind: req.sink.kind, sink_name: req.sink.name, sink_type: req.sink.type };
    const ended = metrics.started(series);
    let credentials: Record<string, string> = {};
    const ctx = Context.current();
    // Heartbeats let Temporal retry an attempt lost with its worker within seconds, and deliver
    // cancellation to an attempt that timed out, so it stops before committing (fencing).
    ctx.heartbeat();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      if (!descriptor) throw new SinkConfigError('spec.type', `no backend for sink type ${req.sink.type}`);
      const sink = await kube.get<KollectSink>(req.sink.kind, req.sink.namespace, req.sink.name);
      if (!sink) throw new SinkConfigError('metadata.name', `${req.sink.kind} ${req.sink.namespace}/${req.sink.name} no longer exists`);
      await checkExportSize(store, entries.upserts, exportLimit(req.maxExportBytes, deps.settings?.maxExportBytes));
      const sctx = await sinkContextOf(kube, sink, { log: (event, fields) => log(event, { ...ids, ...fields }), signal: ctx.cancellationSignal, guard: deps.guard });
      credentials = sctx.credentials;
      const input: ExportInput = {
        inventory: req.inventory, sink: req.sink, exportId: req.exportId, plan: req.plan,
        upserts: (want) => readBodies(store, want ? entries.upserts.filter(want) : entries.upserts), upsertCount: entries.upserts.length,
        keep: req.plan.mode === 'full' ? new Set(entries.upserts.map(rowKey)) : new Set(),
        deletes: await tombstones(store, entries.deletes, req.inventory.cluster), maxDeletePercent: req.maxDeletePercent,
      };
      const result = await runExport(descriptor, input, sctx);
      metrics.observe(series, (Date.now() - started) / 1000, { ok: true, rows: result.rowsExported });
      log('export_succeeded', { ...ids, mode: req.plan.mode, version: req.plan.version, outcome: result.outcome, detail: result.detail, ms: Date.now() - started });
      return result;
    } catch (err) {
      metrics.observe(series, (Date.now() - started) / 1000, { ok: false, reason: failureReason(err instanceof ApplicationFailure ? err.type ?? undefined : failureType(err)) });
      // runExport has redacted what the backend threw; this also covers errors before it (Secret reads).
      const message = redact((err as Error).message ?? String(err), descriptor ? sinkSecrets(descriptor, credentials) : secretValues(credentials));
      log('export_failed', { ...ids, mode: req.plan.mode, error: message });
      if (err instanceof ApplicationFailure) throw err;
      const type = failureType(err);
      throw NON_RETRYABLE_EXPORT_ERRORS.includes(type) ? ApplicationFailure.nonRetryable(message, type) : ApplicationFailure.retryable(message, type);
    } finally {
      clearInterval(beat);
      ended();
    }
  }

  async function patchInventoryStatus(ref: InventoryRef, view: StatusInput): Promise<void> {
    const inv = await kube.get<KollectInventory>('KollectInventory', ref.namespace, ref.name);
    if (!inv) return;
    metrics.inventoryStatus(`${ref.namespace}/${ref.name}`, view);
    const now = new Date().toISOString();
    const prev = inv.status?.conditions ?? [];
    const cond = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
      const old = prev.find((c) => c.type === type);
      const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : now;
      return { type, status, reason, message, lastTransitionTime, observedGeneration: inv.metadata.generation };
    };
    const failing = view.sinks.filter((s: SinkExportStatus) => s.lastError);
    const held = failing.filter((s) => s.reason === 'DeleteHeld');
    const behind = view.sinks.filter((s) => (s.exportedVersion ?? 0) < view.version || !s.lastSuccessTime);
    const ready = view.problems.length === 0
      ? cond('Ready', 'True', 'Resolved', `${view.sinks.length} sink(s) resolved`)
      : cond('Ready', 'False', view.problems.some(isScopeProblem) ? SCOPE_DENIED : 'InvalidReference', view.problems.join('; '));
    const list = (ss: SinkExportStatus[]): string => ss.map((s) => `${s.kind}/${s.name}: ${s.lastError}`).join('; ').slice(0, 2000);
    const synced = view.suspended ? cond('Synced', 'Unknown', 'Suspended', 'exports are suspended')
      : held.length ? cond('Synced', 'False', 'DeleteHeld', list(held))
        : failing.length ? cond('Synced', 'False', 'ExportFailed', list(failing))
          : view.awaitingResync.length ? cond('Synced', 'Unknown', 'AwaitingResync', `a new snapshot lineage waits for the first full resync of target(s) ${view.awaitingResync.map((t) => (view.missingRows[t] ? `${t} (${view.missingRows[t]} rows not received yet)` : t)).join(', ')} before state sinks are reconciled; nothing is deleted meanwhile`)
            : behind.length ? cond('Synced', 'Unknown', 'Pending', `waiting to export to ${behind.map((s) => s.name).join(', ')}`)
              : cond('Synced', 'True', 'Exported', `all sinks hold snapshot version ${view.version}`);
    const unreachable = view.sinks.filter((s) => s.reason === 'Unreachable');
    const reachable = unreachable.length
      ? cond('SinkReachable', 'False', 'Unreachable', `the last export could not connect to ${list(unreachable)}`)
      : cond('SinkReachable', 'True', 'Reachable', 'every sink answered its last export attempt');
    await kube.patchStatus('KollectInventory', ref.namespace, ref.name, {
      observedGeneration: inv.metadata.generation, rows: view.rows, sinkExports: view.sinks,
      // OWN_CONDITIONS are ours; other conditions (the watcher's Delivered) are kept as read,
      // and the resourceVersion makes a concurrent write a conflict that the retry re-reads.
      conditions: [...prev.filter((c) => !OWN_CONDITIONS.includes(c.type)), ready, synced, reachable],
      workflowId: inventoryWorkflowId(ref.namespace, ref.name), lineage: view.lineage,
    }, inv.metadata.resourceVersion);
  }

  async function finalizeInventory(ref: InventoryRef): Promise<void> {
    metrics.inventoryRemoved(`${ref.namespace}/${ref.name}`);
    const inv = await kube.get<KollectInventory>('KollectInventory', ref.namespace, ref.name);
    if (!inv?.metadata.finalizers?.includes(INVENTORY_FINALIZER)) return;
    await kube.patchMetadata('KollectInventory', ref.namespace, ref.name, {
      resourceVersion: inv.metadata.resourceVersion,
      finalizers: inv.metadata.finalizers.filter((f) => f !== INVENTORY_FINALIZER),
    });
    log('inventory_finalized', { inventory: `${ref.namespace}/${ref.name}` });
  }

  /** Marks bodies as still referenced (the collector's mark phase, run by each inventory). */
  async function touchBodies(hashes: string[]): Promise<void> {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try { await store.touch(hashes); } finally { clearInterval(beat); }
  }

  // One activity type per sink type, so the Temporal UI names the sink each export goes to.
  const perType = Object.fromEntries(Object.keys(deps.sinks).map((type) => [exportActivityName(type), exportSink]));
  return { loadInventoryConfig, exportSink, patchInventoryStatus, finalizeInventory, touchBodies, ...perType };
}

/** The failure type a sink's error becomes (the catch in exportSink); it names the status reason (failureReason). */
function failureType(err: unknown): string {
  if (err instanceof SecretNotAllowedError) return 'SecretNotAllowed';
  if (err instanceof SinkConfigError || err instanceof MissingSecretError) return 'SinkConfigError';
  if (err instanceof DeleteGuardError) return 'DeleteGuard';
  if (err instanceof SinkUnreachableError) return 'SinkUnreachable';
  return (err as Error).name || 'ExportError';
}

/** The upserts' bodies, BODY_PAGE at a time, in the entries' order, stamped with their versions. */
async function* readBodies(store: BodyStore, entries: readonly RowEntry[]): AsyncIterable<VersionedRow[]> {
  for (let i = 0; i < entries.length; i += BODY_PAGE) {
    const page = entries.slice(i, i + BODY_PAGE);
    const bodies = await store.get(page.map((e) => e.hash));
    // The body carries its own identity; the entry's target wins (one object may feed two targets with one body).
    yield page.map((e) => ({ ...bodies.get(e.hash)!, target: e.target, uid: e.uid, version: e.version }));
  }
}

/** Deleted rows with their identity from their last body; a body already collected leaves identity empty. */
async function tombstones(store: BodyStore, entries: readonly RowEntry[], cluster: string): Promise<Tombstone[]> {
  if (entries.length === 0) return [];
  const bodies = await store.get(entries.map((e) => e.hash), { allowMissing: true });
  return entries.map((e) => {
    const b = bodies.get(e.hash);
    return { target: e.target, uid: e.uid, version: e.version, cluster: b?.cluster ?? cluster, apiVersion: b?.apiVersion ?? '', kind: b?.kind ?? '', namespace: b?.namespace ?? '', name: b?.name ?? '' };
  });
}
