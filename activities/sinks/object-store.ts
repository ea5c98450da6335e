// Snapshots in an object store, shared by the s3 and gcs sink types (KollectSnapshotSink). Each
// type supplies an ObjectStore (put/get/list/delete, conditional put) for its client; this module
// owns the layout, the watermark and the full/delta rules (docs/decisions/0012):
//
//   <prefix>/manifest.json                 the watermark and the reader's entry point, written LAST
//   <prefix>/rows/<target>/<uid>.<ext>     one object per row (json or yaml)
//   <prefix>/parquet/<dir>/*.parquet       part files (parquet): base parts and delta parts
//
// The manifest lists every row object with its row hash and the store's tag (S3 ETag, GCS
// generation) of the write that produced it, or (parquet) the base parts and the ordered deltas.
// Objects are written before the manifest that names them, and an object a manifest stops naming
// is kept for `retireAfterMs` more (listed under `retired` or `retiredParts`) before it is
// deleted, so a reader that starts from a manifest finds every object it names. A full reconcile
// compares the listed tags with the manifest's to find objects edited or deleted behind Kollect's
// back, and rewrites exactly those.
import { createHash } from 'node:crypto';
import { rowKey, type VersionedRow } from '../../api/rows.js';
import type { SerializationFormat } from '../../api/types.js';
import { pathSegment } from './git-layout.js';
import { PARQUET_COLUMNS, PARQUET_SCHEMA_VERSION, encodeParquet, parquetColumns, parquetKeys } from './parquet.js';
import { rowDocument, serialize } from './serialize.js';
import { KeyedQueue } from './keyed-queue.js';
import {
  Rejections, SinkConfigError, checkDeleteGuard, decideWatermark, skipped,
  type ExportInput, type ExportReply, type InventoryIdentity, type ProbeResult, type SinkBackend, type SinkContext, type Watermark,
} from './types.js';

/** An object as a listing shows it: its key and its tag (changes whenever anyone rewrites it). */
export interface StoredObject { key: string; tag: string }

export interface PutOptions {
  contentType: string;
  /** Write only if the object's current tag is this one; `null`: only if it does not exist. */
  ifTag?: string | null;
}

/** A conditional put lost: someone wrote the object since it was read (a concurrent export). */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailed';
  readonly code = 'precondition-failed';
}

/** What the snapshot logic needs of a bucket; s3.ts and gcs.ts implement it over their clients. */
export interface ObjectStore {
  /** Makes sure the bucket exists (creating it when `create`); a one-line detail of what was found. */
  ensureBucket(create: boolean): Promise<string>;
  get(key: string): Promise<{ body: Buffer; tag: string } | undefined>;
  /** Writes the object and returns its new tag; PreconditionFailedError when `ifTag` does not hold. */
  put(key: string, body: Uint8Array | string, opts: PutOptions): Promise<string>;
  /** Every object under `prefix`, a page at a time. */
  list(prefix: string): AsyncIterable<StoredObject[]>;
  /** Deletes the objects; a key already gone is not an error. */
  delete(keys: readonly string[]): Promise<void>;
}

/** What an s3 or gcs type plugs into the shared backend. */
export interface ObjectStoreDriver<Spec> {
  readonly type: 's3' | 'gcs';
  /** The store for this context (cached per endpoint, bucket, credentials and CA). Throws SinkConfigError on bad settings. */
  open(ctx: SinkContext<Spec>): ObjectStore;
  /** `<endpoint>/<bucket>` for messages and status.preview: no credentials. */
  describe(spec: Spec): string;
  close(): Promise<void>;
}

/** Fields every object-store spec block has. */
export interface ObjectStoreSpec { bucket: string; pathTemplate?: string }

/** Formats written as one object per row. */
export type RowObjectFormat = 'json' | 'yaml';
/** Every format of the object-store sinks: json (the default) and yaml as row objects, parquet as part files. */
export type ObjectFormat = RowObjectFormat | 'parquet';
export const OBJECT_FORMATS: readonly ObjectFormat[] = ['json', 'yaml', 'parquet'];
const CONTENT_TYPES: Record<ObjectFormat, string> = { json: 'application/json', yaml: 'application/yaml', parquet: 'application/vnd.apache.parquet' };

const DEFAULT_PART_ROWS = 20_000;
const DEFAULT_MAX_DELTAS = 50;

export const DEFAULT_PATH_TEMPLATE = 'kollect/{cluster}/{namespace}/{inventory}';
export const MANIFEST = 'manifest.json';
/** Identifies the manifest's schema; a reader should refuse another. */
export const MANIFEST_SCHEMA = 'kollect.dev/object-snapshot/v1';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * The key prefix of an inventory's snapshot: spec.<type>.pathTemplate with {cluster},
 * {namespace} and {inventory} filled in (each value made one safe segment). All three must be
 * present: the prefix is the inventory's identity in the bucket, and two inventories or clusters
 * sharing one would delete each other's rows.
 */
export function resolvePrefix(type: string, template: string | undefined, inv: InventoryIdentity): string {
  const field = `spec.${type}.pathTemplate`;
  const t = template ?? DEFAULT_PATH_TEMPLATE;
  if (t.trim() === '') throw new SinkConfigError(field, 'must not be empty');
  if (CONTROL.test(t)) throw new SinkConfigError(field, 'must not contain control characters');
  if (t.startsWith('/')) throw new SinkConfigError(field, `must be relative (no leading /): ${JSON.stringify(t)}`);
  for (const p of ['{cluster}', '{namespace}', '{inventory}']) {
    if (!t.includes(p)) throw new SinkConfigError(field, `must contain ${p} (e.g. ${DEFAULT_PATH_TEMPLATE}), so no two inventories or clusters share a prefix`);
  }
  const unknown = /\{(?!(?:cluster|namespace|inventory)\})[^}]*\}/.exec(t);
  if (unknown) throw new SinkConfigError(field, `unknown placeholder ${unknown[0]} (known: {cluster}, {namespace}, {inventory})`);
  const segments = t.split('/').filter((s) => s !== '');
  for (const s of segments) if (s === '.' || s === '..') throw new SinkConfigError(field, `must not contain a "${s}" segment`);
  const values: Record<string, string> = { cluster: inv.cluster, namespace: inv.namespace, inventory: inv.name };
  return segments.map((s) => s.replace(/\{(cluster|namespace|inventory)\}/g, (_m, k: string) => pathSegment(values[k]!))).join('/');
}

/** The part of a path template before its first placeholder: what every inventory's prefix starts with. */
const staticPrefix = (template: string | undefined): string => (template ?? DEFAULT_PATH_TEMPLATE).split('{')[0]!;

/** A row object's key below `<prefix>/rows/`: `<target>/<uid>.<ext>`. */
export const rowObject = (r: { target: string; uid: string }, format: RowObjectFormat): string => `${pathSegment(r.target)}/${pathSegment(r.uid)}.${format}`;

/**
 * The bodies of a page of rows in `format`, one per row, in order: the one place row objects
 * become bytes. (Parquet encodes a whole part file instead: encodeParquet, ADR 0012.)
 */
export function encodeRows(format: RowObjectFormat, rows: readonly VersionedRow[]): string[] {
  return rows.map((row) => serialize(rowDocument(row), format));
}

/** `[row hash (first 16 hex), tag]` of one row object. */
type RowRecord = [hash: string, tag: string];

/**
 * A Parquet file of the snapshot. `key` is below `<prefix>/`; `sha256` is of the file's bytes. A
 * part is immutable: no export writes other bytes under a key a manifest names.
 */
export interface ManifestPart { key: string; rows: number; sha256: string; tag: string }
/** A base part holds rows of one target: its `n`-th part is the n-th of that target in `base.parts`. */
export interface BasePart extends ManifestPart { target: string }
/** The base of a parquet snapshot: the parts a full export wrote, and the directory its deltas go to. */
export interface ManifestBase { version: number; dir: string; parts: BasePart[] }
/** One delta export of a parquet snapshot: its changed rows (0 or 1 part) and the keys (`target/uid`) it deleted. */
export interface ManifestDelta { version: number; parts: ManifestPart[]; deletes: string[] }

/** manifest.json: the watermark, the counts, and the row objects or parts of the snapshot (the reader's entry point). */
export interface Manifest {
  schema: typeof MANIFEST_SCHEMA;
  inventory: { namespace: string; name: string };
  cluster: string;
  lineage: string;
  version: number;
  exportId: string;
  generatedAt: string;
  format: ObjectFormat;
  rowCount: number;
  targets: Record<string, number>;
  /** Row objects below `<prefix>/rows/`, by key: `[hash, tag]`. Exactly the snapshot. */
  rows: Record<string, RowRecord>;
  /** Objects below `<prefix>/rows/` no longer in the snapshot, with when they left; deleted after the grace period. */
  retired: Record<string, string>;
  /** format parquet: the base parts; the snapshot is they with `deltas` applied in order. */
  base?: ManifestBase;
  /** format parquet: the deltas since the base, oldest first. */
  deltas?: ManifestDelta[];
  /** Part files (keys below `<prefix>/`) no longer in the snapshot, with when they left; present when not empty, and always with parquet. */
  retiredParts?: Record<string, string>;
}

const shortHash = (h: string): string => h.slice(0, 16);

export function parseManifest(body: Buffer | undefined): Manifest | undefined {
  if (!body) return undefined;
  try {
    const m = JSON.parse(body.toString('utf8')) as Partial<Manifest>;
    if (m.schema !== MANIFEST_SCHEMA || typeof m.lineage !== 'string' || typeof m.version !== 'number' || !OBJECT_FORMATS.includes(m.format as ObjectFormat)) return undefined;
    if (m.format === 'parquet' && (typeof m.base !== 'object' || !Array.isArray(m.base.parts))) return undefined;
    return { ...m, rows: m.rows ?? {}, retired: m.retired ?? {}, ...(m.format === 'parquet' ? { deltas: m.deltas ?? [] } : {}) } as Manifest;
  } catch { return undefined; }
}

export interface ObjectStoreBackendOptions {
  /**
   * How long an object stays after the manifest stopped naming it (default 10 min): the time a
   * reader that read the previous manifest has to fetch its objects. 0 deletes right after the
   * manifest moved.
   */
  retireAfterMs?: number;
  /** Requests in flight per export (default 32). */
  concurrency?: number;
  /** format parquet: rows per part file (default 20,000), so per target the rows an export holds in memory at most. */
  parquetPartRows?: number;
  /**
   * format parquet: deltas a manifest may list (default 50). A delta that would make more, or
   * whose rows with the listed deltas' would outnumber the base's, is answered `needsFull`: the
   * full reconcile that follows writes fresh base parts (compaction).
   */
  parquetMaxDeltas?: number;
  /** Test seam: runs after the row objects are written, before the manifest is. */
  beforeManifest?: () => Promise<void>;
}

/** Counters of one export, for the reply and the log. */
interface Applied { written: number; removed: number; foreign: number; purged: number; changed: boolean }

export class ObjectStoreBackend<Spec extends ObjectStoreSpec> implements SinkBackend<Spec> {
  readonly kind = 'KollectSnapshotSink' as const;
  readonly type: 's3' | 'gcs';
  /** One export at a time per (store, prefix): a second export of an inventory waits for the first. */
  private readonly queues = new KeyedQueue();

  constructor(private readonly driver: ObjectStoreDriver<Spec>, private readonly opts: ObjectStoreBackendOptions = {}) {
    this.type = driver.type;
  }

  async export(input: ExportInput, ctx: SinkContext<Spec>): Promise<ExportReply> {
    const format = objectFormat(ctx.format, this.type);
    const prefix = resolvePrefix(this.type, ctx.spec.pathTemplate, input.inventory);
    const store = this.driver.open(ctx);
    await store.ensureBucket(ctx.create !== false);
    return this.queues.run(`${this.context(ctx.spec)}\0${prefix}`, () => this.exportLocked(store, prefix, format, input, ctx));
  }

  async probe(ctx: SinkContext<Spec>): Promise<ProbeResult> {
    objectFormat(ctx.format, this.type);
    resolvePrefix(this.type, ctx.spec.pathTemplate, { cluster: 'c', namespace: 'n', name: 'i' });
    const store = this.driver.open(ctx);
    const found = await store.ensureBucket(ctx.create !== false);
    // A listing proves the credentials may read the bucket, not only see that it exists.
    for await (const page of store.list(staticPrefix(ctx.spec.pathTemplate))) { void page; break; }
    return { detail: `${found} (${this.context(ctx.spec)})` };
  }

  async close(): Promise<void> {
    await this.queues.idle();
    await this.driver.close();
  }

  private context(spec: Spec | undefined): string {
    return `${this.type} ${spec && typeof spec.bucket === 'string' ? this.driver.describe(spec) : '(no bucket)'}`;
  }


  private async exportLocked(store: ObjectStore, prefix: string, format: ObjectFormat, input: ExportInput, ctx: SinkContext<Spec>): Promise<ExportReply> {
    const t0 = Date.now();
    const found = await store.get(`${prefix}/${MANIFEST}`);
    const stored = parseManifest(found?.body);
    const watermark: Watermark | undefined = stored && { lineage: stored.lineage, version: stored.version };
    const d = decideWatermark(watermark, input.plan);
    // A delta patches the rows the manifest names; rows in another format need a full rewrite.
    const formatChanged = stored !== undefined && stored.format !== format;
    if (d.action !== 'apply' || (input.plan.mode === 'delta' && formatChanged)) {
      const stop = d.action === 'apply' ? { action: 'needsFull' as const } : d;
      ctx.log(`sink.${this.type}.export`, { prefix, result: stop.action, ms: Date.now() - t0 });
      return skipped(stop, watermark);
    }
    const compact = input.plan.mode === 'delta' && stored?.format === 'parquet' ? compactionDue(stored, input, this.opts) : undefined;
    if (compact) {
      ctx.log(`sink.${this.type}.export`, { prefix, result: 'needsFull', compact, ms: Date.now() - t0 });
      return { ...skipped({ action: 'needsFull' }, watermark), detail: `${compact}: full reconcile needed to compact` };
    }
    const run = new SnapshotWrite(store, prefix, format, input, stored, this.opts);
    const applied = input.plan.mode === 'full' ? await run.full() : await run.delta();
    if (!applied.changed) {
      ctx.log(`sink.${this.type}.export`, { prefix, result: 'no change', ms: Date.now() - t0 });
      return { outcome: 'applied', rowsExported: input.plan.rowCount, upserts: 0, deletes: 0, detail: 'no change', rejected: run.rejected.summary() };
    }
    await this.opts.beforeManifest?.();
    // A cancelled attempt (timed out, heartbeat lost) must not move the watermark over a newer export.
    ctx.signal?.throwIfAborted();
    await store.put(`${prefix}/${MANIFEST}`, `${JSON.stringify(run.manifest(input))}\n`, { contentType: CONTENT_TYPES.json, ifTag: found?.tag ?? null });
    await run.purge();
    const detail = `${input.plan.mode} v${input.plan.version}: wrote ${applied.written}, removed ${applied.removed}${applied.foreign ? `, deleted ${applied.foreign} foreign` : ''}`;
    ctx.log(`sink.${this.type}.export`, { prefix, mode: input.plan.mode, ...applied, ms: Date.now() - t0 });
    return { outcome: 'applied', rowsExported: input.plan.rowCount, upserts: applied.written, deletes: applied.removed, detail, rejected: run.rejected.summary() };
  }
}

/** Why a delta on this parquet snapshot should be a full reconcile instead (docs/decisions/0012), or undefined. */
function compactionDue(stored: Manifest, input: ExportInput, opts: ObjectStoreBackendOptions): string | undefined {
  const deltas = stored.deltas ?? [];
  const maxDeltas = opts.parquetMaxDeltas ?? DEFAULT_MAX_DELTAS;
  if (deltas.length >= maxDeltas) return `${deltas.length} deltas listed (at most ${maxDeltas})`;
  // A delta is one part: one that would not fit is cheaper as the full reconcile it is close to.
  const partRows = opts.parquetPartRows ?? DEFAULT_PART_ROWS;
  if (input.upsertCount > partRows) return `${input.upsertCount} changed rows (a part holds ${partRows})`;
  const sum = (xs: readonly { rows: number }[]): number => xs.reduce((n, x) => n + x.rows, 0);
  const baseRows = sum(stored.base?.parts ?? []);
  const deltaRows = deltas.reduce((n, d) => n + sum(d.parts) + d.deletes.length, 0) + input.upsertCount + input.deletes.length;
  if (deltaRows > baseRows) return `delta rows (${deltaRows}) would outnumber the base's (${baseRows})`;
  return undefined;
}

/** The format a sink writes: spec.format, default json. */
function objectFormat(format: SerializationFormat | undefined, type: string): ObjectFormat {
  const f = format ?? 'json';
  if (!(OBJECT_FORMATS as readonly string[]).includes(f)) throw new SinkConfigError('spec.format', `${f} is not written by sink type ${type} (it writes ${OBJECT_FORMATS.join(', ')})`);
  return f;
}

/** What one layout's full or delta changed: rows written and removed, and objects touched (0: maybe nothing to write). */
interface Changes { written: number; removed: number; touched: number }

/**
 * One export's changes to a snapshot: the row objects or part files it writes, what it retires
 * and the objects it deletes after the manifest moved. Holds keys and tags, and (parquet) at most
 * one part's rows per target.
 */
class SnapshotWrite {
  private readonly rowsDir: string;
  private readonly rows: Map<string, RowRecord>;
  private readonly retired: Map<string, string>;
  private readonly retiredParts: Map<string, string>;
  private base: ManifestBase | undefined;
  private readonly deltas: ManifestDelta[];
  /** Objects (whole keys) to delete once the new manifest is written: foreign ones and expired retirees. */
  private readonly doomed: string[] = [];
  private readonly now = new Date();
  /** Rows the format's writer could not render (poison rows): refused, their earlier object retired. */
  readonly rejected = new Rejections();
  private poisonRetired = 0;

  constructor(
    private readonly store: ObjectStore, private readonly prefix: string, private readonly format: ObjectFormat, private readonly input: ExportInput,
    private readonly stored: Manifest | undefined, private readonly opts: ObjectStoreBackendOptions,
  ) {
    this.rowsDir = `${prefix}/rows/`;
    const same = stored?.format === format;
    this.rows = new Map(same ? Object.entries(stored.rows) : []);
    this.retired = new Map(Object.entries(stored?.retired ?? {}));
    this.retiredParts = new Map(Object.entries(stored?.retiredParts ?? {}));
    this.base = same ? stored.base : undefined;
    this.deltas = same ? [...(stored.deltas ?? [])] : [];
    // Objects of another format stay readable through the old manifest for the grace period.
    if (stored && !same) {
      for (const k of Object.keys(stored.rows)) this.retired.set(k, this.now.toISOString());
      for (const k of partKeys(stored.base, stored.deltas)) this.retiredParts.set(k, this.now.toISOString());
    }
  }

  /**
   * Makes the snapshot exactly the plan's rows (row objects or base parts), retires what left it,
   * and dooms objects under `rows/` and `parquet/` that no manifest names.
   */
  async full(): Promise<Applied> {
    const listedRows = await this.listed(this.rowsDir);
    const listedParts = await this.listed(`${this.prefix}/parquet/`, `${this.prefix}/`);
    const c = this.format === 'parquet' ? await this.fullParts(listedParts) : await this.fullRows(listedRows, this.format);
    // Objects no manifest names (written behind Kollect's back, or by an attempt that never wrote its manifest).
    let foreign = 0;
    for (const k of listedRows.keys()) if (!this.rows.has(k) && !this.retired.has(k)) { this.doomed.push(`${this.rowsDir}${k}`); foreign++; }
    const named = new Set(partKeys(this.base, this.deltas));
    for (const k of listedParts.keys()) if (!named.has(k) && !this.retiredParts.has(k)) { this.doomed.push(`${this.prefix}/${k}`); foreign++; }
    const purged = this.expire();
    return { written: c.written, removed: c.removed, foreign, purged, changed: this.changed(c.touched + foreign + purged + this.poisonRetired) };
  }

  /** Applies the delta's upserts and deletes; touches only those rows (row objects), or adds one delta (parquet). */
  async delta(): Promise<Applied> {
    const c = this.format === 'parquet' ? await this.deltaParts() : await this.deltaRows(this.format);
    const purged = this.expire();
    return { written: c.written, removed: c.removed, foreign: 0, purged, changed: this.changed(c.touched + purged + this.poisonRetired) };
  }

  /** The new manifest: this export's watermark and counts, and the rows or parts as they now stand. */
  manifest(input: ExportInput): Manifest {
    const sorted = <T>(m: Map<string, T>): Record<string, T> => Object.fromEntries([...m.entries()].sort(([a], [b]) => codeUnitOrder(a, b)));
    const parquet = this.format === 'parquet';
    return {
      schema: MANIFEST_SCHEMA, inventory: { namespace: input.inventory.namespace, name: input.inventory.name }, cluster: input.inventory.cluster,
      lineage: input.plan.lineage, version: input.plan.version, exportId: input.exportId, generatedAt: this.now.toISOString(), format: this.format,
      rowCount: input.plan.rowCount, targets: Object.fromEntries(Object.keys(input.plan.targetCounts).sort().map((t) => [t, input.plan.targetCounts[t]!])),
      rows: sorted(this.rows), retired: sorted(this.retired),
      ...(parquet ? { base: this.base, deltas: this.deltas } : {}),
      ...(parquet || this.retiredParts.size ? { retiredParts: sorted(this.retiredParts) } : {}),
    };
  }

  /** Deletes what no manifest names any more: run only after the new manifest is written. */
  async purge(): Promise<void> {
    if (this.doomed.length) await this.store.delete(this.doomed);
  }

  /** Every object under `dir`, by key without `strip`, with its tag. */
  private async listed(dir: string, strip = dir): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for await (const page of this.store.list(dir)) for (const o of page) out.set(o.key.slice(strip.length), o.tag);
    return out;
  }

  /**
   * Row objects: skips (without reading their bodies) rows whose object still carries the tag the
   * manifest recorded for this hash, writes the rest, retires rows that left the snapshot.
   */
  private async fullRows(listed: ReadonlyMap<string, string>, format: RowObjectFormat): Promise<Changes> {
    const keep = new Set([...this.input.keep].map((k) => rowObject(splitKey(k), format)));
    const held = this.stored ? [...this.rows.keys()] : [...listed.keys()];
    const leaving = held.filter((k) => !keep.has(k));
    checkDeleteGuard(this.input, leaving.length, held.length);
    const unchanged = (key: string, hash: string): boolean => {
      const r = this.rows.get(key);
      return r !== undefined && r[0] === shortHash(hash) && listed.get(key) === r[1];
    };
    let written = 0;
    for await (const page of this.input.upserts((e) => !unchanged(rowObject(e, format), e.hash))) written += await this.writeRows(page, format);
    for (const k of leaving) this.retireRow(k);
    return { written, removed: leaving.length, touched: written + leaving.length };
  }

  /**
   * Parquet: streams every row into per-target part files of at most `parquetPartRows` rows (a
   * target's buffer is flushed as soon as it is full), then retires every part of the previous
   * base and deltas that the new base does not reuse. A part whose bytes equal the previous base's
   * part at the same place keeps its key and tag, and is only rewritten (same bytes, same key)
   * when the listing shows it deleted or edited; any other part goes to a fresh directory.
   */
  private async fullParts(listed: ReadonlyMap<string, string>): Promise<Changes> {
    const { leaving, held } = await this.leavingRows();
    checkDeleteGuard(this.input, leaving, held);
    const partRows = this.opts.parquetPartRows ?? DEFAULT_PART_ROWS;
    const previous = new Map<string, BasePart[]>();
    for (const p of this.base?.parts ?? []) previous.set(p.target, [...(previous.get(p.target) ?? []), p]);
    const dir = freshDir(this.stored, this.input.plan.version);
    const parts: BasePart[] = [];
    const counts = new Map<string, number>();
    let written = 0;
    let writes = 0;
    const flush = async (target: string, rows: readonly VersionedRow[]): Promise<void> => {
      const n = counts.get(target) ?? 0;
      counts.set(target, n + 1);
      const bytes = await encodeParquet(rows);
      const sha256 = sha256Hex(bytes);
      const old = previous.get(target)?.[n];
      if (old?.sha256 === sha256 && listed.get(old.key) === old.tag) { parts.push(old); return; }
      // The same bytes may go back under the key a manifest names (a repair); other bytes never do.
      const key = old?.sha256 === sha256 ? old.key : `${dir}/${pathSegment(target)}-${n}.parquet`;
      parts.push({ key, target, rows: rows.length, sha256, tag: await this.putPart(key, bytes) });
      written += rows.length;
      writes++;
    };
    const buffers = new Map<string, VersionedRow[]>();
    for await (const page of this.input.upserts()) {
      for (const row of page) {
        const buf = buffers.get(row.target) ?? [];
        buffers.set(row.target, buf);
        buf.push(row);
        if (buf.length >= partRows) { buffers.delete(row.target); await flush(row.target, buf); }
      }
    }
    for (const t of [...buffers.keys()].sort(codeUnitOrder)) await flush(t, buffers.get(t)!);
    parts.sort((a, b) => codeUnitOrder(a.target, b.target)); // stable: each target's parts stay in order
    const kept = new Set(parts.map((p) => p.key));
    const dropped = partKeys(this.base, this.deltas).filter((k) => !kept.has(k));
    for (const k of dropped) this.retiredParts.set(k, this.now.toISOString());
    const compacted = this.deltas.length;
    this.base = { version: this.input.plan.version, dir, parts };
    this.deltas.length = 0;
    return { written, removed: leaving, touched: writes + dropped.length + compacted };
  }

  /**
   * How many rows the stored snapshot holds and how many of them the plan drops: for the delete
   * guard and the reply. A parquet snapshot is read back (the target and uid columns of its parts);
   * a part missing or edited in the store counts for nothing: its rows are about to be rewritten.
   */
  private async leavingRows(): Promise<{ leaving: number; held: number }> {
    const s = this.stored;
    if (!s) return { leaving: 0, held: 0 };
    const format = s.format;
    if (format !== 'parquet') {
      const keep = new Set([...this.input.keep].map((k) => rowObject(splitKey(k), format)));
      const held = Object.keys(s.rows);
      return { leaving: held.filter((k) => !keep.has(k)).length, held: held.length };
    }
    const read = async (p: ManifestPart): Promise<string[]> => {
      const o = await this.store.get(`${this.prefix}/${p.key}`);
      return o && sha256Hex(o.body) === p.sha256 ? parquetKeys(o.body) : [];
    };
    const held = new Set<string>();
    await inParallel(s.base?.parts ?? [], async (p) => { for (const k of await read(p)) held.add(k); }, 4);
    for (const d of s.deltas ?? []) {
      for (const k of d.deletes) held.delete(k);
      for (const p of d.parts) for (const k of await read(p)) held.add(k);
    }
    let leaving = 0;
    for (const k of held) if (!this.input.keep.has(k)) leaving++;
    return { leaving, held: held.size };
  }

  /** Row objects: writes the upserts, retires the deletes' objects. */
  private async deltaRows(format: RowObjectFormat): Promise<Changes> {
    const gone = this.input.deletes.map((t) => rowObject(t, format)).filter((k) => this.rows.has(k));
    checkDeleteGuard(this.input, this.input.deletes.length, this.rows.size);
    let written = 0;
    for await (const page of this.input.upserts()) written += await this.writeRows(page, format);
    for (const k of gone) this.retireRow(k);
    return { written, removed: gone.length, touched: written + gone.length };
  }

  /**
   * Parquet: the upserts as one delta part in the base's directory (all targets; compactionDue
   * sends larger deltas to a full reconcile, so this is at most one part's rows), and the deleted
   * keys, as the manifest's next delta.
   */
  private async deltaParts(): Promise<Changes> {
    const base = this.base!; // a parquet manifest always has one; a delta over another format is a full (exportLocked)
    checkDeleteGuard(this.input, this.input.deletes.length, this.stored?.rowCount ?? 0);
    const rows: VersionedRow[] = [];
    for await (const page of this.input.upserts()) rows.push(...page);
    const parts: ManifestPart[] = [];
    if (rows.length) {
      const key = `${base.dir}/delta-v${this.input.plan.version}.parquet`;
      const bytes = await encodeParquet(rows);
      parts.push({ key, rows: rows.length, sha256: sha256Hex(bytes), tag: await this.putPart(key, bytes) });
    }
    const deletes = this.input.deletes.map(rowKey);
    if (parts.length || deletes.length) this.deltas.push({ version: this.input.plan.version, parts, deletes });
    return { written: rows.length, removed: deletes.length, touched: parts.length + deletes.length };
  }

  private putPart(key: string, bytes: Uint8Array): Promise<string> {
    return this.store.put(`${this.prefix}/${key}`, bytes, { contentType: CONTENT_TYPES.parquet });
  }

  private async writeRows(page: readonly VersionedRow[], format: RowObjectFormat): Promise<number> {
    const ok: (readonly [VersionedRow, string])[] = [];
    for (const row of page) {
      try {
        ok.push([row, encodeRows(format, [row])[0]!]);
      } catch (err) {
        // A poison row: refused alone; its earlier object leaves the snapshot (no stale version).
        this.rejected.add(row, `cannot be written as ${format}: ${err instanceof RangeError ? `${err.message} (nested too deeply)` : (err as Error).message}`);
        const key = rowObject(row, format);
        if (this.rows.has(key)) { this.retireRow(key); this.poisonRetired++; }
      }
    }
    await inParallel(ok, async ([row, body]) => {
      const key = rowObject(row, format);
      const tag = await this.store.put(`${this.rowsDir}${key}`, body, { contentType: CONTENT_TYPES[format] });
      this.rows.set(key, [shortHash(row.hash), tag]);
      this.retired.delete(key); // back in the snapshot: no longer due for deletion
    }, this.opts.concurrency ?? 32);
    return ok.length;
  }

  private retireRow(key: string): void {
    this.rows.delete(key);
    this.retired.set(key, this.now.toISOString());
  }

  /** Moves retirees (row objects and parts) past their grace period to the doomed list; how many. */
  private expire(): number {
    const cutoff = this.now.getTime() - (this.opts.retireAfterMs ?? 10 * 60_000);
    let n = 0;
    for (const [retirees, dir] of [[this.retired, this.rowsDir], [this.retiredParts, `${this.prefix}/`]] as const) {
      for (const [k, since] of retirees) {
        if (Date.parse(since) > cutoff) continue;
        retirees.delete(k);
        this.doomed.push(`${dir}${k}`);
        n++;
      }
    }
    return n;
  }

  /** Whether the manifest must be rewritten: something changed, or the watermark or counts moved. */
  private changed(touched: number): boolean {
    const s = this.stored;
    if (touched > 0 || !s || s.format !== this.format) return true;
    const { lineage, version, rowCount, targetCounts } = this.input.plan;
    return s.lineage !== lineage || s.version !== version || s.rowCount !== rowCount
      || JSON.stringify(Object.entries(s.targets).sort()) !== JSON.stringify(Object.entries(targetCounts).sort());
  }
}

const codeUnitOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const splitKey = (k: string): { target: string; uid: string } => { const i = k.indexOf('/'); return { target: k.slice(0, i), uid: k.slice(i + 1) }; };

/** Every part file a parquet snapshot names: its base parts and its deltas' parts. */
const partKeys = (base: ManifestBase | undefined, deltas: readonly ManifestDelta[] = []): string[] =>
  [...(base?.parts ?? []), ...deltas.flatMap((d) => d.parts)].map((p) => p.key);

/**
 * The directory of a full export's new parts: `parquet/<version>`, or `parquet/<version>.<k>` when
 * the stored manifest still names a part there (the same version again: a full repeated at its
 * version, or another lineage), so no key a reader may still fetch gets other bytes.
 */
function freshDir(stored: Manifest | undefined, version: number): string {
  const named = [...partKeys(stored?.base, stored?.deltas), ...Object.keys(stored?.retiredParts ?? {})];
  const taken = new Set(named.map((k) => k.slice(0, k.lastIndexOf('/'))));
  let dir = `parquet/${version}`;
  for (let k = 1; taken.has(dir); k++) dir = `parquet/${version}.${k}`;
  return dir;
}

export async function inParallel<T>(items: readonly T[], fn: (item: T) => Promise<unknown>, limit: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => { while (next < items.length) await fn(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** sha256 hex of `s`: cache keys that must not hold credentials in the clear. */
export const fingerprint = (...parts: (string | undefined)[]): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/** `locate` of an object-store descriptor: the bucket and the manifest's key for the inventory. */
export function locateSnapshot(type: string, describe: string, template: string | undefined, inv: InventoryIdentity): { endpoint: string; location: string } {
  return { endpoint: describe, location: `${resolvePrefix(type, template, inv)}/${MANIFEST}` };
}

/** `render` of an object-store descriptor: one row object as written, or (parquet) one row's column values. */
export function renderRow(row: VersionedRow, format: SerializationFormat | undefined): string {
  if (format !== 'parquet') return encodeRows(format === 'yaml' ? 'yaml' : 'json', [row])[0]!;
  const data = parquetColumns([row]);
  const values = Object.fromEntries(PARQUET_COLUMNS.map((c) => [c.name, c.type === 'int64' ? Number(data[c.name][0]) : data[c.name][0]]));
  return `# one row of a Parquet part file (binary; schema ${PARQUET_SCHEMA_VERSION}), its columns shown as JSON\n${JSON.stringify(values, null, 2)}\n`;
}
