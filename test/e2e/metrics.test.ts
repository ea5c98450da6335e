// /metrics of the running operator, read the way Prometheus reads it (HTTP, text format): one
// inventory over the Widget sample (its profile has spec.metrics) exported to Postgres, then the
// catalog's series checked against what was collected and exported, the custom resource metrics
// against the widgets, the Temporal SDK's metrics merged in, and the inventory's series gone
// after it is deleted.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { kubectl, installCrds, renderSamples, optInSinkSecrets } from '../support/e2e.js';
import { parsePromText, select, type PromText } from '../support/prom-text.js';
import { CATALOG, METRICS, sampleNames, type MetricEntry } from '../../api/metrics-catalog.js';

const id = randomBytes(3).toString('hex');
const ns = `metrics-${id}`;
const table = `metrics_${id}`;
const inventory = `${ns}/platform`;
const target = `${ns}/widgets`;
const WIDGETS = [{ name: 'blue-a', size: 3, color: 'blue' }, { name: 'blue-b', size: 5, color: 'blue' }, { name: 'red', size: 2, color: 'red' }];

let operator: Child | undefined;
let base = '';

const scrape = async (): Promise<{ text: string; parsed: PromText }> => {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  const text = await res.text();
  return { text, parsed: parsePromText(text) };
};
const value = (p: PromText, name: string, labels: Record<string, string>): number | undefined => {
  const found = select(p, name, labels);
  return found.length === 1 ? found[0]!.value : undefined;
};

describe('operator metrics', () => {
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await installCrds();
    await kubectl(['create', 'namespace', ns]);
    await kubectl(['apply', '--server-side', '-f', renderSamples(['widget-crd.yaml'], () => undefined)]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.example.kollect.dev']);
    const pgUrl = new URL(service('postgres').url);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
    await optInSinkSecrets(ns, ['kollect-postgres']);
    const dir = renderSamples(['profile-widgets.yaml', 'target-widgets.yaml', 'sink-postgres.yaml', 'inventory.yaml'], (d) => {
      if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
      // Only this namespace's widgets: the sums below are exact.
      if (d.kind === 'KollectTarget') (d.spec as { namespaces?: string[] }).namespaces = [ns];
      if (d.kind === 'KollectInventory') { d.spec.targetRefs = [{ name: 'widgets' }]; d.spec.exportMinInterval = '2s'; }
    }, { sinks: ['postgres'] });
    await kubectl(['-n', ns, 'apply', '-f', dir]);
    const widgets = WIDGETS.map((w) => `apiVersion: example.kollect.dev/v1\nkind: Widget\nmetadata:\n  name: ${w.name}\nspec:\n  size: ${w.size}\n  color: ${w.color}\n`).join('---\n');
    await kubectl(['-n', ns, 'apply', '-f', '-'], widgets);
    operator = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `metrics-${id}`,
      KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns,
      KOLLECT_STORE_URL: service('postgres').url,
    });
  }, 240_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('serves the catalog: rows, export histogram, circuit, custom metrics, store bytes, lag and the Temporal SDK metrics', async () => {
    const sink = { inventory, sink_kind: 'KollectDatabaseSink', sink_name: 'postgres', sink_type: 'postgres' };
    let last: { text: string; parsed: PromText } | undefined;
    try {
      await waitFor('an export to postgres recorded and the rows gauge at 3', async () => {
        last = await scrape();
        return (value(last.parsed, `${METRICS.exportDuration.name}_count`, { ...sink, result: 'success' }) ?? 0) > 0
          && value(last.parsed, METRICS.inventoryRows.name, { inventory, target }) === WIDGETS.length;
      }, 120_000, () => operator?.proc.exitCode === null);
    } catch (err) {
      process.stdout.write(`--- last scrape (kollect_ lines) ---\n${last?.text.split('\n').filter((l) => /^kollect_(inv|exp|sink|custom)/.test(l)).join('\n') ?? '(none)'}\n--- operator ---\n${operator?.output().slice(-6000) ?? ''}\n`);
      throw err;
    }
    const t0 = performance.now();
    const { text, parsed } = await scrape();
    const scrapeMs = performance.now() - t0;

    // The rows gauge equals the objects collected; the export of them succeeded and was timed.
    expect(value(parsed, METRICS.inventoryRows.name, { inventory, target })).toBe(WIDGETS.length);
    expect(value(parsed, `${METRICS.exportDuration.name}_count`, { ...sink, result: 'success' })).toBeGreaterThan(0);
    expect(value(parsed, METRICS.exportRows.name, sink)).toBeGreaterThanOrEqual(WIDGETS.length);
    expect(select(parsed, METRICS.sinkErrors.name, sink)).toEqual([]);
    expect(value(parsed, METRICS.sinkCircuit.name, { inventory, sink_name: 'postgres', state: 'closed' })).toBe(1);
    expect(value(parsed, METRICS.sinkCircuit.name, { inventory, sink_name: 'postgres', state: 'open' })).toBe(0);
    expect(value(parsed, METRICS.exportsInFlight.name, { sink_type: 'postgres' })).toBe(0);

    // Custom resource metrics of the Widget profile: summed per label tuple, per target.
    expect(value(parsed, 'kollect_custom_widget_size', { target, color: 'blue' })).toBe(8);
    expect(value(parsed, 'kollect_custom_widget_size', { target, color: 'red' })).toBe(2);
    expect(value(parsed, 'kollect_custom_widgets', { target, phase: 'Pending' })).toBe(3);
    expect(parsed.types.get('kollect_custom_widget_size')).toBe('gauge');
    expect(value(parsed, METRICS.customSeries.name, { target })).toBe(3);
    expect(value(parsed, METRICS.customDropped.name, { target })).toBe(0);

    expect(value(parsed, METRICS.storeBytes.name, {})).toBeGreaterThan(0);
    expect(value(parsed, METRICS.storeUp.name, {})).toBe(1);
    expect(value(parsed, `${METRICS.watcherLag.name}_count`, {})).toBeGreaterThan(0);
    expect(value(parsed, METRICS.signals.name, { signal: 'delta' })).toBeGreaterThan(0);

    // Every catalog entry has samples by now (but counters of failures that did not happen), with
    // the catalog's labels: the Temporal SDK's names and labels are checked here, not assumed.
    // Also absent here by design: kollect_leader (leader election is off) and the webhook's reviews (not served).
    const notYet = [METRICS.sinkErrors, METRICS.watchRestarts, METRICS.signalFailures, METRICS.extractionErrors, METRICS.leader, METRICS.admissionReviews] as MetricEntry[];
    const missing = CATALOG.filter((e) => !notYet.includes(e)).filter((e) => !sampleNames(e).some((n) => parsed.samples.some((s) => s.name === n)));
    expect(missing.map((e) => e.name)).toEqual([]);
    const wrongLabels = new Set<string>();
    for (const e of CATALOG) {
      for (const s of parsed.samples.filter((x) => sampleNames(e).includes(x.name))) {
        const own = Object.keys(s.labels).filter((l) => l !== 'le').sort();
        // The SDK adds labels of its own (service_name…): the catalog's must be among them.
        const ok = e.source === 'temporal' ? e.labels.every((l) => own.includes(l)) : own.join() === [...e.labels].sort().join();
        if (!ok) wrongLabels.add(`${s.name}: catalog ${e.labels.join(',')}, served ${own.join(',')}`);
      }
    }
    expect([...wrongLabels]).toEqual([]);
    // The SDK's metrics keep their own prefix; nothing else in the scrape lacks one of the two.
    expect(parsed.samples.filter((s) => !s.name.startsWith('kollect_') && !s.name.startsWith('temporal_')).map((s) => s.name)).toEqual([]);
    const temporal = parsed.samples.filter((s) => s.name.startsWith('temporal_'));
    expect(temporal.length).toBeGreaterThan(0);

    const excerpt = text.split('\n').filter((l) => !l.startsWith('#') && (
      l.startsWith('kollect_inventory_rows') || l.startsWith('kollect_export_duration_seconds_count') || l.startsWith('kollect_custom_')
      || l.startsWith('kollect_store_bytes') || l.startsWith('kollect_sink_circuit_state') || l.startsWith('kollect_watcher_lag_seconds_count')
      || l.startsWith('temporal_activity_execution_latency_seconds_count') || l.startsWith('temporal_worker_task_slots_available')
      || l.startsWith('temporal_request_total')));
    process.stdout.write(`--- /metrics excerpt (${parsed.samples.length} samples, ${temporal.length} temporal_, ${text.length} bytes, scraped in ${scrapeMs.toFixed(1)} ms) ---\n${excerpt.join('\n')}\n`);
  }, 180_000);

  it('drops the inventory\'s series once it is deleted', async () => {
    await kubectl(['-n', ns, 'delete', 'kollectinventory', 'platform', '--wait=true', '--timeout=90s']);
    await waitFor('no series name the deleted inventory', async () => {
      const { parsed } = await scrape();
      return !parsed.samples.some((s) => s.labels.inventory === inventory);
    }, 30_000, () => operator?.proc.exitCode === null);
  }, 120_000);
});
