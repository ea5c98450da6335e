// The combined table: one column per size, the targets beside the numbers (shown, not asserted).
import { SINKS, type Options, type SizeResult } from './run-size.js';

/** '2s', '500ms', '1m' → milliseconds. */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d.trim());
  if (!m) return NaN;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

const s1 = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? '—' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const mib = (b: number | undefined) => (b === undefined || Number.isNaN(b) ? '—' : `${(b / 1024 / 1024).toFixed(1)} MiB`);
const int = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');

export function renderTable(results: SizeResult[], opts: Options): string {
  const interval = durationMs(opts.interval);
  // a cell the target applies to is marked ✓ (met) or ✗ (missed)
  const mark = (applies: boolean, ok: boolean) => (applies ? (ok ? ' ✓' : ' ✗') : '');
  const rows: [string, (r: SizeResult) => string, string][] = [
    ['outcome', (r) => (r.error ? 'FAILED (below)' : 'complete'), ''],
    ['create objects on the apiserver', (r) => `${s1(r.createMs)} (${int(r.objects / (r.createMs / 1000))}/s)`, ''],
    ['operator start → ready (both /readyz)', (r) => s1(r.readyMs), ''],
    ...SINKS.map((s): [string, (r: SizeResult) => string, string] => [`initial sync → ${s} holds all`, (r) => `${s1(r.initialSyncMs[s])}${mark(opts.preload && r.objects === 10_000, (r.initialSyncMs[s] ?? Infinity) <= 15_000)}`, opts.preload ? '≤ 15 s after ready at 10k' : '']),
    ['first row in postgres / nats / git', (r) => (r.firstRowMs ? SINKS.map((s) => s1(r.firstRowMs[s])).join(' / ') : '—'), ''],
    ['direct writer LIST → COMMIT', (r) => (r.direct ? s1(r.direct.ms) : '—'), ''],
    ['Kollect postgres ÷ direct writer', (r) => (r.durabilityRatio === undefined || Number.isNaN(r.durabilityRatio) ? '—' : `${r.durabilityRatio.toFixed(1)}×`), ''],
    ...SINKS.map((s): [string, (r: SizeResult) => string, string] => [`update → ${s} p50 / p99`,
      (r) => `${r.updateLatencyMs[s].unresolved ? `(${r.updateLatencyMs[s].unresolved} lost) ` : ''}${int(r.updateLatencyMs[s].p50)} / ${int(r.updateLatencyMs[s].p99)} ms${mark(true, r.updateLatencyMs[s].p99 <= interval + 1000 && !r.updateLatencyMs[s].unresolved)}`, `p99 ≤ ${int(interval + 1000)} ms`]),
    ['updates sent (rate achieved)', (r) => `${r.updates.count - r.updates.failed} (${r.updates.achievedRate.toFixed(1)}/s)`, `${opts.rate}/s`],
    ['peak RSS watcher / worker', (r) => `${int(r.peakRss.watcherMiB)} / ${int(r.peakRss.workerMiB)} MiB`, ''],
    ['peak RSS watcher + worker', (r) => `${int(r.peakRss.sumMiB)} MiB${mark(r.objects === 100_000, r.peakRss.sumMiB <= 512)}`, '≤ 512 MiB at 100k'],
    ['RSS at end watcher + worker', (r) => `${int(r.endRss.sumMiB)} MiB (${int(r.endRss.watcherMiB)} + ${int(r.endRss.workerMiB)})`, ''],
    ['signals/s (watcher) sync / updates', (r) => `${r.signals.initialPerSec.toFixed(1)} / ${r.signals.updatesPerSec.toFixed(1)}`, ''],
    ['signals/s (history, whole chain)', (r) => (r.history.error ? 'unreadable' : `${r.history.signalsPerSec.toFixed(1)} (${int(r.history.signals)})`), ''],
    ['history runs (continue-as-new chain)', (r) => int(r.history.runCount), ''],
    ['history events total / max run', (r) => `${int(r.history.events)} / ${int(r.history.maxRunEvents)}`, ''],
    ['history bytes total / max run', (r) => `${mib(r.history.bytes)} / ${mib(r.history.maxRunBytes)}`, ''],
    ['store bytes (kollect_* tables, this size)', (r) => mib(r.storeBytes.delta), ''],
    ['sink table / direct table bytes', (r) => `${mib(r.sinkTableBytes)} / ${r.direct ? mib(r.direct.tableBytes) : '—'}`, ''],
  ];
  const head = results.map((r) => `${int(r.objects)} objects`);
  const cells = rows.map(([, f]) => results.map((r) => { try { return f(r); } catch { return '—'; } }));
  const w = Math.max(14, ...head.map((x) => x.length), ...cells.flat().map((x) => x.length)) + 2;
  const lw = Math.max(...rows.map(([l]) => l.length)) + 2;
  const line = (l: string, vs: string[], t: string) => `  ${l.padEnd(lw)}${vs.map((v) => v.padStart(w)).join('')}   ${t}`;
  return ['', `Kollect pipeline benchmark${opts.preload ? ' (preloaded: initial sync from a LIST, timed from operator ready)' : ''}: ${opts.updates} updates at ${opts.rate}/s, exportMinInterval ${opts.interval}`,
    line('', head, 'target (not asserted)'),
    ...rows.map(([l, , t], i) => line(l, cells[i]!, t)), ''].join('\n');
}
