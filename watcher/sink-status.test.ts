import { describe, expect, it } from 'vitest';
import type { KollectSink } from '../api/types.js';
import { sinkDescriptors } from '../activities/sinks/registry.js';
import { evaluateSink, MAX_SAMPLE, sinkStatusPatch } from './sink-status.js';
import { withReady } from './status.js';
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../api/constants.js';
import type { KubeObject } from './kube.js';

const sink = (spec: Record<string, unknown>, kind: KollectSink['kind'] = 'KollectDatabaseSink'): KollectSink =>
  ({ apiVersion: 'kollect.dev/v1alpha1', kind, metadata: { name: 'pg', namespace: 'team-a', generation: 2 }, spec } as unknown as KollectSink);
const OPTED_IN = { [SINK_CREDENTIALS_LABEL]: SINK_CREDENTIALS_VALUE };
/** Secrets by name: present ones opt in unless listed in `unlabelled`. */
const secrets = (present: string[], unlabelled: string[] = []) => (name: string) =>
  Promise.resolve(present.includes(name) ? { labels: unlabelled.includes(name) ? {} : OPTED_IN } : undefined);

describe('sink status from the descriptor', () => {
  it('is Ready with a preview naming endpoint, location and a sample row', async () => {
    const ev = await evaluateSink(sink({ type: 'postgres', postgres: { url: 'postgres://kollect@db.example:5432/inv', table: 'rows' }, secretRef: { name: 'pg' } }), sinkDescriptors, '<cluster>', secrets(['pg']));
    expect(ev.ready).toMatchObject({ status: 'True', reason: 'Resolved' });
    expect(ev.preview).toMatchObject({ endpoint: 'postgres://db.example:5432/inv', location: 'table public.rows' });
    expect(JSON.parse(ev.preview!.sample!)).toMatchObject({ namespace: 'team-a', name: 'example', attributes: { replicas: 3 } });
  });

  it('says which Secret is missing, and what is wrong with the spec, naming the field', async () => {
    const missing = await evaluateSink(sink({ type: 'postgres', postgres: { url: 'postgres://kollect@db/inv' }, secretRef: { name: 'nope' } }), sinkDescriptors, 'c', secrets([]));
    expect(missing.ready).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(missing.ready.message).toContain('spec.secretRef: Secret team-a/nope not found');
    const bad = await evaluateSink(sink({ type: 'git', git: { url: 'https://git.example/inv.git' }, format: 'parquet' }, 'KollectSnapshotSink'), sinkDescriptors, 'c', secrets([]));
    expect(bad.ready).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'spec.format: sink type git writes yaml or json, not parquet' });
    const unknown = await evaluateSink(sink({ type: 'git', git: { url: 'https://x/y.git' } }, 'KollectDatabaseSink'), sinkDescriptors, 'c', secrets([]));
    expect(unknown.ready).toMatchObject({ status: 'False', reason: 'UnknownType' });
  });

  it('refuses a Secret (secretRef or tls.caSecretRef) without the opt-in label, naming the Secret and the label to add', async () => {
    const pg = sink({ type: 'postgres', postgres: { url: 'postgres://kollect@db/inv' }, secretRef: { name: 'pg' } });
    const refused = await evaluateSink(pg, sinkDescriptors, 'c', secrets(['pg'], ['pg']));
    expect(refused.ready).toEqual({
      status: 'False', reason: 'SecretNotAllowed',
      message: 'spec.secretRef: Secret team-a/pg is not labelled kollect.dev/sink-credentials=true; a sink may only use a Secret that opts in: kubectl -n team-a label secret pg kollect.dev/sink-credentials=true',
    });
    expect((await evaluateSink(pg, sinkDescriptors, 'c', secrets(['pg']))).ready.reason).toBe('Resolved');
    const withCa = sink({ type: 'git', git: { url: 'https://git.example/inv.git' }, secretRef: { name: 'git' }, tls: { caSecretRef: { name: 'ca' } } }, 'KollectSnapshotSink');
    const ca = await evaluateSink(withCa, sinkDescriptors, 'c', secrets(['git', 'ca'], ['ca']));
    expect(ca.ready).toMatchObject({ status: 'False', reason: 'SecretNotAllowed' });
    expect(ca.ready.message).toMatch(/^spec\.tls\.caSecretRef: Secret team-a\/ca is not labelled/);
  });

  it('writes only when something changed, and keeps samples short', async () => {
    const s = sink({ type: 'postgres', postgres: { url: 'postgres://kollect@db/inv' } });
    const ev = await evaluateSink(s, sinkDescriptors, 'c', secrets([]));
    const patch = sinkStatusPatch(s, ev, (r) => withReady(s as unknown as KubeObject, r));
    expect(patch).toMatchObject({ preview: ev.preview, observedGeneration: 2 });
    const written = { ...s, status: patch } as unknown as KollectSink;
    expect(sinkStatusPatch(written, ev, (r) => withReady(written as unknown as KubeObject, r))).toBeUndefined();
    expect(MAX_SAMPLE).toBeLessThanOrEqual(4096 / 2);
  });
});
