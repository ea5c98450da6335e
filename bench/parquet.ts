// `npx tsx bench/parquet.ts [--rows=10000] [--runs=9] [--modules=DIR]`: which Parquet writer for
// the S3 and GCS snapshot sinks (`format: parquet`)? Encodes the same realistic Kollect rows
// (identity columns, canonical JSON attributes, hash, version) with each candidate and reports
// the file size, the first encode in a fresh process (`coldMs`: loading the library, compiling its
// WebAssembly or opening its database, then one encode) and the median of --runs encodes after it.
// Canonical JSON and JSON-lines sizes are printed beside them for scale. Writes
// bench-results/parquet.json. The decision it informs is docs/decisions/0013-parquet-writer.md.
//
// hyparquet-writer, the project's dependency, runs through activities/sinks/parquet.ts (what the
// sinks call). The alternatives are not dependencies: install them in some directory first and
// name it, e.g.
//   (mkdir -p /tmp/pq && cd /tmp/pq && npm init -y && npm i parquet-wasm@0.8.0 apache-arrow@21.2.0 @duckdb/node-api@1.5.6-r.1)
//   npx tsx bench/parquet.ts --modules=/tmp/pq
// A candidate not found there is reported as missing. Each candidate runs in its own child
// process so that cold starts and heaps do not mix.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { VersionedRow } from '../api/rows.js';
import { canonical } from '../activities/sinks/serialize.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = Number(arg('rows', '10000'));
const RUNS = Number(arg('runs', '9'));
const MODULES = path.resolve(arg('modules', '.'));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// ---------- rows ----------
// A cluster's mix: Pods (most), Deployments, Services, ConfigMaps across 40 namespaces, with the
// attributes a typical profile extracts (labels, images, resources, owner, status). Deterministic.
const h = (s: string): string => createHash('sha256').update(s).digest('hex');
const uuid = (s: string): string => { const x = h(s); return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-a${x.slice(17, 20)}-${x.slice(20, 32)}`; };
const TEAMS = ['payments', 'search', 'platform', 'identity', 'data'];

function attributesOf(kind: string, i: number, ns: string): Record<string, unknown> {
  const app = `svc-${i % 300}`;
  const labels = { app, 'app.kubernetes.io/part-of': TEAMS[i % TEAMS.length], 'pod-template-hash': h(`t${i % 300}`).slice(0, 10) };
  const image = `registry.example.com/${ns}/${app}:1.${i % 17}.${i % 5}`;
  switch (kind) {
    case 'Pod': return {
      labels, nodeName: `node-${i % 24}`, phase: i % 50 === 0 ? 'Pending' : 'Running', qosClass: 'Burstable',
      containers: [{ name: app, image, resources: { requests: { cpu: `${(i % 8) * 50 + 50}m`, memory: `${(i % 6) * 128 + 128}Mi` }, limits: { memory: `${(i % 6) * 256 + 256}Mi` } } },
        { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.22.1', resources: { requests: { cpu: '10m', memory: '40Mi' } } }],
      ownerReferences: [{ kind: 'ReplicaSet', name: `${app}-${labels['pod-template-hash']}` }],
      restartCount: i % 7, startTime: new Date(Date.UTC(2026, 9, 1) + i * 61_000).toISOString(),
    };
    case 'Deployment': return { labels, replicas: (i % 5) + 1, availableReplicas: (i % 5) + 1, image, strategy: 'RollingUpdate', revision: String(i % 40) };
    case 'Service': return { labels, type: i % 9 === 0 ? 'LoadBalancer' : 'ClusterIP', clusterIP: `10.96.${i % 250}.${(i * 7) % 250}`, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] };
    default: return { labels, keys: ['application.yaml', 'logback.xml'], bytes: 1000 + (i % 4000) };
  }
}

function kollectRows(n: number): VersionedRow[] {
  const kinds = [['pods', 'v1', 'Pod'], ['pods', 'v1', 'Pod'], ['pods', 'v1', 'Pod'], ['pods', 'v1', 'Pod'], ['pods', 'v1', 'Pod'],
    ['deployments', 'apps/v1', 'Deployment'], ['services', 'v1', 'Service'], ['configmaps', 'v1', 'ConfigMap']] as const;
  return Array.from({ length: n }, (_, i) => {
    const [target, apiVersion, kind] = kinds[i % kinds.length]!;
    const namespace = `team-${TEAMS[i % TEAMS.length]}-${i % 8}`;
    const name = `${kind.toLowerCase()}-${i}`;
    const uid = uuid(`${i}`);
    const attributes = attributesOf(kind, i, namespace);
    return { target, cluster: 'prod-eu-west-1', apiVersion, kind, namespace, name, uid, attributes, hash: h(JSON.stringify([uid, canonical(attributes)])), version: 1 + (i % 997) };
  });
}

// ---------- candidates ----------
interface Encoder { encode(rows: readonly VersionedRow[]): Promise<Uint8Array> }
interface Candidate { name: string; pkg: string; variant: string; load(): Promise<Encoder> }

const fromModules = createRequire(path.join(MODULES, 'package.json'));

// Minimal shapes of the alternatives' APIs (they are not dependencies, so no types are installed).
interface ArrowApi {
  Utf8: new () => unknown;
  vectorFromArray(data: unknown, type?: unknown): unknown;
  makeVector(data: BigInt64Array): unknown;
  Table: new (columns: Record<string, unknown>) => unknown;
  tableToIPC(table: unknown, format: 'stream'): Uint8Array;
}
interface ParquetWasmApi {
  Table: { fromIPCStream(ipc: Uint8Array): unknown };
  WriterPropertiesBuilder: new () => { setCompression(c: number): { build(): unknown } };
  Compression: Record<'SNAPPY' | 'ZSTD', number>;
  writeParquet(table: unknown, props: unknown): Uint8Array;
}
interface DuckDbApi {
  DuckDBInstance: { create(path?: string): Promise<{ connect(): Promise<DuckDbConnection> }> };
}
interface DuckDbConnection {
  run(sql: string): Promise<unknown>;
  createAppender(table: string): Promise<{ appendVarchar(v: string): void; appendBigInt(v: bigint): void; endRow(): void; closeSync(): void }>;
}

// encodeParquet as the sinks run it; with GZIP (Node's zlib) through the same library for comparison.
const hyparquet = (): Candidate => ({
  name: 'hyparquet-writer', pkg: 'hyparquet-writer', variant: 'SNAPPY',
  load: async () => {
    const { encodeParquet } = await import('../activities/sinks/parquet.js');
    return { encode: encodeParquet };
  },
});

const hyparquetGzip = (): Candidate => ({
  name: 'hyparquet-writer', pkg: 'hyparquet-writer', variant: 'GZIP',
  load: async () => {
    const { parquetColumns, PARQUET_COLUMNS, PARQUET_SCHEMA } = await import('../activities/sinks/parquet.js');
    const { ByteWriter, parquetWrite } = await import('hyparquet-writer');
    return {
      encode: async (rows) => {
        const cols = parquetColumns(rows);
        const writer = new ByteWriter();
        await parquetWrite({
          writer, schema: [...PARQUET_SCHEMA], codec: 'GZIP', compressors: { GZIP: (b) => gzipSync(b) }, rowGroupSize: 10_000,
          columnData: PARQUET_COLUMNS.map((c) => ({ name: c.name, data: cols[c.name], statistics: c.name !== 'attributes' })),
        });
        return writer.getBytes();
      },
    };
  },
});

const parquetWasm = (codec: 'SNAPPY' | 'ZSTD'): Candidate => ({
  name: 'parquet-wasm + apache-arrow', pkg: 'parquet-wasm', variant: codec,
  load: async () => {
    const { parquetColumns, PARQUET_COLUMNS } = await import('../activities/sinks/parquet.js');
    const arrow = fromModules('apache-arrow') as ArrowApi;
    const pw = fromModules('parquet-wasm') as ParquetWasmApi;
    return {
      encode: (rows) => {
        const cols = parquetColumns(rows);
        const vectors: Record<string, unknown> = {};
        for (const c of PARQUET_COLUMNS) {
          // Explicit Utf8: arrow-js would otherwise make dictionary vectors of string arrays.
          vectors[c.name] = c.name === 'snapshot_version' ? arrow.makeVector(cols.snapshot_version) : arrow.vectorFromArray(cols[c.name], new arrow.Utf8());
        }
        const table = pw.Table.fromIPCStream(arrow.tableToIPC(new arrow.Table(vectors), 'stream'));
        return Promise.resolve(pw.writeParquet(table, new pw.WriterPropertiesBuilder().setCompression(pw.Compression[codec]).build()));
      },
    };
  },
});

const duckdb = (codec: 'SNAPPY' | 'ZSTD'): Candidate => ({
  name: '@duckdb/node-api', pkg: '@duckdb/node-api', variant: codec,
  load: async () => {
    const { parquetColumns, PARQUET_COLUMNS } = await import('../activities/sinks/parquet.js');
    const { DuckDBInstance } = fromModules('@duckdb/node-api') as DuckDbApi;
    const conn = await (await DuckDBInstance.create(':memory:')).connect();
    const dir = mkdtempSync(path.join(tmpdir(), 'kollect-pq-'));
    const ddl = PARQUET_COLUMNS.map((c) => `${c.name} ${c.type === 'int64' ? 'BIGINT' : 'VARCHAR'} NOT NULL`).join(', ');
    return {
      encode: async (rows) => {
        const cols = parquetColumns(rows);
        await conn.run(`CREATE OR REPLACE TABLE r (${ddl})`);
        const app = await conn.createAppender('r');
        for (let i = 0; i < rows.length; i++) {
          for (const c of PARQUET_COLUMNS) {
            if (c.name === 'snapshot_version') app.appendBigInt(cols.snapshot_version[i]!);
            else app.appendVarchar(cols[c.name][i]!);
          }
          app.endRow();
        }
        app.closeSync();
        const file = path.join(dir, 'r.parquet');
        await conn.run(`COPY r TO '${file}' (FORMAT parquet, COMPRESSION ${codec})`);
        const bytes = readFileSync(file);
        rmSync(file);
        return bytes;
      },
    };
  },
});

const CANDIDATES = [hyparquet(), hyparquetGzip(), parquetWasm('SNAPPY'), parquetWasm('ZSTD'), duckdb('SNAPPY'), duckdb('ZSTD')];

interface Result { name: string; pkg: string; version?: string; variant: string; bytes?: number; coldMs?: number; medianMs?: number; minMs?: number; medianCpuMs?: number; maxRssMiB?: number; error?: string }

const median = (xs: number[]): number => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);

function versionOf(pkg: string): string | undefined {
  const dir = pkg === 'hyparquet-writer' ? root : MODULES;
  try {
    return (JSON.parse(readFileSync(path.join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

async function measure(c: Candidate): Promise<Result> {
  const base = { name: c.name, pkg: c.pkg, variant: c.variant, version: versionOf(c.pkg) };
  const rows = kollectRows(N);
  let enc: Encoder;
  const t0 = performance.now();
  try {
    enc = await c.load();
  } catch (err) {
    return { ...base, error: `not loadable from ${MODULES}: ${(err as Error).message.split('\n')[0]}` };
  }
  const first = await enc.encode(rows);
  const coldMs = performance.now() - t0;
  // Wall time and this process's CPU time (user + system, all threads): on a shared machine the
  // wall clock includes waiting for a core, the CPU time does not.
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const c0 = process.cpuUsage();
    await enc.encode(rows);
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t);
    cpu.push((c.user + c.system) / 1000);
  }
  return { ...base, bytes: first.byteLength, coldMs: Math.round(coldMs), medianMs: median(wall), minMs: Math.round(Math.min(...wall)), medianCpuMs: median(cpu),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) };
}

// ---------- main ----------
const child = arg('candidate', '');
if (child) {
  process.stdout.write(JSON.stringify(await measure(CANDIDATES[Number(child)]!)));
} else {
  const rows = kollectRows(N);
  const jsonl = rows.map((r) => JSON.stringify(canonical(r))).join('\n');
  const attrBytes = rows.reduce((s, r) => s + Buffer.byteLength(JSON.stringify(canonical(r.attributes))), 0);
  // The part every candidate shares (sort, canonical JSON of the attributes), timed alone.
  const { parquetColumns } = await import('../activities/sinks/parquet.js');
  const columnsCpuMs = median(Array.from({ length: RUNS }, () => { const c0 = process.cpuUsage(); parquetColumns(rows); const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; }));
  const reference = { jsonlBytes: Buffer.byteLength(jsonl), jsonlGzipBytes: gzipSync(jsonl).byteLength, attributesJsonBytes: attrBytes, columnsCpuMs };
  const results: Result[] = CANDIDATES.map((_, i) => JSON.parse(execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--candidate=${i}`, ...process.argv.slice(2)], { encoding: 'utf8', maxBuffer: 1 << 20 })) as Result);
  const kb = (b?: number) => (b === undefined ? '-' : `${(b / 1024).toFixed(0)} KiB`);
  process.stdout.write(`\n${N} rows, node ${process.version}; canonical JSON lines ${kb(reference.jsonlBytes)} (gzip ${kb(reference.jsonlGzipBytes)}), attributes alone ${kb(reference.attributesJsonBytes)}; rows to columns (shared by all) ${columnsCpuMs} ms cpu\n`);
  process.stdout.write(`${'writer'.padEnd(28)} ${'version'.padEnd(11)} ${'codec'.padEnd(7)} ${'size'.padStart(9)} ${'cold'.padStart(8)} ${'median'.padStart(8)} ${'min'.padStart(8)} ${'cpu'.padStart(8)} ${'peak rss'.padStart(9)}\n`);
  for (const r of results) {
    if (r.error) { process.stdout.write(`${r.name.padEnd(28)} ${(r.version ?? '-').padEnd(11)} ${r.variant.padEnd(7)} ${r.error}\n`); continue; }
    process.stdout.write(`${r.name.padEnd(28)} ${(r.version ?? '-').padEnd(11)} ${r.variant.padEnd(7)} ${kb(r.bytes).padStart(9)} ${`${r.coldMs} ms`.padStart(8)} ${`${r.medianMs} ms`.padStart(8)} ${`${r.minMs} ms`.padStart(8)} ${`${r.medianCpuMs} ms`.padStart(8)} ${`${r.maxRssMiB} MiB`.padStart(9)}\n`);
  }
  mkdirSync(path.join(root, 'bench-results'), { recursive: true });
  const file = path.join(root, 'bench-results', 'parquet.json');
  writeFileSync(file, JSON.stringify({ rows: N, runs: RUNS, node: process.version, date: new Date().toISOString(), reference, results }, null, 2));
  process.stdout.write(`wrote ${file}\n`);
}
