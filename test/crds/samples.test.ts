// Every manifest in deploy/samples is accepted by the real apiserver (server-side dry run) in a
// namespace of its own, the set references itself consistently, and every sink type in the
// registry has its sample, found by spec.type.
import { describe, it, expect, beforeAll } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SINKS } from '../../activities/sinks/registry.js';
import { kubectlOk, installCrds, freshNamespace, samplesDir } from './kubectl.js';

interface Manifest { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown>; file: string }
interface SinkSpec { type: string; secretRef?: { name: string }; tls?: { caSecretRef?: { name: string; key?: string } } }
const files = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml')).sort();
const manifests: Manifest[] = files.flatMap((file) => parseAllDocuments(readFileSync(path.join(samplesDir, file), 'utf8')).map((d) => ({ ...d.toJSON() as Manifest, file })));
/** The sample sinks of a descriptor's kind and type (the test expects exactly one). */
const sinksOf = (d: (typeof SINKS)[number]): Manifest[] => manifests.filter((m) => m.kind === d.kind && (m.spec as unknown as SinkSpec).type === d.type);
const readme = readFileSync(path.join(samplesDir, 'README.md'), 'utf8');
/** The README's table row naming `name` in its first column. */
const readmeRow = (name: string): string | undefined => readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
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
  it('has the promised files: profiles, targets, the inventory and each sink type\'s sample', () => {
    expect(files).toEqual(expect.arrayContaining(['profile-deployments.yaml', 'profile-configmaps.yaml', 'widget-crd.yaml', 'profile-widgets.yaml',
      'inventory.yaml', ...SINKS.map((d) => d.sample)]));
  });

  it.each(files.map((f) => [f]))('%s is accepted by the apiserver (dry run)', async (file) => {
    const out = await kubectlOk(['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', path.join(samplesDir, file)]);
    expect(out).toMatch(/serverside-applied \(server dry run\)/);
  });

  it('name no namespace, so that they apply anywhere', () => {
    expect(manifests.filter((m) => m.metadata.namespace).map((m) => `${m.file}: ${m.kind}/${m.metadata.name}`)).toEqual([]);
  });

  it.each(SINKS.map((d) => [d.type, d]))('%s: one sink of its kind and type, in its descriptor\'s sample file', (_t, d) => {
    expect(sinksOf(d).map((m) => m.file)).toEqual([d.sample]);
  });

  it('reference each other by name: every target has its profile, the inventory its targets and every sample sink', () => {
    const targets = manifests.filter((m) => m.kind === 'KollectTarget');
    for (const t of targets) expect(named('KollectProfile')).toContain((t.spec.profileRef as { name: string }).name);
    const [inv, ...more] = manifests.filter((m) => m.kind === 'KollectInventory');
    expect(more).toEqual([]);
    const refs = (field: string) => ((inv?.spec[field] ?? []) as { name: string }[]).map((r) => r.name).sort();
    expect(refs('targetRefs')).toEqual(named('KollectTarget').sort());
    expect(refs('snapshotSinkRefs')).toEqual(named('KollectSnapshotSink').sort());
    expect(refs('databaseSinkRefs')).toEqual(named('KollectDatabaseSink').sort());
    expect(refs('eventSinkRefs')).toEqual(named('KollectEventSink').sort());
  });

  it.each(SINKS.map((d) => [d.type, d]))('%s: the Secrets its sample names are documented in deploy/samples/README.md, with that sample', (_t, d) => {
    const [sink] = sinksOf(d);
    const spec = sink!.spec as unknown as SinkSpec;
    for (const name of [spec.secretRef?.name, spec.tls?.caSecretRef?.name].filter((n): n is string => !!n)) {
      expect(readmeRow(name), `README row for Secret ${name}`).toContain(d.sample);
    }
    // A Secret shipped inside the sample (placeholder values) is documented the same way.
    for (const secret of manifests.filter((m) => m.file === d.sample && m.kind === 'Secret')) {
      expect(readmeRow(secret.metadata.name), `README row for Secret ${secret.metadata.name}`).toContain(d.sample);
    }
  });

  it('README lists every sample file', () => {
    expect(files.filter((f) => !readme.includes(`| \`${f}\` |`))).toEqual([]);
  });
});
