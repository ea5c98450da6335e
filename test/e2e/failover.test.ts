// Watcher high availability on real servers (docs/decisions/0019-watcher-high-availability.md):
// two operator processes compete for one Lease; only the leader watches. The leader is SIGKILLed,
// objects are created, updated and deleted while no watcher runs, and the standby takes over once
// the Lease expires: its relist and resync bring the Postgres sink to exactly the cluster's
// objects, none lost, none twice. Then the new leader stops gracefully and releases the Lease, so
// the restarted first process takes over within about one retry period. Takeover times are printed.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor, sleep } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { kubectl, installCrds, renderSamples, optInSinkSecrets } from '../support/e2e.js';
import { inventoryWorkflowId, statusQuery } from '../../workflows/definitions.js';

const id = randomBytes(3).toString('hex');
const ns = `failover-${id}`;
const table = `failover_${id}`;
const lease = `kollect-watcher-${id}`;

interface Replica { name: string; child: Child; port: number }
const replicas: Replica[] = [];

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: service('postgres').url });
  await c.connect();
  try { return (await c.query<T>(text, params)).rows; } finally { await c.end(); }
}
/** name → data.v of every row in the sink, and how many rows it holds in all. */
async function sinkRows(): Promise<{ byName: Record<string, string>; count: number }> {
  const rows = await sql<{ name: string; attributes: { data?: { v?: string } } }>(`SELECT name, attributes FROM public.${table}`).catch(() => []);
  return { byName: Object.fromEntries(rows.map((r) => [r.name, r.attributes.data?.v ?? ''])), count: rows.length };
}
async function cluster(): Promise<Record<string, string>> {
  const list = JSON.parse(await kubectl(['-n', ns, 'get', 'configmaps', '-l', 'failover=member', '-o', 'json'])) as { items: { metadata: { name: string }; data?: { v?: string } }[] };
  return Object.fromEntries(list.items.map((i) => [i.metadata.name, i.data?.v ?? '']));
}
const sorted = (o: Record<string, string>): [string, string][] => Object.entries(o).sort(([a], [b]) => a.localeCompare(b));

async function start(name: string): Promise<Replica> {
  const port = await freePort();
  const child = runEntry('worker/operator.ts', {
    KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `failover-${id}`,
    KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_STORE_URL: service('postgres').url,
    KOLLECT_LEADER_ELECTION: 'true', KOLLECT_LEADER_LEASE_NAME: lease, KOLLECT_LEADER_LEASE_NAMESPACE: ns, POD_NAME: name,
  });
  const r = { name, child, port };
  replicas.push(r);
  return r;
}
const alive = (r: Replica): boolean => r.child.proc.exitCode === null && r.child.proc.signalCode === null;
async function readyz(r: Replica): Promise<{ status: number; body: Record<string, boolean> } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${r.port}/readyz`);
    return { status: res.status, body: await res.json() as Record<string, boolean> };
  } catch { return undefined; }
}
const leads = async (r: Replica): Promise<boolean> => (await readyz(r))?.body.leader === true;
async function leaseSpec(): Promise<{ holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string }> {
  return (JSON.parse(await kubectl(['-n', ns, 'get', 'lease', lease, '-o', 'json'])) as { spec: Record<string, never> }).spec;
}
const dump = (): string => replicas.map((r) => `--- ${r.name} ---\n${r.child.output().slice(-4000)}`).join('\n');

describe('watcher failover', () => {
  beforeAll(async () => {
    await installCrds();
    await kubectl(['create', 'namespace', ns]);
    const db = service('postgres');
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${db.password}`]);
    await optInSinkSecrets(ns, ['kollect-postgres']);
    await kubectl(['-n', ns, 'apply', '-f', renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'inventory.yaml'], (d) => {
      if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${db.user}@${db.host}:${db.port}/${db.database}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
      if (d.kind === 'KollectTarget') { (d.spec as { namespaces?: string[] }).namespaces = [ns]; (d.spec as { labelSelector?: unknown }).labelSelector = { matchLabels: { failover: 'member' } }; }
      if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = '1s'; d.spec.cluster = 'e2e'; d.spec.targetRefs = [{ name: 'configmaps' }]; }
    }, { sinks: ['postgres'] })]);
    for (let i = 0; i < 6; i++) await kubectl(['-n', ns, 'create', 'configmap', `cm-${i}`, `--from-literal=v=${i}`]);
    await kubectl(['-n', ns, 'label', 'configmap', ...Array.from({ length: 6 }, (_, i) => `cm-${i}`), 'failover=member']);
  }, 120_000);

  afterAll(async () => {
    for (const r of replicas) if (alive(r)) r.child.proc.kill('SIGKILL');
    await Promise.all(replicas.map((r) => r.child.exited));
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('one leader watches, the standby is ready; a SIGKILLed leader is replaced within the lease duration and the sink ends exact', async () => {
    const a = await start('replica-a');
    await waitFor('replica-a leads', () => leads(a), 90_000, () => alive(a)).catch((e: unknown) => { console.log(dump()); throw e; });
    const b = await start('replica-b');
    await waitFor('replica-b is ready as a standby', async () => { const r = await readyz(b); return r?.status === 200 && r.body.leader === false; }, 90_000, () => alive(b))
      .catch((e: unknown) => { console.log(dump()); throw e; });
    await waitFor('the sink holds the six objects', async () => (await sinkRows()).count === 6, 90_000, () => alive(a)).catch((e: unknown) => { console.log(dump()); throw e; });
    const first = await leaseSpec();
    expect(first.holderIdentity).toMatch(/^replica-a_[0-9a-f]{8}$/);
    expect(first.leaseDurationSeconds).toBe(15);
    expect(first.renewTime).toMatch(/\.\d{6}Z$/); // MicroTime, as client-go writes it
    // The standby never started a watcher.
    expect(b.child.output()).not.toContain('"watcher_started"');
    expect(await (await fetch(`http://127.0.0.1:${b.port}/metrics`)).text()).toMatch(/^kollect_leader\{lease="[^"]+"\} 0$/m);
    expect(await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text()).toMatch(/^kollect_leader\{lease="[^"]+"\} 1$/m);

    const lastRenew = Date.parse((await leaseSpec()).renewTime!);
    a.child.proc.kill('SIGKILL');
    await a.child.exited;
    const killedAt = Date.now();
    // While no watcher runs: three new objects, two updates (one of them twice), two deletes.
    for (let i = 6; i < 9; i++) await kubectl(['-n', ns, 'create', 'configmap', `cm-${i}`, `--from-literal=v=${i}`]);
    await kubectl(['-n', ns, 'label', 'configmap', 'cm-6', 'cm-7', 'cm-8', 'failover=member']);
    await kubectl(['-n', ns, 'patch', 'configmap', 'cm-0', '--type=merge', '-p', '{"data":{"v":"updated-once"}}']);
    await kubectl(['-n', ns, 'patch', 'configmap', 'cm-0', '--type=merge', '-p', '{"data":{"v":"updated-twice"}}']);
    await kubectl(['-n', ns, 'patch', 'configmap', 'cm-1', '--type=merge', '-p', '{"data":{"v":"updated"}}']);
    await kubectl(['-n', ns, 'delete', 'configmap', 'cm-2', 'cm-3']);
    expect(await leads(b)).toBe(false); // still standing by: the Lease has not expired yet

    await waitFor('replica-b takes over', () => leads(b), 40_000, () => alive(b)).catch((e: unknown) => { console.log(dump()); throw e; });
    const takeoverMs = Date.now() - killedAt;
    process.stdout.write(`failover: replica-b led ${takeoverMs} ms after replica-a was SIGKILLed (lease 15 s, renew deadline 10 s, retry 2 s)\n`);
    expect(takeoverMs).toBeLessThan(15_000 + 2 * 2_400 + 5_000); // lease + two jittered retries + readiness polling slack

    const expected = await cluster();
    expect(sorted(expected)).toEqual([['cm-0', 'updated-twice'], ['cm-1', 'updated'], ['cm-4', '4'], ['cm-5', '5'], ['cm-6', '6'], ['cm-7', '7'], ['cm-8', '8']]);
    await waitFor('the sink holds exactly the objects of the cluster', async () => JSON.stringify(sorted((await sinkRows()).byName)) === JSON.stringify(sorted(expected)), 90_000, () => alive(b))
      .catch(async (e: unknown) => { console.log(JSON.stringify(await sinkRows()), dump()); throw e; });
    process.stdout.write(`failover: the sink held exactly the cluster's objects ${Date.now() - killedAt} ms after the kill\n`);
    await sleep(3000); // nothing more arrives (a late duplicate or resurrected delete would show now)
    const after = await sinkRows();
    expect(after.count).toBe(7);
    expect(sorted(after.byName)).toEqual(sorted(expected));
    const dup = await sql<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM public.${table} GROUP BY target_name, namespace, name HAVING count(*) > 1) d`);
    expect(Number(dup[0]!.n)).toBe(0);

    const taken = await leaseSpec();
    expect(taken.holderIdentity).toMatch(/^replica-b_/);
    expect(taken.leaseTransitions).toBe((first.leaseTransitions ?? 0) + 1);
    expect(taken.acquireTime).not.toBe(first.acquireTime);
    process.stdout.write(`failover: the Lease was acquired by replica-b ${Date.parse(taken.acquireTime!) - lastRenew} ms after replica-a's last renewal seen before the kill\n`);

    // The workflow's own view: seven rows, the same as the sink.
    const connection = await Connection.connect({ address: service('temporal').address });
    try {
      const client = new Client({ connection, namespace: service('temporal').namespace });
      const status = await client.workflow.getHandle(inventoryWorkflowId(ns, 'platform')).query(statusQuery);
      expect(status.rows).toBe(7);
    } finally { await connection.close(); }
  }, 300_000);

  it('a gracefully stopped leader releases the Lease: the standby takes over within a few seconds', async () => {
    const b = replicas.find((r) => r.name === 'replica-b')!;
    const c = await start('replica-c');
    await waitFor('replica-c is ready as a standby', async () => { const r = await readyz(c); return r?.status === 200 && r.body.leader === false; }, 90_000, () => alive(c));
    const before = await leaseSpec();
    b.child.proc.kill('SIGTERM');
    const stoppedAt = Date.now();
    expect(await b.child.exited).toBe(0);
    expect(b.child.output()).toContain('"leader_released"');
    await waitFor('replica-c takes over', () => leads(c), 15_000, () => alive(c)).catch((e: unknown) => { console.log(dump()); throw e; });
    const takeoverMs = Date.now() - stoppedAt;
    process.stdout.write(`failover: replica-c led ${takeoverMs} ms after replica-b was stopped with SIGTERM (Lease released)\n`);
    const taken = await leaseSpec();
    expect(taken.holderIdentity).toMatch(/^replica-c_/);
    expect(taken.leaseTransitions).toBe((before.leaseTransitions ?? 0) + 1);
    await kubectl(['-n', ns, 'create', 'configmap', 'cm-9', '--from-literal=v=9']);
    await kubectl(['-n', ns, 'label', 'configmap', 'cm-9', 'failover=member']);
    await waitFor('the new leader exports a new object', async () => (await sinkRows()).byName['cm-9'] === '9', 60_000, () => alive(c));
    expect((await sinkRows()).count).toBe(8);
  }, 180_000);
});
