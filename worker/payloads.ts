// Keeping Temporal payloads small (docs/decisions/0006): large payloads are gzip-compressed by a
// codec, and what is still above the threshold is stored by reference (claim check) in Postgres,
// content-addressed so that N sinks of one export share one blob. See docs/decisions/0006.
import { createHash } from 'node:crypto';
import { gzipSync, gunzipSync } from 'node:zlib';
import pg from 'pg';
import { ExternalStorage, StorageDriverClaim, type PayloadCodec, type StorageDriver, type DataConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const GZIP_ENCODING = 'binary/kollect-gzip';
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Compresses payloads above `minBytes`; the original payload (with its metadata) is the body. */
export class GzipCodec implements PayloadCodec {
  constructor(private readonly minBytes = 16 * 1024) {}
  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((p) => {
      if ((p.data?.length ?? 0) < this.minBytes) return p;
      return { metadata: { encoding: enc.encode(GZIP_ENCODING) }, data: gzipSync(ProtoPayload.encode(p).finish()) };
    }));
  }
  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((p) => {
      const e = p.metadata?.encoding;
      if (!e || dec.decode(e) !== GZIP_ENCODING || !p.data) return p;
      return ProtoPayload.decode(gunzipSync(p.data));
    }));
  }
}

/** Claim-check store for payloads in a Postgres table (created on first use). */
export class PostgresPayloadStore implements StorageDriver {
  readonly name = 'kollect-postgres';
  readonly type = 'kollect.postgres';
  private readonly pool: pg.Pool;
  private readonly table: string;
  private ready?: Promise<void>;

  constructor(url: string, opts: { table?: string; log?: (event: string, fields?: Record<string, unknown>) => void } = {}) {
    this.table = opts.table ?? 'kollect_payloads';
    this.pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000, application_name: 'kollect-payloads' });
    // An idle client losing its server emits here; unhandled, it would end the process.
    const log = opts.log ?? (() => undefined);
    this.pool.on('error', (err) => log('payload_store_pool_error', { error: err.message }));
  }

  private ensure(): Promise<void> {
    this.ready ??= this.pool.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
      id text PRIMARY KEY, data bytea NOT NULL, bytes integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`)
      .then(() => undefined, (err: unknown) => { this.ready = undefined; throw err; });
    return this.ready;
  }

  async store(_ctx: unknown, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    await this.ensure();
    const claims: StorageDriverClaim[] = [];
    for (const p of payloads) {
      const bytes = ProtoPayload.encode(p).finish();
      const id = createHash('sha256').update(bytes).digest('hex');
      await this.pool.query(`INSERT INTO ${this.table} (id, data, bytes) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET created_at = now()`, [id, Buffer.from(bytes), bytes.length]);
      claims.push(new StorageDriverClaim({ id }));
    }
    return claims;
  }

  async retrieve(_ctx: unknown, claims: StorageDriverClaim[]): Promise<Payload[]> {
    await this.ensure();
    const ids = claims.map((c) => c.claimData.id ?? '');
    const { rows } = await this.pool.query<{ id: string; data: Buffer }>(`SELECT id, data FROM ${this.table} WHERE id = ANY($1)`, [ids]);
    const byId = new Map(rows.map((r) => [r.id, r.data]));
    return ids.map((id) => {
      const data = byId.get(id);
      if (!data) throw new Error(`payload ${id} is missing from ${this.table} (garbage-collected too early?)`);
      return ProtoPayload.decode(data);
    });
  }

  /**
   * Deletes blobs last stored before `before`. Storing an existing blob again refreshes its
   * created_at, so a blob any history written since `before` names is kept; the collector picks
   * `before` below the start of every open run and the namespace's retention (workflows/collect.ts).
   */
  async sweep(before: Date): Promise<number> {
    await this.ensure();
    const r = await this.pool.query(`DELETE FROM ${this.table} WHERE created_at < $1`, [before]);
    return r.rowCount ?? 0;
  }

  close(): Promise<void> { return this.pool.end(); }
}

/** The data converter client and worker share. Without a store URL only compression is used. */
/**
 * Payloads above this go to the store by reference. Low enough that the reference lists of an
 * initial sync (a 256 KiB signal each; 100k rows are ~10 MB of keys and hashes) leave the history
 * as claims, which keeps a run's history under 4 MB (measured by the bench: 7.6 MiB per run at
 * 100k rows with a 256 KiB threshold).
 */
export const CLAIM_THRESHOLD_BYTES = 32 * 1024;

export function kollectDataConverter(store?: PostgresPayloadStore, thresholdBytes = CLAIM_THRESHOLD_BYTES): DataConverter {
  return {
    payloadCodecs: [new GzipCodec()],
    ...(store ? { externalStorage: new ExternalStorage({ drivers: [store], payloadSizeThreshold: thresholdBytes }) } : {}),
  };
}
