// Snapshots in an object store, shared by the s3 and gcs sink types (KollectSnapshotSink). Each
// type supplies an ObjectStore (put/get/list/delete, conditional put) for its client; this module
// owns the layout, the watermark and the full/delta rules (docs/decisions/0012):
//
//   <prefix>/manifest.json                 the watermark and the reader's entry point, written LAST
//   <prefix>/rows/<target>/<uid>.<ext>     one object per row (json or yaml)
//
// The manifest lists every row object with its row hash and the store's tag (S3 ETag, GCS
// generation) of the write that produced it. Objects are written before the manifest that names
// them, and an object a manifest stops naming is kept for `retireAfterMs` more (listed under
// `retired`) before it is deleted, so a reader that starts from a manifest finds every object it
// names. A full reconcile compares the listed tags with the manifest's to find objects edited or
// deleted behind Kollect's back, and rewrites exactly those.
import { createHash } from 'node:crypto';
import type { VersionedRow } from '../../api/rows.js';
import type { SerializationFormat } from '../../api/types.js';
import { pathSegment } from './git-layout.js';
import { rowDocument, serialize } from './serialize.js';
import {
  SinkConfigError, checkDeleteGuard, decideWatermark, skipped,
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

export type ObjectFormat = 'json' | 'yaml';
export const OBJECT_FORMATS: readonly ObjectFormat[] = ['json', 'yaml'];
const CONTENT_TYPES: Record<ObjectFormat, string> = { json: 'application/json', yaml: 'application/yaml' };

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
export const rowObject = (r: { target: string; uid: string }, format: ObjectFormat): string => `${pathSegment(r.target)}/${pathSegment(r.uid)}.${format}`;

/**
 * The bodies of a page of rows in `format`, one per row, in order: the one place rows become
 * bytes. (A columnar format such as parquet encodes a whole part file instead: see ADR 0012.)
 */
export function encodeRows(format: ObjectFormat, rows: readonly VersionedRow[]): string[] {
  return rows.map((row) => serialize(rowDocument(row), format));
}

/** `[row hash (first 16 hex), tag]` of one row object. */
type RowRecord = [hash: string, tag: string];

/** manifest.json: the watermark, the counts, and the row objects of the snapshot (the reader's entry point). */
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
}

const shortHash = (h: string): string => h.slice(0, 16);

export function parseManifest(body: Buffer | undefined): Manifest | undefined {
  if (!body) return undefined;
  try {
    const m = JSON.parse(body.toString('utf8')) as Partial<Manifest>;
    if (m.schema !== MANIFEST_SCHEMA || typeof m.lineage !== 'string' || typeof m.version !== 'number' || !OBJECT_FORMATS.includes(m.format as ObjectFormat)) return undefined;
    return { ...m, rows: m.rows ?? {}, retired: m.retired ?? {} } as Manifest;
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
  /** Test seam: runs after the row objects are written, before the manifest is. */
  beforeManifest?: () => Promise<void>;
}

/** Counters of one export, for the reply and the log. */
interface Applied { written: number; removed: number; foreign: number; purged: number; changed: boolean }

export class ObjectStoreBackend<Spec extends ObjectStoreSpec> implements SinkBackend<Spec> {
  readonly kind = 'KollectSnapshotSink' as const;
  readonly type: 's3' | 'gcs';
  /** One export at a time per (store, prefix): a second export of an inventory waits for the first. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly driver: ObjectStoreDriver<Spec>, private readonly opts: ObjectStoreBackendOptions = {}) {
    this.type = driver.type;
  }

  async export(input: ExportInput, ctx: SinkContext<Spec>): Promise<ExportReply> {
    const format = objectFormat(ctx.format, this.type);
    const prefix = resolvePrefix(this.type, ctx.spec.pathTemplate, input.inventory);
    const store = this.driver.open(ctx);
    await store.ensureBucket(ctx.create !== false);
    return this.serialized(`${this.context(ctx.spec)}\0${prefix}`, () => this.exportLocked(store, prefix, format, input, ctx));
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
    await Promise.allSettled([...this.queues.values()]);
    await this.driver.close();
  }

  private context(spec: Spec | undefined): string {
    return `${this.type} ${spec && typeof spec.bucket === 'string' ? this.driver.describe(spec) : '(no bucket)'}`;
  }

  private async serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    try { return await run; } finally { if (this.queues.get(key) === tail) this.queues.delete(key); }
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
    const run = new SnapshotWrite(store, prefix, format, input, stored, this.opts);
    const applied = input.plan.mode === 'full' ? await run.full() : await run.delta();
    if (!applied.changed) {
      ctx.log(`sink.${this.type}.export`, { prefix, result: 'no change', ms: Date.now() - t0 });
      return { outcome: 'applied', rowsExported: input.plan.rowCount, upserts: 0, deletes: 0, detail: 'no change' };
    }
    await this.opts.beforeManifest?.();
    // A cancelled attempt (timed out, heartbeat lost) must not move the watermark over a newer export.
    ctx.signal?.throwIfAborted();
    await store.put(`${prefix}/${MANIFEST}`, `${JSON.stringify(run.manifest(input))}\n`, { contentType: CONTENT_TYPES.json, ifTag: found?.tag ?? null });
    await run.purge();
    const detail = `${input.plan.mode} v${input.plan.version}: wrote ${applied.written}, removed ${applied.removed}${applied.foreign ? `, deleted ${applied.foreign} foreign` : ''}`;
    ctx.log(`sink.${this.type}.export`, { prefix, mode: input.plan.mode, ...applied, ms: Date.now() - t0 });
    return { outcome: 'applied', rowsExported: input.plan.rowCount, upserts: applied.written, deletes: applied.removed, detail };
  }
}

/** The format a sink writes: spec.format, default json. */
function objectFormat(format: SerializationFormat | undefined, type: string): ObjectFormat {
  const f = format ?? 'json';
  if (!(OBJECT_FORMATS as readonly string[]).includes(f)) throw new SinkConfigError('spec.format', `${f} is not written by sink type ${type} (it writes ${OBJECT_FORMATS.join(', ')})`);
  return f as ObjectFormat;
}

/**
 * One export's changes to a snapshot: the row objects it writes, the rows it retires and the
 * objects it deletes after the manifest moved. Holds keys and tags, never row bodies.
 */
class SnapshotWrite {
  private readonly rowsDir: string;
  private readonly rows: Map<string, RowRecord>;
  private readonly retired: Map<string, string>;
  /** Objects to delete once the new manifest is written: foreign ones and expired retirees. */
  private readonly doomed: string[] = [];
  private readonly now = new Date();

  constructor(
    private readonly store: ObjectStore, prefix: string, private readonly format: ObjectFormat, private readonly input: ExportInput,
    private readonly stored: Manifest | undefined, private readonly opts: ObjectStoreBackendOptions,
  ) {
    this.rowsDir = `${prefix}/rows/`;
    const same = stored?.format === format;
    this.rows = new Map(same ? Object.entries(stored.rows) : []);
    this.retired = new Map(Object.entries(stored?.retired ?? {}));
    // Rows of another format stay readable through the old manifest for the grace period.
    if (stored && !same) for (const k of Object.keys(stored.rows)) this.retired.set(k, this.now.toISOString());
  }

  /**
   * Makes the row objects exactly the snapshot: lists what the store holds, skips (without
   * reading their bodies) rows whose object still carries the tag the manifest recorded for this
   * hash, writes the rest, retires rows that left the snapshot and dooms objects no manifest names.
   */
  async full(): Promise<Applied> {
    const listed = new Map<string, string>();
    for await (const page of this.store.list(this.rowsDir)) for (const o of page) listed.set(o.key.slice(this.rowsDir.length), o.tag);
    const keep = new Set([...this.input.keep].map((k) => { const i = k.indexOf('/'); return rowObject({ target: k.slice(0, i), uid: k.slice(i + 1) }, this.format); }));
    const held = this.stored ? [...this.rows.keys()] : [...listed.keys()];
    const leaving = held.filter((k) => !keep.has(k));
    checkDeleteGuard(this.input, leaving.length, held.length);
    const unchanged = (key: string, hash: string): boolean => {
      const r = this.rows.get(key);
      return r !== undefined && r[0] === shortHash(hash) && listed.get(key) === r[1];
    };
    let written = 0;
    for await (const page of this.input.upserts((e) => !unchanged(rowObject(e, this.format), e.hash))) written += await this.write(page);
    for (const k of leaving) this.retire(k);
    // Objects no manifest names (written behind Kollect's back, or by an attempt that never wrote its manifest).
    let foreign = 0;
    for (const k of listed.keys()) if (!this.rows.has(k) && !this.retired.has(k)) { this.doomed.push(k); foreign++; }
    const purged = this.expire();
    return { written, removed: leaving.length, foreign, purged, changed: this.changed(written + leaving.length + foreign + purged) };
  }

  /** Writes the delta's upserts and retires its deletes; touches only those rows. */
  async delta(): Promise<Applied> {
    const gone = this.input.deletes.map((t) => rowObject(t, this.format)).filter((k) => this.rows.has(k));
    checkDeleteGuard(this.input, this.input.deletes.length, this.rows.size);
    let written = 0;
    for await (const page of this.input.upserts()) written += await this.write(page);
    for (const k of gone) this.retire(k);
    const purged = this.expire();
    return { written, removed: gone.length, foreign: 0, purged, changed: this.changed(written + gone.length + purged) };
  }

  /** The new manifest: this export's watermark and counts, and the rows as they now stand. */
  manifest(input: ExportInput): Manifest {
    const sorted = <T>(m: Map<string, T>): Record<string, T> => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
      schema: MANIFEST_SCHEMA, inventory: { namespace: input.inventory.namespace, name: input.inventory.name }, cluster: input.inventory.cluster,
      lineage: input.plan.lineage, version: input.plan.version, exportId: input.exportId, generatedAt: this.now.toISOString(), format: this.format,
      rowCount: input.plan.rowCount, targets: Object.fromEntries(Object.keys(input.plan.targetCounts).sort().map((t) => [t, input.plan.targetCounts[t]!])),
      rows: sorted(this.rows), retired: sorted(this.retired),
    };
  }

  /** Deletes what no manifest names any more: run only after the new manifest is written. */
  async purge(): Promise<void> {
    if (this.doomed.length) await this.store.delete(this.doomed.map((k) => `${this.rowsDir}${k}`));
  }

  private async write(page: readonly VersionedRow[]): Promise<number> {
    const bodies = encodeRows(this.format, page);
    await inParallel(page.map((row, i) => [row, bodies[i]!] as const), async ([row, body]) => {
      const key = rowObject(row, this.format);
      const tag = await this.store.put(`${this.rowsDir}${key}`, body, { contentType: CONTENT_TYPES[this.format] });
      this.rows.set(key, [shortHash(row.hash), tag]);
      this.retired.delete(key); // back in the snapshot: no longer due for deletion
    }, this.opts.concurrency ?? 32);
    return page.length;
  }

  private retire(key: string): void {
    this.rows.delete(key);
    this.retired.set(key, this.now.toISOString());
  }

  /** Moves retirees past their grace period to the doomed list; how many. */
  private expire(): number {
    const cutoff = this.now.getTime() - (this.opts.retireAfterMs ?? 10 * 60_000);
    let n = 0;
    for (const [k, since] of this.retired) {
      if (Date.parse(since) > cutoff) continue;
      this.retired.delete(k);
      this.doomed.push(k);
      n++;
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

/** `render` of an object-store descriptor: one row object as written. */
export const renderRow = (row: VersionedRow, format: SerializationFormat | undefined): string => encodeRows(format === 'yaml' ? 'yaml' : 'json', [row])[0]!;
