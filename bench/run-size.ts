// One size of the benchmark: its own namespace, table, stream and repo, fresh operator processes,
// initial sync, updates at a steady rate, resources and history; then the direct writer.
import { randomBytes } from 'node:crypto';
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../api/constants.js';
import * as k8s from '@kubernetes/client-node';
import pg from 'pg';
import type { Endpoints } from '../test/harness/endpoints.js';
import { waitFor } from '../test/harness/util.js';
import { createBareRepo } from '../test/support/git.js';
import { kubectl, renderSamples, CORE_SINKS } from '../test/support/e2e.js';
import { createConfigMaps, applyUpdates } from './load.js';
import { PgProbe, NatsProbe, GitProbe, Updates, loop, sleep } from './probes.js';
import { directWrite, type DirectResult } from './direct-writer.js';
import { historyChain, diagnose, terminate, type HistoryStats } from './history.js';
import { startOperator, stopOperator, ready, trackRss, signalsSent, type OperatorProc } from './operator.js';

export type Sink = 'postgres' | 'nats' | 'git';
export const SINKS: Sink[] = ['postgres', 'nats', 'git'];

export interface Options {
  preload: boolean;
  race: boolean;
  updates: number;
  rate: number;
  interval: string;
  syncTimeoutS: number;
  updateTimeoutS: number;
  concurrency: number;
  direct: boolean;
  /** Prebuilt workflow bundle the worker loads (empty: it bundles at start). */
  workflowBundle: string;
  /** Run the compiled operator (dist/, npm run build) instead of the TypeScript through tsx. */
  compiled: boolean;
}

/** n: updates seen; superseded: overwritten by a later update of the object before being seen; unresolved: never seen by the deadline. */
export interface Latency { p50: number; p99: number; max: number; n: number; superseded: number; unresolved: number }
export interface SizeResult {
  objects: number;
  namespace: string;
  preload: boolean;
  createMs: number;
  /** Operator processes started → both /readyz 200. */
  readyMs: number;
  /** preload: from operator ready; otherwise from the start of the creates. */
  initialSyncMs: Partial<Record<Sink, number>>;
  initialSyncFrom: 'operator ready' | 'first create';
  /** Same origin: when the first row showed in each sink (the rest of initialSyncMs is the sink's write time). */
  firstRowMs: Partial<Record<Sink, number>>;
  /** Postgres rows right after the initial sync (should be exactly `objects`), and any rows that are not a bench ConfigMap. */
  rowsAfterSync: number;
  strayRows: { name: string; kind: string; uid: string }[];
  updates: { count: number; targetRate: number; achievedRate: number; failed: number; ms: number };
  updateLatencyMs: Record<Sink, Latency>;
  peakRss: { watcherMiB: number; workerMiB: number; sumMiB: number };
  /** Resident set when the updates are done (steady state, after the startup peak). */
  endRss: { watcherMiB: number; workerMiB: number; sumMiB: number };
  /** From the watcher's kollect_watcher_signals_total: operator start → initial sync done, and the update phase. */
  signals: { watcherInitial: number; watcherUpdates: number; initialPerSec: number; updatesPerSec: number };
  history: Omit<HistoryStats, 'runs'> & { runCount: number; runs: HistoryStats['runs'] };
  storeBytes: { total: number; delta: number; tables: Record<string, number> };
  sinkTableBytes: number;
  direct?: DirectResult;
  /** Kollect initial sync to Postgres ÷ direct writer LIST→COMMIT. */
  durabilityRatio?: number;
  /** Why this size stopped early; the fields measured before that are kept. */
  error?: string;
}

export interface Ctx { ep: Endpoints; core: k8s.CoreV1Api; opts: Options; say: (s: string) => void }

/** Bytes of every kollect_* table except the sinks' own (claim-check payloads, bodies, …). */
export async function storeBytes(url: string, exclude: string[]): Promise<Record<string, number>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ t: string; b: string }>(
      `SELECT table_schema || '.' || table_name AS t, pg_total_relation_size(quote_ident(table_schema) || '.' || quote_ident(table_name)) AS b
         FROM information_schema.tables WHERE table_name LIKE 'kollect\\_%' AND table_type = 'BASE TABLE'
          AND table_name <> 'kollect_schema_migrations' AND NOT (table_name = ANY($1))`, [exclude]);
    return Object.fromEntries(r.rows.map((x) => [x.t, Number(x.b)]));
  } finally { await c.end(); }
}
const sumValues = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** Runs one size, filling `into` as it goes, so a size that fails half-way still reports what it measured. */
export async function runSize(N: number, ctx: Ctx, into: Partial<SizeResult> = {}): Promise<SizeResult> {
  const { ep, core, opts, say } = ctx;
  const r = into;
  const id = randomBytes(3).toString('hex');
  const ns = `bench-${id}`;
  const table = `bench_rows_${id}`;
  const stream = `BENCH_${id.toUpperCase()}`;
  const pgUrl = new URL(ep.postgres!.url);
  say(`── ${N} objects: namespace ${ns}, table ${table}, stream ${stream}`);
  Object.assign(r, { objects: N, namespace: ns, preload: opts.preload, initialSyncFrom: opts.preload ? 'operator ready' : 'first create' });
  await kubectl(['create', 'namespace', ns]);
  const repo = await createBareRepo(`bench-${id}`);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${ep.git!.username}`, `--from-literal=password=${ep.git!.password}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${ep.git!.caFile}`]);
  await kubectl(['-n', ns, 'label', 'secret', 'kollect-postgres', 'kollect-nats', 'kollect-git', 'kollect-git-ca', `${SINK_CREDENTIALS_LABEL}=${SINK_CREDENTIALS_VALUE}`]); // sinks use only Secrets that opt in
  await kubectl(['-n', ns, 'apply', '-f', renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml', 'inventory.yaml'], (d) => {
    if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
    if (d.spec.type === 'nats') { d.spec.nats!.url = ep.nats!.url; d.spec.nats!.stream = stream; d.spec.nats!.subjectPrefix = `bench${id}`; }
    if (d.spec.type === 'git') d.spec.git!.url = repo.url;
    // only this size's namespace (the sample collects from all namespaces, kube-system's ConfigMaps included)
    if (d.kind === 'KollectTarget') (d.spec as { namespaces?: string[] }).namespaces = [ns];
    if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = opts.interval; d.spec.cluster = 'bench'; d.spec.targetRefs = [{ name: 'configmaps' }]; }
  }, { sinks: CORE_SINKS })]);
  const storeBefore = sumValues(await storeBytes(ep.postgres!.url, [table]));

  let createMs = 0;
  const create = async () => {
    say(`creating ${N} ConfigMaps (${opts.concurrency} in flight)`);
    r.createMs = createMs = await createConfigMaps(core, ns, N, opts.concurrency, say);
    say(`created ${N} ConfigMaps in ${(createMs / 1000).toFixed(1)} s (${Math.round(N / (createMs / 1000))}/s)`);
  };
  if (opts.preload) await create();

  const env = {
    KUBECONFIG: ep.kube!.kubeconfig, TEMPORAL_ADDRESS: ep.temporal!.address, KOLLECT_TASK_QUEUE: `bench-${id}`, KOLLECT_HTTP_HOST: '127.0.0.1',
    KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_STORE_URL: ep.postgres!.url, KOLLECT_ENDPOINT_ALLOW: 'loopback', // the harness sinks are on loopback
    // the workflow code bundled once, as a built operator runs it (no webpack in the worker's memory)
    ...(opts.workflowBundle ? { KOLLECT_WORKFLOW_BUNDLE: opts.workflowBundle } : {}),
  };
  const pgProbe = await PgProbe.open(ep.postgres!.url, table, ns);
  const natsProbe = await NatsProbe.open(ep.nats!.url, stream);
  const gitProbe = new GitProbe(repo.dir);
  let procs: OperatorProc[] = [];
  let rss: ReturnType<typeof trackRss> | undefined;
  const recordRss = () => {
    if (!rss) return;
    const [w, k, we, ke] = [rss.peak('watcher'), rss.peak('worker'), rss.current('watcher'), rss.current('worker')];
    r.peakRss = { watcherMiB: w, workerMiB: k, sumMiB: w + k };
    r.endRss = { watcherMiB: we, workerMiB: ke, sumMiB: we + ke };
  };
  try {
    const tStart = Date.now();
    procs = await startOperator(env, opts.compiled);
    rss = trackRss(procs);
    const alive = () => procs.every((p) => p.child.proc.exitCode === null && p.child.proc.signalCode === null);
    let readyMs = NaN;
    let t0: number;
    if (opts.race && !opts.preload) {
      t0 = Date.now(); // create while the operator is still starting (reproduces a lost-rows defect)
      await create();
    } else {
      await waitFor('operator ready (both /readyz 200)', async () => (await Promise.all(procs.map(ready))).every(Boolean), 180_000, alive)
        .catch((err: unknown) => { for (const p of procs) say(`${p.name} output:\n${p.child.output().slice(-3000)}`); throw err; });
      r.readyMs = readyMs = Date.now() - tStart;
      say(`operator ready in ${(readyMs / 1000).toFixed(1)} s`);
      if (opts.preload) t0 = Date.now();
      else {
        await sleep(3000); // let the first (empty) export round pass
        t0 = Date.now();
        await create();
      }
    }
    const watcher = procs.find((p) => p.name === 'watcher')!;

    // 1. initial sync: counters only
    const done: Partial<Record<Sink, number>> = {};
    const last: Record<Sink, number> = { postgres: 0, nats: 0, git: 0 };
    const first: Partial<Record<Sink, number>> = {};
    r.initialSyncMs = done;
    r.firstRowMs = first;
    const observe = (s: Sink, n: number) => {
      last[s] = n;
      if (n > 0) first[s] ??= Date.now() - t0;
      if (n >= N) done[s] = Date.now() - t0;
    };
    const probes = [
      loop(async () => { if (done.postgres === undefined) observe('postgres', await pgProbe.count()); }, 250),
      loop(async () => { if (done.nats === undefined) observe('nats', (await natsProbe.state()).messages); }, 250),
      loop(async () => { if (done.git === undefined) { await gitProbe.pollCount(); observe('git', gitProbe.files); } }, 250),
    ];
    const probeErrors = () => SINKS.map((s, i) => (probes[i]!.lastError() ? ` [${s} probe: ${probes[i]!.lastError()}]` : '')).join('');
    const progress = setInterval(() => say(`  sync ${Math.round((Date.now() - t0) / 1000)} s: postgres ${last.postgres}, nats ${last.nats}, git ${last.git} of ${N}${probeErrors()}`), 10_000);
    try {
      await waitFor('initial sync in every sink', () => Promise.resolve(SINKS.every((s) => done[s] !== undefined)), opts.syncTimeoutS * 1000, alive)
        .catch(async (err: unknown) => {
          say(`sync timeout: postgres ${last.postgres}, nats ${last.nats}, git ${last.git} of ${N}${probeErrors()}`);
          for (const p of procs) say(`${p.name} output (tail):\n${p.child.output().slice(-3000)}`);
          await diagnose(ep.temporal!.address, ns, say).catch((e: unknown) => say(`diagnose failed: ${String(e)}`));
          throw err;
        });
    } finally {
      clearInterval(progress);
      await Promise.all(probes.map((p) => p.stop()));
    }
    const signals1 = await signalsSent(watcher); // a fresh process: counted from its start
    const signalWindowMs = Date.now() - tStart;
    say(`initial sync: ${SINKS.map((s) => `${s} ${done[s]} ms (first row at ${first[s]} ms)`).join(', ')}`);
    const rowCount = await pgProbe.count();
    const strays = rowCount === N ? [] : await pgProbe.strays(N);
    if (rowCount !== N) say(`postgres holds ${rowCount} rows for ${N} objects; rows that are not cm-0…cm-${N - 1}: ${JSON.stringify(strays)}`);

    // 2. updates at a steady rate; per-object visibility in each sink
    const updates = new Updates();
    const seen: Record<Sink, Map<number, number>> = { postgres: new Map(), nats: new Map(), git: new Map() };
    const follower = await natsProbe.follow((await natsProbe.state()).lastSeq, seen.nats);
    const watch = [loop(() => pgProbe.pollUpdates(updates, seen.postgres), 100), loop(() => gitProbe.pollUpdates(seen.git), 150)];
    say(`applying ${opts.updates} updates at ${opts.rate}/s`);
    const u = await applyUpdates(core, ns, N, opts.updates, opts.rate, updates);
    const signals2 = await signalsSent(watcher);
    try {
      // a missed deadline is reported (Latency.unresolved), not fatal: the rest of the size still counts
      await waitFor('updates visible in every sink', () => Promise.resolve(SINKS.every((s) => updates.complete(seen[s], opts.updates))), opts.updateTimeoutS * 1000, alive)
        .catch((err: unknown) => {
          if (!alive()) throw err;
          say(`updates not visible after ${opts.updateTimeoutS} s: ${SINKS.map((s) => `${s} ${updates.unresolved(seen[s])}`).join(', ')} unresolved`);
        });
    } finally {
      await Promise.all(watch.map((w) => w.stop()));
      await follower.stop();
    }
    const updateLatencyMs = Object.fromEntries(SINKS.map((s) => [s, updates.latency(seen[s])])) as Record<Sink, Latency>;
    say(`updates: ${SINKS.map((s) => `${s} p50 ${updateLatencyMs[s].p50} ms p99 ${updateLatencyMs[s].p99} ms`).join('; ')}`);

    // 3. resources, history, store
    recordRss();
    const tHistory = Date.now();
    const history = await historyChain(ep.temporal!.address, ns).catch((err: unknown): HistoryStats => {
      say(`history: ${(err as Error).message}`);
      return { runs: [], events: NaN, bytes: NaN, maxRunEvents: NaN, maxRunBytes: NaN, signals: NaN, signalsPerSec: NaN, error: (err as Error).message };
    });
    say(`history: ${history.runs.length} runs, ${history.events} events, fetched in ${Date.now() - tHistory} ms`);
    const store = await storeBytes(ep.postgres!.url, [table]);
    const sinkTable = await pgQueryNumber(ep.postgres!.url, `SELECT pg_total_relation_size('public.${table}') AS n`);
    await stopOperator(procs);
    procs = [];
    await terminate(ep.temporal!.address, ns).catch(() => undefined);

    const result = Object.assign(r, {
      objects: N, namespace: ns, preload: opts.preload, createMs, readyMs,
      initialSyncMs: done, firstRowMs: first, initialSyncFrom: opts.preload ? 'operator ready' : 'first create', rowsAfterSync: rowCount, strayRows: strays,
      updates: { count: opts.updates, targetRate: opts.rate, achievedRate: u.rate, failed: u.failed, ms: u.ms },
      updateLatencyMs,
      signals: {
        watcherInitial: signals1, watcherUpdates: signals2 - signals1,
        initialPerSec: signals1 / (signalWindowMs / 1000), updatesPerSec: (signals2 - signals1) / (u.ms / 1000),
      },
      history: { ...history, runCount: history.runs.length },
      storeBytes: { total: sumValues(store), delta: sumValues(store) - storeBefore, tables: store },
      sinkTableBytes: sinkTable,
    }) as SizeResult;
    return result;
  } catch (err) {
    r.error = (err as Error).message;
    throw err;
  } finally {
    if (!r.peakRss) recordRss();
    rss?.stop();
    if (procs.length) await stopOperator(procs);
    await pgProbe.close();
    await natsProbe.close();
    // 4. the direct writer, with the operator stopped (also when Kollect failed: the baseline still counts)
    if (opts.direct && r.createMs !== undefined) {
      say('direct writer: LIST → one transaction');
      try {
        r.direct = await directWrite(core, ep.postgres!.url, ns, `direct_rows_${id}`);
        r.durabilityRatio = (r.initialSyncMs?.postgres ?? NaN) / r.direct.ms;
        say(`direct writer: ${r.direct.rows} rows in ${r.direct.ms} ms (LIST ${r.direct.listMs} ms); Kollect/direct = ${r.durabilityRatio.toFixed(1)}×`);
      } catch (err) { say(`direct writer failed: ${(err as Error).message}`); }
    }
    // free the apiserver's watch cache for the next size (no controller-manager: namespaces never finalize)
    await core.deleteCollectionNamespacedConfigMap({ namespace: ns }).catch(() => undefined);
  }
}

async function pgQueryNumber(url: string, sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return Number((await c.query<{ n: string }>(sql)).rows[0]?.n ?? NaN); } finally { await c.end(); }
}
