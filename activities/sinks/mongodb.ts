// MongoDB database sink (KollectDatabaseSink, type mongodb): one document per row in one collection,
// keyed like the Postgres sink by (inventory namespace, inventory name, cluster, target, uid).
// MongoDB-wire servers without transactions (FerretDB, a standalone mongod) must work, so the
// watermark is guarded by a lease in its own document instead of a transaction: see
// docs/sinks/mongodb.md and docs/decisions/0014-mongodb-without-transactions.md.
import { createHash, randomUUID } from 'node:crypto';
import net from 'node:net';
import { MongoClient, MongoError, type Collection, type Db, type MongoClientOptions } from 'mongodb';
import { rowKey, type VersionedRow } from '../../api/rows.js';
import type { MongodbSinkSpec } from '../../api/types.js';
import { EndpointRefusedError, defaultEndpointGuard, type EndpointGuard } from './endpoints.js';
import { redactUrl } from './redact.js';
import {
  SinkConfigError, checkDeleteGuard, decideWatermark, skipped,
  type ExportInput, type ExportReply, type InventoryIdentity, type ProbeResult, type SinkBackend, type SinkContext, type Watermark,
} from './types.js';
import type { SinkDescriptor } from './descriptor.js';

export interface MongodbBackendOptions {
  /** Give up finding a server after this long (default 5 s): an outage is a quick, retryable error. */
  serverSelectionTimeoutMs?: number;
  /** Documents per bulk write (default 1000). */
  batchSize?: number;
  /** How long an export holds the watermark lease without renewing it (default 60 s). */
  leaseMs?: number;
  /** Connections per client (one client per URL and credentials), default 4. */
  poolMax?: number;
}

/** Per (collection, inventory, cluster): the committed watermark and the lease of the export under way. */
export const WATERMARKS_COLLECTION = 'kollect_watermarks';
export const INDEXES = [
  // Reconciliation reads and deletes by (inventory, cluster); fleets put many clusters in one collection.
  { key: { inventory_namespace: 1, inventory_name: 1, cluster: 1 }, name: 'kollect_inventory_cluster' },
  { key: { kind: 1, namespace: 1, name: 1 }, name: 'kollect_kind_name' },
] as const;

const URL_FIELD = 'spec.mongodb.url';
/** Connection-string options Kollect passes through; the rest (TLS files, credentials, timeouts) are its own to set. */
const URL_OPTIONS = new Set(['replicaSet', 'tls', 'ssl', 'authMechanism', 'authSource', 'directConnection', 'readPreference',
  'w', 'journal', 'wtimeoutMS', 'retryWrites', 'retryReads', 'appName', 'compressors', 'loadBalanced', 'srvServiceName', 'srvMaxHosts']);
const AUTH_MECHANISMS = ['DEFAULT', 'SCRAM-SHA-1', 'SCRAM-SHA-256', 'PLAIN'];
const DATABASE = /^[A-Za-z0-9_-]{1,63}$/;
const COLLECTION = /^[A-Za-z_][A-Za-z0-9_.-]{0,119}$/;

interface Compiled {
  /** Client identity: the connection string as the driver gets it (no userinfo), user, authSource, TLS. */
  key: string;
  /** The URL without userinfo, for messages, logs and the endpoint column. */
  display: string;
  driverUrl: string;
  /** Hosts the driver connects to first (none for mongodb+srv: those come from DNS and meet the lookup). */
  seeds: string[];
  tls: boolean;
  username?: string;
  authSource?: string;
  database: string;
  collection: string;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The parts of a MongoDB connection string (WHATWG URL cannot parse a host list). */
const CONNECTION_STRING = /^(mongodb(?:\+srv)?):\/\/(?:([^@/?]*)@)?([^/?]+)(?:\/([^?]*))?(?:\?(.*))?$/;

function compile(spec: MongodbSinkSpec, ctx: SinkContext<MongodbSinkSpec>): Compiled {
  if (!spec || typeof spec.url !== 'string' || spec.url === '') throw new SinkConfigError(URL_FIELD, 'is required');
  const m = CONNECTION_STRING.exec(spec.url);
  if (!m) throw new SinkConfigError(URL_FIELD, `not a mongodb:// or mongodb+srv:// connection string: ${redactUrl(spec.url)}`);
  const [, scheme, userinfo, hostList, path, query] = m as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  if (userinfo?.includes(':')) throw new SinkConfigError(URL_FIELD, 'must not contain a password: put it in the Secret of spec.secretRef, key password');
  if (path) throw new SinkConfigError(URL_FIELD, `must not name a database (/${path}): set spec.mongodb.database, and spec.mongodb.authSource for the user's database`);
  const srv = scheme === 'mongodb+srv';
  const seeds = hostList.split(',').map((h) => hostOf(h));
  if (srv && (seeds.length !== 1 || /:\d+$/.test(hostList))) throw new SinkConfigError(URL_FIELD, 'mongodb+srv:// takes one host name without a port');
  const params = new URLSearchParams(query ?? '');
  for (const [k, v] of params) {
    if (!URL_OPTIONS.has(k)) throw new SinkConfigError(URL_FIELD, `option ${k} is not supported (supported: ${[...URL_OPTIONS].join(', ')}; TLS material comes from spec.tls, credentials from the Secret)`);
    if (k === 'authMechanism' && !AUTH_MECHANISMS.includes(v)) throw new SinkConfigError(URL_FIELD, `authMechanism ${v} is not supported (${AUTH_MECHANISMS.join(', ')})`);
  }
  const urlTls = params.get('tls') ?? params.get('ssl');
  if (ctx.caPem && urlTls === 'false') throw new SinkConfigError('spec.tls.caSecretRef', 'is set but the URL says tls=false');
  const urlAuthSource = params.get('authSource') ?? undefined;
  if (spec.authSource !== undefined && urlAuthSource !== undefined && spec.authSource !== urlAuthSource) {
    throw new SinkConfigError('spec.mongodb.authSource', `"${spec.authSource}" disagrees with the URL's authSource "${urlAuthSource}": set one of them`);
  }
  const username = (userinfo ? decodeURIComponent(userinfo) : undefined) ?? ctx.credentials.username;
  if (ctx.credentials.password && !username) throw new SinkConfigError('spec.secretRef', 'key password needs key username (or a user in the URL)');
  if (username && !ctx.credentials.password) throw new SinkConfigError('spec.secretRef', `user ${username} needs key password`);
  const database = spec.database ?? 'kollect';
  const collection = spec.collection ?? 'kollect_rows';
  if (!DATABASE.test(database)) throw new SinkConfigError('spec.mongodb.database', `"${database}" must be letters, digits, _ or - (at most 63)`);
  if (!COLLECTION.test(collection) || collection.startsWith('system.') || collection === WATERMARKS_COLLECTION) {
    throw new SinkConfigError('spec.mongodb.collection', `"${collection}" must be letters, digits, _, . or - (at most 120), and not a system collection or ${WATERMARKS_COLLECTION}`);
  }
  const driverUrl = `${scheme}://${hostList}/${query ? `?${query}` : ''}`;
  const tls = urlTls ? urlTls === 'true' : srv || !!ctx.caPem;
  const authSource = spec.authSource ?? urlAuthSource;
  return {
    key: JSON.stringify([driverUrl, username ?? null, authSource ?? null, tls]), display: redactUrl(spec.url), driverUrl,
    seeds: srv ? [] : seeds, tls, username, authSource, database, collection,
  };
}

/** The host of `host[:port]` or `[v6]:port`. */
function hostOf(hostPort: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostPort) ?? /^([^:[\]]+)(?::\d+)?$/.exec(hostPort);
  if (!m?.[1]) throw new SinkConfigError(URL_FIELD, `"${hostPort}" is not host or host:port`);
  return m[1];
}

/** `_id` of a row's document: its identity, each part URI-encoded so `/` cannot make two keys collide. */
export function documentId(inv: InventoryIdentity, target: string, uid: string): string {
  return [inv.namespace, inv.name, inv.cluster, target, uid].map(encodeURIComponent).join('/');
}

/**
 * Attribute keys as stored: `%`, `.` and a leading `$` percent-encoded. FerretDB and MongoDB
 * before 5.0 refuse `.` and `$` in keys, and dotted keys (Kubernetes labels) cannot be addressed in
 * a query anyway; `app.kubernetes.io/name` becomes `app%2Ekubernetes%2Eio/name`.
 */
export function encodeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(encodeKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/^\$/, '%24')] = encodeKeys(x);
  return out;
}

/** The inverse of encodeKeys. */
export function decodeKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeKeys);
  if (v === null || typeof v !== 'object' || v instanceof Date) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k.replace(/%(25|2E|24)/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))] = decodeKeys(x);
  return out;
}

/** One row's document. */
export interface RowDocument {
  _id: string;
  inventory_namespace: string;
  inventory_name: string;
  cluster: string;
  target_name: string;
  source_uid: string;
  api_version: string;
  kind: string;
  namespace: string;
  name: string;
  attributes: Record<string, unknown>;
  content_hash: string;
  snapshot_version: number;
  exported_at: Date;
}

function toDocument(inv: InventoryIdentity, r: VersionedRow, exportedAt: Date): RowDocument {
  return {
    _id: documentId(inv, r.target, r.uid), inventory_namespace: inv.namespace, inventory_name: inv.name, cluster: inv.cluster,
    target_name: r.target, source_uid: r.uid, api_version: r.apiVersion, kind: r.kind, namespace: r.namespace, name: r.name,
    attributes: encodeKeys(r.attributes ?? {}) as Record<string, unknown>, content_hash: r.hash, snapshot_version: r.version, exported_at: exportedAt,
  };
}

/** The export holding the lease: what it is applying, until when. */
interface Pending { lineage: string; version: number; mode: 'full' | 'delta'; exportId: string; attempt: string; expiresAt: Date }

export interface WatermarkDocument {
  _id: string;
  collection: string;
  inventory_namespace: string;
  inventory_name: string;
  cluster: string;
  /** The committed watermark: absent until the first export commits. */
  lineage?: string;
  version?: number;
  exportId?: string;
  /** `applying` while `pending` is set (an export holds the lease, or one stopped half-way). */
  state: 'applying' | 'committed';
  committedAt?: Date;
  pending?: Pending;
}

export const watermarkId = (collection: string, inv: InventoryIdentity): string => [collection, inv.namespace, inv.name, inv.cluster].map(encodeURIComponent).join('/');

const committed = (doc: WatermarkDocument | null): Watermark | undefined => (doc?.lineage !== undefined && doc.version !== undefined ? { lineage: doc.lineage, version: doc.version } : undefined);

const retryable = (message: string, code: string): Error => Object.assign(new Error(message), { code });

/**
 * The watermark lease of one export attempt. Taken by a compare-and-set on the document as read;
 * renewed (and checked) before every write, so an attempt that lost it stops at its next batch;
 * on failure after a write, released with `pending` left in place as the record that rows may be
 * half-written; on failure before any write, the document is put back as it was.
 */
class Lease {
  private wrote = false;

  constructor(private readonly marks: Collection<WatermarkDocument>, private readonly id: string, private readonly attempt: string,
    private readonly ms: number, private readonly before: WatermarkDocument | null, private readonly signal?: AbortSignal) {}

  /** Before each write: stop when the attempt was cancelled, extend the lease, fail when another export took it. */
  async renew(): Promise<void> {
    this.signal?.throwIfAborted();
    const r = await this.marks.updateOne({ _id: this.id, 'pending.attempt': this.attempt }, { $set: { 'pending.expiresAt': new Date(Date.now() + this.ms) } });
    if (r.matchedCount === 0) throw retryable('another export took over the watermark lease; this attempt stops', 'LEASE_LOST');
    this.wrote = true;
  }

  /** The new watermark, written only by the lease holder: the compare-and-set that makes one attempt win. */
  async commit(input: ExportInput): Promise<void> {
    this.signal?.throwIfAborted();
    const r = await this.marks.updateOne({ _id: this.id, 'pending.attempt': this.attempt }, {
      $set: { lineage: input.plan.lineage, version: input.plan.version, exportId: input.exportId, state: 'committed', committedAt: new Date() },
      $unset: { pending: '' },
    });
    if (r.matchedCount === 0) throw retryable('another export took over the watermark lease before the commit; this attempt stops', 'LEASE_LOST');
  }

  /** Lets the next attempt in at once; best effort (an expired lease does the same). */
  async release(): Promise<void> {
    const mine = { _id: this.id, 'pending.attempt': this.attempt };
    const undo = async (): Promise<unknown> => {
      if (this.wrote) return this.marks.updateOne(mine, { $set: { 'pending.expiresAt': new Date(0) } });
      if (!this.before) return this.marks.deleteOne(mine);
      const { state, pending } = this.before;
      return this.marks.updateOne(mine, pending ? { $set: { state, pending } } : { $set: { state }, $unset: { pending: '' } });
    };
    await undo().catch(() => undefined);
  }
}

interface ClientEntry {
  fingerprint: string;
  guard: EndpointGuard;
  client: MongoClient;
  /** Set when the driver tried an address the guard refuses (a rebound name, a discovered member). */
  refused?: EndpointRefusedError;
  /** (database, collection, create) whose collection and indexes this process has checked. */
  prepared: Set<string>;
}

export class MongodbBackend implements SinkBackend<MongodbSinkSpec> {
  readonly type = 'mongodb';
  readonly kind = 'KollectDatabaseSink' as const;
  private readonly clients = new Map<string, ClientEntry>();

  constructor(private readonly opts: MongodbBackendOptions = {}) {}

  async export(input: ExportInput, ctx: SinkContext<MongodbSinkSpec>): Promise<ExportReply> {
    return this.guarded(ctx, async (c, entry) => {
      ctx.signal?.throwIfAborted();
      const db = entry.client.db(c.database);
      await this.prepare(db, c, entry, ctx.create !== false);
      const t0 = Date.now();
      const r = await this.reconcile(db, c, input, ctx.signal);
      ctx.log('sink.mongodb.export', { database: c.database, collection: c.collection, mode: input.plan.mode, outcome: r.outcome, upserts: r.upserts, deletes: r.deletes, ms: Date.now() - t0 });
      return r;
    });
  }

  async probe(ctx: SinkContext<MongodbSinkSpec>): Promise<ProbeResult> {
    return this.guarded(ctx, async (c, entry) => {
      const db = entry.client.db(c.database);
      await this.prepare(db, c, entry, ctx.create !== false);
      await db.collection<RowDocument>(c.collection).findOne({}, { projection: { _id: 1 } });
      const info = await db.admin().command({ buildInfo: 1 }) as { version?: string };
      return { detail: `collection ${c.database}.${c.collection} reachable on ${c.display} (server ${info.version ?? 'unknown'})` };
    });
  }

  async close(): Promise<void> {
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(entries.map((e) => e.client.close()));
  }

  /** Runs `fn` with the checked client; every error leaves redacted, a refused address as what it is. */
  private async guarded<T>(ctx: SinkContext<MongodbSinkSpec>, fn: (c: Compiled, entry: ClientEntry) => Promise<T>): Promise<T> {
    let entry: ClientEntry | undefined;
    let key: string | undefined;
    try {
      const c = compile(ctx.spec, ctx);
      key = c.key;
      const guard = ctx.guard ?? defaultEndpointGuard();
      // Node skips `lookup` for a literal IP: the seeds are checked here, names again at every connect.
      for (const host of c.seeds) await guard.resolve(URL_FIELD, host);
      entry = await this.client(c, ctx, guard);
      return await fn(c, entry);
    } catch (err) {
      if (entry) entry.prepared.clear(); // recheck next time (e.g. collection dropped)
      const refused = err instanceof EndpointRefusedError ? err : entry?.refused;
      if (entry?.refused && key) await this.evict(key, entry);
      // The guard's refusal wins over the socket error it caused; the shared sink path (run.ts) redacts and logs.
      throw refused ?? coded(err);
    }
  }

  /** The client for this URL and user; replaced when the password, CA or guard changed. */
  private async client(c: Compiled, ctx: SinkContext<MongodbSinkSpec>, guard: EndpointGuard): Promise<ClientEntry> {
    const password = ctx.credentials.password;
    const fingerprint = sha(JSON.stringify([password ?? null, ctx.caPem ?? null]));
    const cached = this.clients.get(c.key);
    if (cached?.fingerprint === fingerprint && cached.guard === guard) return cached;
    if (cached) await this.evict(c.key, cached);
    const timeout = this.opts.serverSelectionTimeoutMs ?? 5_000;
    const lookup = guard.lookupFor(URL_FIELD);
    // The driver reports a refused lookup as a network error and keeps selecting until its timeout:
    // the refusal is recorded so the export fails as what it is.
    const recording = ((hostname: string, options: object, cb: (err: NodeJS.ErrnoException | null, ...rest: unknown[]) => void): void => {
      (lookup as unknown as (h: string, o: object, f: typeof cb) => void)(hostname, options, (err, ...rest) => {
        if (err instanceof EndpointRefusedError) entry.refused ??= err;
        cb(err, ...rest);
      });
    }) as MongoClientOptions['lookup'];
    const entry: ClientEntry = {
      fingerprint, guard, prepared: new Set(),
      client: new MongoClient(c.driverUrl, {
        appName: 'kollect', maxPoolSize: this.opts.poolMax ?? 4,
        serverSelectionTimeoutMS: timeout, connectTimeoutMS: timeout, socketTimeoutMS: 120_000,
        tls: c.tls, ...(ctx.caPem ? { ca: ctx.caPem } : {}),
        ...(c.username ? { auth: { username: c.username, password } } : {}),
        ...(c.authSource ? { authSource: c.authSource } : {}),
        lookup: recording,
      }),
    };
    // Members a replica set reports by IP literal are connected without the lookup: check them as they appear.
    entry.client.on('serverOpening', (e) => {
      const host = e.address.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([^:]+):\d+$/, '$1');
      const cls = net.isIP(host) ? guard.classify(host) : undefined;
      if (cls) entry.refused ??= new EndpointRefusedError(URL_FIELD, host, host, cls);
    });
    this.clients.set(c.key, entry);
    return entry;
  }

  private async evict(key: string, entry: ClientEntry): Promise<void> {
    if (this.clients.get(key) === entry) this.clients.delete(key);
    await entry.client.close().catch(() => undefined);
  }

  /** Creates the collection's indexes (idempotent) or, when spec.create is false, checks both collections exist. */
  private async prepare(db: Db, c: Compiled, entry: ClientEntry, create: boolean): Promise<void> {
    const key = `${c.database}.${c.collection}|${create}`;
    if (entry.prepared.has(key)) return;
    if (create) {
      // One index per command: FerretDB 1.24 drops the connection when one createIndexes names
      // several indexes that already exist.
      for (const i of INDEXES) await db.collection(c.collection).createIndex({ ...i.key }, { name: i.name });
    } else {
      for (const name of [c.collection, WATERMARKS_COLLECTION]) {
        const found = await db.listCollections({ name }, { nameOnly: true }).toArray();
        if (found.length === 0) throw new SinkConfigError('spec.mongodb.collection', `collection ${c.database}.${name} does not exist and spec.create is false: create it (and ${WATERMARKS_COLLECTION}) or allow spec.create`);
      }
    }
    entry.prepared.add(key);
  }

  /**
   * Checks the committed watermark, takes the lease, applies the full reconcile or the delta in
   * batches (renewing the lease before each), and commits the watermark. See docs/sinks/mongodb.md.
   */
  private async reconcile(db: Db, c: Compiled, input: ExportInput, signal?: AbortSignal): Promise<ExportReply> {
    const rows = db.collection<RowDocument>(c.collection);
    const marks = db.collection<WatermarkDocument>(WATERMARKS_COLLECTION);
    const begun = await this.begin(marks, c, input, signal);
    if ('reply' in begun) return begun.reply;
    const { lease } = begun;
    try {
      const r = input.plan.mode === 'full' ? await this.applyFull(rows, input, lease) : await this.applyDelta(rows, input, lease);
      await lease.commit(input);
      return { outcome: 'applied', rowsExported: input.plan.rowCount, ...r, detail: `${input.plan.mode}: upserted ${r.upserts}, deleted ${r.deletes}` };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /**
   * Reads the watermark document and decides; then takes the lease with a compare-and-set on the
   * document as read (committed watermark and pending attempt unchanged), so two attempts cannot
   * both hold it. Returns the reply instead when there is nothing to apply.
   */
  private async begin(marks: Collection<WatermarkDocument>, c: Compiled, input: ExportInput, signal?: AbortSignal): Promise<{ lease: Lease } | { reply: ExportReply }> {
    const inv = input.inventory;
    const plan = input.plan;
    const id = watermarkId(c.collection, inv);
    const leaseMs = this.opts.leaseMs ?? 60_000;
    for (let tries = 0; tries < 3; tries++) {
      const doc = await marks.findOne({ _id: id });
      const stored = committed(doc);
      const d = decideWatermark(stored, plan);
      if (d.action !== 'apply') return { reply: skipped(d, stored) };
      const prior = doc?.pending;
      const now = new Date();
      // A retry of the same export takes over from its lost predecessor, which writes the same rows.
      if (prior && prior.exportId !== input.exportId && prior.expiresAt > now) {
        throw retryable(`export ${prior.exportId} (${prior.mode} to ${prior.lineage}@${prior.version}) holds the watermark lease until ${prior.expiresAt.toISOString()}`, 'LEASE_HELD');
      }
      // An attempt that stopped half-way may have written rows a delta would not overwrite:
      // another lineage, or versions after this delta's. Only a full reconcile repairs those.
      if (prior && plan.mode === 'delta' && (prior.lineage !== plan.lineage || prior.version > plan.version)) {
        return { reply: { ...skipped({ action: 'needsFull' }, stored), detail: `export ${prior.exportId} stopped while applying ${prior.lineage}@${prior.version}: full reconcile needed` } };
      }
      signal?.throwIfAborted();
      const attempt = randomUUID();
      const pending: Pending = { lineage: plan.lineage, version: plan.version, mode: plan.mode, exportId: input.exportId, attempt, expiresAt: new Date(now.getTime() + leaseMs) };
      const lease = new Lease(marks, id, attempt, leaseMs, doc, signal);
      if (!doc) {
        const base = { collection: c.collection, inventory_namespace: inv.namespace, inventory_name: inv.name, cluster: inv.cluster };
        try {
          await marks.insertOne({ _id: id, ...base, state: 'applying', pending });
          return { lease };
        } catch (err) {
          if (isDuplicateKey(err)) continue; // another attempt created it first: read it again
          throw err;
        }
      }
      const taken = await marks.updateOne(
        { _id: id, lineage: stored ? stored.lineage : { $exists: false }, version: stored ? stored.version : { $exists: false }, 'pending.attempt': prior ? prior.attempt : { $exists: false } },
        { $set: { state: 'applying', pending } });
      if (taken.matchedCount === 1) return { lease };
    }
    throw retryable('the watermark kept changing while taking the lease (another export is racing this one)', 'LEASE_HELD');
  }

  /** Makes the inventory's documents exactly the snapshot; only documents whose content differs are written. */
  private async applyFull(rows: Collection<RowDocument>, input: ExportInput, lease: Lease): Promise<{ upserts: number; deletes: number }> {
    const inv = input.inventory;
    const held = new Map<string, string | undefined>();
    const stale: string[] = [];
    // Held documents by _id and hash, streamed: what to delete, and which rows to skip.
    const cursor = rows.find(inventoryFilter(inv), { projection: { _id: 1, target_name: 1, source_uid: 1, content_hash: 1 } });
    for await (const d of cursor) {
      // A document added behind Kollect's back, or not at the _id its identity gives, is not ours to keep.
      if (d._id === documentId(inv, d.target_name, d.source_uid) && input.keep.has(rowKey({ target: d.target_name, uid: d.source_uid }))) held.set(d._id, d.content_hash);
      else stale.push(d._id);
    }
    checkDeleteGuard(input, stale.length, held.size + stale.length);
    let upserts = 0;
    const differs = (r: { target: string; uid: string; hash: string }) => held.get(documentId(inv, r.target, r.uid)) !== r.hash;
    for await (const page of input.upserts(differs)) upserts += await this.write(rows, inv, lastPerKey(page), lease, (id) => held.has(id));
    const deletes = await this.remove(rows, stale, lease);
    return { upserts, deletes };
  }

  /** Applies the changed rows (those whose hash differs from the held document) and the tombstones. */
  private async applyDelta(rows: Collection<RowDocument>, input: ExportInput, lease: Lease): Promise<{ upserts: number; deletes: number }> {
    const inv = input.inventory;
    if (input.deletes.length) checkDeleteGuard(input, input.deletes.length, await rows.countDocuments(inventoryFilter(inv)));
    let upserts = 0;
    const size = this.opts.batchSize ?? 1_000;
    for await (const page of input.upserts()) {
      const unique = lastPerKey(page);
      for (let i = 0; i < unique.length; i += size) {
        const batch = unique.slice(i, i + size);
        const ids = batch.map((r) => documentId(inv, r.target, r.uid));
        const held = new Map((await rows.find({ _id: { $in: ids } }, { projection: { content_hash: 1 } }).toArray()).map((d) => [d._id, d.content_hash]));
        upserts += await this.write(rows, inv, batch.filter((r, j) => held.get(ids[j]!) !== r.hash), lease, (id) => held.has(id));
      }
    }
    const deletes = await this.remove(rows, input.deletes.map((t) => documentId(inv, t.target, t.uid)), lease);
    return { upserts, deletes };
  }

  /**
   * Writes rows in batches: the documents the sink holds for them are deleted, then the batch is
   * inserted (unordered). Replacing by _id would keep each document visible throughout, but
   * FerretDB 1.x scans the collection for every replace (over a second each in 10,000 documents),
   * while one delete by `_id $in` and one insert cost a scan per batch. See decision 0014.
   */
  private async write(rows: Collection<RowDocument>, inv: InventoryIdentity, page: readonly VersionedRow[], lease: Lease, held: (id: string) => boolean): Promise<number> {
    const size = this.opts.batchSize ?? 1_000;
    const now = new Date();
    let n = 0;
    for (let i = 0; i < page.length; i += size) {
      await lease.renew();
      const docs = page.slice(i, i + size).map((r) => toDocument(inv, r, now));
      const replaced = docs.filter((d) => held(d._id)).map((d) => d._id);
      if (replaced.length) await rows.deleteMany({ _id: { $in: replaced } });
      n += (await rows.insertMany(docs, { ordered: false })).insertedCount;
    }
    return n;
  }

  private async remove(rows: Collection<RowDocument>, ids: readonly string[], lease: Lease): Promise<number> {
    const size = this.opts.batchSize ?? 1_000;
    let n = 0;
    for (let i = 0; i < ids.length; i += size) {
      await lease.renew();
      n += (await rows.deleteMany({ _id: { $in: ids.slice(i, i + size) } })).deletedCount;
    }
    return n;
  }
}

const inventoryFilter = (inv: InventoryIdentity) => ({ inventory_namespace: inv.namespace, inventory_name: inv.name, cluster: inv.cluster });

/** Last row wins per (target, uid): one bulk write must not insert a key twice. */
function lastPerKey(rows: readonly VersionedRow[]): VersionedRow[] {
  const m = new Map<string, VersionedRow>();
  for (const r of rows) m.set(rowKey(r), r);
  return m.size === rows.length ? [...rows] : [...m.values()];
}

const isDuplicateKey = (err: unknown): boolean => err instanceof MongoError && err.code === 11000;

/** The driver's errors carry numeric codes; the stable short reason for metrics is the code name or class. */
function coded(err: unknown): unknown {
  if (!(err instanceof MongoError)) return err;
  const name = (err as MongoError & { codeName?: string }).codeName;
  return Object.assign(new Error(err.message), { code: name ?? err.name });
}

export const mongodbBackend = new MongodbBackend();

export const mongodbSink: SinkDescriptor<MongodbSinkSpec> = {
  type: 'mongodb', kind: 'KollectDatabaseSink', backend: mongodbBackend, formats: [],
  locate: (spec) => ({ endpoint: redactUrl(spec.url), location: `collection ${spec.database ?? 'kollect'}.${spec.collection ?? 'kollect_rows'}` }),
  render: (row) => JSON.stringify({
    target_name: row.target, source_uid: row.uid, cluster: row.cluster, api_version: row.apiVersion, kind: row.kind, namespace: row.namespace,
    name: row.name, attributes: encodeKeys(row.attributes), content_hash: row.hash, snapshot_version: row.version,
  }, null, 2),
  sample: 'sink-mongodb.yaml', docs: 'mongodb.md',
};
