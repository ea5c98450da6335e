// encodeParquet's files as an independent reader (pyarrow) sees them: schema, metadata, codec and
// every value of every row, including unicode, empty and 100 KB attributes, and 10k rows across
// row groups. Needs the pyarrow venv (`bash test/harness/provision.sh pyarrow`); no servers.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import { encodeParquet, PARQUET_CODEC, PARQUET_COLUMNS, PARQUET_SCHEMA_VERSION } from '../../activities/sinks/parquet.js';
import { canonical } from '../../activities/sinks/serialize.js';
import { readParquet, type ParquetRead } from '../support/parquet.js';

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = {
    target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: `ns-${i % 7}`, name: `web-${i}`,
    uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, attributes: { replicas: i % 5, image: `nginx:1.${i}`, labels: { app: `web-${i}` } } as Record<string, unknown>,
    version: 1 + i, ...over,
  };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.uid, canonical(r.attributes)])).digest('hex') };
}

/** A row as the file must hold it (column name → value as pyarrow reports it). */
function expected(r: VersionedRow): Record<string, string> {
  return {
    cluster: r.cluster, target: r.target, api_version: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name, uid: r.uid,
    attributes: JSON.stringify(canonical(r.attributes ?? {})), content_hash: r.hash, snapshot_version: String(r.version),
  };
}

const identity = (r: Record<string, string>): string => [r.cluster, r.target, r.namespace, r.name, r.uid].join('\u0000');
const codeUnitOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The rows pyarrow read equal `rows`, value for value, in identity order. */
function expectRows(read: ParquetRead, rows: readonly VersionedRow[]): void {
  const want = rows.map(expected).sort((a, b) => codeUnitOrder(identity(a), identity(b)));
  expect(read.numRows).toBe(rows.length);
  expect(read.rows.length).toBe(rows.length);
  for (let i = 0; i < want.length; i++) {
    // One row at a time: a failure names the row instead of diffing 10k of them.
    expect(read.rows[i], `row ${i}`).toEqual(want[i]);
  }
}

describe('encodeParquet, read back by pyarrow', () => {
  it('writes the documented schema, the schema version and the codec', async () => {
    const read = await readParquet(await encodeParquet([row(1)]));
    expect(read.schema).toEqual(PARQUET_COLUMNS.map((c) => ({ name: c.name, type: c.type, nullable: false })));
    expect(read.metadata).toEqual({ 'kollect.schema': PARQUET_SCHEMA_VERSION });
    expect(read.codecs).toEqual([PARQUET_CODEC]);
    expectRows(read, [row(1)]);
  });

  it('keeps unicode, empty and cluster-scoped values exactly, and stores attributes as canonical JSON', async () => {
    const rows = [
      row(1, { namespace: '', kind: 'Namespace', apiVersion: 'v1', name: 'kube-system', attributes: {} }),
      row(2, { attributes: { 'zé': 'ünïcödé', emoji: '🎉👩🏽‍💻', cjk: '漢字かなカナ한국어', rtl: 'שלום مرحبا', combining: 'e\u0301', nul: 'a\u0000b', ls: '\u2028\u2029', bom: '\ufeff', quote: '"\\' } }),
      row(3, { name: 'named-😀-ü', cluster: 'クラスタ', target: 'tärget' }),
      row(4, { attributes: { b: { d: [3, { z: 1, a: 2 }], c: null }, a: [true, false, 0, -1.5, 1e21, ''] } }),
      row(5, { attributes: undefined as unknown as Record<string, unknown> }),
      row(6, { version: Number.MAX_SAFE_INTEGER }),
    ];
    const read = await readParquet(await encodeParquet(rows));
    expectRows(read, rows);
    const byUid = new Map(read.rows.map((r) => [r.uid, r]));
    // Parsed back, the JSON is the attributes; keys come out sorted at every level.
    for (const r of rows) expect(JSON.parse(byUid.get(r.uid)!.attributes!)).toEqual(r.attributes ?? {});
    expect(byUid.get(rows[3]!.uid)!.attributes).toBe('{"a":[true,false,0,-1.5,1e+21,""],"b":{"c":null,"d":[3,{"a":2,"z":1}]}}');
    expect(byUid.get(rows[0]!.uid)!.attributes).toBe('{}');
    expect(byUid.get(rows[4]!.uid)!.attributes).toBe('{}');
    expect(byUid.get(rows[5]!.uid)!.snapshot_version).toBe('9007199254740991');
  });

  it('writes 100 KB attributes whole (3 MB in one column chunk, over several pages)', async () => {
    const big = (i: number) => ({ blob: `${i}:${'x€😀'.repeat(12_800)}`, list: Array.from({ length: 200 }, (_, j) => `item-${i}-${j}`) });
    const rows = Array.from({ length: 30 }, (_, i) => row(i, { attributes: big(i) }));
    expect(Buffer.byteLength(JSON.stringify(canonical(rows[0]!.attributes)))).toBeGreaterThan(100_000);
    expectRows(await readParquet(await encodeParquet(rows)), rows);
  });

  it('writes 10k rows in identity order across row groups, the same bytes whatever the input order', async () => {
    const rows = Array.from({ length: 10_001 }, (_, i) => row(i, { target: i % 3 ? 'deployments' : 'pods' }));
    const bytes = await encodeParquet(rows);
    const read = await readParquet(bytes);
    expect(read.rowGroups).toBe(2);
    expectRows(read, rows);
    const shuffled = [...rows].reverse();
    shuffled.push(shuffled.splice(4_000, 1)[0]!);
    expect(Buffer.from(await encodeParquet(shuffled)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('writes a valid file with the schema and no rows for an empty snapshot', async () => {
    const read = await readParquet(await encodeParquet([]));
    expect(read.numRows).toBe(0);
    expect(read.rowGroups).toBe(0);
    expect(read.schema.map((f) => f.name)).toEqual(PARQUET_COLUMNS.map((c) => c.name));
    expect(read.metadata['kollect.schema']).toBe(PARQUET_SCHEMA_VERSION);
  });
});
