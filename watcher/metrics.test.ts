import { describe, it, expect } from 'vitest';
import { Registry } from 'prom-client';
import { promWatcherMetrics } from './metrics.js';

describe('promWatcherMetrics', () => {
  it('exposes the watcher metrics under their Prometheus names', async () => {
    const registry = new Registry();
    const m = promWatcherMetrics(registry);
    m.informerObjects('v1/ConfigMap', 'team-a', 12);
    m.informerObjects('apps/v1/Deployment', '*', 3);
    m.informerRemoved('apps/v1/Deployment', '*');
    m.watchRestart('v1/ConfigMap', 'gone');
    m.watchRestart('v1/ConfigMap', 'gone');
    m.signalSent('delta', 1000);
    m.signalSent('delta', 24);
    m.signalSent('resync', 100);
    m.signalFailed('delta', true);
    m.extractionError('team-a/cms');
    const text = await registry.metrics();
    expect(text).toContain('kollect_informer_objects{gvk="v1/ConfigMap",scope="team-a"} 12');
    expect(text).not.toContain('Deployment');
    expect(text).toContain('kollect_watch_restarts_total{gvk="v1/ConfigMap",reason="gone"} 2');
    expect(text).toContain('kollect_watcher_signals_total{signal="delta"} 2');
    expect(text).toContain('kollect_watcher_signal_bytes_total{signal="delta"} 1024');
    expect(text).toContain('kollect_watcher_signal_bytes_total{signal="resync"} 100');
    expect(text).toContain('kollect_watcher_signal_failures_total{signal="delta",retryable="true"} 1');
    expect(text).toContain('kollect_watcher_extraction_errors_total{target="team-a/cms",reason="failed"} 1');
  });
});
