// A tenant sees only what it may (docs/tenancy.md), on the real apiserver, Temporal and Postgres,
// with the operator as its own process in tenant mode (the default), reading two tenant
// namespaces (KOLLECT_WATCH_NAMESPACES) and serving the cluster kinds (KOLLECT_CLUSTER_KINDS):
// a target without namespaces reads its own; another namespace or a cluster-scoped kind is
// refused with a condition until a KollectScope grants it; a sink type the scope does not allow
// is refused; a KollectClusterTarget + KollectClusterInventory export both namespaces into
// Postgres under workflow kollect/clusterinventory/<name>. A second operator with
// KOLLECT_TENANT_MODE=false reads every namespace it watches, as before.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { kubectl, installCrds, pgQuery, optInSinkSecrets } from '../support/e2e.js';
import type { Condition } from '../../api/types.js';

const id = randomBytes(3).toString('hex');
const nsA = `tenant-a-${id}`;
const nsB = `tenant-b-${id}`;
const table = `tenancy_${id}`;
const clusterTarget = `ct-${id}`;
const clusterInventory = `ci-${id}`;
const selTarget = `ct-sel-${id}`;
const selInventory = `ci-sel-${id}`;
const taskQueue = `tenancy-${id}`;
const LABEL = { 'kollect-e2e': id };

let operator: Child | undefined;

interface Obj { metadata: { name: string; finalizers?: string[] }; status?: { conditions?: Condition[]; workflowId?: string; sinkExports?: { name: string; lastSuccessTime?: string }[] } }
const get = async (kind: string, name: string, ns?: string): Promise<Obj | undefined> => {
  try { return JSON.parse(await kubectl([...(ns ? ['-n', ns] : []), 'get', kind, name, '-o', 'json'])) as Obj; } catch { return undefined; }
};
const ready = async (kind: string, name: string, ns?: string): Promise<Condition | undefined> =>
  (await get(kind, name, ns))?.status?.conditions?.find((c) => c.type === 'Ready');
const apply = (docs: unknown[], ns?: string) => kubectl([...(ns ? ['-n', ns] : []), 'apply', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));
const k = (kind: string, name: string, spec: unknown) => ({ apiVersion: 'kollect.dev/v1alpha1', kind, metadata: { name }, spec });
const rows = (invNamespace: string, invName: string) => pgQuery<{ target_name: string; namespace: string; name: string }>(
  `SELECT target_name, namespace, name FROM public.${table} WHERE inventory_namespace = $1 AND inventory_name = $2 ORDER BY target_name, namespace, name`, [invNamespace, invName])
  .then((r) => r.map((x) => `${x.target_name}:${x.namespace}/${x.name}`), () => [] as string[]);
const alive = () => operator?.proc.exitCode === null;

/** On a failure, what the operator said. */
async function explain<T>(what: Promise<T>): Promise<T> {
  try { return await what; } catch (err) {
    process.stdout.write(`--- operator (last 6000 chars) ---\n${operator?.output().slice(-6000) ?? '(none)'}\n`);
    throw err;
  }
}
async function waitReady(kind: string, name: string, ns: string | undefined, want: Partial<Condition>, timeoutMs = 60_000): Promise<Condition> {
  await explain(waitFor(`${kind} ${ns ?? ''}/${name} Ready ${JSON.stringify(want)}`, async () => {
    const c = await ready(kind, name, ns);
    return !!c && Object.entries(want).every(([key, v]) => c[key as keyof Condition] === v);
  }, timeoutMs, alive));
  return (await ready(kind, name, ns))!;
}

describe('tenancy end to end', () => {
  beforeAll(async () => {
    await installCrds();
    for (const ns of [nsA, nsB]) {
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['-n', ns, 'create', 'configmap', `cm-${ns}`, '--from-literal=k=v']);
      await kubectl(['-n', ns, 'label', 'configmap', `cm-${ns}`, `kollect-e2e=${id}`]);
    }
    const pgUrl = new URL(service('postgres').url);
    await kubectl(['-n', nsA, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${decodeURIComponent(pgUrl.password)}`]);
    await optInSinkSecrets(nsA, ['kollect-postgres']);
    const selector = { matchLabels: LABEL };
    await apply([
      k('KollectProfile', 'cms', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'k', jsonPath: '{.data.k}' }] }),
      k('KollectProfile', 'namespaces', { apiVersion: 'v1', kind: 'Namespace', attributes: [{ name: 'phase', jsonPath: '{.status.phase}' }] }),
      k('KollectTarget', 'own', { profileRef: { name: 'cms' }, labelSelector: selector }),
      k('KollectTarget', 'cross', { profileRef: { name: 'cms' }, namespaces: [nsB], labelSelector: selector }),
      k('KollectTarget', 'nss', { profileRef: { name: 'namespaces' } }),
      k('KollectDatabaseSink', 'pg', { type: 'postgres', postgres: { url: `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`, table, sslMode: 'disable' }, secretRef: { name: 'kollect-postgres' } }),
      k('KollectInventory', 'inv', { targetRefs: [{ name: 'own' }, { name: 'cross' }, { name: 'nss' }], databaseSinkRefs: [{ name: 'pg' }], exportMinInterval: '1s' }),
    ], nsA);
    operator = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: taskQueue,
      KOLLECT_HTTP_PORT: String(await freePort()), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_STORE_URL: service('postgres').url,
      KOLLECT_WATCH_NAMESPACES: `${nsA},${nsB}`, KOLLECT_CLUSTER_KINDS: 'true',
    });
  }, 180_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await kubectl(['delete', 'kollectclusterinventory', clusterInventory, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    await kubectl(['delete', 'kollectclusterinventory', selInventory, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    await kubectl(['delete', 'kollectclustertarget', clusterTarget, selTarget, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    for (const ns of [nsA, nsB]) await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('a target without namespaces reads its own namespace only', async () => {
    const c = await waitReady('kollecttarget', 'own', nsA, { status: 'True' }, 120_000);
    expect(c.message).toBe(`Collecting ConfigMap (v1) from namespaces ${nsA}`);
    await explain(waitFor('tenant-a rows in Postgres', async () => (await rows(nsA, 'inv')).length > 0, 90_000, alive));
    expect(await rows(nsA, 'inv')).toEqual([`own:${nsA}/cm-${nsA}`]);
  }, 240_000);

  it('a target listing another namespace is refused, naming it and how to grant it', async () => {
    const c = await waitReady('kollecttarget', 'cross', nsA, { status: 'False' });
    expect(c.reason).toBe('NamespaceNotAllowed');
    expect(c.message).toContain(`lists namespace ${nsB}`);
    expect(c.message).toContain(`KollectScope ${nsA}/default`);
    expect(c.message).toContain('KollectClusterTarget');
  });

  it('a namespaced target on a cluster-scoped kind is refused', async () => {
    const c = await waitReady('kollecttarget', 'nss', nsA, { status: 'False' });
    expect(c.reason).toBe('ClusterScopedKind');
    expect(c.message).toContain('Namespace (v1)');
    expect((await rows(nsA, 'inv')).filter((r) => r.startsWith('nss:'))).toEqual([]);
  });

  it('a KollectScope granting the other namespace makes the target collect it', async () => {
    await apply([k('KollectScope', 'default', { namespaces: [nsB] })], nsA);
    const c = await waitReady('kollecttarget', 'cross', nsA, { status: 'True' });
    expect(c.message).toBe(`Collecting ConfigMap (v1) from namespaces ${nsB}`);
    const scope = await waitReady('kollectscope', 'default', nsA, { status: 'True' });
    expect(scope.reason).toBe('Accepted');
    expect(scope.message).toContain(`targets may read namespace ${nsA} and ${nsB}`);
    await explain(waitFor('tenant-b row in Postgres', async () => (await rows(nsA, 'inv')).includes(`cross:${nsB}/cm-${nsB}`), 60_000, alive));
    expect(await rows(nsA, 'inv')).toEqual([`cross:${nsB}/cm-${nsB}`, `own:${nsA}/cm-${nsA}`]);
    // The namespace target stays refused: the scope grants no cluster-scoped kind.
    expect((await ready('kollecttarget', 'nss', nsA))?.reason).toBe('ClusterScopedKind');
  }, 120_000);

  it('a KollectScope is named default: the apiserver refuses another name', async () => {
    await expect(apply([k('KollectScope', 'other', {})], nsA)).rejects.toThrow(/must be named default/);
  });

  it('a KollectClusterTarget and KollectClusterInventory export both namespaces to a namespaced sink under kollect/clusterinventory/<name>', async () => {
    await apply([
      k('KollectClusterTarget', clusterTarget, { profileRef: { name: 'cms', namespace: nsA }, labelSelector: { matchLabels: LABEL } }),
      k('KollectClusterInventory', clusterInventory, { targetRefs: [{ name: clusterTarget }], sinkNamespace: nsA, databaseSinkRefs: [{ name: 'pg' }], exportMinInterval: '1s' }),
    ]);
    const t = await waitReady('kollectclustertarget', clusterTarget, undefined, { status: 'True' });
    // "all namespaces" of a cluster target are those the operator reads
    expect(t.message).toBe(`Collecting ConfigMap (v1) from namespaces ${nsA}, ${nsB}`);
    await explain(waitFor('cluster inventory rows in Postgres', async () => (await rows('', clusterInventory)).length === 2, 90_000, alive));
    expect(await rows('', clusterInventory)).toEqual([`${clusterTarget}:${nsA}/cm-${nsA}`, `${clusterTarget}:${nsB}/cm-${nsB}`]);

    const workflowId = `kollect/clusterinventory/${clusterInventory}`;
    await explain(waitFor('cluster inventory status', async () => {
      const inv = await get('kollectclusterinventory', clusterInventory);
      return inv?.status?.workflowId === workflowId && !!inv.status.sinkExports?.some((s) => s.lastSuccessTime)
        && inv.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    }, 60_000, alive));
    const inv = (await get('kollectclusterinventory', clusterInventory))!;
    expect(inv.metadata.finalizers).toContain('kollect.dev/inventory');
    expect(inv.status!.sinkExports!.map((s) => s.name)).toEqual([`${nsA}/pg`]);
    const connection = await Connection.connect({ address: service('temporal').address });
    try {
      const d = await new Client({ connection, namespace: service('temporal').namespace }).workflow.getHandle(workflowId).describe();
      expect(d.type).toBe('inventoryWorkflow');
      expect(d.taskQueue).toBe(taskQueue);
    } finally { await connection.close(); }

    // Deleting it: the workflow ends and removes the finalizer, as for a namespaced inventory.
    await kubectl(['delete', 'kollectclusterinventory', clusterInventory, '--wait=false']);
    await explain(waitFor('cluster inventory gone', async () => (await get('kollectclusterinventory', clusterInventory)) === undefined, 60_000, alive));
  }, 240_000);

  it('a KollectClusterTarget with a namespaceSelector reads the namespaces whose labels match, and follows a relabel', async () => {
    const selLabel = `kollect-e2e-sel=${id}`;
    await kubectl(['label', 'namespace', nsB, selLabel]);
    await apply([
      k('KollectClusterTarget', selTarget, { profileRef: { name: 'cms', namespace: nsA }, namespaceSelector: { matchLabels: { 'kollect-e2e-sel': id } }, labelSelector: { matchLabels: LABEL } }),
      k('KollectClusterInventory', selInventory, { targetRefs: [{ name: selTarget }], databaseSinkRefs: [{ name: 'pg', namespace: nsA }], exportMinInterval: '1s' }),
    ]);
    const t = await waitReady('kollectclustertarget', selTarget, undefined, { status: 'True' });
    expect(t.message).toBe(`Collecting ConfigMap (v1) from the namespaces matching spec.namespaceSelector among ${nsA}, ${nsB}: ${nsB}`);
    await explain(waitFor('selected namespace rows', async () => (await rows('', selInventory)).length === 1, 90_000, alive));
    expect(await rows('', selInventory)).toEqual([`${selTarget}:${nsB}/cm-${nsB}`]);
    // tenant-a labelled too: it joins; tenant-b unlabelled: it leaves
    await kubectl(['label', 'namespace', nsA, selLabel]);
    await kubectl(['label', 'namespace', nsB, 'kollect-e2e-sel-']);
    await explain(waitFor('rows follow the relabel', async () => JSON.stringify(await rows('', selInventory)) === JSON.stringify([`${selTarget}:${nsA}/cm-${nsA}`]), 60_000, alive));
    expect((await ready('kollectclustertarget', selTarget))?.message).toContain(`among ${nsA}, ${nsB}: ${nsA}`);
  }, 180_000);

  it('with KOLLECT_TENANT_MODE=false a target reads every namespace the operator reads, as before tenancy', async () => {
    const nsC = `single-c-${id}`;
    const nsD = `single-d-${id}`;
    for (const ns of [nsC, nsD]) {
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['-n', ns, 'create', 'configmap', `cm-${ns}`, '--from-literal=k=v']);
      await kubectl(['-n', ns, 'label', 'configmap', `cm-${ns}`, `kollect-e2e=${id}`]);
    }
    const single = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `${taskQueue}-single`,
      KOLLECT_HTTP_PORT: String(await freePort()), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_STORE_URL: service('postgres').url,
      KOLLECT_WATCH_NAMESPACES: `${nsC},${nsD}`, KOLLECT_TENANT_MODE: 'false',
    });
    try {
      await apply([
        k('KollectProfile', 'cms', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'k', jsonPath: '{.data.k}' }] }),
        k('KollectTarget', 'all', { profileRef: { name: 'cms' }, labelSelector: { matchLabels: LABEL } }),
        k('KollectTarget', 'other', { profileRef: { name: 'cms' }, namespaces: [nsD], labelSelector: { matchLabels: LABEL } }),
      ], nsC);
      const isAlive = () => single.proc.exitCode === null;
      const readyOf = async (name: string, want: string) => {
        await waitFor(`KollectTarget ${nsC}/${name} Ready ${want}`, async () => (await ready('kollecttarget', name, nsC))?.status === want, 120_000, isAlive)
          .catch((err: unknown) => { process.stdout.write(single.output().slice(-6000)); throw err; });
        return (await ready('kollecttarget', name, nsC))!;
      };
      // no namespaces: every namespace this operator reads (KOLLECT_WATCH_NAMESPACES still bounds it)
      expect((await readyOf('all', 'True')).message).toBe(`Collecting ConfigMap (v1) from namespaces ${nsC}, ${nsD}`);
      expect((await readyOf('other', 'True')).message).toBe(`Collecting ConfigMap (v1) from namespaces ${nsD}`);
    } finally {
      single.proc.kill('SIGKILL');
      for (const ns of [nsC, nsD]) await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    }
  }, 180_000);

  it('a sink type the scope does not allow is refused on the inventory (ScopeDenied)', async () => {
    await apply([k('KollectScope', 'default', { namespaces: [nsB], sinkTypes: ['git'] })], nsA);
    const c = await waitReady('kollectinventory', 'inv', nsA, { status: 'False' });
    expect(c.reason).toBe('ScopeDenied');
    expect(c.message).toContain('of type postgres');
    expect(c.message).toContain('spec.sinkTypes: git');
  }, 90_000);
});
