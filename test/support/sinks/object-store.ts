// Reads an object-store snapshot back as a reader would: the manifest first, then each row object
// it names, or (parquet) its base parts with its deltas applied in order, the algorithm
// docs/sinks/s3.md documents (shared by the s3 and gcs fixtures). Parquet files are read by
// pyarrow, an implementation independent of the writer.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import type { InventoryIdentity, SinkContext } from '../../../activities/sinks/types.js';
import {
  MANIFEST, inParallel, parseManifest, resolvePrefix, type Manifest, type ManifestPart, type ObjectStore, type ObjectStoreDriver, type ObjectStoreSpec,
} from '../../../activities/sinks/object-store.js';
import { readParquet } from '../parquet.js';
import type { HeldRow } from './fixture.js';

export async function readSnapshot<Spec extends ObjectStoreSpec>(driver: ObjectStoreDriver<Spec>, ctx: SinkContext<Spec>, inventory: InventoryIdentity): Promise<Map<string, HeldRow>> {
  try { return await read(driver, ctx, inventory); } finally { await driver.close(); }
}

async function read<Spec extends ObjectStoreSpec>(driver: ObjectStoreDriver<Spec>, ctx: SinkContext<Spec>, inventory: InventoryIdentity): Promise<Map<string, HeldRow>> {
  const store = driver.open(ctx);
  const prefix = resolvePrefix(driver.type, ctx.spec.pathTemplate, inventory);
  const manifest = parseManifest((await store.get(`${prefix}/${MANIFEST}`))?.body);
  if (manifest?.format === 'parquet') return readParts(store, prefix, manifest);
  const out = new Map<string, HeldRow>();
  if (!manifest) return out;
  await inParallel(Object.keys(manifest.rows), async (key) => {
    const obj = await store.get(`${prefix}/rows/${key}`);
    if (!obj) throw new Error(`manifest names ${key}, which is missing`);
    const doc = YAML.parse(obj.body.toString('utf8')) as { target: string; uid: string; attributes: Record<string, unknown> }; // JSON is YAML
    out.set(`${doc.target}/${doc.uid}`, { attributes: doc.attributes });
  }, 32);
  return out;
}

/** The rows of one part file (checked against the manifest's sha256), as pyarrow reads them. */
async function partRows(store: ObjectStore, prefix: string, part: ManifestPart): Promise<Record<string, string>[]> {
  const obj = await store.get(`${prefix}/${part.key}`);
  if (!obj) throw new Error(`manifest names ${part.key}, which is missing`);
  const sha = createHash('sha256').update(obj.body).digest('hex');
  if (sha !== part.sha256) throw new Error(`${part.key}: sha256 ${sha}, the manifest says ${part.sha256}`);
  const read = await readParquet(obj.body);
  if (read.numRows !== part.rows) throw new Error(`${part.key}: ${read.numRows} rows, the manifest says ${part.rows}`);
  return read.rows;
}

/** The documented reader: base parts' rows by `target/uid`; then per delta, in order, its deletes removed and its rows upserted. */
async function readParts(store: ObjectStore, prefix: string, m: Manifest): Promise<Map<string, HeldRow>> {
  const deltas = m.deltas ?? [];
  const files = [...m.base!.parts, ...deltas.flatMap((d) => d.parts)];
  const rows = new Map<string, Record<string, string>[]>();
  await inParallel(files, async (p) => { rows.set(p.key, await partRows(store, prefix, p)); }, 4);
  const out = new Map<string, HeldRow>();
  const upsert = (part: ManifestPart): void => {
    for (const r of rows.get(part.key)!) out.set(`${r.target}/${r.uid}`, { attributes: JSON.parse(r.attributes!) as Record<string, unknown> });
  };
  m.base!.parts.forEach(upsert);
  for (const d of deltas) {
    for (const k of d.deletes) out.delete(k);
    d.parts.forEach(upsert);
  }
  return out;
}
