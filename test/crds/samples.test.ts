// Every manifest in deploy/samples is accepted by the real apiserver (server-side dry run) in a
// namespace of its own, and the set references itself consistently.
import { describe, it, expect, beforeAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kubectlOk, installCrds, freshNamespace, samplesDir } from './kubectl.js';

interface Manifest { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown> }
const files = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml')).sort();
const manifests: Manifest[] = files.flatMap((f) => parseAllDocuments(readFileSync(path.join(samplesDir, f), 'utf8')).map((d) => d.toJSON() as Manifest));
const named = (kind: string): string[] => manifests.filter((m) => m.kind === kind).map((m) => m.metadata.name);

let ns = '';
beforeAll(async () => {
  await installCrds();
  // The widget profile's kind comes from a CRD of our own: install it for real, so that the
  // Widget sample can be dry-run too.
  await kubectlOk(['apply', '--server-side', '-f', path.join(samplesDir, 'widget-crd.yaml')]);
  await kubectlOk(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/widgets.example.kollect.dev']);
  ns = await freshNamespace('crds-samples');
});

describe('deploy/samples', () => {
  it('has the promised files', () => {
    expect(files).toEqual(expect.arrayContaining(['profile-deployments.yaml', 'profile-configmaps.yaml', 'widget-crd.yaml', 'profile-widgets.yaml',
      'inventory.yaml', 'sink-postgres.yaml', 'sink-nats.yaml', 'sink-git.yaml']));
  });

  it.each(files.map((f) => [f]))('%s is accepted by the apiserver (dry run)', async (file) => {
    const out = await kubectlOk(['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', path.join(samplesDir, file)]);
    expect(out).toMatch(/serverside-applied \(server dry run\)/);
  });

  it('name no namespace, so that they apply anywhere', () => {
    expect(manifests.filter((m) => m.metadata.namespace)).toEqual([]);
  });

  it('reference each other by name: every target has its profile, the inventory its targets and sinks', () => {
    const targets = manifests.filter((m) => m.kind === 'KollectTarget');
    for (const t of targets) expect(named('KollectProfile')).toContain((t.spec.profileRef as { name: string }).name);
    const [inv] = manifests.filter((m) => m.kind === 'KollectInventory');
    const refs = (field: string) => ((inv?.spec[field] ?? []) as { name: string }[]).map((r) => r.name).sort();
    expect(refs('targetRefs')).toEqual(named('KollectTarget').sort());
    expect(refs('snapshotSinkRefs')).toEqual(named('KollectSnapshotSink'));
    expect(refs('databaseSinkRefs')).toEqual(named('KollectDatabaseSink'));
    expect(refs('eventSinkRefs')).toEqual(named('KollectEventSink'));
  });

  it('use the documented Secret names', () => {
    const spec = (kind: string) => manifests.find((m) => m.kind === kind)!.spec as { secretRef?: { name: string }; tls?: { caSecretRef?: { name: string; key?: string } } };
    expect(spec('KollectSnapshotSink').secretRef?.name).toBe('kollect-git');
    expect(spec('KollectSnapshotSink').tls?.caSecretRef).toEqual({ name: 'kollect-git-ca', key: 'ca.crt' });
    expect(spec('KollectDatabaseSink').secretRef?.name).toBe('kollect-postgres');
    expect(spec('KollectEventSink').secretRef?.name).toBe('kollect-nats');
  });
});
