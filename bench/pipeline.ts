// `npm run bench` (npx tsx bench/pipeline.ts): the core pipeline at scale, on the real services
// (kube-apiserver, Temporal, Postgres, NATS JetStream, Git over HTTPS, from the test harness).
//
// For each size in --objects, one after another in one run, with its own namespace, Postgres
// table, NATS stream and Git repo and fresh operator processes (worker and watcher as two
// processes, like a deployment; the configmaps Target is limited to that namespace):
//   1. initial sync: N ConfigMaps; time until Postgres, NATS and Git all hold them. Measured with
//      cheap counters (Postgres count(*), NATS stream info, one `git ls-tree` per new commit).
//   2. updates at a steady rate, each setting data.bench of one ConfigMap to a marker u-<i>;
//      change → visible p50/p99 per sink (Postgres rows of the changed objects, NATS events after
//      the stream's last sequence, the diff of each new Git commit).
//   3. peak RSS of the watcher and the worker process; signals per second (watcher /metrics, and
//      WorkflowExecutionSignaled events over the run chain); history events and bytes per run
//      (walked through continue-as-new); bytes of the kollect_* store tables (claim-check payloads).
//   4. the direct writer: LIST the namespace (pages of 500) and write the rows into a fresh
//      Postgres table in one transaction, no Temporal; the ratio Kollect ÷ direct is the cost of
//      durability.
// Prints one combined table with the targets beside the numbers (not asserted, marked ✓/✗ where
// they apply) and writes JSON to bench-results/pipeline-<timestamp>.json. A size that fails (sync
// timeout, an operator process exiting) keeps what it measured, and the run goes on to the next.
//
// Options:
//   --objects=N[,N…]   sizes to run, one after another (default 10000)
//   --preload          create all objects BEFORE the operator starts, so the initial sync comes
//                      from a LIST; initial sync is timed from "operator ready" (both processes'
//                      /readyz 200). Without it the objects are created after ready (timed from
//                      the first create).
//   --race             create the objects while the operator is still starting (reproduces the
//                      lost-rows defect); ignored with --preload
//   --updates=U        updates per size (default 500)
//   --rate=R           updates per second, sent at a steady pace (default 50)
//   --interval=D       the inventory's exportMinInterval (default 2s)
//   --concurrency=C    ConfigMap creates in flight (default 48)
//   --sync-timeout=S   seconds to wait for the initial sync per size (default 1800; a timeout
//                      fails that size, prints the workflow's signal order, and goes on to the next)
//   --update-timeout=S seconds to wait for the updates to show in every sink (default 600; those
//                      still missing are reported as unresolved)
//   --no-direct        skip the direct writer
//   --tsx              run the operator's TypeScript through tsx (as `npm start` does) instead of
//                      the compiled dist/ (npm run build, done first) that a deployment runs
//   --no-bundle        with --tsx: let the worker bundle the workflow code itself at start (as under `npm start`)
//                      instead of loading one prebuilt bundle, as a built operator does
// The operator processes get KOLLECT_PAYLOAD_STORE_URL and KOLLECT_STORE_URL = the harness Postgres.
import { mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startHarness } from '../test/harness/harness.js';
import { root } from '../test/support/process.js';
import { installCrds } from '../test/support/e2e.js';
import { runSize, type Options, type SizeResult } from './run-size.js';
import { renderTable } from './report.js';
import { pooledCoreApi } from './kube-client.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const flag = (name: string) => process.argv.includes(`--${name}`);
const sizes = arg('objects', '10000').split(',').map((s) => Number(s.trim().replace(/_/g, ''))).filter((n) => Number.isInteger(n) && n > 0);
if (!sizes.length) throw new Error('--objects: give one or more positive integers, e.g. --objects=10000,50000');
const opts: Options = {
  preload: flag('preload'),
  race: flag('race'),
  updates: Number(arg('updates', '500')),
  rate: Number(arg('rate', '50')),
  interval: arg('interval', '2s'),
  syncTimeoutS: Number(arg('sync-timeout', '1800')),
  updateTimeoutS: Number(arg('update-timeout', '600')),
  concurrency: Number(arg('concurrency', '48')),
  direct: !flag('no-direct'),
  workflowBundle: '',
  compiled: !flag('tsx'),
};
const say = (s: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const h = await startHarness({ only: ['kube', 'temporal', 'postgres', 'nats', 'git'] });
const results: SizeResult[] = [];
const errors: { objects: number; error: string }[] = [];
try {
  await installCrds();
  if (opts.compiled) {
    say('npm run build (the operator runs compiled, with its workflow bundle, as deployed)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'ignore' });
  } else if (!flag('no-bundle')) {
    // as a built operator runs: the workflow code bundled once (npm run build), not webpack in the worker
    mkdirSync(path.resolve(root, 'bench-results'), { recursive: true });
    opts.workflowBundle = path.resolve(root, 'bench-results', 'workflow-bundle.js');
    writeFileSync(opts.workflowBundle, (await bundleWorkflowCode({ workflowsPath: path.resolve(root, 'workflows', 'index.ts'), logger: new DefaultLogger('WARN') })).code);
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(h.endpoints.kube!.kubeconfig);
  const core = pooledCoreApi(kc);
  for (const n of sizes) {
    const partial: Partial<SizeResult> = { objects: n };
    try {
      results.push(await runSize(n, { ep: h.endpoints, core, opts, say }, partial));
    } catch (err) {
      say(`size ${n} failed: ${(err as Error).message}`);
      errors.push({ objects: n, error: (err as Error).message });
      results.push({ ...partial, error: (err as Error).message } as SizeResult); // what it measured before failing
    }
  }
} finally {
  await h.stop();
}

const date = new Date().toISOString();
const out = { date, options: { ...opts, objects: sizes, exportMinInterval: opts.interval }, results, errors };
mkdirSync(path.join(root, 'bench-results'), { recursive: true });
const file = path.join(root, 'bench-results', `pipeline-${date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(out, null, 2));
process.stdout.write(`${renderTable(results, opts)}\n${errors.map((e) => `  FAILED at ${e.objects}: ${e.error}\n`).join('')}  written to ${path.relative(root, file)}\n\n`);
if (errors.length) process.exitCode = 1;
