// An inventory for reading in the Temporal UI (test/e2e/codec.test.ts, scripts/screenshot-ui.ts):
// the sample ConfigMap profile and target, `configMaps` ConfigMaps of its own (enough rows that
// the export's entries go to the payload store by claim check), a Postgres sink that works and a
// NATS sink whose server is not there (its exports fail as Unreachable).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kubectl, renderSamples } from './e2e.js';

export interface UiDemo { ns: string; table: string; inventory: string; goodSink: string; badSink: string }

export async function applyUiDemo(opts: { ns: string; postgresUrl: string; deadNatsUrl: string; table: string; configMaps: number }): Promise<UiDemo> {
  const { ns } = opts;
  const pgUrl = new URL(opts.postgresUrl);
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
  const docs = Array.from({ length: opts.configMaps }, (_, i) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${String(i).padStart(4, '0')}\n  namespace: ${ns}\ndata:\n  tier: ${i % 2 ? 'web' : 'batch'}\n`);
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-cms-')), 'configmaps.yaml');
  writeFileSync(file, docs.join('---\n'));
  await kubectl(['apply', '--server-side', '-f', file]);
  const dir = renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'inventory.yaml'], (d) => {
    if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = opts.table; d.spec.postgres!.sslMode = 'disable'; }
    if (d.spec.type === 'nats') { d.spec.nats!.url = opts.deadNatsUrl; (d.spec as { maxAttempts?: number }).maxAttempts = 2; }
    if (d.kind === 'KollectInventory') { d.spec.targetRefs = [{ name: 'configmaps' }]; d.spec.exportMinInterval = '5s'; d.spec.cluster = 'demo'; }
  }, { sinks: ['postgres', 'nats'] });
  await kubectl(['-n', ns, 'apply', '-f', dir]);
  return { ns, table: opts.table, inventory: 'platform', goodSink: 'postgres', badSink: 'nats' };
}
