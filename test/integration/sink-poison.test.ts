// Poison rows at the sink (docs/sinks.md#poison-rows), against the harness's real PostgreSQL, git
// server and S3 (versitygw): a row the sink cannot store is refused alone, reported (count + samples) in the
// export's reply, any earlier version of it is removed, and every other row is applied.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { GitSinkSpec, PostgresSinkSpec } from '../../api/types.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { PostgresBackend, postgresSink } from '../../activities/sinks/postgres.js';
import { GitBackend, gitSink } from '../../activities/sinks/git.js';
import { ObjectStoreBackend } from '../../activities/sinks/object-store.js';
import { S3Driver, s3Sink } from '../../activities/sinks/s3.js';
import type { SinkContext } from '../../activities/sinks/types.js';
import { service } from '../harness/endpoints.js';
import { exportInput } from '../support/export-input.js';
import { bareGit, createBareRepo } from '../support/git.js';
import { viaSharedPath } from '../support/sinks/shared-path.js';
import { s3Fixture } from '../support/sinks/s3.js';

const inventory = { namespace: 'team-a', name: 'poison', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];
const log = (event: string, fields?: Record<string, unknown>) => { logs.push({ event, fields }); };

function row(i: number, attributes: Record<string, unknown>, version = 1): VersionedRow {
  const r = { target: 'configmaps', cluster: 'c1', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: `cm-${i}`, uid: `uid-${i}`, attributes, version };
  // Not a hash of the attributes: a 20,000-level value overflows JSON.stringify too.
  return { ...r, hash: createHash('sha256').update(`${r.name}@${version}`).digest('hex') };
}
/** 20,000 levels: past every recursive writer's stack (extraction quarantines far shallower objects; this is the sink's own guard). */
function deep(levels: number): Record<string, unknown> {
  let d: Record<string, unknown> = { leaf: true };
  for (let i = 0; i < levels; i++) d = { d };
  return d;
}

describe('postgres: a row with a NUL character', () => {
  const schema = `poison_${randomBytes(4).toString('hex')}`;
  const sink = { kind: 'KollectDatabaseSink' as const, namespace: 'team-a', name: 'pg', type: 'postgres' };
  let admin: pg.Client;
  const backend = viaSharedPath(postgresSink as SinkDescriptor<never>, new PostgresBackend());
  const ctx = (): SinkContext<PostgresSinkSpec> => {
    const u = new URL(service('postgres').url);
    u.password = '';
    return { spec: { url: u.toString(), schema, sslMode: 'disable' }, credentials: { password: service('postgres').password }, log };
  };
  const names = async () => (await admin.query<{ name: string }>(`SELECT name FROM ${schema}.kollect_rows ORDER BY name`)).rows.map((r) => r.name);
  beforeAll(async () => { admin = new pg.Client({ connectionString: service('postgres').url }); await admin.connect(); });
  afterAll(async () => { await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined); await admin?.end(); await backend.close?.(); });

  it('refuses that row alone (full and delta), reports it, deletes its earlier version, applies the rest', async () => {
    // The premise: PostgreSQL's jsonb cannot hold U+0000 at all; unrefused, this row fails the whole export.
    await expect(admin.query('SELECT $1::jsonb', [JSON.stringify({ blob: 'a\u0000b' })])).rejects.toMatchObject({ code: '22P05', message: 'unsupported Unicode escape sequence' });
    const rows = [row(1, { mode: 'fast' }), row(2, { blob: 'a\u0000b' }), row(3, { mode: 'slow' })];
    const first = await backend.export(exportInput(rows, { sink, inventory, mode: 'full', version: 1 }), ctx());
    expect(first.outcome).toBe('applied');
    expect(first.rejected).toEqual({ count: 1, samples: [{ key: 'configmaps/uid-2', object: 'shop/cm-2', reason: 'attributes.blob contains a NUL character (\\u0000), which PostgreSQL text and jsonb cannot store' }] });
    expect(first.detail).toContain('refused 1');
    expect(await names()).toEqual(['cm-1', 'cm-3']);

    // cm-3 exported fine, then grew a NUL: the sink must not keep its stale version.
    const changed = [row(3, { mode: 'slow', note: ['ok', 'x\u0000'] }, 2), row(4, { mode: 'new' }, 2)];
    const second = await backend.export(exportInput(changed, { sink, inventory, mode: 'delta', fromVersion: 1, version: 2 }), ctx());
    expect(second.rejected?.count).toBe(1);
    expect(second.rejected?.samples[0]?.key).toBe('configmaps/uid-3');
    expect(second.rejected?.samples[0]?.reason).toMatch(/^attributes\.note\[1\] contains a NUL/);
    expect(await names()).toEqual(['cm-1', 'cm-4']);
  });
});

describe('git: a row that cannot be rendered', () => {
  const sink = { kind: 'KollectSnapshotSink' as const, namespace: 'team-a', name: 'git', type: 'git' };
  const backend = viaSharedPath(gitSink as SinkDescriptor<never>, new GitBackend());
  afterAll(() => backend.close?.());

  it('refuses it alone (full and delta), reports it, removes its earlier file, commits the rest', async () => {
    const repo = await createBareRepo(`poison-${randomBytes(3).toString('hex')}`);
    const ep = service('git');
    const ctx: SinkContext<GitSinkSpec> = { spec: { url: repo.url }, credentials: { username: ep.username, password: ep.password }, caPem: readFileSync(ep.caFile, 'utf8'), log };
    const tree = async () => (await bareGit(repo.dir, ['ls-tree', '-r', '--name-only', 'main'])).trim().split('\n').filter((f) => f.includes('/configmaps/')).map((f) => f.split('/').pop());

    const rows = [row(1, { mode: 'fast' }), row(2, deep(20_000)), row(3, { mode: 'slow', nul: 'a\u0000b' })];
    const first = await backend.export(exportInput(rows, { sink, inventory, mode: 'full', version: 1 }), ctx);
    expect(first.rejected?.count).toBe(1);
    expect(first.rejected?.samples.map((r) => [r.key, r.object])).toEqual([['configmaps/uid-2', 'shop/cm-2']]);
    expect(first.rejected?.samples[0]?.reason).toMatch(/^cannot be written as yaml: .*call stack.*\(nested too deeply\)$/);
    expect(await tree()).toEqual(['configmap-cm-1.yaml', 'configmap-cm-3.yaml']); // git stores a NUL fine (escaped)

    const changed = [row(3, deep(20_000), 2), row(4, { mode: 'new' }, 2)];
    const second = await backend.export(exportInput(changed, { sink, inventory, mode: 'delta', fromVersion: 1, version: 2 }), ctx);
    expect(second.rejected?.samples.map((s) => s.key)).toEqual(['configmaps/uid-3']);
    expect(await tree()).toEqual(['configmap-cm-1.yaml', 'configmap-cm-4.yaml']);
    expect(logs.some((l) => l.event === 'sink.git.rejected')).toBe(true);
  });
});

describe('s3 (object stores): a row that cannot be rendered', () => {
  const sink = { kind: 'KollectSnapshotSink' as const, namespace: 'team-a', name: 's3', type: 's3' };
  const backend = viaSharedPath(s3Sink as SinkDescriptor<never>, new ObjectStoreBackend(new S3Driver()));
  afterAll(() => backend.close?.());

  it('refuses it alone (full and delta), reports it, retires its earlier object, writes the rest', async () => {
    const spec = await s3Fixture.spec(`poison-${randomBytes(3).toString('hex')}`);
    const ctx = { ...s3Fixture.context(spec, log), format: 'yaml' as const };
    const held = async () => [...(await s3Fixture.read(spec, inventory)).keys()].sort();
    try {
      const first = await backend.export(exportInput([row(1, { mode: 'fast' }), row(2, deep(20_000)), row(3, { mode: 'slow' })], { sink, inventory, mode: 'full', version: 1 }), ctx);
      expect(first.rejected?.samples.map((r) => [r.key, r.object])).toEqual([['configmaps/uid-2', 'shop/cm-2']]);
      expect(first.rejected?.samples[0]?.reason).toMatch(/^cannot be written as yaml: .*\(nested too deeply\)$/);
      expect(await held()).toEqual(['configmaps/uid-1', 'configmaps/uid-3']);

      const second = await backend.export(exportInput([row(3, deep(20_000), 2), row(4, { mode: 'new' }, 2)], { sink, inventory, mode: 'delta', fromVersion: 1, version: 2 }), ctx);
      expect(second.rejected?.samples.map((r) => r.key)).toEqual(['configmaps/uid-3']);
      expect(await held()).toEqual(['configmaps/uid-1', 'configmaps/uid-4']);
    } finally {
      await s3Fixture.cleanup?.(spec);
    }
  });
});
