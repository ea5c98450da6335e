// The generated CRDs on a real apiserver: they install and become Established, `kubectl explain`
// teaches the API from their descriptions, names/columns/categories work, and the apiserver fills
// in the defaults.
import { describe, it, expect, beforeAll } from 'vitest';
import { parse } from 'yaml';
import { KINDS } from '../../scripts/gen-crds.js';
import { kubectl, kubectlOk, installCrds, freshNamespace } from './kubectl.js';

interface CrdStatus { spec: { names: { shortNames: string[]; categories: string[] }; versions: { subresources?: { status?: object }; additionalPrinterColumns?: { name: string }[] }[] }; status: { conditions: { type: string; status: string }[] } }

let ns = '';
beforeAll(async () => {
  await installCrds();
  ns = await freshNamespace('crds-install');
});

const get = async (kind: string, name: string): Promise<{ spec: Record<string, unknown> }> =>
  JSON.parse(await kubectlOk(['get', '-n', ns, kind, name, '-o', 'json'])) as { spec: Record<string, unknown> };

describe('the CRDs on a real apiserver', () => {
  it.each(KINDS.map((k) => [k.kind, k]))('%s is Established, with its short name, category, status subresource and columns', async (_kind, k) => {
    const crd = JSON.parse(await kubectlOk(['get', 'crd', `${k.plural}.kollect.dev`, '-o', 'json'])) as CrdStatus;
    expect(crd.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    expect(crd.spec.names.shortNames).toEqual(k.shortNames);
    expect(crd.spec.names.categories).toEqual(['kollect']);
    expect(crd.spec.versions[0]?.subresources?.status).toEqual({});
    expect(crd.spec.versions[0]?.additionalPrinterColumns?.map((c) => c.name)).toEqual(k.columns.map((c) => c.name));
  });

  it('kubectl explain shows the field descriptions from api/types.ts', async () => {
    const out = await kubectlOk(['explain', 'kollectinventory.spec.snapshotSinkRefs']);
    expect(out).toMatch(/KollectSnapshotSinks \(git, gitlab, s3, gcs\) in the inventory's\s+namespace\s+that receive every export/);
    expect(out).toMatch(/exportMinInterval\s+<string>/);
    const root = await kubectlOk(['explain', 'kollectprofile']);
    expect(root).toMatch(/KollectProfile says which resource type to watch/);
    const attr = await kubectlOk(['explain', 'kollectprofile.spec.attributes.cel']);
    expect(attr).toMatch(/the watched object is bound as\s+`object`/);
  });

  it('applies the defaults: exportMinInterval 30s, export.mode Attributes, git branch main, create true, postgres table and schema, nats stream and prefix, maxAttempts 5', async () => {
    await kubectlOk(['apply', '-n', ns, '-f', '-'], [
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectInventory\nmetadata: {name: defaults}\nspec:\n  targetRefs: [{name: t}]',
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectProfile\nmetadata: {name: defaults}\nspec: {apiVersion: v1, kind: ConfigMap, attributes: [{name: objname, jsonPath: "{.metadata.name}"}]}',
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectTarget\nmetadata: {name: defaults}\nspec: {profileRef: {name: defaults}}',
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectSnapshotSink\nmetadata: {name: defaults}\nspec: {type: git, git: {url: "https://git.example.com/inv.git"}, tls: {caSecretRef: {name: ca}}}',
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectDatabaseSink\nmetadata: {name: defaults}\nspec: {type: postgres, postgres: {url: "postgres://kollect@db:5432/kollect"}}',
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectEventSink\nmetadata: {name: defaults}\nspec: {type: nats, nats: {url: "nats://nats:4222"}}',
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectConnectionTest\nmetadata: {name: defaults}\nspec: {sinkRef: {kind: KollectDatabaseSink, name: defaults}}',
      // one KollectScope per namespace, named default (its CRD's rule)
      'apiVersion: kollect.dev/v1alpha1\nkind: KollectScope\nmetadata: {name: default}\nspec: {kinds: [{group: apps}]}',
    ].join('\n---\n'));
    // the cluster kinds (cluster-scoped: named after this test's namespace, deleted by the next test)
    await kubectlOk(['apply', '-f', '-'], [
      `apiVersion: kollect.dev/v1alpha1\nkind: KollectClusterTarget\nmetadata: {name: ${ns}}\nspec: {profileRef: {name: defaults, namespace: ${ns}}}`,
      `apiVersion: kollect.dev/v1alpha1\nkind: KollectClusterInventory\nmetadata: {name: ${ns}}\nspec: {targetRefs: [{name: ${ns}}], sinkNamespace: ${ns}}`,
    ].join('\n---\n'));
    expect((JSON.parse(await kubectlOk(['get', 'kollectclusterinventory', ns, '-o', 'json'])) as { spec: unknown }).spec).toMatchObject({ exportMinInterval: '30s', fullReconcileInterval: '24h' });
    expect((await get('kollectscope', 'default')).spec).toMatchObject({ kinds: [{ group: 'apps', version: '*', kind: '*' }] });
    expect((await get('kollectinventory', 'defaults')).spec).toMatchObject({ exportMinInterval: '30s' });
    expect((await get('kollectinventory', 'defaults')).spec.cluster).toBeUndefined();
    expect((await get('kollectprofile', 'defaults')).spec).toMatchObject({ export: { mode: 'Attributes' } });
    expect((await get('kollectsnapshotsink', 'defaults')).spec).toMatchObject({ create: true, maxAttempts: 5, git: { branch: 'main' }, tls: { caSecretRef: { name: 'ca', key: 'ca.crt' } } });
    expect((await get('kollectdatabasesink', 'defaults')).spec).toMatchObject({ maxAttempts: 5, postgres: { table: 'kollect_rows', schema: 'public' } });
    expect((await get('kollecteventsink', 'defaults')).spec).toMatchObject({ maxAttempts: 5, nats: { stream: 'KOLLECT', subjectPrefix: 'kollect' } });
    expect((await get('kollectconnectiontest', 'defaults')).spec).toMatchObject({ ttlSecondsAfterFinished: 300 });
    // format has no CRD default: each sink type writes its own (the descriptor's first format)
    expect((await get('kollectsnapshotsink', 'defaults')).spec.format).toBeUndefined();
  });

  it('lists everything under the kollect category and by short name, with the printer columns', async () => {
    const all = await kubectlOk(['get', 'kollect', '-n', ns, '-o', 'name']);
    const nameOf = (kind: string): string => (kind === 'KollectScope' ? 'default' : kind.startsWith('KollectCluster') ? ns : 'defaults');
    for (const k of KINDS) expect(all).toContain(`${k.kind.toLowerCase()}.kollect.dev/${nameOf(k.kind)}`);
    await kubectlOk(['delete', 'kollectclusterinventory,kollectclustertarget', ns]);
    const inv = await kubectlOk(['get', 'kinv', '-n', ns]);
    expect(inv.split('\n')[0]).toMatch(/^NAME\s+READY\s+SYNCED\s+ROWS\s+AGE$/);
    // the Endpoint column reads status.preview, which the operator writes (set here by hand)
    const preview = { endpoint: 'postgres://kollect@db:5432/kollect', location: 'table public.kollect_rows' };
    await kubectlOk(['patch', '-n', ns, 'kdb', 'defaults', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { preview } })]);
    const wide = await kubectlOk(['get', 'kdb', '-n', ns, '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+READY\s+ENDPOINT\s+AGE$/);
    expect(wide).toMatch(/defaults\s+postgres\s+.*postgres:\/\/kollect@db:5432\/kollect/);
    const kct = await kubectlOk(['get', 'kct', '-n', ns]);
    expect(kct.split('\n')[0]).toMatch(/^NAME\s+SINK\s+PHASE\s+LATENCY\s+AGE$/);
  });

  it('takes status through the status subresource, and validates it', async () => {
    const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'Running', message: 'ok', lastTransitionTime: '2026-01-01T00:00:00Z' }], rows: 7,
      sinkExports: [{ kind: 'KollectDatabaseSink', name: 'pg', type: 'postgres', circuit: 'closed', exportedVersion: 3 }] };
    const r = await kubectl(['patch', '-n', ns, 'kollectinventory', 'defaults', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    expect(r.stderr).toBe('');
    const got = parse(await kubectlOk(['get', '-n', ns, 'kinv', 'defaults', '-o', 'yaml'])) as { status: typeof status };
    expect(got.status).toMatchObject(status);
    const bad = await kubectl(['patch', '-n', ns, 'kollectinventory', 'defaults', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { sinkExports: [{ kind: 'KollectSink', name: 'x' }] } })]);
    expect(bad.stderr).toMatch(/status\.sinkExports\[0\]\.kind: Unsupported value: "KollectSink"/);
  });
});
