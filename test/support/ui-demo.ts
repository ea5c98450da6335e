// An inventory for reading in the Temporal UI (test/e2e/codec.test.ts, scripts/screenshot-ui.ts):
// the sample ConfigMap profile and target turned to PodTemplates of its own namespace (a kind no
// other test collects, so their inventories never see these objects), `objects` of them (enough
// rows that an export's entries go to the payload store by claim check), a Postgres sink that
// works and a NATS sink whose server is not there (its exports fail as Unreachable).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kubectl, renderSamples, optInSinkSecrets } from './e2e.js';

export interface UiDemo { ns: string; table: string; inventory: string; goodSink: string; badSink: string }

/** One PodTemplate to collect. */
export const podTemplate = (ns: string, name: string, tier: string): string =>
  `apiVersion: v1\nkind: PodTemplate\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ntemplate:\n  metadata:\n    labels: { tier: ${tier} }\n  spec:\n    containers: [{ name: app, image: registry.example/app:1.0 }]\n`;

export async function applyUiDemo(opts: { ns: string; postgresUrl: string; deadNatsUrl: string; table: string; objects: number }): Promise<UiDemo> {
  const { ns } = opts;
  const pgUrl = new URL(opts.postgresUrl);
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgUrl.password}`]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-nats']);
  await optInSinkSecrets(ns, ['kollect-postgres', 'kollect-nats']);
  const docs = Array.from({ length: opts.objects }, (_, i) => podTemplate(ns, `app-${String(i).padStart(4, '0')}`, i % 2 ? 'web' : 'batch'));
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-ui-demo-')), 'podtemplates.yaml');
  writeFileSync(file, docs.join('---\n'));
  await kubectl(['apply', '--server-side', '-f', file]);
  const dir = renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'inventory.yaml'], (d) => {
    const spec = d.spec as Record<string, unknown>;
    if (d.kind === 'KollectProfile') { d.metadata.name = 'podtemplates'; spec.kind = 'PodTemplate'; }
    if (d.kind === 'KollectTarget') {
      d.metadata.name = 'podtemplates';
      for (const k of Object.keys(spec)) Reflect.deleteProperty(spec, k);
      Object.assign(spec, { profileRef: { name: 'podtemplates' }, namespaces: [ns] });
    }
    if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${pgUrl.username}@${pgUrl.host}${pgUrl.pathname}`; d.spec.postgres!.table = opts.table; d.spec.postgres!.sslMode = 'disable'; }
    if (d.spec.type === 'nats') { d.spec.nats!.url = opts.deadNatsUrl; (d.spec as { maxAttempts?: number }).maxAttempts = 2; }
    if (d.kind === 'KollectInventory') { d.spec.targetRefs = [{ name: 'podtemplates' }]; d.spec.exportMinInterval = '5s'; d.spec.cluster = 'demo'; }
  }, { sinks: ['postgres', 'nats'] });
  await kubectl(['-n', ns, 'apply', '-f', dir]);
  return { ns, table: opts.table, inventory: 'platform', goodSink: 'postgres', badSink: 'nats' };
}
