// `npm run services`: starts the harness in the foreground for manual work, prints every endpoint,
// and stops everything on Ctrl-C. Options: --ui (Temporal web UI), --only=a,b (a subset).
import { startHarness } from './harness.js';
import type { ServiceName } from './endpoints.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write('usage: npm run services -- [--ui] [--only=kube,temporal,...]\n' +
    '  Starts every test service on loopback and prints its endpoint. Ctrl-C stops them.\n' +
    '  KOLLECT_KEEP_RUN=1 keeps the run directory (logs, data) afterwards.\n');
  process.exit(0);
}
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',') as ServiceName[] | undefined;
const t0 = Date.now();
const h = await startHarness({ only, withUi: args.includes('--ui') });
process.stdout.write(`\nAll services ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n${h.summary()}\n\n`);
process.stdout.write(`Endpoints (also in ${h.endpointsFile}):\n${JSON.stringify(h.endpoints, null, 2)}\n\n`);
if (h.endpoints.kube) process.stdout.write(`kubectl:  export KUBECONFIG=${h.endpoints.kube.kubeconfig}\n`);
if (h.endpoints.temporal?.uiUrl) process.stdout.write(`Temporal UI: ${h.endpoints.temporal.uiUrl}\n`);
process.stdout.write(`For tests in another shell: export KOLLECT_ENDPOINTS=${h.endpointsFile}\nCtrl-C to stop.\n`);
let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping services...\n');
  h.stop().then(() => process.exit(0), (err: unknown) => { process.stderr.write(`${String(err)}\n`); process.exit(1); });
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
