// `npm run bench`: the core pipeline at scale, on the real services. Creates N ConfigMaps (default
// 10,000) and times until Postgres, NATS and Git all hold them; then applies U updates (default
// 1,000) and measures change → visible per sink (p50/p99); reports peak RSS of the watcher and the
// worker processes and the inventory workflow's history length and bytes. Prints a table and
// writes JSON to bench-results/. Options: --objects=N --updates=U --interval=2s --sync-timeout=S
// (seconds), --race (create the objects while the operator is still starting).
import { mkdirSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { connect, AckPolicy, DeliverPolicy } from 'nats';
import { startHarness } from '../test/harness/harness.js';
import { freePort, waitFor } from '../test/harness/util.js';
import { runEntry, root, type Child } from '../test/support/process.js';
import { createBareRepo } from '../test/support/git.js';
import { kubectl, installCrds, renderSamples, pgQuery, gitTree } from '../test/support/e2e.js';
import { inventoryWorkflowId, statusQuery } from '../workflows/definitions.js';
import { GzipCodec } from '../worker/payloads.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = Number(arg('objects', '10000'));
const U = Number(arg('updates', '1000'));
const interval = arg('interval', '2s');
const say = (s: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const h = await startHarness({ only: ['kube', 'temporal', 'postgres', 'nats', 'git'] });
const children: Child[] = [];
try {
  const ep = h.endpoints;
  const id = randomBytes(3).toString('hex');
  const ns = `bench-${id}`;
  const table = `bench_rows_${id}`;
  const stream = `BENCH_${id.toUpperCase()}`;
  const prefix = `bench${id}`;
  await installCrds();
  await kubectl(['create', 'namespace', ns]);
  const repo = await createBareRepo(`bench-${id}`);
  const pgUrl = new URL(ep.postgres!.url);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${ep.git!.username}`, `--from-literal=password=${ep.git!.password}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${ep.git!.caFile}`]);
  await kubectl(['-n', ns, 'apply', '-f', renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml', 'inventory.yaml'], (d) => {
    if (d.kind === 'KollectDatabaseSink') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = table; }
    if (d.kind === 'KollectEventSink') { d.spec.nats!.url = ep.nats!.url; d.spec.nats!.stream = stream; d.spec.nats!.subjectPrefix = prefix; }
    if (d.kind === 'KollectSnapshotSink') d.spec.git!.url = repo.url;
    if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = interval; d.spec.cluster = 'bench'; d.spec.targetRefs = [{ name: 'configmaps' }]; }
  })]);

  const taskQueue = `bench-${id}`;
  const env = { KUBECONFIG: ep.kube!.kubeconfig, TEMPORAL_ADDRESS: ep.temporal!.address, KOLLECT_TASK_QUEUE: taskQueue, KOLLECT_HTTP_HOST: '127.0.0.1',
    KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_PAYLOAD_STORE_URL: ep.postgres!.url };
  const [workerPort, watcherPort] = [await freePort(), await freePort()];
  const worker = runEntry('worker/operator.ts', { ...env, KOLLECT_COMPONENTS: 'worker', KOLLECT_HTTP_PORT: String(workerPort) });
  const watcher = runEntry('worker/operator.ts', { ...env, KOLLECT_COMPONENTS: 'watcher', KOLLECT_HTTP_PORT: String(watcherPort) });
  children.push(worker, watcher);
  // --race: create objects while the operator is still starting (reproduces a lost-rows defect)
  if (!process.argv.includes('--race')) for (const port of [workerPort, watcherPort]) {
    await waitFor('operator ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 120_000);
  }
  if (!process.argv.includes('--race')) await new Promise((r) => setTimeout(r, 3000)); // let the first (empty) export round pass
  // runEntry starts tsx, which runs the operator in a child node process: take the largest peak
  // resident set (VmHWM) of the process tree.
  const peak = (c: Child): number => {
    const hwm = (pid: number): number => {
      const own = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      const kids = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      return Math.max(own, ...kids.map(hwm));
    };
    return hwm(c.proc.pid!);
  };

  // NATS: record when each ConfigMap's event arrives
  const nc = await connect({ servers: ep.nats!.url });
  const arrivals = new Map<string, number>();
  let natsCount = 0;
  void (async () => {
    await waitFor('stream exists', async () => !!(await (await nc.jetstreamManager()).streams.info(stream).catch(() => undefined)), 600_000);
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(stream, { durable_name: 'bench', ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
    const consumer = await nc.jetstream().consumers.get(stream, 'bench');
    for await (const m of await consumer.consume()) {
      natsCount++;
      const e = m.json<{ name: string; attributes?: { data?: { bench?: string } } }>();
      const marker = e.attributes?.data?.bench;
      if (marker && !arrivals.has(marker)) arrivals.set(marker, Date.now());
    }
  })();

  // 1. initial sync of N objects
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(ep.kube!.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const t0 = Date.now();
  let next = 0;
  await Promise.all(Array.from({ length: 24 }, async () => {
    while (next < N) {
      const i = next++;
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}`, labels: { app: 'bench' } }, data: { index: String(i), bench: 'initial', payload: randomBytes(96).toString('hex') } } });
      if (i > 0 && i % 2000 === 0) say(`created ${i}/${N}`);
    }
  }));
  const createdMs = Date.now() - t0;
  say(`created ${N} ConfigMaps in ${(createdMs / 1000).toFixed(1)} s`);
  const pgCount = async () => Number((await pgQuery<{ n: string }>(`SELECT count(*) AS n FROM public.${table} WHERE inventory_namespace = $1`, [ns]).catch(() => [{ n: '0' }]))[0]!.n);
  const done: Record<string, number> = {};
  await waitFor('initial sync in every sink', async () => {
    const now = Date.now() - t0;
    if (!done.postgres && (await pgCount()) >= N) done.postgres = now;
    if (!done.nats && natsCount >= N) done.nats = now;
    if (!done.git && (await gitTree(repo.dir)).files.length >= N) done.git = now;
    return done.postgres !== undefined && done.nats !== undefined && done.git !== undefined;
  }, Number(arg('sync-timeout', '1800')) * 1000).catch(async (err: unknown) => {
    // Show the order in which the workflow received its signals, to diagnose missing rows.
    const connection = await Connection.connect({ address: ep.temporal!.address });
    const client = new Client({ connection });
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${inventoryWorkflowId(ns, 'platform')}'` })) {
      const h = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const codec = new GzipCodec();
      const upserted = new Set<string>();
      const seq: string[] = [];
      for (const e of h.events ?? []) {
        const a = e.workflowExecutionSignaledEventAttributes;
        if (!a) continue;
        const [p] = await codec.decode((a.input?.payloads ?? []));
        const body = p?.data ? JSON.parse(new TextDecoder().decode(p.data)) as { upserts?: { uid: string }[]; deletes?: unknown[]; uids?: string[] } : {};
        for (const r of body.upserts ?? []) upserted.add(r.uid);
        seq.push(`${a.signalName}(${body.upserts?.length ?? body.uids?.length ?? 0}${body.deletes?.length ? `,-${body.deletes.length}` : ''})`);
      }
      say(`run ${wf.runId} (${wf.status.name}): ${seq.length} signals, ${upserted.size} distinct uids upserted: ${seq.join(' ')}`);
    }
    const status = await client.workflow.getHandle(inventoryWorkflowId(ns, 'platform')).query(statusQuery).catch((e: unknown) => String(e));
    say(`postgres rows: ${await pgCount()}; workflow status: ${JSON.stringify(status)}`);
    throw err;
  });
  say(`initial sync: postgres ${done.postgres} ms, nats ${done.nats} ms, git ${done.git} ms`);

  // 2. U updates at ~50/s, each with a unique marker; measure change → visible per sink
  const changedAt = new Map<string, number>();
  const seenPg = new Map<string, number>();
  const seenGit = new Map<string, number>();
  const poll = setInterval(() => {
    void pgQuery<{ m: string }>(`SELECT attributes->'data'->>'bench' AS m FROM public.${table} WHERE inventory_namespace = $1 AND attributes->'data'->>'bench' LIKE 'u-%'`, [ns])
      .then((rows) => { const t = Date.now(); for (const r of rows) if (!seenPg.has(r.m)) seenPg.set(r.m, t); }).catch(() => undefined);
  }, 200);
  let lastHead = '';
  const gitPoll = setInterval(() => {
    void gitTree(repo.dir).then(async (t) => {
      if (t.head === lastHead) return;
      lastHead = t.head;
      const seenAt = Date.now();
      const { execFile } = await import('node:child_process');
      const out = await new Promise<string>((r) => execFile('git', ['--git-dir', repo.dir, 'grep', '-h', '-o', 'u-[0-9]*', 'main'], { maxBuffer: 1 << 26 }, (_e, so) => r(so)));
      for (const m of out.split('\n')) if (m && !seenGit.has(m)) seenGit.set(m, seenAt);
    }).catch(() => undefined);
  }, 300);
  const u0 = Date.now();
  for (let i = 0; i < U; i++) {
    const marker = `u-${i}`;
    changedAt.set(marker, Date.now());
    await core.patchNamespacedConfigMap({ namespace: ns, name: `cm-${i % N}`, body: { data: { bench: marker } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
    const due = u0 + (i + 1) * 20;
    if (Date.now() < due) await new Promise((r) => setTimeout(r, due - Date.now()));
  }
  await waitFor('updates visible everywhere', () => Promise.resolve(seenPg.size >= U && arrivals.size >= U && seenGit.size >= U), 10 * 60_000);
  clearInterval(poll);
  clearInterval(gitPoll);
  const pct = (m: Map<string, number>) => {
    const d = [...changedAt].map(([k, t]) => (m.get(k) ?? NaN) - t).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
    const q = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? NaN;
    return { p50: q(0.5), p99: q(0.99), max: d.at(-1) ?? NaN, n: d.length };
  };
  const latency = { postgres: pct(seenPg), nats: pct(arrivals), git: pct(seenGit) };

  // 3. resources and Temporal history
  const rss = { watcherMiB: peak(watcher), workerMiB: peak(worker) };
  const connection = await Connection.connect({ address: ep.temporal!.address });
  const client = new Client({ connection });
  const desc = await client.workflow.getHandle(inventoryWorkflowId(ns, 'platform')).describe();
  const raw = desc.raw.workflowExecutionInfo;
  const history = { length: Number(raw?.historyLength ?? 0), bytes: Number(raw?.historySizeBytes ?? 0), runId: desc.runId };
  await connection.close();
  await nc.drain().catch(() => undefined);

  const result = { date: new Date().toISOString(), objects: N, updates: U, exportMinInterval: interval, createMs: createdMs, initialSyncMs: done, updateLatencyMs: latency, peakRss: rss, history };
  mkdirSync(path.join(root, 'bench-results'), { recursive: true });
  const file = path.join(root, 'bench-results', `pipeline-${result.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  const row = (k: string, v: string) => `  ${k.padEnd(38)} ${v}`;
  process.stdout.write(['', `Kollect pipeline benchmark: ${N} objects, ${U} updates, exportMinInterval ${interval}`,
    row('create objects on the apiserver', `${(createdMs / 1000).toFixed(1)} s`),
    ...(['postgres', 'nats', 'git'] as const).map((s) => row(`initial sync → ${s} holds all`, `${((done[s] ?? NaN) / 1000).toFixed(1)} s`)),
    ...(['postgres', 'nats', 'git'] as const).map((s) => row(`update → visible in ${s} (p50 / p99)`, `${latency[s].p50} ms / ${latency[s].p99} ms  (n=${latency[s].n})`)),
    row('peak RSS watcher / worker', `${rss.watcherMiB.toFixed(0)} MiB / ${rss.workerMiB.toFixed(0)} MiB`),
    row('workflow history (current run)', `${history.length} events, ${history.bytes} bytes`),
    `  written to ${path.relative(root, file)}`, ''].join('\n'));
} finally {
  for (const c of children) c.proc.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
  await h.stop();
}
