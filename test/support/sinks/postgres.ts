// The postgres sink against the harness's PostgreSQL: a schema per spec, the password from the Secret.
import pg from 'pg';
import type { PostgresSinkSpec } from '../../../api/types.js';
import { service } from '../../harness/endpoints.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

/** The harness URL without its password (the sink takes it from the Secret). */
const sinkUrl = (): string => { const u = new URL(service('postgres').url); u.password = ''; return u.toString(); };

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: service('postgres').url, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try { return (await c.query<T>(sql, params)).rows; } finally { await c.end(); }
}

export const postgresFixture: SinkFixture<PostgresSinkSpec> = {
  type: 'postgres',
  service: 'postgres',
  spec: (unique) => ({ url: sinkUrl(), sslMode: 'disable', schema: `k_${unique.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63) }),
  secret: () => ({ password: service('postgres').password }),
  context: (spec, log = () => undefined) => ({ spec, credentials: postgresFixture.secret(), guard: testGuard, log }),
  async read(spec, inventory) {
    const table = `"${spec.schema ?? 'public'}"."${spec.table ?? 'kollect_rows'}"`;
    const exists = await query<{ r: string | null }>('SELECT to_regclass($1)::text AS r', [table]);
    const held = new Map<string, HeldRow>();
    if (!exists[0]?.r) return held;
    const rows = await query<{ target_name: string; source_uid: string; attributes: Record<string, unknown>; content_hash: string }>(
      `SELECT target_name, source_uid, attributes, content_hash FROM ${table} WHERE inventory_namespace = $1 AND inventory_name = $2 AND cluster = $3`,
      [inventory.namespace, inventory.name, inventory.cluster]);
    for (const r of rows) held.set(`${r.target_name}/${r.source_uid}`, { attributes: r.attributes, hash: r.content_hash });
    return held;
  },
  async cleanup(spec) { await query(`DROP SCHEMA IF EXISTS "${spec.schema ?? 'public'}" CASCADE`); },
};
