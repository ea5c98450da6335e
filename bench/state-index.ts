// `npx tsx bench/state-index.ts [--rows=100000]`: where should the key → (hash, version) index of
// an inventory live? Measures, side by side at the same size, (A) the index in workflow state
// (InventoryState: heap, continue-as-new payload raw and gzipped, plan time for a full reconcile
// and a 100-row delta) and (B) a journal kept in the store (a Postgres table: insert, size,
// delta and full reads). Prints a table and writes bench-results/state-index-<time>.json.
// The decision it informs is docs/decisions/0009.
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { InventoryState, type SinkConfig } from '../workflows/state.js';
import { startHarness } from '../test/harness/harness.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = Number(arg('rows', '100000'));
const hash = (i: number, v = 0): string => createHash('sha256').update(`${i}/${v}`).digest('hex');
const uid = (i: number): string => `${hash(i).slice(0, 8)}-${hash(i).slice(8, 12)}-4${hash(i).slice(13, 16)}-a${hash(i).slice(17, 20)}-${hash(i).slice(20, 32)}`;
const mb = (b: number): string => (b / 1048576).toFixed(1);
const time = <T>(fn: () => T): [T, number] => { const t = performance.now(); const r = fn(); return [r, performance.now() - t]; };

// (A) index in workflow state
global.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const state = new InventoryState('bench');
const [, applyMs] = time(() => {
  for (let i = 0; i < N; i += 2000) state.applyDelta({ target: 'configmaps', upserts: Array.from({ length: Math.min(2000, N - i) }, (_, j) => ({ uid: uid(i + j), hash: hash(i + j) })), deletes: [] });
});
global.gc?.();
const heapBytes = process.memoryUsage().heapUsed - heap0;
const sink: SinkConfig = { kind: 'KollectDatabaseSink', name: 'pg', type: 'postgres', intervalMs: 1000, maxAttempts: 3, suspended: false, generation: 1, maxDeletePercent: 50 };
state.applyResync({ target: 'configmaps', id: 'r', part: 0, parts: 1, uids: [...state.rows.values()].map((r) => r.uid) });
state.checkComplete(['configmaps']);
state.syncSinks([sink]);
const [full, fullPlanMs] = time(() => state.plan(sink, 0, 86_400_000));
state.recordSuccess('KollectDatabaseSink/pg', full.plan, { outcome: 'applied', rowsExported: N, detail: '', generation: 1, nowMs: 0 });
state.applyDelta({ target: 'configmaps', upserts: Array.from({ length: 100 }, (_, j) => ({ uid: uid(j), hash: hash(j, 1) })), deletes: [] });
const [delta, deltaPlanMs] = time(() => state.plan(sink, 1000, 86_400_000));
const [carried, serializeMs] = time(() => JSON.stringify(state.serialize()));
const [gz, gzipMs] = time(() => gzipSync(carried));
const fullEntriesJson = JSON.stringify(full.entries);
const a = {
  rows: N, applyMs: Math.round(applyMs), heapMiB: Number(mb(heapBytes)), fullPlanMs: Math.round(fullPlanMs), deltaPlanMs: Math.round(deltaPlanMs),
  deltaEntries: delta.entries.upserts.length, carriedMiB: Number(mb(carried.length)), carriedGzipMiB: Number(mb(gz.length)), serializeMs: Math.round(serializeMs), gzipMs: Math.round(gzipMs),
  fullEntriesGzipMiB: Number(mb(gzipSync(fullEntriesJson).length)),
};

// (B) journal in the store
const h = await startHarness({ only: ['postgres'] });
let b: Record<string, number>;
try {
  const client = new pg.Client({ connectionString: h.endpoints.postgres!.url });
  await client.connect();
  await client.query('DROP TABLE IF EXISTS bench_journal');
  await client.query('CREATE TABLE bench_journal (inventory text NOT NULL, row_key text NOT NULL, hash text, version bigint NOT NULL, PRIMARY KEY (inventory, row_key))');
  await client.query('CREATE INDEX ON bench_journal (inventory, version)');
  const t0 = performance.now();
  for (let i = 0; i < N; i += 5000) {
    const keys = Array.from({ length: Math.min(5000, N - i) }, (_, j) => `configmaps/${uid(i + j)}`);
    await client.query('INSERT INTO bench_journal SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[])', ['inv', keys, keys.map((_, j) => hash(i + j)), keys.map((_, j) => i + j + 1)]);
  }
  const insertMs = performance.now() - t0;
  const t1 = performance.now();
  const keys100 = Array.from({ length: 100 }, (_, j) => `configmaps/${uid(j)}`);
  await client.query('INSERT INTO bench_journal SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[]) ON CONFLICT (inventory, row_key) DO UPDATE SET hash = EXCLUDED.hash, version = EXCLUDED.version',
    ['inv', keys100, keys100.map((_, j) => hash(j, 1)), keys100.map((_, j) => N + j + 1)]);
  const commit100Ms = performance.now() - t1;
  const t2 = performance.now();
  const d = await client.query('SELECT row_key, hash, version FROM bench_journal WHERE inventory = $1 AND version > $2 ORDER BY version', ['inv', N]);
  const deltaReadMs = performance.now() - t2;
  const t3 = performance.now();
  const f = await client.query('SELECT row_key, hash, version FROM bench_journal WHERE inventory = $1', ['inv']);
  const fullReadMs = performance.now() - t3;
  const size = Number((await client.query<{ n: string }>("SELECT pg_total_relation_size('bench_journal') AS n")).rows[0]!.n);
  await client.query('DROP TABLE bench_journal');
  await client.end();
  b = { insertMs: Math.round(insertMs), commit100Ms: Math.round(commit100Ms), deltaReadMs: Math.round(deltaReadMs), deltaRows: d.rowCount ?? 0, fullReadMs: Math.round(fullReadMs), fullRows: f.rowCount ?? 0, tableMiB: Number(mb(size)) };
} finally {
  await h.stop();
}

process.stdout.write(`\nindex of ${N} rows\n(A) in workflow state: apply ${a.applyMs} ms, heap ${a.heapMiB} MiB, full plan ${a.fullPlanMs} ms, 100-row delta plan ${a.deltaPlanMs} ms,\n    continue-as-new state ${a.carriedMiB} MiB (gzip ${a.carriedGzipMiB} MiB, ${a.serializeMs}+${a.gzipMs} ms), full-export entries gzip ${a.fullEntriesGzipMiB} MiB\n`);
process.stdout.write(`(B) journal in the store: insert ${b.insertMs} ms, one 100-row commit ${b.commit100Ms} ms (an activity per signal batch on top), delta read ${b.deltaReadMs} ms, full read ${b.fullReadMs} ms, table ${b.tableMiB} MiB\n`);
mkdirSync('bench-results', { recursive: true });
const file = `bench-results/state-index-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ rows: N, inWorkflowState: a, journalInStore: b }, null, 2));
process.stdout.write(`wrote ${file}\n`);
