// `npm start`: Kollect on an embedded default. Starts a local kube-apiserver and a Temporal dev
// server with its web UI, installs the CRDs under deploy/crds (when present), runs the operator
// in this process, and prints where to look. Ctrl-C stops everything.
import { existsSync, readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHarness } from '../test/harness/harness.js';
import { tcpOpen, freePort } from '../test/harness/util.js';
import { runOperator } from '../worker/operator.js';
import { loadConfig } from '../worker/config.js';

const exec = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm start\n  Runs Kollect locally: apiserver + Temporal (with UI) + the operator. Ctrl-C stops it.\n' +
    '  KOLLECT_HTTP_PORT (default 8081) sets the operator\'s health/metrics port.\n');
  process.exit(0);
}

const say = (l: string) => process.stdout.write(`${l}\n`);
// The Temporal UI gets its usual port 8233 when it is free, so the URL stays the same across runs.
process.env.KOLLECT_TEMPORAL_UI_PORT ??= (await tcpOpen(8233)) ? String(await freePort()) : '8233';
say('kollect: starting a local apiserver and Temporal (first run builds them; progress below)...');
const h = await startHarness({ only: ['kube', 'temporal'], withUi: true });
const kube = h.endpoints.kube!;
const temporal = h.endpoints.temporal!;

const crdDir = path.join(root, 'deploy', 'crds');
if (existsSync(crdDir) && readdirSync(crdDir).some((f) => f.endsWith('.yaml'))) {
  await exec(kube.kubectl, ['--kubeconfig', kube.kubeconfig, 'apply', '--server-side', '-f', crdDir]);
  say(`kollect: installed the CRDs from ${path.relative(root, crdDir)}/`);
}

const op = await runOperator({ ...loadConfig({ ...process.env, KUBECONFIG: kube.kubeconfig, TEMPORAL_ADDRESS: temporal.address }), httpHost: '127.0.0.1' });
say(`
Kollect is running.
  Temporal UI:       ${temporal.uiUrl}
  kubectl:           export KUBECONFIG=${kube.kubeconfig}; ${kube.kubectl} get crds
  operator health:   http://127.0.0.1:${op.httpPort}/readyz   metrics: http://127.0.0.1:${op.httpPort}/metrics
Ctrl-C to stop.`);

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  say('\nkollect: stopping...');
  op.stop().then(() => h.stop()).then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
