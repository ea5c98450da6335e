// `npm start`: Kollect on an embedded default. Starts a local kube-apiserver, a Temporal dev
// server with its web UI, Postgres, NATS and a git server; installs the CRDs; applies the samples
// (a profile, target, inventory and three sinks) in namespace kollect-demo with a few objects to
// collect; runs the operator in this process; and prints where to look. Ctrl-C stops everything.
import { execFileSync } from 'node:child_process';
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../api/constants.js';
import { startHarness } from '../test/harness/harness.js';
import { tcpOpen, freePort } from '../test/harness/util.js';
import { createBareRepo } from '../test/support/git.js';
import { kubectl, installCrds, renderSamples, CORE_SINKS } from '../test/support/e2e.js';
import { runOperator } from '../worker/operator.js';
import { loadConfig } from '../worker/config.js';

if (process.argv.includes('--help')) {
  process.stdout.write('usage: npm start\n  Runs Kollect locally: apiserver + Temporal (with UI) + Postgres + NATS + git + the operator,\n' +
    '  with the samples applied in namespace kollect-demo. Ctrl-C stops it.\n  KOLLECT_HTTP_PORT (default 8081) sets the operator\'s health/metrics port,\n' +
    '  KOLLECT_CODEC_PORT (default 8082) the codec endpoint the Temporal UI decodes payloads with.\n');
  process.exit(0);
}

const say = (l: string) => process.stdout.write(`${l}\n`);
// The Temporal UI gets its usual port 8233 when it is free, so the URL stays the same across runs.
process.env.KOLLECT_TEMPORAL_UI_PORT ??= (await tcpOpen(8233)) ? String(await freePort()) : '8233';
// The operator's codec endpoint (port 8082 when free), which the UI calls from the browser to show payloads as JSON.
process.env.KOLLECT_CODEC_PORT ??= (await tcpOpen(8082)) ? String(await freePort()) : '8082';
process.env.KOLLECT_CODEC_CORS_ORIGINS ??= ['127.0.0.1', 'localhost'].map((h) => `http://${h}:${process.env.KOLLECT_TEMPORAL_UI_PORT}`).join(',');
process.env.KOLLECT_TEMPORAL_UI_CODEC_ENDPOINT ??= `http://127.0.0.1:${process.env.KOLLECT_CODEC_PORT}/codec`;
say('kollect: starting a local apiserver, Temporal, Postgres, NATS and git (first run builds them)...');
const h = await startHarness({ only: ['kube', 'temporal', 'postgres', 'nats', 'git'], withUi: true });
const { kube, temporal, postgres, nats, git } = h.endpoints as Required<typeof h.endpoints>;
const ns = 'kollect-demo';

await installCrds();
await kubectl(['create', 'namespace', ns]);
const repo = await createBareRepo('inventory');
const pgUrl = new URL(postgres.url);
await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${git.username}`, `--from-literal=password=${git.password}`]);
await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${git.caFile}`]);
await kubectl(['-n', ns, 'label', 'secret', 'kollect-postgres', 'kollect-nats', 'kollect-git', 'kollect-git-ca', `${SINK_CREDENTIALS_LABEL}=${SINK_CREDENTIALS_VALUE}`]); // sinks use only Secrets that opt in
await kubectl(['apply', '--server-side', '-f', renderSamples(['widget-crd.yaml'], () => undefined)]);
await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/widgets.example.kollect.dev']);
await kubectl(['-n', ns, 'apply', '-f', renderSamples(['profile-deployments.yaml', 'profile-configmaps.yaml', 'profile-widgets.yaml',
  'target-deployments.yaml', 'target-configmaps.yaml', 'target-widgets.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml', 'inventory.yaml', 'widget.yaml'], (d) => {
  if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.sslMode = 'disable'; } // the dev Postgres has no TLS
  if (d.spec.type === 'nats') d.spec.nats!.url = nats.url;
  if (d.spec.type === 'git') d.spec.git!.url = repo.url;
  if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = '5s'; d.spec.cluster = 'local'; }
}, { sinks: CORE_SINKS })]);
await kubectl(['-n', ns, 'create', 'deployment', 'web', '--image', 'registry.example/web:1.0', '--replicas', '2']);
await kubectl(['-n', ns, 'create', 'configmap', 'settings', '--from-literal=mode=demo']);
say(`kollect: installed the CRDs and applied deploy/samples in namespace ${ns}`);

const op = await runOperator({
  // The dev services listen on loopback, which sinks may not reach unless allowed (docs/sinks.md#endpoint-guard).
  ...loadConfig({ KOLLECT_ENDPOINT_ALLOW: 'loopback', ...process.env, KUBECONFIG: kube.kubeconfig, TEMPORAL_ADDRESS: temporal.address, KOLLECT_STORE_URL: postgres.url }),
  httpHost: '127.0.0.1',
});
const psql = execFileSync('bash', ['-c', 'command -v psql || true']).toString().trim() || 'psql';
say(`
Kollect is running. Try:
  Temporal UI (one workflow per inventory, one activity per sink export):
      ${temporal.uiUrl}/namespaces/default/workflows
  kubectl:   export KUBECONFIG=${kube.kubeconfig}
             ${kube.kubectl} -n ${ns} get kollect
             ${kube.kubectl} -n ${ns} get kollectinventory platform -o yaml   # status.sinkExports
             ${kube.kubectl} -n ${ns} scale deployment web --replicas 3       # watch it propagate
  Git:       git --git-dir ${repo.dir} log --stat main
  Postgres:  ${psql} '${postgres.url}' -c 'select target_name, namespace, name, attributes from kollect_rows'
  NATS:      stream KOLLECT at ${nats.url} (subjects kollect.local.${ns}.platform.*)
  Operator:  http://127.0.0.1:${op.httpPort}/readyz  http://127.0.0.1:${op.httpPort}/metrics
  Codec:     ${process.env.KOLLECT_TEMPORAL_UI_CODEC_ENDPOINT} (the UI decodes payloads through it; docs/temporal-ui.md)
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
