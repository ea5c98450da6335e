// Export time per sink type, side by side on one machine and one run: a full export of N rows into
// an empty sink (the initial sync), then a delta of 100 changed rows, then the unchanged full
// reconcile. Each sink type runs against its harness server through the shared sink path
// (activities/sinks/run.ts), exactly as the export activity calls it.
//   npx tsx bench/sinks.ts [--rows=10000] [--changed=100] [--types=git,postgres,...]
// Prints a table and writes bench-results/sinks.json.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VersionedRow } from '../api/rows.js';
import { sinkDescriptors } from '../activities/sinks/registry.js';
import { runExport } from '../activities/sinks/run.js';
import { startHarness } from '../test/harness/harness.js';
import type { ServiceName } from '../test/harness/endpoints.js';
import { root } from '../test/support/process.js';
import { exportInput } from '../test/support/export-input.js';
import { SINK_FIXTURES } from '../test/support/sinks/index.js';

const arg = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const ROWS = Number(arg('rows', '10000'));
const CHANGED = Number(arg('changed', '100'));
const types = arg('types', SINK_FIXTURES.map((f) => f.type).join(',')).split(',').map((s) => s.trim()).filter(Boolean);
for (const t of types) if (!SINK_FIXTURES.some((f) => f.type === t)) throw new Error(`--types: unknown sink type ${t} (known: ${SINK_FIXTURES.map((f) => f.type).join(', ')})`);
if (!(ROWS > 0) || !(CHANGED > 0) || CHANGED > ROWS) throw new Error('--rows and --changed must be positive, changed ≤ rows');

const say = (s: string): void => { process.stderr.write(`[bench sinks] ${s}\n`); };
const inventory = { namespace: 'bench', name: 'sinks', cluster: 'bench' };

function row(i: number, version: number, generation = 0): VersionedRow {
  const attributes = { replicas: i % 7, image: `registry.example/app-${i}:1.${generation}`, labels: { app: `app-${i}`, tier: i % 2 ? 'web' : 'worker' }, ports: [80, 443] };
  const r = { target: 'deployments', cluster: 'bench', apiVersion: 'apps/v1', kind: 'Deployment', namespace: `ns-${i % 50}`, name: `app-${i}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, attributes };
  return { ...r, version, hash: createHash('sha256').update(JSON.stringify(r)).digest('hex') };
}

interface Result { type: string; rows: number; fullMs: number; deltaMs: number; reconcileMs: number; detail: string }

const fixtures = SINK_FIXTURES.filter((f) => types.includes(f.type));
const h = await startHarness({ only: [...new Set(fixtures.map((f) => f.service))] as ServiceName[] });
const results: Result[] = [];
const failures: { type: string; error: string }[] = [];
try {
  for (const f of fixtures) {
    const d = sinkDescriptors[f.type]!;
    const spec = await f.spec(`bench-${f.type}-${Date.now().toString(36)}`);
    const ctx = f.context(spec);
    const sink = { kind: d.kind, namespace: 'bench', name: f.type, type: f.type };
    try {
      const base = Array.from({ length: ROWS }, (_, i) => row(i, 1));
      say(`${f.type}: full export of ${ROWS} rows`);
      let t = performance.now();
      await runExport(d, exportInput(base, { inventory, sink, mode: 'full', version: 1 }), ctx);
      const fullMs = performance.now() - t;
      const changed = Array.from({ length: CHANGED }, (_, k) => row(Math.floor((k * ROWS) / CHANGED), 2, 1));
      const snapshot = base.map((r) => changed.find((c) => c.uid === r.uid) ?? r);
      say(`${f.type}: delta of ${CHANGED} changed rows`);
      t = performance.now();
      await runExport(d, exportInput(changed, { inventory, sink, mode: 'delta', fromVersion: 1, version: 2, snapshot }), ctx);
      const deltaMs = performance.now() - t;
      say(`${f.type}: full reconcile of the unchanged ${ROWS}`);
      t = performance.now();
      const r = await runExport(d, exportInput(snapshot, { inventory, sink, mode: 'full', version: 3 }), ctx);
      const reconcileMs = performance.now() - t;
      results.push({ type: f.type, rows: ROWS, fullMs, deltaMs, reconcileMs, detail: r.detail ?? '' });
    } catch (err) {
      failures.push({ type: f.type, error: (err as Error).message });
      say(`${f.type}: FAILED ${(err as Error).message}`);
    } finally {
      await f.cleanup?.(spec).catch(() => undefined);
      await d.backend.close?.();
    }
  }
} finally {
  await h.stop();
}

const ms = (n: number): string => `${Math.round(n).toLocaleString('en')} ms`;
const lines = [
  '', `Sink export times (${ROWS.toLocaleString('en')} rows; delta = ${CHANGED} changed rows), ${new Date().toISOString()}`,
  '| sink | initial full export | delta | unchanged full reconcile |', '| --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.type} | ${ms(r.fullMs)} | ${ms(r.deltaMs)} | ${ms(r.reconcileMs)} |`),
  ...failures.map((f) => `| ${f.type} | failed: ${f.error.slice(0, 120)} | | |`), '',
];
process.stdout.write(lines.join('\n'));
const dir = path.join(root, 'bench-results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, 'sinks.json'), JSON.stringify({ rows: ROWS, changed: CHANGED, at: new Date().toISOString(), results, failures }, null, 2));
if (failures.length) process.exitCode = 1;
