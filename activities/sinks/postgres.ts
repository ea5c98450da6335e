// Postgres database sink (KollectDatabaseSink, type postgres): the snapshot as rows of one table,
// keyed by (inventory_namespace, inventory_name, target_name, source_uid).
// See docs/sinks/postgres.md for the table, the migrations and the reconciliation rules.
import { createHash } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import type { VersionedRow } from '../../api/rows.js';
import type { PostgresSinkSpec } from '../../api/types.js';
import { redact, redactError, redactUrl, secretValues } from './redact.js';
import {
  Rejections, SinkConfigError, checkDeleteGuard, decideWatermark, skipped, type ExportInput, type ExportReply, type ProbeResult, type SinkBackend, type SinkContext, type Watermark,
} from './types.js';
import type { SinkDescriptor } from './descriptor.js';
import { defaultEndpointGuard, type EndpointGuard } from './endpoints.js';

export interface PostgresBackendOptions {
  /** Connections per pool (one pool per distinct URL), default 4. */
  poolMax?: number;
  /** Give up connecting after this long (default 5 s): a down server is a quick, retryable error. */
  connectTimeoutMs?: number;
  /** Server-side statement timeout (default 120 s). */
  statementTimeoutMs?: number;
  /** Rows per upsert statement (default 2000). */
  batchSize?: number;
}

type SslMode = NonNullable<PostgresSinkSpec['sslMode']>;
const SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-full'];
const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** First key of every advisory lock Kollect takes (`KOLL`), so they cannot collide with an application's. */
const LOCK_CLASS = 0x4b4f4c4c;

interface Compiled {
  /** Pool identity: the URL as configured (it carries no password), TLS mode and user. */
  key: string;
  /** The URL without userinfo, for messages and logs. */
  url: string;
  conn: { host: string; port: number; user: string; database: string };
  sslMode: SslMode;
  schema: string;
  table: string;
}

export const MIGRATIONS_TABLE = 'kollect_schema_migrations';
/** Per (table, inventory, cluster): the lineage and version the rows hold, written in the same transaction. */
export const WATERMARKS_TABLE = 'kollect_watermarks';

const q = (ident: string): string => `"${ident.replace(/"/g, '""')}"`;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

function compile(spec: PostgresSinkSpec, ctx: SinkContext<PostgresSinkSpec>): Compiled {
  if (!spec || typeof spec.url !== 'string' || spec.url === '') throw new SinkConfigError('spec.postgres.url', 'is required');
  let u: URL;
  try { u = new URL(spec.url); } catch { throw new SinkConfigError('spec.postgres.url', `not a URL: ${redactUrl(spec.url)}`); }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new SinkConfigError('spec.postgres.url', `must be postgres:// (got ${u.protocol}//)`);
  if (u.password) throw new SinkConfigError('spec.postgres.url', 'must not contain a password: put it in the Secret of spec.secretRef, key password');
  let urlSsl: string | undefined;
  for (const [k, v] of u.searchParams) {
    if (k === 'sslmode') urlSsl = v;
    else throw new SinkConfigError('spec.postgres.url', `query parameter ${k} is not supported (only sslmode; TLS settings go in spec.postgres.sslMode and spec.tls)`);
  }
  // Verified TLS unless the spec says otherwise: a database sink carries every collected object.
  const sslMode = (spec.sslMode ?? urlSsl ?? 'verify-full') as SslMode;
  if (!SSL_MODES.includes(sslMode)) throw new SinkConfigError('spec.postgres.sslMode', `must be one of ${SSL_MODES.join(', ')}`);
  const user = decodeURIComponent(u.username) || ctx.credentials.username || '';
  if (!user) throw new SinkConfigError('spec.postgres.url', 'needs a user (postgres://user@host/db)');
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new SinkConfigError('spec.postgres.url', 'needs a host');
  const schema = spec.schema ?? 'public';
  const table = spec.table ?? 'kollect_rows';
  if (!IDENT.test(schema)) throw new SinkConfigError('spec.postgres.schema', `"${schema}" is not a plain identifier (letters, digits, _; at most 63)`);
  if (!IDENT.test(table) || table === MIGRATIONS_TABLE) throw new SinkConfigError('spec.postgres.table', `"${table}" is not a plain identifier (letters, digits, _; at most 63) or is reserved`);
  return {
    key: `${spec.url}|${sslMode}|${user}`, url: redactUrl(spec.url), sslMode, schema, table,
    conn: { host, port: u.port ? Number(u.port) : 5432, user, database: decodeURIComponent(u.pathname.slice(1)) || user },
  };
}

/** A socket whose connect(port, host), as pg calls it, goes through the endpoint guard. */
function guardedSocket(guard: EndpointGuard): net.Socket {
  const socket = new net.Socket();
  const connect = socket.connect.bind(socket) as (opts: net.TcpSocketConnectOpts) => net.Socket;
  socket.connect = ((port: number, host: string) => {
    try {
      return connect({ port, host, ...guard.connectOptions('spec.postgres.url', host) });
    } catch (err) {
      process.nextTick(() => socket.destroy(err as Error));
      return socket;
    }
  }) as typeof socket.connect;
  return socket;
}

/** Versioned, append-only: never edit a shipped migration, add the next version. */
export const MIGRATIONS: { version: number; description: string; sql: (t: string, idx: (suffix: string) => string) => string[] }[] = [
  {
    version: 1,
    description: 'rows table keyed per ADR-0402',
    sql: (t, idx) => [
      `CREATE TABLE IF NOT EXISTS ${t} (
        inventory_namespace text NOT NULL,
        inventory_name text NOT NULL,
        target_name text NOT NULL,
        source_uid text NOT NULL,
        cluster text NOT NULL,
        api_version text NOT NULL,
        kind text NOT NULL,
        namespace text NOT NULL,
        name text NOT NULL,
        attributes jsonb NOT NULL,
        content_hash text NOT NULL,
        snapshot_version bigint NOT NULL,
        exported_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (inventory_namespace, inventory_name, target_name, source_uid))`,
      // Reconciliation deletes by (inventory, cluster); fleets put hundreds of clusters in one table.
      `CREATE INDEX IF NOT EXISTS ${idx('inventory_cluster_idx')} ON ${t} (inventory_namespace, inventory_name, cluster)`,
      `CREATE INDEX IF NOT EXISTS ${idx('kind_name_idx')} ON ${t} (kind, namespace, name)`,
    ],
  },
  {
    version: 2,
    description: 'watermarks table: the snapshot lineage and version each (table, inventory, cluster) holds',
    sql: (t) => [
      `CREATE TABLE IF NOT EXISTS ${t.slice(0, t.lastIndexOf('.'))}.${WATERMARKS_TABLE} (
        table_name text NOT NULL,
        inventory_namespace text NOT NULL,
        inventory_name text NOT NULL,
        cluster text NOT NULL,
        lineage text NOT NULL,
        version bigint NOT NULL,
        export_id text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (table_name, inventory_namespace, inventory_name, cluster))`,
    ],
  },
];

interface PoolEntry { fingerprint: string; pool: pg.Pool }

export class PostgresBackend implements SinkBackend<PostgresSinkSpec> {
  readonly type = 'postgres';
  readonly kind = 'KollectDatabaseSink' as const;
  private readonly pools = new Map<string, PoolEntry>();
  /** (pool, schema, table) whose migrations this process has checked; cleared on any error. */
  private readonly migrated = new Set<string>();

  constructor(private readonly opts: PostgresBackendOptions = {}) {}

  async export(input: ExportInput, ctx: SinkContext<PostgresSinkSpec>): Promise<ExportReply> {
    const secrets = secretValues(ctx.credentials);
    let migrationKey: string | undefined;
    try {
      const c = compile(ctx.spec, ctx);
      const pool = await this.pool(c, ctx, secrets);
      migrationKey = `${c.key}|${c.schema}|${c.table}`;
      ctx.signal?.throwIfAborted();
      const client = await pool.connect();
      let failed: Error | undefined;
      try {
        if (!this.migrated.has(migrationKey)) {
          const applied = await migrate(client, c.schema, c.table, ctx.create !== false);
          if (applied.length) ctx.log('sink.postgres.migrated', { schema: c.schema, table: c.table, versions: applied });
          this.migrated.add(migrationKey);
        }
        const t0 = Date.now();
        const r = await this.reconcile(client, c, input, ctx.signal);
        ctx.log('sink.postgres.export', { schema: c.schema, table: c.table, mode: input.plan.mode, ...r, ms: Date.now() - t0 });
        return r;
      } catch (err) {
        failed = err as Error;
        throw err;
      } finally {
        client.release(failed); // a client that failed mid-transaction is destroyed, not reused
      }
    } catch (err) {
      if (migrationKey) this.migrated.delete(migrationKey); // recheck next time (e.g. table dropped)
      throw err;
    }
  }

  async probe(ctx: SinkContext<PostgresSinkSpec>): Promise<ProbeResult> {
    const c = compile(ctx.spec, ctx);
    const pool = await this.pool(c, ctx, secretValues(ctx.credentials));
    const client = await pool.connect();
    try {
      const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
      await migrate(client, c.schema, c.table, ctx.create !== false);
      return { detail: `connected to ${c.conn.database} as ${c.conn.user} (PostgreSQL ${version}, TLS ${c.sslMode}); table ${c.schema}.${c.table} ready` };
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    const entries = [...this.pools.values()];
    this.pools.clear();
    this.migrated.clear();
    await Promise.allSettled(entries.map((e) => e.pool.end()));
  }

  /** The pool for this URL and TLS mode; replaced when the password or CA changed (Secret rotated). */
  private async pool(c: Compiled, ctx: SinkContext<PostgresSinkSpec>, secrets: readonly string[]): Promise<pg.Pool> {
    const password = ctx.credentials.password;
    const fingerprint = sha(JSON.stringify([password ?? null, ctx.caPem ?? null]));
    const cached = this.pools.get(c.key);
    if (cached?.fingerprint === fingerprint) return cached.pool;
    if (cached) {
      this.pools.delete(c.key);
      for (const k of this.migrated) if (k.startsWith(`${c.key}|`)) this.migrated.delete(k);
      await cached.pool.end().catch(() => undefined);
    }
    const ssl: pg.PoolConfig['ssl'] = c.sslMode === 'disable' ? false
      : c.sslMode === 'require' ? { rejectUnauthorized: false }
        : { rejectUnauthorized: true, ...(ctx.caPem ? { ca: ctx.caPem } : {}) };
    const guard = ctx.guard ?? defaultEndpointGuard();
    const pool = new pg.Pool({
      // A function, so pg never falls back to the operator's own PGPASSWORD when the Secret has none.
      ...c.conn, password: () => password ?? '', ssl,
      // Every connection the pool opens resolves its host through the endpoint guard.
      stream: () => guardedSocket(guard),
      max: this.opts.poolMax ?? 4,
      connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: this.opts.statementTimeoutMs ?? 120_000,
      application_name: 'kollect',
      keepAlive: true,
    });
    const log = ctx.log;
    // An idle client losing its server emits here; unhandled, it would crash the worker.
    pool.on('error', (err) => log('sink.postgres.pool_error', { error: redactError(err, { sinkType: this.type, context: `idle client of ${redact(c.url, secrets)}`, secrets }).message }));
    this.pools.set(c.key, { fingerprint, pool });
    return pool;
  }

  /**
   * One transaction under a per-(table, inventory) advisory lock: check the stored watermark
   * (fencing: a stale or retried attempt changes nothing), apply the delta or the full
   * reconcile, write the new watermark, commit. See docs/sinks/postgres.md.
   */
  private async reconcile(client: pg.PoolClient, c: Compiled, input: ExportInput, signal?: AbortSignal): Promise<ExportReply> {
    const t = `${q(c.schema)}.${q(c.table)}`;
    const wm = `${q(c.schema)}.${q(WATERMARKS_TABLE)}`;
    const inv = input.inventory;
    const plan = input.plan;
    await client.query('BEGIN');
    try {
      // Two exports of one inventory into one table (two sink CRs, or a retry racing a slow
      // attempt) take turns instead of interleaving.
      await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_CLASS, `${c.schema}.${c.table}|${inv.namespace}/${inv.name}`]);
      const held = await client.query<{ lineage: string; version: string }>(
        `SELECT lineage, version FROM ${wm} WHERE table_name = $1 AND inventory_namespace = $2 AND inventory_name = $3 AND cluster = $4`,
        [c.table, inv.namespace, inv.name, inv.cluster]);
      const stored: Watermark | undefined = held.rows[0] ? { lineage: held.rows[0].lineage, version: Number(held.rows[0].version) } : undefined;
      const d = decideWatermark(stored, plan);
      if (d.action !== 'apply') {
        await client.query('ROLLBACK');
        return skipped(d, stored);
      }
      const size = this.opts.batchSize ?? 2000;
      let upserted = 0;
      let deleted = 0;
      const rejected = new Rejections();
      /** Upserts the rows PostgreSQL can store; a poison row is refused and its earlier version deleted. */
      const apply = async (page: readonly VersionedRow[]): Promise<void> => {
        const rows: VersionedRow[] = [];
        const poison: VersionedRow[] = [];
        for (const r of dedupe(page)) {
          const nul = nulPath(r);
          if (nul === undefined) rows.push(r);
          else { poison.push(r); rejected.add(r, `${nul} contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot store`); }
        }
        for (let i = 0; i < rows.length; i += size) upserted += await upsert(client, t, inv, rows.slice(i, i + size));
        if (poison.length) deleted += await deleteKeys(client, t, inv, poison);
      };
      const count = async (): Promise<number> => Number((await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${t} WHERE inventory_namespace = $1 AND inventory_name = $2 AND cluster = $3`, [inv.namespace, inv.name, inv.cluster])).rows[0]?.n ?? 0);
      if (plan.mode === 'full') {
        // Which of this (inventory, cluster)'s rows the snapshot no longer has: read under the lock.
        const existing = await client.query<[string, string, string]>({
          text: `SELECT target_name, source_uid, content_hash FROM ${t} WHERE inventory_namespace = $1 AND inventory_name = $2 AND cluster = $3`,
          values: [inv.namespace, inv.name, inv.cluster], rowMode: 'array',
        });
        const stale = existing.rows.filter(([target, uid]) => !input.keep.has(`${target}/${uid}`));
        checkDeleteGuard(input, stale.length, existing.rows.length);
        // Only rows whose content differs have their bodies read and written.
        const hashes = new Map(existing.rows.map(([target, uid, hash]) => [`${target}/${uid}`, hash]));
        for await (const page of input.upserts((e) => hashes.get(`${e.target}/${e.uid}`) !== e.hash)) await apply(page);
        for (let i = 0; i < stale.length; i += size) deleted += await deleteKeys(client, t, inv, stale.slice(i, i + size).map(([target, uid]) => ({ target, uid })));
      } else {
        if (input.deletes.length) checkDeleteGuard(input, input.deletes.length, await count());
        for await (const page of input.upserts()) await apply(page);
        for (let i = 0; i < input.deletes.length; i += size) deleted += await deleteKeys(client, t, inv, input.deletes.slice(i, i + size));
      }
      await client.query(
        `INSERT INTO ${wm} (table_name, inventory_namespace, inventory_name, cluster, lineage, version, export_id, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (table_name, inventory_namespace, inventory_name, cluster) DO UPDATE SET
           lineage = EXCLUDED.lineage, version = EXCLUDED.version, export_id = EXCLUDED.export_id, updated_at = now()`,
        [c.table, inv.namespace, inv.name, inv.cluster, plan.lineage, plan.version, input.exportId]);
      // A cancelled attempt (timed out, or its heartbeat lost) must not commit over a newer one.
      signal?.throwIfAborted();
      await client.query('COMMIT');
      const rows = plan.rowCount;
      const refused = rejected.count ? `, refused ${rejected.count}` : '';
      return { outcome: 'applied', rowsExported: rows, upserts: upserted, deletes: deleted, detail: `${plan.mode}: upserted ${upserted}, deleted ${deleted}${refused}`, rejected: rejected.summary() };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

async function deleteKeys(client: pg.PoolClient, t: string, inv: ExportInput['inventory'], keys: readonly { target: string; uid: string }[]): Promise<number> {
  const del = await client.query(
    `DELETE FROM ${t} AS t USING unnest($3::text[], $4::text[]) AS k(target_name, source_uid)
      WHERE t.inventory_namespace = $1 AND t.inventory_name = $2 AND t.target_name = k.target_name
        AND t.source_uid = k.source_uid AND t.cluster = $5`,
    [inv.namespace, inv.name, keys.map((k) => k.target), keys.map((k) => k.uid), inv.cluster]);
  return del.rowCount ?? 0;
}

async function upsert(client: pg.PoolClient, t: string, inv: ExportInput['inventory'], rows: readonly VersionedRow[]): Promise<number> {
  const res = await client.query(
    `INSERT INTO ${t} AS t (inventory_namespace, inventory_name, target_name, source_uid, cluster, api_version, kind, namespace, name, attributes, content_hash, snapshot_version, exported_at)
     SELECT $1::text, $2::text, u.*, now()
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::bigint[])
         AS u(target_name, source_uid, cluster, api_version, kind, namespace, name, attributes, content_hash, snapshot_version)
     ON CONFLICT (inventory_namespace, inventory_name, target_name, source_uid) DO UPDATE SET
       cluster = EXCLUDED.cluster, api_version = EXCLUDED.api_version, kind = EXCLUDED.kind, namespace = EXCLUDED.namespace,
       name = EXCLUDED.name, attributes = EXCLUDED.attributes, content_hash = EXCLUDED.content_hash,
       snapshot_version = EXCLUDED.snapshot_version, exported_at = EXCLUDED.exported_at
     WHERE t.content_hash IS DISTINCT FROM EXCLUDED.content_hash OR t.cluster IS DISTINCT FROM EXCLUDED.cluster`,
    [inv.namespace, inv.name,
      rows.map((r) => r.target), rows.map((r) => r.uid), rows.map((r) => r.cluster), rows.map((r) => r.apiVersion),
      rows.map((r) => r.kind), rows.map((r) => r.namespace), rows.map((r) => r.name),
      rows.map((r) => JSON.stringify(r.attributes ?? {})), rows.map((r) => r.hash), rows.map((r) => r.version)]);
  return res.rowCount ?? 0;
}

/**
 * Where a row holds a NUL character (U+0000), e.g. `attributes.data.blob`, or undefined. PostgreSQL
 * text and jsonb cannot store it: one such row would fail every export of the inventory, so it is
 * refused alone (docs/sinks/postgres.md#poison-rows). Iterative: depth is no concern here.
 */
export function nulPath(row: VersionedRow): string | undefined {
  for (const k of ['target', 'uid', 'cluster', 'apiVersion', 'kind', 'namespace', 'name'] as const) if (row[k].includes('\0')) return k;
  const stack: [unknown, string][] = [[row.attributes ?? {}, 'attributes']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'string') { if (v.includes('\0')) return at; continue; }
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) { v.forEach((x, i) => stack.push([x, `${at}[${i}]`])); continue; }
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('\0')) return `${at} (a key)`;
      stack.push([x, `${at}.${k}`]);
    }
  }
  return undefined;
}

/** Last row wins per (target, uid): one statement must not touch a key twice. */
function dedupe(rows: readonly VersionedRow[]): VersionedRow[] {
  const m = new Map<string, VersionedRow>();
  for (const r of rows) m.set(`${r.target}/${r.uid}`, r);
  return m.size === rows.length ? [...rows] : [...m.values()];
}

/**
 * Brings (schema, table) to the latest migration. Runs in one transaction under an advisory lock
 * per schema, so workers starting together neither race on CREATE nor apply a version twice.
 * Returns the versions it applied.
 */
export async function migrate(client: pg.ClientBase, schema: string, table: string, create = true): Promise<number[]> {
  const s = q(schema);
  const idx = (suffix: string): string => {
    const name = `${table}_${suffix}`;
    return q(name.length <= 63 ? name : `${table.slice(0, 40)}_${sha(table).slice(0, 8)}_${suffix}`.slice(0, 63));
  };
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::int, hashtext($2))', [LOCK_CLASS, `migrate|${schema}`]);
    // Existence checks first: CREATE ... IF NOT EXISTS still needs CREATE privilege, which a
    // pre-provisioned schema's user may lack.
    if (!create && !(await client.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [`${s}.${q(table)}`])).rows[0]?.r) {
      throw new SinkConfigError('spec.create', `table ${schema}.${table} does not exist and spec.create is false: create it (docs/sinks/postgres.md) or allow the sink to`);
    }
    const hasSchema = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (!hasSchema.rowCount) await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    const hasLog = await client.query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [`${s}.${MIGRATIONS_TABLE}`]);
    if (!hasLog.rows[0]?.r) {
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.${MIGRATIONS_TABLE} (
        table_name text NOT NULL, version int NOT NULL, description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, version))`);
    }
    const done = new Set((await client.query<{ version: number }>(`SELECT version FROM ${s}.${MIGRATIONS_TABLE} WHERE table_name = $1`, [table])).rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      for (const stmt of m.sql(`${s}.${q(table)}`, idx)) await client.query(stmt);
      await client.query(`INSERT INTO ${s}.${MIGRATIONS_TABLE} (table_name, version, description) VALUES ($1, $2, $3)`, [table, m.version, m.description]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export const postgresBackend = new PostgresBackend();

export const postgresSink: SinkDescriptor<PostgresSinkSpec> = {
  type: 'postgres', kind: 'KollectDatabaseSink', backend: postgresBackend, formats: [],
  locate: (spec) => ({ endpoint: redactUrl(spec.url), location: `table ${spec.schema ?? 'public'}.${spec.table ?? 'kollect_rows'}` }),
  render: (row) => JSON.stringify({ target_name: row.target, source_uid: row.uid, cluster: row.cluster, api_version: row.apiVersion, kind: row.kind, namespace: row.namespace, name: row.name, attributes: row.attributes, content_hash: row.hash, snapshot_version: row.version }, null, 2),
  sample: 'sink-postgres.yaml', docs: 'postgres.md',
};
