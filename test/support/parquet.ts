// Reads a Parquet file with an independent reader, pyarrow (Arrow's C++ implementation), from the
// venv test/harness/provision.sh builds (`provision.sh pyarrow`). Throws when it is not provisioned:
// a Parquet test must never pass without a second implementation having read the bytes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tools } from '../harness/tools.js';

/** What pyarrow saw in a file. */
export interface ParquetRead {
  /** Arrow schema: field name, Arrow type (`string`, `int64`, …) and nullability, in file order. */
  schema: { name: string; type: string; nullable: boolean }[];
  /** The file's key-value metadata. */
  metadata: Record<string, string>;
  numRows: number;
  rowGroups: number;
  /** Compression codecs of all column chunks (distinct, sorted). */
  codecs: string[];
  createdBy: string;
  /** The rows, column name → value; int64 values as decimal strings (no precision lost on the way). */
  rows: Record<string, string>[];
}

// ensure_ascii: every non-ASCII character travels as a \u escape, so nothing depends on the pipe's
// encoding; a lone surrogate in the file would have failed pyarrow's UTF-8 decode before this.
const SCRIPT = `
import json, sys
import pyarrow.parquet as pq
f = pq.ParquetFile(sys.argv[1])
md = f.metadata
t = f.read()
cols = {name: [str(v) if isinstance(v, int) else v for v in t.column(name).to_pylist()] for name in t.column_names}
json.dump({
  "schema": [{"name": x.name, "type": str(x.type), "nullable": x.nullable} for x in t.schema],
  "metadata": {k.decode(): v.decode() for k, v in (md.metadata or {}).items()},
  "numRows": md.num_rows,
  "rowGroups": md.num_row_groups,
  "codecs": sorted({md.row_group(g).column(c).compression for g in range(md.num_row_groups) for c in range(md.num_columns)}),
  "createdBy": md.created_by,
  "rows": [{name: cols[name][i] for name in t.column_names} for i in range(t.num_rows)],
}, sys.stdout, ensure_ascii=True)
`;

export async function readParquet(bytes: Uint8Array): Promise<ParquetRead> {
  const python = tools.pyarrowPython();
  const dir = await mkdtemp(path.join(tmpdir(), 'kollect-parquet-'));
  try {
    const file = path.join(dir, 'rows.parquet');
    await writeFile(file, bytes);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(python, ['-c', SCRIPT, file], { maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`pyarrow could not read the file: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
    return JSON.parse(out) as ParquetRead;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
