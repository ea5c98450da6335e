// The whole product the way a user drives it: kubectl applies the CRDs and the samples, the
// operator (watcher + worker) runs as its own process, and the same inventory lands in Postgres,
// NATS JetStream and Git. Then updates, deletes, a sink outage, a worker crash and a watcher gap.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { service, stopService, startService } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { createBareRepo } from '../support/git.js';
import { kubectl, installCrds, renderSamples, pgQuery, natsEvents, gitTree, gitShow, CORE_SINKS, optInSinkSecrets } from '../support/e2e.js';
import type { KollectInventory } from '../../api/types.js';

const id = randomBytes(3).toString('hex');
const ns = `e2e-${id}`;
const table = `rows_${id}`;
const stream = `KOLLECT_${id.toUpperCase()}`;
const prefix = `kollect${id}`;
const SAMPLES = ['widget-crd.yaml'];
const KOLLECT_SAMPLES = ['profile-deployments.yaml', 'profile-configmaps.yaml', 'profile-widgets.yaml', 'target-deployments.yaml',
  'target-configmaps.yaml', 'target-widgets.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml', 'inventory.yaml'];

let operator: Child | undefined;
let repo: { dir: string; url: string };
let httpPort = 0;
const taskQueue = `e2e-${id}`;

function startOperator(): Child {
  const child = runEntry('worker/operator.ts', {
    KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: taskQueue,
    KOLLECT_HTTP_PORT: String(httpPort), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns,
    KOLLECT_STORE_URL: service('postgres').url,
  });
  return child;
}
async function stopOperator(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!operator) return;
  operator.proc.kill(signal);
  await operator.exited;
  operator = undefined;
}
const dbRows = () => pgQuery<{ target_name: string; namespace: string; name: string; attributes: Record<string, unknown> }>(
  `SELECT target_name, namespace, name, attributes FROM public.${table} WHERE inventory_namespace = $1 AND inventory_name = 'platform' AND namespace = $1 ORDER BY target_name, name`, [ns]).catch(() => []);
// The sample's targets read their own namespace (tenant mode, docs/tenancy.md); every check still
// looks at this test's namespace only.
const events = async () => (await natsEvents(stream)).filter((e) => e.namespace === ns);
const files = async () => (await gitTree(repo.dir)).files.filter((f) => f.includes(`/${ns}/`));
const names = (rows: { target_name: string; name: string }[]) => rows.map((r) => `${r.target_name}/${r.name}`).sort();
const inventory = async () => JSON.parse(await kubectl(['-n', ns, 'get', 'kollectinventory', 'platform', '-o', 'json'])) as KollectInventory;

/** On a failure, what the operator and the inventory said (the harness keeps no operator log). */
async function explain<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (err) {
    const status = await inventory().then((i) => JSON.stringify(i.status, null, 1), (e: unknown) => String(e));
    process.stdout.write(`--- inventory status ---\n${status.slice(0, 6000)}\n--- operator (last 8000 chars) ---\n${operator?.output().slice(-8000) ?? '(none)'}\n`);
    throw err;
  }
}

describe('core pipeline end to end', () => {
  beforeAll(async () => {
    httpPort = await freePort();
    await installCrds();
    await kubectl(['create', 'namespace', ns]);
    await kubectl(['apply', '--server-side', '-f', renderSamples(SAMPLES, () => undefined)]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.example.kollect.dev']);
    const git = service('git');
    repo = await createBareRepo(`inventory-${id}`);
    const pgUrl = new URL(service('postgres').url);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${git.username}`, `--from-literal=password=${git.password}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${git.caFile}`]);
    // Sinks may use only Secrets that opt in (docs/sinks.md#credentials).
    await optInSinkSecrets(ns, ['kollect-postgres', 'kollect-nats', 'kollect-git', 'kollect-git-ca']);
    const dir = renderSamples(KOLLECT_SAMPLES, (d) => {
      if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
      if (d.spec.type === 'nats') { d.spec.nats!.url = service('nats').url; d.spec.nats!.stream = stream; d.spec.nats!.subjectPrefix = prefix; }
      if (d.spec.type === 'git') d.spec.git!.url = repo.url;
      if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = '2s'; d.spec.cluster = 'e2e'; }
    }, { sinks: CORE_SINKS });
    await kubectl(['-n', ns, 'apply', '-f', dir]);
    // objects to collect: Deployments, ConfigMaps, and objects of our own CRD
    for (const n of ['web', 'api']) {
      await kubectl(['-n', ns, 'create', 'deployment', n, '--image', `registry.example/${n}:1.0`, '--replicas', '2']);
    }
    await kubectl(['-n', ns, 'create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=password=hunter2']);
    await kubectl(['-n', ns, 'apply', '-f', renderSamples(['widget.yaml'], () => undefined)]);
    operator = startOperator();
  }, 240_000);

  afterAll(async () => {
    await stopOperator('SIGKILL');
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('exports Deployments, ConfigMaps and custom objects to Postgres, NATS and Git', async () => {
    await waitFor('rows in Postgres', async () => names(await dbRows()).length >= 4, 120_000, () => operator?.proc.exitCode === null);
    const rows = await dbRows();
    expect(names(rows)).toEqual(expect.arrayContaining(['deployments/api', 'deployments/web', 'configmaps/settings']));
    expect(rows.some((r) => r.target_name === 'widgets')).toBe(true);
    const web = rows.find((r) => r.name === 'web')!;
    expect(web.attributes).toMatchObject({ replicas: 2 });
    const settings = JSON.stringify(rows.find((r) => r.name === 'settings')!.attributes);
    expect(settings).toContain('fast');
    expect(settings).not.toContain('hunter2'); // scrubKeys: password

    await waitFor('events in NATS', async () => (await events()).length >= rows.length, 60_000);
    expect((await events()).every((e) => e.type === 'upsert' && e.msgId)).toBe(true);

    await waitFor('a commit in Git', async () => (await files()).length >= rows.length, 60_000);
    expect((await files()).some((f) => f.includes('web'))).toBe(true);

    await waitFor('status shows every sink exported', async () => {
      const inv = await inventory();
      return (inv.status?.sinkExports ?? []).length === 3 && inv.status!.sinkExports!.every((s) => s.lastSuccessTime && !s.lastError)
        && inv.status?.conditions?.some((c) => c.type === 'Synced' && c.status === 'True') === true;
    }, 60_000);
  }, 240_000);

  it('propagates an update and a delete to every sink', async () => {
    await kubectl(['-n', ns, 'scale', 'deployment', 'web', '--replicas', '5']);
    await kubectl(['-n', ns, 'delete', 'deployment', 'api']);
    await waitFor('Postgres converges', async () => {
      const rows = await dbRows();
      return rows.find((r) => r.name === 'web')?.attributes.replicas === 5 && !rows.some((r) => r.name === 'api');
    }, 60_000);
    await waitFor('NATS carries the update and the delete', async () => {
      const ev = await events();
      return ev.some((e) => e.type === 'delete' && e.name === 'api') && ev.filter((e) => e.name === 'web').length >= 2;
    }, 60_000);
    await waitFor('Git converges', async () => {
      const t = await files();
      const webFile = t.find((f) => f.includes('web'));
      return !t.some((f) => f.includes('/api') || f.includes('-api.')) && webFile !== undefined && (await gitShow(repo.dir, webFile)).includes('5');
    }, 60_000);
  }, 180_000);

  it('keeps exporting to Postgres and Git while NATS is down, shows the error, and catches NATS up', async () => {
    await stopService('nats');
    try {
      await kubectl(['-n', ns, 'create', 'configmap', 'during-outage', '--from-literal=k=v']);
      await waitFor('Postgres and Git get the new object', async () =>
        (await dbRows()).some((r) => r.name === 'during-outage') && (await files()).some((f) => f.includes('during-outage')), 90_000);
      await waitFor('status names the NATS error', async () => {
        const s = (await inventory()).status?.sinkExports?.find((x) => x.kind === 'KollectEventSink');
        return !!s?.lastError;
      }, 90_000);
      const synced = (await inventory()).status?.conditions?.find((c) => c.type === 'Synced');
      expect(synced?.status).toBe('False');
    } finally {
      await startService('nats');
    }
    await waitFor('NATS catches up with no manual step', async () => (await events()).some((e) => e.name === 'during-outage'), 180_000);
    await waitFor('status clears the error', async () => {
      const s = (await inventory()).status?.sinkExports?.find((x) => x.kind === 'KollectEventSink');
      return s?.lastError === '';
    }, 60_000);
  }, 400_000);

  it('converges after the worker is killed mid-export, with no duplicate rows', async () => {
    for (let i = 0; i < 20; i++) await kubectl(['-n', ns, 'create', 'configmap', `burst-${i}`, `--from-literal=i=${i}`]);
    await new Promise((r) => setTimeout(r, 1500));
    await stopOperator('SIGKILL');
    operator = startOperator();
    await explain(waitFor('all burst rows exported once', async () => {
      const rows = await dbRows();
      return rows.filter((r) => r.name.startsWith('burst-')).length === 20;
    }, 120_000, () => operator?.proc.exitCode === null));
    const dup = await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM (SELECT namespace, name FROM public.${table} WHERE inventory_namespace = $1 GROUP BY target_name, namespace, name HAVING count(*) > 1) d`, [ns]);
    expect(Number(dup[0]!.n)).toBe(0);
  }, 240_000);

  it('removes objects deleted while the watcher was down once it restarts', async () => {
    await stopOperator('SIGTERM');
    await kubectl(['-n', ns, 'delete', 'configmap', 'burst-0', 'burst-1', 'burst-2']);
    operator = startOperator();
    await waitFor('deletes reconciled everywhere', async () => {
      const rows = await dbRows();
      const t = await files();
      const ev = await events();
      return !rows.some((r) => ['burst-0', 'burst-1', 'burst-2'].includes(r.name))
        && !t.some((f) => /burst-[012]\./.test(f))
        && ['burst-0', 'burst-1', 'burst-2'].every((n) => ev.some((e) => e.type === 'delete' && e.name === n));
    }, 120_000, () => operator?.proc.exitCode === null);
  }, 240_000);

  it('ends the inventory workflow through the finalizer when the inventory is deleted', async () => {
    await kubectl(['-n', ns, 'delete', 'kollectinventory', 'platform', '--timeout=90s']);
    const left = await kubectl(['-n', ns, 'get', 'kollectinventory', '-o', 'name']);
    expect(left.trim()).toBe('');
  }, 120_000);
});
