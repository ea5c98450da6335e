// BigQuery database sink (KollectDatabaseSink, type bigquery): the snapshot as rows of one table,
// keyed like postgres by (inventory_namespace, inventory_name, cluster, target_name, source_uid).
// An export loads its changes into a staging table (a load job: streaming inserts cannot be
// modified by DML for 30 minutes), then one multi-statement transaction checks the watermark,
// MERGEs the upserts, deletes, and writes the watermark. See docs/sinks/bigquery.md.
//
// The REST API is called through google-auth-library's client (gaxios) rather than
// @google-cloud/bigquery: the latter's transport (teeny-request) takes no per-client agent, so the
// endpoint guard's lookup and a private CA could not reach its sockets.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Readable } from 'node:stream';
import { GoogleAuth, JWT, PassThroughClient, type AuthClient, type gaxios } from 'google-auth-library';
import type { VersionedRow } from '../../api/rows.js';
import type { BigQueryColumn, BigQuerySinkSpec } from '../../api/types.js';
import { defaultEndpointGuard, EndpointRefusedError, type EndpointGuard } from './endpoints.js';
import { redactUrl } from './redact.js';
import {
  SinkConfigError, checkDeleteGuard, decideWatermark, skipped,
  type ExportInput, type ExportReply, type ProbeResult, type SinkBackend, type SinkContext, type Watermark,
} from './types.js';
import type { SinkDescriptor } from './descriptor.js';

export interface BigQueryBackendOptions {
  /** One HTTP request (not a whole job) gives up after this long (default 60 s). */
  requestTimeoutMs?: number;
  /** A load or query job must finish within this long (default 10 min). */
  jobTimeoutMs?: number;
}

/** Per (table, inventory, cluster): the lineage and version the rows hold, written in the same transaction. */
export const WATERMARKS_TABLE = 'kollect_watermarks';
/** Prefix of the per-export staging tables (they expire after a day if an export dies before dropping one). */
export const STAGE_PREFIX = 'kollect_stage_';
/** The secretRef key holding a service-account key. */
export const CREDENTIALS_KEY = 'credentials.json';
const DEFAULT_ROOT = 'https://bigquery.googleapis.com';
const SCOPE = 'https://www.googleapis.com/auth/bigquery';
const FENCE = 'kollect: watermark moved';
const STAGE_TTL_MS = 24 * 3600_000;

type Field = { name: string; type: string; mode: 'REQUIRED' | 'NULLABLE' };
const col = (name: string, type: string, mode: Field['mode'] = 'REQUIRED'): Field => ({ name, type, mode });
/** The rows table. `attributes` is JSON (queryable with JSON_VALUE / JSON_QUERY). */
export const ROW_FIELDS: readonly Field[] = [
  col('inventory_namespace', 'STRING'), col('inventory_name', 'STRING'), col('cluster', 'STRING'),
  col('target_name', 'STRING'), col('source_uid', 'STRING'), col('api_version', 'STRING'), col('kind', 'STRING'),
  col('namespace', 'STRING'), col('name', 'STRING'), col('attributes', 'JSON'), col('content_hash', 'STRING'),
  col('snapshot_version', 'INT64'), col('exported_at', 'TIMESTAMP'),
];
const WATERMARK_FIELDS: readonly Field[] = [
  col('table_name', 'STRING'), col('inventory_namespace', 'STRING'), col('inventory_name', 'STRING'), col('cluster', 'STRING'),
  col('lineage', 'STRING'), col('version', 'INT64'), col('export_id', 'STRING'), col('updated_at', 'TIMESTAMP'),
];
/** One staged change: `op` upsert (a row) or delete (a key); `seq` orders repeats of a key (last wins). */
const STAGE_FIELDS: readonly Field[] = [
  col('seq', 'INT64'), col('op', 'STRING'), col('target_name', 'STRING'), col('source_uid', 'STRING'),
  ...['api_version', 'kind', 'namespace', 'name'].map((n) => col(n, 'STRING', 'NULLABLE')),
  col('attributes', 'JSON', 'NULLABLE'), col('content_hash', 'STRING', 'NULLABLE'), col('snapshot_version', 'INT64', 'NULLABLE'),
];
export const DEFAULT_CLUSTERING: readonly BigQueryColumn[] = ['inventory_namespace', 'inventory_name', 'cluster', 'kind'];
const PARTITION_TYPES = ['HOUR', 'DAY', 'MONTH', 'YEAR'] as const;

interface Compiled {
  project: string;
  dataset: string;
  table: string;
  location: string;
  /** API root without a trailing slash, e.g. https://bigquery.googleapis.com. */
  root: string;
  host: string;
  /** An http:// endpoint: an emulator on loopback, called without credentials. */
  emulator: boolean;
  partitioning: (typeof PARTITION_TYPES)[number];
  clustering: readonly string[];
}

const LOOPBACK_NAMES = new Set(['localhost', '::1']);
const isLoopback = (host: string): boolean => LOOPBACK_NAMES.has(host) || (net.isIPv4(host) && host.startsWith('127.'));

function compile(spec: BigQuerySinkSpec): Compiled {
  if (!spec || typeof spec.project !== 'string' || !/^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(spec.project)) {
    throw new SinkConfigError('spec.bigquery.project', 'must be a Google Cloud project ID (6-30 lowercase letters, digits, hyphens)');
  }
  const dataset = spec.dataset ?? 'kollect';
  if (!/^[A-Za-z0-9_]{1,1024}$/.test(dataset)) throw new SinkConfigError('spec.bigquery.dataset', `"${dataset}" must be letters, digits and _`);
  const table = spec.table ?? 'kollect_rows';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,1023}$/.test(table) || table === WATERMARKS_TABLE || table.startsWith(STAGE_PREFIX)) {
    throw new SinkConfigError('spec.bigquery.table', `"${table}" must be letters, digits and _ (not starting with a digit), and not ${WATERMARKS_TABLE} or ${STAGE_PREFIX}*`);
  }
  const location = spec.location ?? 'US';
  if (!/^[A-Za-z0-9-]{1,64}$/.test(location)) throw new SinkConfigError('spec.bigquery.location', `"${location}" is not a BigQuery location such as US, EU or europe-west4`);
  let u: URL;
  try { u = new URL(spec.apiEndpoint ?? DEFAULT_ROOT); } catch { throw new SinkConfigError('spec.bigquery.apiEndpoint', `not a URL: ${redactUrl(spec.apiEndpoint ?? '')}`); }
  if (u.username || u.password) throw new SinkConfigError('spec.bigquery.apiEndpoint', 'must not contain credentials: put a service-account key in the Secret of spec.secretRef (key credentials.json)');
  if (u.search || u.hash) throw new SinkConfigError('spec.bigquery.apiEndpoint', 'must not have a query or fragment');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (u.protocol === 'http:' && !isLoopback(host)) {
    throw new SinkConfigError('spec.bigquery.apiEndpoint', `http:// is allowed only to a loopback address (an emulator); use https:// for ${host}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new SinkConfigError('spec.bigquery.apiEndpoint', `must be https:// (got ${u.protocol}//)`);
  const partitioning = spec.partitioning?.type ?? 'DAY';
  if (!PARTITION_TYPES.includes(partitioning)) throw new SinkConfigError('spec.bigquery.partitioning.type', `must be one of ${PARTITION_TYPES.join(', ')}`);
  const clustering = spec.clustering ?? DEFAULT_CLUSTERING;
  const columns = ROW_FIELDS.filter((f) => f.type !== 'JSON').map((f) => f.name);
  const unknown = clustering.filter((c) => !columns.includes(c));
  if (unknown.length || clustering.length > 4 || new Set(clustering).size !== clustering.length) {
    throw new SinkConfigError('spec.bigquery.clustering', `must be at most 4 distinct columns of ${columns.join(', ')}${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`);
  }
  return { project: spec.project, dataset, table, location, root: `${u.origin}${u.pathname.replace(/\/+$/, '')}`, host, emulator: u.protocol === 'http:', partitioning, clustering };
}

/** A GoogleSQL string literal. Values are identities (names, lineage, ids), never row bodies. */
export function sqlString(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new Error(`value ${JSON.stringify(s)} contains a control character`);
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The parsed service-account key; only its shape is checked, never echoed. */
function serviceAccount(json: string): { client_email: string; private_key: string; private_key_id?: string } {
  let key: unknown;
  try { key = JSON.parse(json); } catch { throw new SinkConfigError('spec.secretRef', `key ${CREDENTIALS_KEY} is not JSON (expected a service-account key file)`); }
  const k = key as Record<string, unknown>;
  if (k?.type !== 'service_account' || typeof k.client_email !== 'string' || typeof k.private_key !== 'string') {
    throw new SinkConfigError('spec.secretRef', `key ${CREDENTIALS_KEY} must be a service-account key (type service_account, with client_email and private_key)`);
  }
  return { client_email: k.client_email, private_key: k.private_key, private_key_id: typeof k.private_key_id === 'string' ? k.private_key_id : undefined };
}

/** An error BigQuery reported (HTTP status or a failed job), with its reason as code. */
class BigQueryError extends Error {
  constructor(message: string, readonly code?: string, readonly status?: number) { super(message); }
}

interface Client {
  /** Cache key: endpoint and guard. */
  key: string;
  fingerprint: string;
  auth: AuthClient | Promise<AuthClient>;
  agent: http.Agent;
  /** The endpoint guard's refusal, if the agent's lookup refused an address: reported instead of the socket error. */
  refused?: EndpointRefusedError;
  /** Tables this client found or created (project.dataset.table), so an export does not fetch their metadata each time. */
  ready: Set<string>;
}

interface Job { jobReference: { jobId: string; location?: string }; status?: { state?: string; errorResult?: { reason?: string; message?: string } } }
interface QueryPage { jobComplete?: boolean; rows?: { f: { v: unknown }[] }[]; pageToken?: string }
interface TableMeta { schema?: { fields?: { name: string }[] }; timePartitioning?: unknown; clustering?: unknown }

export class BigQueryBackend implements SinkBackend<BigQuerySinkSpec> {
  readonly type = 'bigquery';
  readonly kind = 'KollectDatabaseSink' as const;
  private readonly clients = new Map<string, Client>();
  /** Guards by identity, so a client built for one guard is never used under another. */
  private readonly guardIds = new WeakMap<EndpointGuard, number>();
  private guardCount = 0;

  constructor(private readonly opts: BigQueryBackendOptions = {}) {}

  async export(input: ExportInput, ctx: SinkContext<BigQuerySinkSpec>): Promise<ExportReply> {
    return this.guarded(ctx, async (c, client) => {
      await this.ensureTables(c, client, ctx);
      const t0 = Date.now();
      const r = await this.reconcile(c, client, input, ctx.signal);
      ctx.log('sink.bigquery.export', { table: `${c.project}.${c.dataset}.${c.table}`, mode: input.plan.mode, outcome: r.outcome, upserts: r.upserts, deletes: r.deletes, ms: Date.now() - t0 });
      return r;
    });
  }

  async probe(ctx: SinkContext<BigQuerySinkSpec>): Promise<ProbeResult> {
    return this.guarded(ctx, async (c, client) => {
      await this.ensureTables(c, client, ctx);
      // A query job proves bigquery.jobs.create (jobUser) as well as read access to the dataset.
      const [row] = await this.query(c, client, `SELECT COUNT(*) FROM ${this.ref(c, WATERMARKS_TABLE)} WHERE table_name = ${sqlString(c.table)}`);
      return { detail: `table ${c.project}.${c.dataset}.${c.table} reachable (${Number(row?.[0] ?? 0)} watermarks)${c.emulator ? ' (emulator, no credentials)' : ''}` };
    });
  }

  close(): Promise<void> {
    for (const client of this.clients.values()) client.agent.destroy();
    this.clients.clear();
    return Promise.resolve();
  }

  /** Compiles the spec, checks the endpoint, runs `fn` with a client; a failed client is dropped. */
  private async guarded<T>(ctx: SinkContext<BigQuerySinkSpec>, fn: (c: Compiled, client: Client) => Promise<T>): Promise<T> {
    let client: Client | undefined;
    try {
      const c = compile(ctx.spec);
      const guard = ctx.guard ?? defaultEndpointGuard();
      // Resolved up front for a clean refusal before any request; the agent's lookup checks again
      // at connect time (a name that resolves elsewhere later).
      await guard.resolve('spec.bigquery.apiEndpoint', c.host);
      client = this.client(c, ctx, guard);
      client.refused = undefined;
      ctx.signal?.throwIfAborted();
      return await fn(c, client);
    } catch (err) {
      // A fresh client next time: the tables are checked again (e.g. dropped behind our back), and
      // credentials that failed to load (ADC not ready yet) are looked up again.
      if (client) this.drop(client);
      // The shared sink path (run.ts) redacts and logs; the guard's refusal wins over the socket error it caused.
      throw client?.refused ?? err;
    }
  }

  private drop(client: Client): void {
    if (this.clients.get(client.key) === client) this.clients.delete(client.key);
    client.agent.destroy();
  }

  /** The client for this endpoint, credentials, CA and guard; replaced when any of them changed. */
  private client(c: Compiled, ctx: SinkContext<BigQuerySinkSpec>, guard: EndpointGuard): Client {
    const json = ctx.credentials[CREDENTIALS_KEY];
    if (c.emulator && json) throw new SinkConfigError('spec.secretRef', `an http:// apiEndpoint is an emulator and is called without credentials; remove key ${CREDENTIALS_KEY} or use https://`);
    if (!this.guardIds.has(guard)) this.guardIds.set(guard, ++this.guardCount);
    const key = `${c.root}|${this.guardIds.get(guard)}`;
    const fingerprint = createHash('sha256').update(JSON.stringify([json ?? null, ctx.caPem ?? null])).digest('hex');
    const cached = this.clients.get(key);
    if (cached?.fingerprint === fingerprint) return cached;
    cached?.agent.destroy();
    const client: Client = { key, fingerprint, auth: new PassThroughClient(), agent: new http.Agent(), ready: new Set() };
    const lookup = guard.lookupFor('spec.bigquery.apiEndpoint');
    const recordingLookup = ((host: string, options: unknown, cb: (...a: unknown[]) => void) => {
      (lookup as unknown as (h: string, o: unknown, cb: (...a: unknown[]) => void) => void)(host, options, (err: unknown, ...rest: unknown[]) => {
        if (err instanceof EndpointRefusedError) client.refused = err;
        cb(err, ...rest);
      });
    }) as unknown as typeof lookup;
    client.agent = c.emulator
      ? new http.Agent({ keepAlive: true, lookup: recordingLookup })
      : new https.Agent({ keepAlive: true, lookup: recordingLookup, ...(ctx.caPem ? { ca: ctx.caPem } : {}) });
    if (json) {
      const sa = serviceAccount(json);
      // The token endpoint is reached through the guard too (its own lookup, named by the Secret).
      const tokenAgent = new https.Agent({ keepAlive: true, lookup: guard.lookupFor('spec.secretRef') });
      client.auth = new JWT({ email: sa.client_email, key: sa.private_key, keyId: sa.private_key_id, scopes: [SCOPE], transporterOptions: { agent: tokenAgent } });
    } else if (!c.emulator) {
      // Application Default Credentials: the operator's own identity (e.g. Workload Identity from
      // the metadata server), which is not a sink endpoint and so not subject to the guard.
      client.auth = new GoogleAuth({ scopes: [SCOPE] }).getClient();
    }
    this.clients.set(key, client);
    return client;
  }

  private async call<T>(client: Client, method: 'GET' | 'POST' | 'DELETE', url: string, data?: unknown, extra: Partial<gaxios.GaxiosOptions> = {}): Promise<T> {
    const auth = await client.auth;
    try {
      const res = await auth.request<T>({ method, url, data, agent: client.agent, timeout: this.opts.requestTimeoutMs ?? 60_000, responseType: 'json', retry: false, ...extra });
      return res.data;
    } catch (err) {
      const e = err as { status?: number; response?: { status?: number; data?: { error?: { message?: string; errors?: { reason?: string }[] } } }; message?: string; code?: string };
      const status = e.response?.status ?? e.status;
      const body = e.response?.data?.error;
      if (status) throw new BigQueryError(`${method} ${new URL(url).pathname}: HTTP ${status}${body?.message ? `: ${body.message}` : ''}`, body?.errors?.[0]?.reason ?? String(status), status);
      throw new BigQueryError(e.message ?? String(err), e.code);
    }
  }

  private api(c: Compiled, path: string): string { return `${c.root}/bigquery/v2/projects/${encodeURIComponent(c.project)}/${path}`; }
  private ref(c: Compiled, table: string): string { return `\`${c.project}.${c.dataset}.${table}\``; }

  /** GET that answers undefined for 404. */
  private async find<T>(client: Client, url: string): Promise<T | undefined> {
    try { return await this.call<T>(client, 'GET', url); } catch (err) {
      if (err instanceof BigQueryError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** The dataset, the rows table and the watermarks table exist (created when spec.create allows). */
  private async ensureTables(c: Compiled, client: Client, ctx: SinkContext<BigQuerySinkSpec>): Promise<void> {
    const key = `${c.project}.${c.dataset}.${c.table}`;
    if (client.ready.has(key)) return;
    const create = ctx.create !== false;
    const ds = await this.find<{ location?: string }>(client, this.api(c, `datasets/${c.dataset}`));
    if (!ds) {
      if (!create) throw new SinkConfigError('spec.bigquery.dataset', `dataset ${c.project}:${c.dataset} does not exist and spec.create is false: create it, or allow the sink to`);
      await this.insert(client, this.api(c, 'datasets'), { datasetReference: { projectId: c.project, datasetId: c.dataset }, location: c.location });
      ctx.log('sink.bigquery.created', { dataset: `${c.project}:${c.dataset}`, location: c.location });
    } else if (ds.location && ds.location.toLowerCase() !== c.location.toLowerCase()) {
      throw new SinkConfigError('spec.bigquery.location', `dataset ${c.project}:${c.dataset} is in ${ds.location}, not ${c.location}: set spec.bigquery.location to ${ds.location}`);
    }
    await this.ensureTable(c, client, ctx, c.table, ROW_FIELDS, 'spec.bigquery.table', {
      timePartitioning: { type: c.partitioning, field: 'exported_at' },
      clustering: { fields: c.clustering },
    });
    await this.ensureTable(c, client, ctx, WATERMARKS_TABLE, WATERMARK_FIELDS, 'spec.bigquery.dataset', {
      clustering: { fields: ['table_name', 'inventory_namespace', 'inventory_name', 'cluster'] },
    });
    client.ready.add(key);
  }

  private async ensureTable(c: Compiled, client: Client, ctx: SinkContext<BigQuerySinkSpec>, table: string, fields: readonly Field[], field: string, layout: Record<string, unknown>): Promise<void> {
    const meta = await this.find<TableMeta>(client, this.api(c, `datasets/${c.dataset}/tables/${table}`));
    if (meta) {
      const have = new Set((meta.schema?.fields ?? []).map((f) => f.name));
      const missing = fields.filter((f) => !have.has(f.name)).map((f) => f.name);
      if (missing.length) throw new SinkConfigError(field, `table ${c.project}.${c.dataset}.${table} lacks column(s) ${missing.join(', ')}: it was not created by Kollect; choose another table`);
      return;
    }
    if (ctx.create === false) throw new SinkConfigError(field, `table ${c.project}.${c.dataset}.${table} does not exist and spec.create is false: create it, or allow the sink to`);
    await this.insert(client, this.api(c, `datasets/${c.dataset}/tables`), { tableReference: { projectId: c.project, datasetId: c.dataset, tableId: table }, schema: { fields }, ...layout });
    ctx.log('sink.bigquery.created', { table: `${c.project}.${c.dataset}.${table}` });
  }

  /** POST that treats 409 (created meanwhile by another worker) as success. */
  private async insert(client: Client, url: string, body: unknown): Promise<void> {
    try { await this.call(client, 'POST', url, body); } catch (err) {
      if (!(err instanceof BigQueryError && err.status === 409)) throw err;
    }
  }

  private jobRef(c: Compiled): { projectId: string; jobId: string; location: string } {
    return { projectId: c.project, jobId: `kollect_${randomBytes(12).toString('hex')}`, location: c.location };
  }

  /** Waits for a job to finish; throws its error. */
  private async wait(c: Compiled, client: Client, job: Job): Promise<void> {
    const deadline = Date.now() + (this.opts.jobTimeoutMs ?? 600_000);
    let delay = 50;
    while (job.status?.state !== 'DONE') {
      if (Date.now() > deadline) throw new BigQueryError(`job ${job.jobReference.jobId} did not finish within ${(this.opts.jobTimeoutMs ?? 600_000) / 1000} s`, 'timeout');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1_000);
      job = await this.call<Job>(client, 'GET', this.api(c, `jobs/${job.jobReference.jobId}?location=${encodeURIComponent(c.location)}`));
    }
    const e = job.status.errorResult;
    if (e) throw new BigQueryError(`job ${job.jobReference.jobId}: ${e.message ?? e.reason ?? 'failed'}`, e.reason);
  }

  /** Runs one GoogleSQL query or script; returns the rows of its (last) result, cell values as strings. */
  private async query(c: Compiled, client: Client, sql: string): Promise<unknown[][]> {
    const ref = this.jobRef(c);
    const job = await this.call<Job>(client, 'POST', this.api(c, 'jobs'), { jobReference: ref, configuration: { query: { query: sql, useLegacySql: false } } });
    await this.wait(c, client, job);
    const rows: unknown[][] = [];
    let pageToken: string | undefined;
    do {
      const q = new URLSearchParams({ location: c.location, maxResults: '20000', ...(pageToken ? { pageToken } : {}) });
      const page = await this.call<QueryPage>(client, 'GET', this.api(c, `queries/${ref.jobId}?${q.toString()}`));
      for (const r of page.rows ?? []) rows.push(r.f.map((x) => x.v));
      pageToken = page.pageToken;
    } while (pageToken);
    return rows;
  }

  /** Loads newline-delimited JSON into `table` with one load job, streaming the lines as they come. */
  private async load(c: Compiled, client: Client, table: string, lines: AsyncIterable<string>): Promise<void> {
    const ref = this.jobRef(c);
    const config = { jobReference: ref, configuration: { load: { destinationTable: { projectId: c.project, datasetId: c.dataset, tableId: table }, sourceFormat: 'NEWLINE_DELIMITED_JSON', writeDisposition: 'WRITE_APPEND' } } };
    const url = `${c.root}/upload/bigquery/v2/projects/${encodeURIComponent(c.project)}/jobs?uploadType=multipart`;
    const job = await this.call<Job>(client, 'POST', url, undefined, {
      multipart: [
        { headers: new Headers({ 'Content-Type': 'application/json; charset=UTF-8' }), content: JSON.stringify(config) },
        { headers: new Headers({ 'Content-Type': 'application/octet-stream' }), content: Readable.from(lines) },
      ],
    });
    await this.wait(c, client, job);
  }

  private async readWatermark(c: Compiled, client: Client, inv: ExportInput['inventory']): Promise<Watermark | undefined> {
    const [row] = await this.query(c, client, `SELECT lineage, version FROM ${this.ref(c, WATERMARKS_TABLE)} WHERE ${watermarkKey(c, inv)} LIMIT 1`);
    return row ? { lineage: String(row[0]), version: Number(row[1]) } : undefined;
  }

  /**
   * Checks the stored watermark, stages the changes, then one transaction: fence (the watermark
   * is still the one read), MERGE the upserts, delete, write the watermark, commit.
   */
  private async reconcile(c: Compiled, client: Client, input: ExportInput, signal?: AbortSignal): Promise<ExportReply> {
    const inv = input.inventory;
    const plan = input.plan;
    const stored = await this.readWatermark(c, client, inv);
    const d = decideWatermark(stored, plan);
    if (d.action !== 'apply') return skipped(d, stored);
    const rows = this.ref(c, c.table);
    const mine = `inventory_namespace = ${sqlString(inv.namespace)} AND inventory_name = ${sqlString(inv.name)} AND cluster = ${sqlString(inv.cluster)}`;

    let want: ((e: { target: string; uid: string; hash: string }) => boolean) | undefined;
    let deletes: { target: string; uid: string }[];
    if (plan.mode === 'full') {
      const held = await this.query(c, client, `SELECT target_name, source_uid, content_hash FROM ${rows} WHERE ${mine}`);
      const stale = held.filter(([target, uid]) => !input.keep.has(`${String(target)}/${String(uid)}`));
      checkDeleteGuard(input, stale.length, held.length);
      // Only rows whose content differs have their bodies read and staged.
      const hashes = new Map(held.map(([target, uid, hash]) => [`${String(target)}/${String(uid)}`, String(hash)]));
      want = (e) => hashes.get(`${e.target}/${e.uid}`) !== e.hash;
      deletes = stale.map(([target, uid]) => ({ target: String(target), uid: String(uid) }));
    } else {
      if (input.deletes.length) {
        const [[n] = [0]] = await this.query(c, client, `SELECT COUNT(*) FROM ${rows} WHERE ${mine}`);
        checkDeleteGuard(input, input.deletes.length, Number(n));
      }
      deletes = input.deletes;
    }

    const stage = `${STAGE_PREFIX}${randomBytes(8).toString('hex')}`;
    const changes = stagedLines(input.upserts(want), deletes, signal)[Symbol.asyncIterator]();
    const first = await changes.next();
    let counts: { upserted: number; deleted: number };
    try {
      // Nothing changed (e.g. the scheduled full reconcile of an unchanged snapshot): no staging
      // table, the transaction only moves the watermark.
      if (!first.done) {
        await this.insert(client, this.api(c, `datasets/${c.dataset}/tables`), {
          tableReference: { projectId: c.project, datasetId: c.dataset, tableId: stage }, schema: { fields: STAGE_FIELDS },
          expirationTime: String(Date.now() + STAGE_TTL_MS),
        });
        await this.load(c, client, stage, (async function* () { yield first.value; yield* { [Symbol.asyncIterator]: () => changes }; })());
      }
      // A cancelled attempt (timed out, or its heartbeat lost) must not commit over a newer one.
      signal?.throwIfAborted();
      const [[upserted, deleted] = [0, 0]] = await this.query(c, client, script(c, input, stored, first.done ? undefined : stage));
      counts = { upserted: Number(upserted), deleted: Number(deleted) };
    } catch (err) {
      if (!(err instanceof BigQueryError && err.message.includes(FENCE))) throw err;
      // Another attempt moved the watermark between our read and our commit: nothing was written.
      const now = await this.readWatermark(c, client, inv);
      const again = decideWatermark(now, plan);
      if (again.action !== 'apply') return skipped(again, now);
      throw new BigQueryError('the watermark changed while this export ran; retrying', 'watermark_moved');
    } finally {
      if (!first.done) await this.call(client, 'DELETE', this.api(c, `datasets/${c.dataset}/tables/${stage}`)).catch(() => undefined); // else it expires
    }
    return { outcome: 'applied', rowsExported: plan.rowCount, upserts: counts.upserted, deletes: counts.deleted, detail: `${plan.mode}: upserted ${counts.upserted}, deleted ${counts.deleted}` };
  }
}

/** The condition selecting this (table, inventory, cluster)'s watermark row; `w` prefixes the columns. */
function watermarkKey(c: Compiled, inv: ExportInput['inventory'], w = ''): string {
  return `${w}table_name = ${sqlString(c.table)} AND ${w}inventory_namespace = ${sqlString(inv.namespace)} AND ${w}inventory_name = ${sqlString(inv.name)} AND ${w}cluster = ${sqlString(inv.cluster)}`;
}

/** The staging table's lines: the upserts page by page, then the deleted keys. */
async function* stagedLines(pages: AsyncIterable<VersionedRow[]>, deletes: readonly { target: string; uid: string }[], signal?: AbortSignal): AsyncIterable<string> {
  let seq = 0;
  for await (const page of pages) {
    for (const r of page) yield `${JSON.stringify(stageRow(seq++, r))}\n`;
    signal?.throwIfAborted();
  }
  for (const k of deletes) yield `${JSON.stringify({ seq: seq++, op: 'delete', target_name: k.target, source_uid: k.uid })}\n`;
}

function stageRow(seq: number, r: VersionedRow): Record<string, unknown> {
  return {
    seq, op: 'upsert', target_name: r.target, source_uid: r.uid, api_version: r.apiVersion, kind: r.kind, namespace: r.namespace,
    name: r.name, attributes: r.attributes ?? {}, content_hash: r.hash, snapshot_version: r.version,
  };
}

/**
 * The transaction of one export. Values are inlined as escaped literals rather than query
 * parameters: the emulator does not bind parameters in multi-statement queries (docs/decisions/0002).
 * Fails with ERROR(FENCE), rolling everything back, when the watermark is no longer `stored`.
 */
function script(c: Compiled, input: ExportInput, stored: Watermark | undefined, stage: string | undefined): string {
  const inv = input.inventory;
  const q = (t: string) => `\`${c.project}.${c.dataset}.${t}\``;
  const [ns, name, cluster] = [sqlString(inv.namespace), sqlString(inv.name), sqlString(inv.cluster)];
  const wm = q(WATERMARKS_TABLE);
  const wkey = watermarkKey(c, inv);
  const moved = stored
    ? `NOT EXISTS (SELECT 1 FROM ${wm} WHERE ${wkey} AND lineage = ${sqlString(stored.lineage)} AND version = ${stored.version})`
    : `EXISTS (SELECT 1 FROM ${wm} WHERE ${wkey})`;
  const t = q(c.table);
  const mine = `t.inventory_namespace = ${ns} AND t.inventory_name = ${name} AND t.cluster = ${cluster}`;
  // Last staged row per key wins: a MERGE may match each target row at most once.
  const upserts = stage && `(SELECT * FROM ${q(stage)} WHERE op = 'upsert' QUALIFY ROW_NUMBER() OVER (PARTITION BY target_name, source_uid ORDER BY seq DESC) = 1)`;
  const deleted = stage && `EXISTS (SELECT 1 FROM ${q(stage)} AS d WHERE d.op = 'delete' AND d.target_name = t.target_name AND d.source_uid = t.source_uid)`;
  const [lineage, version, exportId] = [sqlString(input.plan.lineage), String(input.plan.version), sqlString(input.exportId)];
  return [
    'DECLARE upserted INT64 DEFAULT 0;',
    'DECLARE deleted INT64 DEFAULT 0;',
    'BEGIN TRANSACTION;',
    `SELECT IF(${moved}, ERROR(${sqlString(FENCE)}), 0);`,
    ...(stage ? [
      `SET upserted = (SELECT COUNT(*) FROM ${upserts} AS s LEFT JOIN ${t} AS t ON ${mine} AND t.target_name = s.target_name AND t.source_uid = s.source_uid
        WHERE t.source_uid IS NULL OR t.content_hash != s.content_hash);`,
      `MERGE ${t} AS t USING ${upserts} AS s
        ON ${mine} AND t.target_name = s.target_name AND t.source_uid = s.source_uid
        WHEN MATCHED AND t.content_hash != s.content_hash THEN UPDATE SET api_version = s.api_version, kind = s.kind, namespace = s.namespace,
          name = s.name, attributes = s.attributes, content_hash = s.content_hash, snapshot_version = s.snapshot_version, exported_at = CURRENT_TIMESTAMP()
        WHEN NOT MATCHED THEN INSERT (inventory_namespace, inventory_name, cluster, target_name, source_uid, api_version, kind, namespace, name, attributes, content_hash, snapshot_version, exported_at)
          VALUES (${ns}, ${name}, ${cluster}, s.target_name, s.source_uid, s.api_version, s.kind, s.namespace, s.name, s.attributes, s.content_hash, s.snapshot_version, CURRENT_TIMESTAMP());`,
      `SET deleted = (SELECT COUNT(*) FROM ${t} AS t WHERE ${mine} AND ${deleted});`,
      `DELETE FROM ${t} AS t WHERE ${mine} AND ${deleted};`,
    ] : []),
    `MERGE ${wm} AS w USING (SELECT 1 AS one) AS s ON ${watermarkKey(c, inv, 'w.')}
      WHEN MATCHED THEN UPDATE SET lineage = ${lineage}, version = ${version}, export_id = ${exportId}, updated_at = CURRENT_TIMESTAMP()
      WHEN NOT MATCHED THEN INSERT (table_name, inventory_namespace, inventory_name, cluster, lineage, version, export_id, updated_at)
        VALUES (${sqlString(c.table)}, ${ns}, ${name}, ${cluster}, ${lineage}, ${version}, ${exportId}, CURRENT_TIMESTAMP());`,
    'COMMIT TRANSACTION;',
    'SELECT upserted, deleted;',
  ].join('\n');
}

export const bigqueryBackend = new BigQueryBackend();

export const bigquerySink: SinkDescriptor<BigQuerySinkSpec> = {
  type: 'bigquery', kind: 'KollectDatabaseSink', backend: bigqueryBackend, formats: [],
  locate: (spec) => {
    const c = compile(spec);
    return { endpoint: c.root === DEFAULT_ROOT ? `project ${c.project}` : `${c.root} project ${c.project}`, location: `table ${c.project}.${c.dataset}.${c.table}` };
  },
  render: (row) => JSON.stringify({ target_name: row.target, source_uid: row.uid, cluster: row.cluster, api_version: row.apiVersion, kind: row.kind, namespace: row.namespace, name: row.name, attributes: row.attributes, content_hash: row.hash, snapshot_version: row.version }, null, 2),
  sample: 'sink-bigquery.yaml', docs: 'bigquery.md',
};
