import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { exportMetrics } from './metrics.js';
import { parsePromText } from '../test/support/prom-text.js';

const sink = (name: string) => ({ inventory: 'a/inv', sink_kind: 'KollectDatabaseSink', sink_name: name, sink_type: 'postgres' });
const status = (name: string, circuit: 'closed' | 'open' | 'halfOpen' = 'closed') => ({ kind: 'KollectDatabaseSink' as const, name, circuit });

describe('export metrics', () => {
  it('labels by inventory and sink, and removes the series of sinks, targets and inventories that go away', async () => {
    const registry = new Registry();
    const m = exportMetrics(registry);
    const done = m.started(sink('pg'));
    m.observe(sink('pg'), 0.2, { ok: true, rows: 3 });
    m.observe(sink('old'), 1, { ok: false, reason: 'Unreachable' });
    done();
    m.inventoryStatus('a/inv', { targetRows: { widgets: 3, gone: 1 }, sinks: [status('pg'), status('old', 'open')] });
    m.inventoryStatus('b/other', { targetRows: { t: 1 }, sinks: [] });
    const series = async () => parsePromText(await registry.metrics()).samples.filter((s) => s.name !== 'kollect_exports_in_flight');
    const names = async (inv: string) => [...new Set((await series()).filter((s) => s.labels.inventory === inv).map((s) => `${s.name}:${s.labels.sink_name ?? s.labels.target}`))].sort();

    expect((await series()).find((s) => s.name === 'kollect_sink_errors_total')).toEqual({ name: 'kollect_sink_errors_total', labels: { ...sink('old'), reason: 'Unreachable' }, value: 1 });
    expect((await series()).find((s) => s.name === 'kollect_sink_circuit_state' && s.labels.sink_name === 'old' && s.labels.state === 'open')?.value).toBe(1);
    expect(await names('a/inv')).toContain('kollect_inventory_rows:a/gone');

    // The sink `old` and the target `gone` leave the inventory.
    m.inventoryStatus('a/inv', { targetRows: { widgets: 4 }, sinks: [status('pg')] });
    expect(await names('a/inv')).toEqual([
      'kollect_export_duration_seconds_bucket:pg', 'kollect_export_duration_seconds_count:pg', 'kollect_export_duration_seconds_sum:pg',
      'kollect_export_rows_total:pg', 'kollect_inventory_rows:a/widgets', 'kollect_sink_circuit_state:pg',
    ]);
    m.inventoryRemoved('a/inv');
    expect(await names('a/inv')).toEqual([]);
    expect(await names('b/other')).toEqual(['kollect_inventory_rows:b/t']);
    expect((await registry.getSingleMetric('kollect_exports_in_flight')!.get()).values.map((v) => v.value)).toEqual([0]);
  });
});
