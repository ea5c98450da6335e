// A fleet (docs/decisions/0026): two clusters, each with its own apiserver and its own operator
// (KOLLECT_CLUSTER_NAME east / west, each in its own Temporal namespace), export inventories of the
// same namespace and name into ONE Postgres table, ONE git repository and ONE NATS stream. Neither
// touches the other's rows, files or events, and an operator of a third cluster pointed at a
// namespace another cluster claimed refuses to start, naming both.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { service } from '../harness/endpoints.js';
import { extraServiceCtx } from '../harness/harness.js';
import { kube } from '../harness/services/kube.js';
import type { Running } from '../harness/service.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { createBareRepo } from '../support/git.js';
import { kubectlAt, installCrds, renderSamples, pgQuery, natsEvents, gitTree, gitShow, CORE_SINKS, optInSinkSecrets } from '../support/e2e.js';

const id = randomBytes(3).toString('hex');
const ns = `fleet-${id}`;
const table = `fleet_${id}`;
const stream = `FLEET_${id.toUpperCase()}`;
const prefix = `fleet${id}`;
const CLUSTERS = ['east', 'west'] as const;
type Cluster = (typeof CLUSTERS)[number];
const temporalNamespace = (c: string) => `fleet-${c}-${id}`;

type KubeAt = { kubectl: string; kubeconfig: string };
let second: Running<'kube'> | undefined;
const apiservers = {} as Record<Cluster, KubeAt>;
const operators: Child[] = [];
let repo: { dir: string; url: string };

function startOperator(cluster: string, at: KubeAt, port: number, temporalNs = temporalNamespace(cluster)): Child {
  const child = runEntry('worker/operator.ts', {
    KUBECONFIG: at.kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, TEMPORAL_NAMESPACE: temporalNs,
    KOLLECT_REGISTER_NAMESPACE: 'true', KOLLECT_TASK_QUEUE: `fleet-${id}`, KOLLECT_CLUSTER_NAME: cluster,
    KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_STORE_URL: service('postgres').url,
  });
  operators.push(child);
  return child;
}

/** One cluster's Kollect objects: the ConfigMap profile and target, the three core sinks, the inventory (no spec.cluster). */
async function applyKollect(at: KubeAt): Promise<void> {
  const git = service('git');
  const pgUrl = new URL(service('postgres').url);
  await kubectlAt(at, ['create', 'namespace', ns]);
  await kubectlAt(at, ['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
  await kubectlAt(at, ['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
  await kubectlAt(at, ['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${git.username}`, `--from-literal=password=${git.password}`]);
  await kubectlAt(at, ['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${git.caFile}`]);
  await optInSinkSecrets(ns, ['kollect-postgres', 'kollect-nats', 'kollect-git', 'kollect-git-ca'], at);
  const dir = renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml', 'inventory.yaml'], (d) => {
    if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
    if (d.spec.type === 'nats') { d.spec.nats!.url = service('nats').url; d.spec.nats!.stream = stream; d.spec.nats!.subjectPrefix = prefix; }
    if (d.spec.type === 'git') d.spec.git!.url = repo.url;
    if (d.kind === 'KollectTarget') (d.spec as { namespaces?: string[] }).namespaces = [ns];
    if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = '2s'; d.spec.targetRefs = d.spec.targetRefs?.filter((r) => r.name === 'configmaps'); }
  }, { sinks: CORE_SINKS });
  await kubectlAt(at, ['-n', ns, 'apply', '-f', dir]);
}

const configMaps = (c: Cluster) => ['shared', `only-${c}`];
const rows = () => pgQuery<{ cluster: string; name: string; attributes: Record<string, unknown> }>(
  `SELECT cluster, name, attributes FROM public.${table} WHERE inventory_namespace = $1 AND inventory_name = 'platform' ORDER BY cluster, name`, [ns]).catch(() => []);
const rowNames = async () => (await rows()).map((r) => `${r.cluster}/${r.name}`);
const fileNames = async () => (await gitTree(repo.dir)).files.filter((f) => f.endsWith('.yaml') && f.includes('configmap-')).sort();

async function explain<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (err) {
    for (const c of CLUSTERS) {
      const status = await kubectlAt(apiservers[c], ['-n', ns, 'get', 'kollectinventory', 'platform', '-o', 'jsonpath={.status}']).catch((e: unknown) => String(e));
      process.stdout.write(`--- ${c} inventory status ---\n${status.slice(0, 4000)}\n`);
    }
    for (const op of operators) process.stdout.write(`--- operator ---\n${op.output().slice(-4000)}\n`);
    throw err;
  }
}

describe('fleet: two clusters share one Postgres table, git repository and NATS stream', () => {
  beforeAll(async () => {
    // The second cluster: another etcd + kube-apiserver, as the harness starts its own.
    second = await kube.start(extraServiceCtx('fleet'));
    apiservers.east = service('kube');
    apiservers.west = second.endpoint;
    repo = await createBareRepo(`fleet-${id}`);
    for (const c of CLUSTERS) {
      await installCrds(apiservers[c]);
      await applyKollect(apiservers[c]);
      for (const name of configMaps(c)) await kubectlAt(apiservers[c], ['-n', ns, 'create', 'configmap', name, `--from-literal=cluster=${c}`]);
      startOperator(c, apiservers[c], await freePort());
    }
  }, 240_000);

  afterAll(async () => {
    for (const op of operators) op.proc.kill('SIGKILL');
    await Promise.all(operators.map((op) => op.exited));
    await kubectlAt(service('kube'), ['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
    await second?.stop();
  });

  it('each cluster exports its own objects under its own cluster name', async () => {
    const want = CLUSTERS.flatMap((c) => configMaps(c).map((n) => `${c}/${n}`)).sort();
    await explain(waitFor('rows of both clusters', async () => JSON.stringify(await rowNames()) === JSON.stringify(want), 90_000));
    // The same object name in both clusters: two rows, each with its own cluster's data.
    const shared = (await rows()).filter((r) => r.name === 'shared');
    expect(shared.map((r) => [r.cluster, JSON.stringify(r.attributes)])).toEqual(CLUSTERS.map((c) => [c, expect.stringContaining(c) as unknown]));

    await explain(waitFor('git files of both clusters', async () => (await fileNames()).length === want.length, 60_000));
    const files = await fileNames();
    for (const c of CLUSTERS) {
      const mine = files.filter((f) => f.split('/').includes(c));
      expect(mine, `git files of cluster ${c}: ${files.join(', ')}`).toHaveLength(configMaps(c).length);
      expect(await gitShow(repo.dir, mine.find((f) => f.endsWith('configmap-shared.yaml'))!)).toContain(`cluster: ${c}`);
    }

    await explain(waitFor('NATS events of both clusters', async () => new Set((await natsEvents(stream)).map((e) => e.msgId)).size >= want.length, 60_000));
  }, 150_000);

  it('a delete in one cluster removes only that cluster\'s row, file and emits only its event', async () => {
    const before = (await natsEvents(stream)).length;
    await kubectlAt(apiservers.east, ['-n', ns, 'delete', 'configmap', 'shared']);
    await explain(waitFor('east/shared gone from Postgres', async () => !(await rowNames()).includes('east/shared'), 60_000));
    expect(await rowNames()).toEqual(['east/only-east', 'west/only-west', 'west/shared']);
    await explain(waitFor('east/shared gone from git', async () => (await fileNames()).length === 3, 60_000));
    expect((await fileNames()).filter((f) => f.endsWith('configmap-shared.yaml')).every((f) => f.split('/').includes('west'))).toBe(true);
    await explain(waitFor('the delete event', async () => (await natsEvents(stream)).length > before, 60_000));
    const deletes = (await natsEvents(stream)).slice(before).filter((e) => e.type === 'delete');
    expect(deletes.map((e) => e.name)).toEqual(['shared']);
  }, 150_000);

  it('an operator of another cluster refuses a Temporal namespace that a cluster claimed, naming both', async () => {
    const intruder = startOperator('north', apiservers.west, await freePort(), temporalNamespace('east'));
    const code = await intruder.exited;
    expect(code).toBe(2);
    expect(intruder.output()).toMatch(new RegExp(`task queue "fleet-${id}" of Temporal namespace "${temporalNamespace('east')}" is used by the Kollect operator of cluster "east".*this operator's cluster is "north"`));
  }, 90_000);
});
