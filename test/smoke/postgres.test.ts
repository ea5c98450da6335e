// Smoke test of the postgres service: a real PostgreSQL reached through `pg`, with JSONB and upserts.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it, expect, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

interface Row { uid: string; kind: string; attrs: { replicas: number; labels: Record<string, string> }; version: number }

describe('postgres service', () => {
  const table = `smoke_${randomBytes(4).toString('hex')}`;
  let client: pg.Client | undefined;

  // Connecting inside the test (not in beforeAll) makes an unreachable server a failed test, not a skipped one.
  afterAll(async () => {
    if (!client) return;
    try { await client.query(`DROP TABLE IF EXISTS ${table}`); } finally { await client.end(); }
  });

  it('stores JSONB, reads it back, and upserts with ON CONFLICT', async () => {
    const c = new pg.Client({ connectionString: service('postgres').url, connectionTimeoutMillis: 5_000 });
    await c.connect();
    client = c;
    const version = await c.query<{ server_version: string }>('SHOW server_version');
    expect(version.rows[0]?.server_version).toMatch(/^\d+/);

    await c.query(`CREATE TABLE ${table} (uid text PRIMARY KEY, kind text NOT NULL, attrs jsonb NOT NULL, version int NOT NULL)`);
    const upsert = `INSERT INTO ${table} (uid, kind, attrs, version) VALUES ($1, $2, $3, $4)
      ON CONFLICT (uid) DO UPDATE SET attrs = EXCLUDED.attrs, version = EXCLUDED.version
      WHERE ${table}.version < EXCLUDED.version`;

    const first = await c.query(upsert, ['u-1', 'Deployment', JSON.stringify({ replicas: 2, labels: { app: 'web' } }), 1]);
    expect(first.rowCount).toBe(1);
    const read = await c.query<Row>(`SELECT uid, kind, attrs, version FROM ${table} WHERE uid = $1`, ['u-1']);
    expect(read.rows).toEqual([{ uid: 'u-1', kind: 'Deployment', attrs: { replicas: 2, labels: { app: 'web' } }, version: 1 }]);
    // JSONB is queryable server-side, not just stored text
    const byLabel = await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE attrs @> $1::jsonb`, [JSON.stringify({ labels: { app: 'web' } })]);
    expect(byLabel.rows[0]?.n).toBe('1');

    const newer = await c.query(upsert, ['u-1', 'Deployment', JSON.stringify({ replicas: 5, labels: { app: 'web' } }), 2]);
    expect(newer.rowCount).toBe(1);
    // an older version must not overwrite the newer row
    const stale = await c.query(upsert, ['u-1', 'Deployment', JSON.stringify({ replicas: 1, labels: {} }), 1]);
    expect(stale.rowCount).toBe(0);

    const after = await c.query<Row>(`SELECT uid, kind, attrs, version FROM ${table}`);
    expect(after.rows).toEqual([{ uid: 'u-1', kind: 'Deployment', attrs: { replicas: 5, labels: { app: 'web' } }, version: 2 }]);
    expect((await c.query<{ r: number }>(`SELECT (attrs->>'replicas')::int AS r FROM ${table}`)).rows[0]?.r).toBe(5);
  });
});
