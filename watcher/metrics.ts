// What the watcher reports for monitoring. The operator passes a prom-client implementation;
// tests and embedders may pass their own or none.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RestartReason } from './informer.js';

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
}

export const noopMetrics: WatcherMetrics = {
  informerObjects: () => undefined,
  informerRemoved: () => undefined,
  watchRestart: () => undefined,
  signalSent: () => undefined,
  signalFailed: () => undefined,
  extractionError: () => undefined,
};

/** prom-client metrics, registered in `registry`, named per Prometheus conventions. */
export function promWatcherMetrics(registry: Registry): WatcherMetrics {
  const registers = [registry];
  const objects = new Gauge({ name: 'kollect_informer_objects', help: 'Objects held in an informer cache, by watched type and namespace scope (* = all namespaces).', labelNames: ['gvk', 'scope'], registers });
  const restarts = new Counter({ name: 'kollect_watch_restarts_total', help: 'Watch requests re-opened, by watched type and reason (closed, inactivity, gone, throttled, network, error, periodic).', labelNames: ['gvk', 'reason'], registers });
  const signals = new Counter({ name: 'kollect_watcher_signals_total', help: 'Signals sent to inventory workflows, by signal.', labelNames: ['signal'], registers });
  const bytes = new Counter({ name: 'kollect_watcher_signal_bytes_total', help: 'Serialized JSON bytes of signals sent to inventory workflows, by signal.', labelNames: ['signal'], registers });
  const failures = new Counter({ name: 'kollect_watcher_signal_failures_total', help: 'Signals that failed, by signal and whether they are retried (true) or were refused and dropped (false).', labelNames: ['signal', 'retryable'], registers });
  const extraction = new Counter({ name: 'kollect_watcher_extraction_errors_total', help: 'Objects whose row could not be computed as they are, by target (namespace/name) and reason (failed: extraction threw; quarantined: over the row size or depth cap; attribute: an attribute or the filter failed to evaluate).', labelNames: ['target', 'reason'], registers });
  return {
    informerObjects: (gvk, scope, n) => objects.set({ gvk, scope }, n),
    informerRemoved: (gvk, scope) => objects.remove({ gvk, scope }),
    watchRestart: (gvk, reason) => restarts.inc({ gvk, reason }),
    signalSent: (signal, n) => { signals.inc({ signal }); bytes.inc({ signal }, n); },
    signalFailed: (signal, retryable) => failures.inc({ signal, retryable: String(retryable) }),
    extractionError: (target, reason = 'failed') => extraction.inc({ target, reason }),
  };
}
