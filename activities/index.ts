// All I/O of the inventory workflow. Built by a factory that takes its dependencies, so tests
// inject real clients for the test servers.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { KollectInventory, KollectSink, SinkExportStatus, Condition, SinkRef, SinkKind } from '../api/types.js';
import { parseDuration } from '../api/duration.js';
import type { InventoryConfig, InventoryRef } from '../workflows/config.js';
import { exportActivityName } from '../workflows/config.js';
import type { SinkConfig } from '../workflows/state.js';
import type { InventoryStatusView } from '../workflows/definitions.js';
import { Kube, INVENTORY_FINALIZER, MissingSecretError } from './kube.js';
import { SinkConfigError, type ExportInput, type ExportResult, type SinkBackend } from './sinks/types.js';
import { noMetrics, type ExportMetrics } from './metrics.js';
import { redact, secretValues } from './sinks/redact.js';

export interface ActivityDeps {
  kube: Kube;
  backends: Record<string, SinkBackend>;
  log: (event: string, fields?: Record<string, unknown>) => void;
  metrics?: ExportMetrics;
}

export interface ExportActivityInput extends ExportInput { maxExportBytes?: number }
export type StatusInput = InventoryStatusView & { problems: string[] };

const DEFAULT_INTERVAL = '30s';
const SINK_LISTS: [keyof KollectInventory['spec'], SinkKind][] = [
  ['snapshotSinkRefs', 'KollectSnapshotSink'], ['databaseSinkRefs', 'KollectDatabaseSink'], ['eventSinkRefs', 'KollectEventSink'],
];

export function createActivities(deps: ActivityDeps) {
  const { kube, backends, log } = deps;
  const metrics = deps.metrics ?? noMetrics;

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
        const sink = await kube.get<KollectSink>(kind, ref.namespace, r.name);
        if (!sink) { problems.push(`spec.${list}[${i}]: ${kind} ${ref.namespace}/${r.name} not found`); continue; }
        if (!backends[sink.spec.type]) { problems.push(`${kind} ${r.name}: spec.type ${sink.spec.type} has no backend in this version of Kollect`); continue; }
        sinks.push({
          kind, name: r.name, type: sink.spec.type,
          intervalMs: intervalOf(r.exportMinInterval, `spec.${list}[${i}].exportMinInterval`),
          maxAttempts: sink.spec.maxAttempts ?? 5, suspended: sink.spec.suspend ?? false,
          generation: sink.metadata.generation ?? 0,
        });
      }
    }
    return {
      generation: inv.metadata.generation ?? 0, cluster: spec.cluster ?? 'default',
      intervalMs: intervalOf(spec.exportMinInterval, 'spec.exportMinInterval'), suspend: spec.suspend ?? false,
      maxExportBytes: spec.maxExportBytes, targets: (spec.targetRefs ?? []).map((t) => t.name), sinks, problems,
    };
  }

  async function exportSink(input: ExportActivityInput): Promise<ExportResult> {
    const started = Date.now();
    const backend = backends[input.sink.type];
    let credentials: Record<string, string> = {};
    try {
      if (!backend) throw new SinkConfigError('spec.type', `no backend for sink type ${input.sink.type}`);
      const sink = await kube.get<KollectSink>(input.sink.kind, input.sink.namespace, input.sink.name);
      if (!sink) throw new SinkConfigError('metadata.name', `${input.sink.kind} ${input.sink.namespace}/${input.sink.name} no longer exists`);
      if (input.maxExportBytes !== undefined) {
        const bytes = Buffer.byteLength(JSON.stringify(input.rows)) + Buffer.byteLength(JSON.stringify(input.changes));
        if (bytes > input.maxExportBytes) {
          throw ApplicationFailure.nonRetryable(`export is ${bytes} bytes, above the inventory's spec.maxExportBytes (${input.maxExportBytes}); raise it or narrow the targets`, 'ExportTooLarge');
        }
      }
      const spec = sink.spec as unknown as Record<string, unknown> & { secretRef?: { name: string }; tls?: { caSecretRef?: { name: string; key?: string } }; format?: 'yaml' | 'json' };
      if (spec.secretRef) credentials = await kube.secretData(input.sink.namespace, spec.secretRef.name);
      let caPem: string | undefined;
      if (spec.tls?.caSecretRef) {
        const ca = await kube.secretData(input.sink.namespace, spec.tls.caSecretRef.name);
        const key = spec.tls.caSecretRef.key ?? 'ca.crt';
        caPem = ca[key];
        if (!caPem) throw new SinkConfigError('spec.tls.caSecretRef.key', `Secret ${spec.tls.caSecretRef.name} has no key ${key}`);
      }
      const ctx = Context.current();
      const result = await backend.export(input, {
        spec: spec[input.sink.type], credentials, caPem, format: spec.format, signal: ctx.cancellationSignal,
        log: (event, fields) => log(event, { inventory: `${input.inventory.namespace}/${input.inventory.name}`, sink: `${input.sink.kind}/${input.sink.name}`, ...fields }),
      });
      metrics.observe(input.sink.type, (Date.now() - started) / 1000, true, result.rowsExported);
      log('export_succeeded', { inventory: `${input.inventory.namespace}/${input.inventory.name}`, sink: `${input.sink.kind}/${input.sink.name}`, version: input.version, detail: result.detail, ms: Date.now() - started });
      return result;
    } catch (err) {
      metrics.observe(input.sink.type, (Date.now() - started) / 1000, false, 0);
      const message = redact((err as Error).message ?? String(err), secretValues(credentials));
      log('export_failed', { inventory: `${input.inventory.namespace}/${input.inventory.name}`, sink: `${input.sink.kind}/${input.sink.name}`, error: message });
      if (err instanceof ApplicationFailure) throw err;
      if (err instanceof SinkConfigError || err instanceof MissingSecretError) throw ApplicationFailure.nonRetryable(message, 'SinkConfigError');
      throw ApplicationFailure.retryable(message, (err as Error).name || 'ExportError');
    }
  }

  async function patchInventoryStatus(ref: InventoryRef, view: StatusInput): Promise<void> {
    const inv = await kube.get<KollectInventory>('KollectInventory', ref.namespace, ref.name);
    if (!inv) return;
    const now = new Date().toISOString();
    const prev = inv.status?.conditions ?? [];
    const cond = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
      const old = prev.find((c) => c.type === type);
      const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : now;
      return { type, status, reason, message, lastTransitionTime, observedGeneration: inv.metadata.generation };
    };
    const failing = view.sinks.filter((s: SinkExportStatus) => s.lastError);
    const behind = view.sinks.filter((s) => (s.exportedVersion ?? 0) < view.version || !s.lastSuccessTime);
    const ready = view.problems.length === 0
      ? cond('Ready', 'True', 'Resolved', `${view.sinks.length} sink(s) resolved`)
      : cond('Ready', 'False', 'InvalidReference', view.problems.join('; '));
    const synced = view.suspended ? cond('Synced', 'Unknown', 'Suspended', 'exports are suspended')
      : failing.length ? cond('Synced', 'False', 'ExportFailed', failing.map((s) => `${s.kind}/${s.name}: ${s.lastError}`).join('; ').slice(0, 2000))
        : behind.length ? cond('Synced', 'Unknown', 'Pending', `waiting to export to ${behind.map((s) => s.name).join(', ')}`)
          : cond('Synced', 'True', 'Exported', `all sinks hold snapshot version ${view.version}`);
    await kube.patchStatus('KollectInventory', ref.namespace, ref.name, {
      observedGeneration: inv.metadata.generation, rows: view.rows, sinkExports: view.sinks, conditions: [ready, synced],
      workflowId: `kollect/inventory/${ref.namespace}/${ref.name}`,
    });
  }

  async function finalizeInventory(ref: InventoryRef): Promise<void> {
    const inv = await kube.get<KollectInventory>('KollectInventory', ref.namespace, ref.name);
    if (!inv?.metadata.finalizers?.includes(INVENTORY_FINALIZER)) return;
    await kube.patchMetadata('KollectInventory', ref.namespace, ref.name, {
      resourceVersion: inv.metadata.resourceVersion,
      finalizers: inv.metadata.finalizers.filter((f) => f !== INVENTORY_FINALIZER),
    });
    log('inventory_finalized', { inventory: `${ref.namespace}/${ref.name}` });
  }

  // One activity type per sink type, so the Temporal UI names the sink each export goes to.
  const perType = Object.fromEntries(Object.keys(backends).map((type) => [exportActivityName(type), exportSink]));
  return { loadInventoryConfig, exportSink, patchInventoryStatus, finalizeInventory, ...perType };
}
