// Recovery of the whole operator on real servers: an inventory's workflow is terminated mid-life
// (every sink keeps every row throughout), 60 % of a target is deleted at once (exported: the
// resync is complete), and the database that holds both the store and the Postgres sink is down
// for a minute (no process exits, the inventory says why, everything converges afterwards). This
// file runs its own Postgres, so stopping it disturbs no other test.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { extraServiceCtx } from '../harness/harness.js';
import { postgres } from '../harness/services/postgres.js';
import type { Running } from '../harness/service.js';
import { freePort, waitFor, sleep } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { createBareRepo } from '../support/git.js';
import { kubectl, installCrds, renderSamples, natsEvents, gitTree, CORE_SINKS, optInSinkSecrets } from '../support/e2e.js';
import type { KollectInventory } from '../../api/types.js';
import { inventoryWorkflowId } from '../../workflows/definitions.js';

const id = randomBytes(3).toString('hex');
const ns = `recovery-${id}`;
const table = `rows_${id}`;
const stream = `RECOVERY_${id.toUpperCase()}`;
const N = 12;

let db: Running<'postgres'>;
let operator: Child;
let repo: { dir: string; url: string };
let httpPort = 0;
let temporal: Connection;

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.endpoint.url });
  await c.connect();
  try { return (await c.query<T>(text, params)).rows; } finally { await c.end(); }
}
const pgCount = async (): Promise<number> => Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM public.${table}`).catch(() => [{ n: '-1' }]))[0]!.n);
const pgNames = async (): Promise<string[]> => (await sql<{ name: string }>(`SELECT name FROM public.${table} ORDER BY name`)).map((r) => r.name);
const gitRows = async (): Promise<string[]> => (await gitTree(repo.dir)).files.filter((f) => !f.endsWith('_inventory.yaml'));
const inventory = async (): Promise<KollectInventory> => JSON.parse(await kubectl(['-n', ns, 'get', 'kollectinventory', 'platform', '-o', 'json'])) as KollectInventory;
const alive = (): boolean => operator.proc.exitCode === null;
const operatorEnv = (): Record<string, string> => ({
  KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `recovery-${id}`,
  KOLLECT_HTTP_PORT: String(httpPort), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_STORE_URL: db.endpoint.url,
});

describe('recovery end to end', () => {
  beforeAll(async () => {
    db = await postgres.start(extraServiceCtx('recovery'));
    httpPort = await freePort();
    temporal = await Connection.connect({ address: service('temporal').address });
    await installCrds();
    await kubectl(['create', 'namespace', ns]);
    repo = await createBareRepo(`recovery-${id}`);
    const git = service('git');
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${db.endpoint.password}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${git.username}`, `--from-literal=password=${git.password}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${git.caFile}`]);
    // Sinks may use only Secrets that opt in (docs/sinks.md#credentials).
    await optInSinkSecrets(ns, ['kollect-postgres', 'kollect-nats', 'kollect-git', 'kollect-git-ca']);
    await kubectl(['-n', ns, 'apply', '-f', renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml', 'inventory.yaml'], (d) => {
      if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${db.endpoint.user}@${db.endpoint.host}:${db.endpoint.port}/${db.endpoint.database}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
      if (d.spec.type === 'nats') { d.spec.nats!.url = service('nats').url; d.spec.nats!.stream = stream; d.spec.nats!.subjectPrefix = `recovery${id}`; }
      if (d.spec.type === 'git') d.spec.git!.url = repo.url;
      if (d.kind === 'KollectTarget') (d.spec as { namespaces?: string[] }).namespaces = [ns]; // not other tests' ConfigMaps
      if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = '1s'; d.spec.cluster = 'e2e'; d.spec.targetRefs = [{ name: 'configmaps' }]; }
    }, { sinks: CORE_SINKS })]);
    for (let i = 0; i < N; i++) await kubectl(['-n', ns, 'create', 'configmap', `cm-${i}`, `--from-literal=i=${i}`]);
    operator = runEntry('worker/operator.ts', operatorEnv());
    try {
      await waitFor('every sink holds every object', async () => await pgCount() === N && (await gitRows()).length === N && (await natsEvents(stream)).length >= N, 120_000, alive);
    } catch (err) {
      process.stdout.write(`sinks: postgres ${await pgCount()}, git ${(await gitRows()).length}, nats ${(await natsEvents(stream)).length}\n--- operator ---\n${operator.output().slice(-6000)}\n`);
      throw err;
    }
  }, 240_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await operator?.exited;
    await temporal?.close();
    await db?.stop();
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('terminating the workflow never empties a sink: the new lineage reconciles after a full resync', async () => {
    const before = (await inventory()).status!.lineage!;
    const client = new Client({ connection: temporal, namespace: service('temporal').namespace });
    let minPg = Infinity;
    let minGit = Infinity;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        minPg = Math.min(minPg, await pgCount());
        minGit = Math.min(minGit, (await gitRows()).length);
        await sleep(100);
      }
    })();
    try {
      await client.workflow.getHandle(inventoryWorkflowId(ns, 'platform')).terminate('test: the run loses its state');
      await kubectl(['-n', ns, 'patch', 'configmap', 'cm-0', '--type=merge', '-p', '{"data":{"i":"changed"}}']);
      await waitFor('a new lineage, reconciled into every state sink', async () => {
        const inv = await inventory();
        const lineage = inv.status?.lineage;
        if (!lineage || lineage === before) return false;
        const wm = await sql<{ lineage: string }>('SELECT lineage FROM public.kollect_watermarks WHERE table_name = $1', [table]);
        const summary = (await gitTree(repo.dir)).files.length > 0 ? await import('../support/e2e.js').then((m) => m.gitShow(repo.dir, `e2e/${ns}/platform/_inventory.yaml`)).catch(() => '') : '';
        return wm[0]?.lineage === lineage && summary.includes(lineage) && inv.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'True') === true;
      }, 120_000, alive);
    } finally {
      polling = false;
      await poller;
    }
    expect(minPg).toBe(N);
    expect(minGit).toBe(N);
    const row = await sql<{ attributes: { data?: Record<string, string> } }>(`SELECT attributes FROM public.${table} WHERE name = 'cm-0'`);
    expect(JSON.stringify(row[0]!.attributes)).toContain('changed');
    // a new lineage's events have new dedupe ids: the change reached NATS, not dropped as a duplicate
    expect((await natsEvents(stream)).some((e) => e.name === 'cm-0' && e.version > 0)).toBe(true);
  }, 180_000);

  it('deleting 60 % of a target at once is exported everywhere (the resync is complete)', async () => {
    const doomed = Array.from({ length: 8 }, (_, i) => `cm-${i + 4}`);
    await kubectl(['-n', ns, 'delete', 'configmap', ...doomed]);
    await waitFor('the deletes reach Postgres and Git', async () => await pgCount() === N - 8 && (await gitRows()).length === N - 8, 90_000, alive);
    expect(await pgNames()).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3']);
    const inv = await inventory();
    expect(inv.status!.sinkExports!.every((s) => s.reason !== 'DeleteHeld')).toBe(true);
  }, 120_000);

  it('a worker killed during an export: every sink converges within a minute, no duplicates, the watermark never goes back', async () => {
    const versions: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const wm = await sql<{ version: string }>('SELECT version FROM public.kollect_watermarks WHERE table_name = $1', [table]).catch(() => []);
        if (wm[0]) versions.push(Number(wm[0].version));
        await sleep(100);
      }
    })();
    try {
      for (let i = 0; i < 10; i++) await kubectl(['-n', ns, 'create', 'configmap', `burst-${i}`, `--from-literal=i=${i}`]);
      await waitFor('an export of the burst starts', async () => (await pgNames()).some((n) => n.startsWith('burst-')) || (await gitRows()).some((f) => f.includes('burst-')), 30_000, alive);
      operator.proc.kill('SIGKILL');
      await operator.exited;
      operator = runEntry('worker/operator.ts', operatorEnv());
      await waitFor('all three sinks hold the burst within a minute', async () =>
        (await pgNames()).filter((n) => n.startsWith('burst-')).length === 10 && (await gitRows()).filter((f) => f.includes('burst-')).length === 10
          && new Set((await natsEvents(stream)).filter((e) => e.name.startsWith('burst-')).map((e) => e.name)).size === 10, 60_000, alive);
    } finally {
      polling = false;
      await poller;
    }
    const dup = await sql<{ n: string }>(`SELECT count(*) AS n FROM (SELECT name FROM public.${table} GROUP BY target_name, namespace, name HAVING count(*) > 1) d`);
    expect(Number(dup[0]!.n)).toBe(0);
    for (let i = 1; i < versions.length; i++) expect(versions[i]!).toBeGreaterThanOrEqual(versions[i - 1]!);
  }, 180_000);

  it('a minute without the store database: no process exits, the inventory says why, everything converges after', async () => {
    await db.stop();
    const downAt = Date.now();
    try {
      await kubectl(['-n', ns, 'create', 'configmap', 'during-store-outage', '--from-literal=k=v']);
      await waitFor('the inventory names the store', async () => {
        const c = (await inventory()).status?.conditions?.find((x) => x.type === 'Delivered');
        return c?.status === 'False' && c.reason === 'StoreUnavailable';
      }, 60_000, alive);
      const ready = await (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).json() as Record<string, boolean>;
      expect(ready.store).toBe(false);
      expect(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()).toMatch(/^kollect_store_up 0$/m);
      while (Date.now() - downAt < 60_000) {
        if (!alive()) process.stdout.write(`--- operator exited ${operator.proc.exitCode} ---\n${operator.output().slice(-6000)}\n`);
        expect(alive()).toBe(true);
        await sleep(1000);
      }
    } finally {
      await db.start();
    }
    await waitFor('every sink gets the object created during the outage', async () =>
      (await pgNames()).includes('during-store-outage') && (await gitRows()).some((f) => f.includes('during-store-outage'))
        && (await natsEvents(stream)).some((e) => e.name === 'during-store-outage'), 120_000, alive);
    await waitFor('the inventory says delivery resumed', async () => (await inventory()).status?.conditions?.find((x) => x.type === 'Delivered')?.status === 'True', 60_000, alive);
    expect(alive()).toBe(true);
  }, 300_000);
});
