// Export metrics (prom-client), following Prometheus naming: base units, _total for counters.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface ExportMetrics {
  observe(sinkType: string, seconds: number, ok: boolean, rows: number): void;
}

export function exportMetrics(registry: Registry): ExportMetrics {
  const duration = new Histogram({
    name: 'kollect_export_duration_seconds', help: 'Duration of one export attempt to one sink.',
    labelNames: ['sink_type', 'result'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [registry],
  });
  const errors = new Counter({ name: 'kollect_export_errors_total', help: 'Failed export attempts per sink type.', labelNames: ['sink_type'], registers: [registry] });
  const rows = new Counter({ name: 'kollect_export_rows_total', help: 'Rows exported (state sinks) or events emitted (event sinks).', labelNames: ['sink_type'], registers: [registry] });
  return {
    observe(sinkType, seconds, ok, n) {
      duration.observe({ sink_type: sinkType, result: ok ? 'success' : 'error' }, seconds);
      if (ok) rows.inc({ sink_type: sinkType }, n);
      else errors.inc({ sink_type: sinkType });
    },
  };
}

export const noMetrics: ExportMetrics = { observe: () => undefined };
