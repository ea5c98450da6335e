// What the watcher reports for monitoring. The operator passes a prom-client implementation;
// tests and embedders may pass their own or none. Names and help: api/metrics-catalog.ts.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LAG_BUCKETS, METRICS, metricDef } from '../api/metrics-catalog.js';
import type { RestartReason } from './informer.js';
import { CustomMetrics, type CustomMetricSource } from './custom-metrics.js';

/** The signal kinds the watcher sends to inventory workflows. */
export type SignalKind = 'delta' | 'resync' | 'configChanged' | 'inventoryDeleted';

export interface WatcherMetrics {
  /** Objects held by one informer; `gvk` is `apiVersion/Kind`, `scope` a namespace or `*`. */
  informerObjects(gvk: string, scope: string, objects: number): void;
  /** The informer was released (its last Target went away). */
  informerRemoved(gvk: string, scope: string): void;
  watchRestart(gvk: string, reason: RestartReason): void;
  signalSent(kind: SignalKind, bytes: number): void;
  /** `retryable` false: the payload was refused and dropped (logged with the inventory). */
  signalFailed(kind: SignalKind, retryable: boolean): void;
  /**
   * Per Target: an object whose extraction failed (toRow threw: `failed`, the default), whose row
   * was quarantined (over the row size or depth cap: `quarantined`), or with an attribute or
   * filter that failed to evaluate (`attribute`). Counted per evaluation.
   */
  extractionError(target: string, reason?: 'failed' | 'quarantined' | 'attribute'): void;
  /** Seconds from the oldest informer event of a flush to Temporal accepting its last signal. */
  signalLag?(seconds: number): void;
  /** A Target (namespace/name) offers custom resource metrics; returns the way to withdraw them. */
  customMetrics?(target: string, source: CustomMetricSource): () => void;
}

export const noopMetrics: WatcherMetrics = {
  informerObjects: () => undefined,
  informerRemoved: () => undefined,
  watchRestart: () => undefined,
  signalSent: () => undefined,
  signalFailed: () => undefined,
  extractionError: () => undefined,
};

/** prom-client metrics, registered in `registry`; renderCustom() writes the custom resource metrics (not prom-client objects: their names come from profiles). */
export function promWatcherMetrics(registry: Registry): WatcherMetrics & { renderCustom(): string } {
  const registers = [registry];
  const objects = new Gauge({ ...metricDef(METRICS.informerObjects), registers });
  const restarts = new Counter({ ...metricDef(METRICS.watchRestarts), registers });
  const signals = new Counter({ ...metricDef(METRICS.signals), registers });
  const bytes = new Counter({ ...metricDef(METRICS.signalBytes), registers });
  const failures = new Counter({ ...metricDef(METRICS.signalFailures), registers });
  const extraction = new Counter({ ...metricDef(METRICS.extractionErrors), registers });
  const lag = new Histogram({ ...metricDef(METRICS.watcherLag), buckets: LAG_BUCKETS, registers });
  const series = new Gauge({ ...metricDef(METRICS.customSeries), registers });
  const dropped = new Gauge({ ...metricDef(METRICS.customDropped), registers });
  const custom = new CustomMetrics((target, counts) => {
    if (!counts) { series.remove({ target }); dropped.remove({ target }); return; }
    series.set({ target }, counts.series);
    dropped.set({ target }, counts.dropped);
  });
  return {
    informerObjects: (gvk, scope, n) => objects.set({ gvk, scope }, n),
    informerRemoved: (gvk, scope) => objects.remove({ gvk, scope }),
    watchRestart: (gvk, reason) => restarts.inc({ gvk, reason }),
    signalSent: (signal, n) => { signals.inc({ signal }); bytes.inc({ signal }, n); },
    signalFailed: (signal, retryable) => failures.inc({ signal, retryable: String(retryable) }),
    extractionError: (target, reason = 'failed') => extraction.inc({ target, reason }),
    signalLag: (s) => lag.observe(s),
    customMetrics: (target, source) => custom.register(target, source),
    renderCustom: () => custom.render(),
  };
}
