// `npx tsx bench/store-size.ts [--rows=100000]`: how much Postgres the body store needs per row.
// Writes --rows row bodies of three shapes through the real BodyStore (store/bodies.ts) into
// fresh tables of a harness Postgres and prints, per shape, the JSON bytes per body and the
// on-disk bytes per row (pg_total_relation_size: heap, TOAST and both indexes), and the time the
// writes took. Shapes: a profile with a handful of attributes (~0.4 KiB), a ConfigMap in Resource
// mode (~2 KiB, pruned as the sample profile does), and a larger Resource-mode object (~8 KiB,
// e.g. a Deployment with managedFields pruned). Content is varied (hashes, names, numbers) so
// that TOAST compression is not flattered. Writes bench-results/store-size-<time>.json.
// docs/sizing.md uses it.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { BodyStore } from '../store/bodies.js';
import type { Row } from '../api/rows.js';
import { startHarness } from '../test/harness/harness.js';
import { root } from '../test/support/process.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = Number(arg('rows', '100000'));
if (!Number.isInteger(N) || N <= 0) throw new Error('--rows: a positive integer, e.g. --rows=100000');
const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
const uid = (i: number): string => { const h = hex(`uid/${i}`); return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`; };

/** Varied text of about `bytes` characters: words, numbers and hashes, as real objects have. */
function text(seed: string, bytes: number): string {
  let out = '';
  for (let i = 0; out.length < bytes; i++) {
    const h = hex(`${seed}/${i}`);
    out += i % 3 === 0 ? `${h.slice(0, 16)} ` : i % 3 === 1 ? `replicas=${parseInt(h.slice(0, 4), 16)} ` : `team-${h.slice(0, 3)}.example.com/v${parseInt(h.slice(4, 6), 16)} `;
  }
  return out.slice(0, bytes);
}

const shapes: Record<string, (i: number) => Record<string, unknown>> = {
  'attributes (~0.4 KiB)': (i) => ({
    replicas: i % 5, image: `registry.example.com/team-${i % 40}/app-${i % 700}:${hex(`img${i}`).slice(0, 12)}`,
    labels: { app: `app-${i % 700}`, team: `team-${i % 40}`, tier: ['web', 'api', 'worker'][i % 3] },
    owner: `team-${i % 40}@example.com`, ready: i % 7 !== 0, createdAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
  }),
  'Resource, ConfigMap (~2 KiB)': (i) => ({
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: `cm-${i}`, namespace: `ns-${i % 40}`, uid: uid(i), labels: { app: `app-${i % 700}`, team: `team-${i % 40}` }, annotations: { 'example.com/owner': `team-${i % 40}` } },
    data: { 'config.yaml': text(`cm${i}`, 1500), mode: ['a', 'b'][i % 2] },
  }),
  'Resource, large object (~8 KiB)': (i) => ({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: `app-${i}`, namespace: `ns-${i % 40}`, uid: uid(i), labels: { app: `app-${i}` } },
    spec: { replicas: 3, template: { spec: { containers: Array.from({ length: 4 }, (_, c) => ({ name: `c${c}`, image: `registry.example.com/app:${hex(`${i}/${c}`).slice(0, 12)}`, env: text(`env${i}/${c}`, 1800) })) } } },
    status: { observedGeneration: i % 9, conditions: [{ type: 'Available', status: 'True', message: text(`st${i}`, 200) }] },
  }),
};

const h = await startHarness({ only: ['postgres'] });
const results: { shape: string; rows: number; jsonBytesPerBody: number; diskBytesPerRow: number; totalMiB: number; writeMs: number }[] = [];
try {
  const url = h.endpoints.postgres!.url;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  for (const [shape, make] of Object.entries(shapes)) {
    const table = `bench_bodies_${results.length}`;
    await admin.query(`DROP TABLE IF EXISTS ${table}`);
    const store = new BodyStore(url, { table });
    let jsonBytes = 0;
    const t0 = performance.now();
    for (let i = 0; i < N; i += 2000) {
      const rows: Row[] = Array.from({ length: Math.min(2000, N - i) }, (_, j) => {
        const k = i + j;
        const attributes = make(k);
        const row: Row = { target: 'bench', cluster: 'default', apiVersion: 'v1', kind: 'ConfigMap', namespace: `ns-${k % 40}`, name: `obj-${k}`, uid: uid(k), attributes, hash: '' };
        row.hash = hex(JSON.stringify(row));
        jsonBytes += Buffer.byteLength(JSON.stringify(row));
        return row;
      });
      await store.put(rows);
    }
    const writeMs = performance.now() - t0;
    await admin.query(`VACUUM ANALYZE ${table}`);
    const size = Number((await admin.query<{ n: string }>(`SELECT pg_total_relation_size('${table}') AS n`)).rows[0]!.n);
    results.push({ shape, rows: N, jsonBytesPerBody: Math.round(jsonBytes / N), diskBytesPerRow: Math.round(size / N), totalMiB: Number((size / 1048576).toFixed(1)), writeMs: Math.round(writeMs) });
    await store.close();
    await admin.query(`DROP TABLE ${table}`);
  }
  await admin.end();
} finally {
  await h.stop();
}

const lines = [
  `body store size, ${N.toLocaleString('en')} rows per shape (the harness PostgreSQL)`,
  '| shape | JSON bytes per body | on disk per row (heap + TOAST + indexes) | table total | write time |',
  '| --- | --- | --- | --- | --- |',
  ...results.map((r) => `| ${r.shape} | ${r.jsonBytesPerBody.toLocaleString('en')} B | ${r.diskBytesPerRow.toLocaleString('en')} B | ${r.totalMiB} MiB | ${(r.writeMs / 1000).toFixed(1)} s |`),
];
process.stdout.write(`${lines.join('\n')}\n`);
const dir = path.join(root, 'bench-results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `store-size-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ rows: N, results }, null, 2));
