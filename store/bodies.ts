// The content-addressed body store: every row body, keyed by its content hash, in Postgres (the
// same database as the payload claim-check store). The watcher writes a body before any signal
// names its hash; exports read bodies back in bounded pages. See docs/decisions/0009.
import pg from 'pg';
import type { Row } from '../api/rows.js';

/** Default table name; tests pass their own. */
export const BODIES_TABLE = 'kollect_bodies';
/** Hashes per statement: one page of an export's reads. */
export const BODY_PAGE = 1_000;
/** A put refreshes `touched_at` of an existing body only when it is older than this (fewer writes). */
const TOUCH_AFTER = '10 minutes';

/** The store could not be reached or answered with an error: retry later, nothing is lost. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(readonly operation: string, cause: unknown) {
    super(`body store: ${operation} failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A hash some reference names has no body (collected too early, or never written). */
export class MissingBodyError extends Error {
  override readonly name = 'MissingBodyError';
  constructor(readonly hashes: readonly string[]) {
    super(`body store: ${hashes.length} body(ies) missing, e.g. ${hashes[0]}; the watcher's next resync writes them again`);
  }
}

export interface BodyStoreOptions {
  /** Table name (default kollect_bodies); a plain identifier. */
  table?: string;
  /** Connections (default 4). */
  poolMax?: number;
  /** Called on pool errors and on availability changes; never throws. */
  log?: (event: string, fields?: Record<string, unknown>) => void;
}

export class BodyStore {
  private readonly pool: pg.Pool;
  private ready?: Promise<void>;
  private lastOk = true;
  private readonly log: NonNullable<BodyStoreOptions['log']>;
  readonly table: string;

  constructor(url: string, opts: BodyStoreOptions = {}) {
    this.log = opts.log ?? (() => undefined);
    this.table = opts.table ?? BODIES_TABLE;
    if (!/^[a-z_][a-z0-9_]{0,50}$/.test(this.table)) throw new TypeError(`body store table "${this.table}" is not a plain identifier`);
    this.pool = new pg.Pool({ connectionString: url, max: opts.poolMax ?? 4, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 30_000, application_name: 'kollect-store' });
    // An idle client losing its server emits here; unhandled, it would end the process.
    this.pool.on('error', (err) => this.log('store_pool_error', { error: err.message }));
  }

  /** True when the last operation reached the store. */
  get available(): boolean { return this.lastOk; }

  private async run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      await (this.ready ??= this.migrate().catch((err: unknown) => { this.ready = undefined; throw err; }));
      const out = await fn();
      if (!this.lastOk) this.log('store_recovered', { operation });
      this.lastOk = true;
      return out;
    } catch (err) {
      if (err instanceof MissingBodyError) throw err;
      if (this.lastOk) this.log('store_unavailable', { operation, error: (err as Error).message });
      this.lastOk = false;
      throw new StoreUnavailableError(operation, err);
    }
  }

  private async migrate(): Promise<void> {
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      hash text PRIMARY KEY, body text NOT NULL, bytes integer NOT NULL, touched_at timestamptz NOT NULL DEFAULT now())`);
    await this.pool.query(`CREATE INDEX IF NOT EXISTS ${this.table}_touched_idx ON ${this.table} (touched_at)`);
  }

  /** Writes the bodies of `rows` (idempotent; an existing body's touched_at is refreshed). */
  async put(rows: readonly Row[]): Promise<void> {
    if (rows.length === 0) return;
    const unique = new Map(rows.map((r) => [r.hash, r]));
    await this.run('put', async () => {
      const all = [...unique.values()];
      for (let i = 0; i < all.length; i += BODY_PAGE) {
        const page = all.slice(i, i + BODY_PAGE);
        const bodies = page.map((r) => JSON.stringify(r));
        await this.pool.query(
          `INSERT INTO ${this.table} AS b (hash, body, bytes) SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
           ON CONFLICT (hash) DO UPDATE SET touched_at = now() WHERE b.touched_at < now() - interval '${TOUCH_AFTER}'`,
          [page.map((r) => r.hash), bodies, bodies.map((b) => Buffer.byteLength(b))]);
      }
    });
  }

  /** The bodies of `hashes` (any count; read BODY_PAGE at a time). Throws MissingBodyError unless allowMissing. */
  async get(hashes: readonly string[], opts: { allowMissing?: boolean } = {}): Promise<Map<string, Row>> {
    const want = [...new Set(hashes)];
    const out = new Map<string, Row>();
    if (want.length === 0) return out;
    await this.run('get', async () => {
      for (let i = 0; i < want.length; i += BODY_PAGE) {
        const page = want.slice(i, i + BODY_PAGE);
        const { rows } = await this.pool.query<[string, string]>({ text: `SELECT hash, body FROM ${this.table} WHERE hash = ANY($1)`, values: [page], rowMode: 'array' });
        for (const [hash, body] of rows) out.set(hash, JSON.parse(body) as Row);
      }
    });
    const missing = want.filter((h) => !out.has(h));
    if (missing.length && !opts.allowMissing) throw new MissingBodyError(missing);
    return out;
  }

  /** Total serialized bytes of these bodies (for spec.maxExportBytes). */
  async bytes(hashes: readonly string[]): Promise<number> {
    const want = [...new Set(hashes)];
    let total = 0;
    await this.run('bytes', async () => {
      for (let i = 0; i < want.length; i += BODY_PAGE * 10) {
        const { rows } = await this.pool.query<{ n: string | null }>(`SELECT sum(bytes)::bigint AS n FROM ${this.table} WHERE hash = ANY($1)`, [want.slice(i, i + BODY_PAGE * 10)]);
        total += Number(rows[0]?.n ?? 0);
      }
    });
    return total;
  }

  /** Serialized bytes of each of these bodies (to name an oversized export's largest contributors). */
  async sizes(hashes: readonly string[]): Promise<Map<string, number>> {
    const want = [...new Set(hashes)];
    const out = new Map<string, number>();
    await this.run('sizes', async () => {
      for (let i = 0; i < want.length; i += BODY_PAGE * 10) {
        const { rows } = await this.pool.query<[string, string]>({ text: `SELECT hash, bytes FROM ${this.table} WHERE hash = ANY($1)`, values: [want.slice(i, i + BODY_PAGE * 10)], rowMode: 'array' });
        for (const [hash, bytes] of rows) out.set(hash, Number(bytes));
      }
    });
    return out;
  }

  /** Marks bodies as still referenced (the watcher's periodic mark; see collect()). */
  async touch(hashes: readonly string[]): Promise<void> {
    const want = [...new Set(hashes)];
    await this.run('touch', async () => {
      for (let i = 0; i < want.length; i += BODY_PAGE * 5) {
        await this.pool.query(`UPDATE ${this.table} SET touched_at = now() WHERE hash = ANY($1) AND touched_at < now() - interval '${TOUCH_AFTER}'`, [want.slice(i, i + BODY_PAGE * 5)]);
      }
    });
  }

  /**
   * Deletes bodies not touched since `before` (garbage collection). Safe only once every live
   * reference was touched after `before`: see workflows/collect.ts. Returns how many went.
   */
  async sweep(before: Date, batch = 10_000): Promise<number> {
    let total = 0;
    await this.run('sweep', async () => {
      for (;;) {
        const r = await this.pool.query(`DELETE FROM ${this.table} WHERE hash IN (SELECT hash FROM ${this.table} WHERE touched_at < $1 LIMIT ${batch})`, [before]);
        total += r.rowCount ?? 0;
        if ((r.rowCount ?? 0) < batch) break;
      }
    });
    return total;
  }

  /** Rows and bytes held (bench, status). */
  async size(): Promise<{ bodies: number; bytes: number }> {
    return this.run('size', async () => {
      const { rows } = await this.pool.query<{ n: string; b: string | null }>(`SELECT count(*) AS n, sum(bytes)::bigint AS b FROM ${this.table}`);
      return { bodies: Number(rows[0]?.n ?? 0), bytes: Number(rows[0]?.b ?? 0) };
    });
  }

  /** Bytes the table takes on disk with its indexes and TOAST (kollect_store_bytes). */
  async sizeOnDisk(): Promise<number> {
    return this.run('sizeOnDisk', async () => {
      const { rows } = await this.pool.query<{ b: string }>('SELECT pg_total_relation_size($1::regclass) AS b', [this.table]);
      return Number(rows[0]?.b ?? 0);
    });
  }

  /** Reachability probe for /readyz. */
  async ping(): Promise<boolean> {
    try { await this.run('ping', () => this.pool.query('SELECT 1')); return true; } catch { return false; }
  }

  close(): Promise<void> { return this.pool.end(); }
}
