// Every metric Kollect serves on /metrics, named once. The code registers its metrics from these
// entries (metricDef), docs/metrics.md lists exactly these names, and the Grafana dashboard
// shipped with the chart may only query these names (both checked by metrics-catalog.test.ts).
// Naming follows Prometheus: base units (seconds, bytes), `_total` for counters, no per-object
// labels. `inventory` and `target` label values are `namespace/name` of a CR, so series are
// bounded by the number of CRs; sinks are named by `sink_kind` and `sink_name` (the sink is in
// the inventory's namespace).

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricEntry {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
  /** Who serves it: the operator's own code, or the Temporal SDK's runtime (merged into /metrics). */
  source: 'kollect' | 'temporal';
}

const m = (name: string, type: MetricType, labels: readonly string[], help: string, source: MetricEntry['source'] = 'kollect'): MetricEntry =>
  ({ name, type, help, labels, source });

const SINK = ['inventory', 'sink_kind', 'sink_name', 'sink_type'] as const;

/** Buckets of kollect_export_duration_seconds (ADR-0602: from a fast delta to a slow full reconcile). */
export const EXPORT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Buckets of kollect_watcher_lag_seconds: the flush interval (1 s) dominates a healthy lag. */
export const LAG_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

export const METRICS = {
  buildInfo: m('kollect_build_info', 'gauge', ['version'], 'Kollect build information; always 1.'),
  storeUp: m('kollect_store_up', 'gauge', [], '1 when the last operation on the body store succeeded.'),
  storeBytes: m('kollect_store_bytes', 'gauge', [], 'Disk size of the body store table with its indexes and TOAST (pg_total_relation_size), sampled every 30 s.'),
  inventoryRows: m('kollect_inventory_rows', 'gauge', ['inventory', 'target'], 'Rows in the inventory snapshot, per target, as last written to the inventory status by this process.'),
  exportDuration: m('kollect_export_duration_seconds', 'histogram', [...SINK, 'result'], 'Duration of one export attempt to one sink; result is success or error.'),
  exportRows: m('kollect_export_rows_total', 'counter', SINK, 'Rows exported (state sinks) or events emitted (event sinks) by successful export attempts.'),
  sinkErrors: m('kollect_sink_errors_total', 'counter', [...SINK, 'reason'], 'Failed export attempts, by the reason the sink status shows for such a failure (ExportFailed, Unreachable, DeleteHeld).'),
  exportsInFlight: m('kollect_exports_in_flight', 'gauge', ['sink_type'], 'Export attempts running in this process.'),
  sinkCircuit: m('kollect_sink_circuit_state', 'gauge', ['inventory', 'sink_kind', 'sink_name', 'state'], 'Circuit breaker of a sink: 1 for its current state (closed, open, halfOpen), 0 for the others.'),
  leader: m('kollect_leader', 'gauge', ['lease'], 'Whether this replica holds the watcher Lease and runs the watcher (1) or stands by (0); absent without leader election.'),
  admissionReviews: m('kollect_admission_reviews_total', 'counter', ['kind', 'allowed'], 'Admission reviews answered by the validating webhook, by kind and verdict.'),
  informerObjects: m('kollect_informer_objects', 'gauge', ['gvk', 'scope'], 'Objects held in an informer cache, by watched type and namespace scope (* = all namespaces).'),
  watchRestarts: m('kollect_watch_restarts_total', 'counter', ['gvk', 'reason'], 'Watch requests re-opened, by watched type and reason (closed, inactivity, gone, throttled, network, error, periodic).'),
  signals: m('kollect_watcher_signals_total', 'counter', ['signal'], 'Signals sent to inventory workflows, by signal.'),
  signalBytes: m('kollect_watcher_signal_bytes_total', 'counter', ['signal'], 'Serialized JSON bytes of signals sent to inventory workflows, by signal.'),
  signalFailures: m('kollect_watcher_signal_failures_total', 'counter', ['signal', 'retryable'], 'Signals that failed, by signal and whether they are retried (true) or were refused and dropped (false).'),
  watcherLag: m('kollect_watcher_lag_seconds', 'histogram', [], 'Time from an informer event to Temporal accepting the signal that carries its change (oldest change of each flush).'),
  extractionErrors: m('kollect_watcher_extraction_errors_total', 'counter', ['target', 'reason'], 'Objects whose row could not be computed as they are, by target (namespace/name) and reason (failed: extraction threw; quarantined: over the row size or depth cap; attribute: an attribute or the filter failed to evaluate).'),
  customSeries: m('kollect_custom_metric_series', 'gauge', ['target'], 'Series of the custom resource metrics (KollectProfile spec.metrics) a target exposes.'),
  customDropped: m('kollect_custom_metric_series_dropped', 'gauge', ['target'], 'Series of the custom resource metrics of a target left out because they exceed the per-target series cap.'),
  temporalRequests: m('temporal_request_total', 'counter', ['operation'], 'Requests the Temporal SDK sent to the server.', 'temporal'),
  temporalActivityLatency: m('temporal_activity_execution_latency_seconds', 'histogram', ['activity_type', 'task_queue'], 'Activity execution time in this worker (exports, status writes).', 'temporal'),
  temporalWorkflowTaskLatency: m('temporal_workflow_task_execution_latency_seconds', 'histogram', ['workflow_type', 'task_queue'], 'Workflow task execution time in this worker.', 'temporal'),
  temporalSlotsAvailable: m('temporal_worker_task_slots_available', 'gauge', ['worker_type', 'task_queue'], 'Free task slots of this worker, by worker type (WorkflowWorker, ActivityWorker).', 'temporal'),
} as const satisfies Record<string, MetricEntry>;

export type MetricKey = keyof typeof METRICS;
export const CATALOG: readonly MetricEntry[] = Object.values(METRICS);

/** Prefix of the Temporal SDK's metrics, distinct from Kollect's own `kollect_`. */
export const TEMPORAL_PREFIX = 'temporal_';
/** Prefix of the process metrics prom-client collects (kollect_process_*, kollect_nodejs_*), left out of the catalog. */
export const DEFAULT_METRICS_PREFIX = 'kollect_';

/** The prom-client configuration of a catalog entry. */
export function metricDef(e: MetricEntry): { name: string; help: string; labelNames: string[] } {
  return { name: e.name, help: e.help, labelNames: [...e.labels] };
}

/** The sample names a catalog entry produces in the text exposition (histograms: _bucket, _sum, _count). */
export function sampleNames(e: MetricEntry): string[] {
  return e.type === 'histogram' ? [`${e.name}_bucket`, `${e.name}_sum`, `${e.name}_count`] : [e.name];
}

/** Finds the catalog entry a sample name (`x_bucket`, `x_count`…) belongs to. */
export function entryOfSample(sample: string): MetricEntry | undefined {
  return CATALOG.find((e) => sampleNames(e).includes(sample));
}
