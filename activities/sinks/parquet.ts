// Parquet encoding of a snapshot for the object-store sinks (`format: parquet`). One fixed, flat
// schema (PARQUET_COLUMNS) so a file loads as a table in DuckDB, pyarrow, Spark, BigQuery or
// Athena without a mapping: identity columns, the attributes as one canonical JSON string, the
// content hash and the version. Written by hyparquet-writer (pure JavaScript, no native code or
// WebAssembly); why that writer: docs/decisions/0013-parquet-writer.md.
import { parquetReadObjects } from 'hyparquet';
import { ByteWriter, parquetWrite, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import type { VersionedRow } from '../../api/rows.js';
import { canonical } from './serialize.js';

/** One column of a Kollect Parquet file. */
export interface ParquetColumn {
  readonly name: string;
  /** `string`: BYTE_ARRAY with the STRING (UTF8) annotation. `int64`: signed INT64. Every column is REQUIRED (never null). */
  readonly type: 'string' | 'int64';
  readonly description: string;
}

/**
 * The schema, in file order. Stable: a change to a name, type or meaning is a new
 * `kollect.schema` value in the file's key-value metadata (PARQUET_SCHEMA_VERSION).
 */
export const PARQUET_COLUMNS = [
  { name: 'cluster', type: 'string', description: 'Cluster the object was collected from (the inventory\'s cluster name).' },
  { name: 'target', type: 'string', description: 'KollectTarget that collected the object.' },
  { name: 'api_version', type: 'string', description: 'apiVersion of the object, e.g. apps/v1.' },
  { name: 'kind', type: 'string', description: 'Kind of the object, e.g. Deployment.' },
  { name: 'namespace', type: 'string', description: 'Namespace of the object; empty string for cluster-scoped objects.' },
  { name: 'name', type: 'string', description: 'metadata.name of the object.' },
  { name: 'uid', type: 'string', description: 'metadata.uid of the object.' },
  { name: 'attributes', type: 'string', description: 'Extracted attributes as canonical JSON (UTF-8, object keys sorted recursively, no whitespace); {} when there are none.' },
  { name: 'content_hash', type: 'string', description: 'sha256 hex of the row\'s identity and attributes: changes exactly when the row\'s content does.' },
  { name: 'snapshot_version', type: 'int64', description: 'Inventory snapshot version of the row\'s last change (grows within one lineage).' },
] as const satisfies readonly ParquetColumn[];

/** Value of the `kollect.schema` key in every file's key-value metadata. */
export const PARQUET_SCHEMA_VERSION = 'kollect.row/v1';

/** The compression codec of every column chunk (hyparquet-writer's built-in, pure-JS Snappy). */
export const PARQUET_CODEC = 'SNAPPY';

type StringColumn = Exclude<(typeof PARQUET_COLUMNS)[number], { type: 'int64' }>['name'];

/** PARQUET_COLUMNS as the Parquet schema elements the file's footer holds (root first). */
export const PARQUET_SCHEMA: readonly SchemaElement[] = [
  { name: 'root', num_children: PARQUET_COLUMNS.length },
  ...PARQUET_COLUMNS.map((c): SchemaElement => (c.type === 'string'
    ? { name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'REQUIRED' }
    : { name: c.name, type: 'INT64', repetition_type: 'REQUIRED' })),
];

// One row group up to this many rows: large enough for dictionaries and Snappy to pay off on the
// identity columns, small enough that a reader filtering on namespace or name skips whole groups.
const ROW_GROUP_ROWS = 10_000;

const byIdentity = (a: VersionedRow, b: VersionedRow): number => {
  for (const k of ['cluster', 'target', 'namespace', 'name', 'uid'] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return 0;
};

/** The values of each column of PARQUET_COLUMNS, rows sorted as encodeParquet writes them. */
export type ParquetColumnData = Record<StringColumn, string[]> & { snapshot_version: BigInt64Array };

/** Rows as columns: sorted by (cluster, target, namespace, name, uid) in code-unit order. */
export function parquetColumns(rows: readonly VersionedRow[]): ParquetColumnData {
  const sorted = [...rows].sort(byIdentity);
  const strings = (pick: (r: VersionedRow) => string): string[] => sorted.map(pick);
  return {
    cluster: strings((r) => r.cluster),
    target: strings((r) => r.target),
    api_version: strings((r) => r.apiVersion),
    kind: strings((r) => r.kind),
    namespace: strings((r) => r.namespace),
    name: strings((r) => r.name),
    uid: strings((r) => r.uid),
    attributes: strings((r) => JSON.stringify(canonical(r.attributes ?? {}))),
    content_hash: strings((r) => r.hash),
    snapshot_version: BigInt64Array.from(sorted, (r) => BigInt(r.version)),
  };
}

// hyparquet-writer calls flush() after each row group and awaits a returned promise: yielding
// there lets a large encode share the event loop (activity heartbeats, cancellation).
class YieldingWriter extends ByteWriter {
  flush(): Promise<void> {
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Encodes rows as one Parquet file (schema PARQUET_COLUMNS, codec PARQUET_CODEC). Rows are written
 * sorted by (cluster, target, namespace, name, uid) in code-unit order, so the same set of rows
 * yields the same bytes whatever order they came in: an unchanged snapshot rewrites an identical
 * object. Zero rows make a valid file with the schema and no row group.
 */
export async function encodeParquet(rows: readonly VersionedRow[]): Promise<Uint8Array> {
  const data = parquetColumns(rows);
  const columnData: ColumnSource[] = PARQUET_COLUMNS.map((c) => ({
    name: c.name,
    data: data[c.name],
    // Statistics on a JSON blob prune nothing; on the identity columns they let readers skip groups.
    statistics: c.name !== 'attributes',
  }));
  const writer = new YieldingWriter();
  await parquetWrite({
    writer, columnData, schema: [...PARQUET_SCHEMA], codec: PARQUET_CODEC, rowGroupSize: ROW_GROUP_ROWS,
    kvMetadata: [{ key: 'kollect.schema', value: PARQUET_SCHEMA_VERSION }],
  });
  // A copy of exactly the file: the writer's buffer grows by doubling, and a view into it would
  // keep up to twice the file alive and hand callers a `.buffer` larger than the file.
  return writer.getBytes().slice();
}

/**
 * The row keys (`target/uid`) a Kollect Parquet file holds, read from its `target` and `uid`
 * columns only (hyparquet, the reader hyparquet-writer is built on): what a sink needs to know
 * which rows it holds without decoding the attributes.
 */
export async function parquetKeys(bytes: Uint8Array): Promise<string[]> {
  const file = new Uint8Array(bytes).buffer; // a copy: exactly the file, in a plain ArrayBuffer
  const rows = await parquetReadObjects({ file, columns: ['target', 'uid'] });
  return rows.map((r) => `${String(r.target)}/${String(r.uid)}`);
}
