import { describe, expect, it } from 'vitest';
import type { KollectInventory, KollectSnapshotSink } from '../api/types.js';
import { gitPathStates } from './git-paths.js';

const sink = (name: string, path: string): KollectSnapshotSink => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectSnapshotSink', metadata: { name, namespace: 'ns' }, spec: { type: 'git', git: { url: 'https://git.example/r', path } },
});
const inv = (name: string, sinkName: string, created: string, extra: Record<string, unknown> = {}): KollectInventory => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name, namespace: 'ns', creationTimestamp: created, ...extra } as KollectInventory['metadata'],
  spec: { targetRefs: [{ name: 't' }], snapshotSinkRefs: [{ name: sinkName }] },
});

describe('GitPathsDisjoint at reconcile time', () => {
  const sinks = new Map([sink('outer', 'fleet'), sink('inner', 'fleet/{inventoryName}'), sink('apart', 'elsewhere')].map((s) => [`ns/${s.metadata.name}`, s]));

  it('marks the later inventory of an overlap, naming the earlier, and leaves the earlier one alone', () => {
    const states = gitPathStates([inv('b', 'inner', '2026-01-02T00:00:00Z'), inv('a', 'outer', '2026-01-01T00:00:00Z'), inv('c', 'apart', '2026-01-03T00:00:00Z')], sinks, 'prod');
    expect(states.get('ns/a')).toMatchObject({ status: 'True', reason: 'Disjoint' });
    expect(states.get('ns/c')).toMatchObject({ status: 'True' });
    expect(states.get('ns/b')).toMatchObject({ status: 'False', reason: 'GitPathOverlap' });
    expect(states.get('ns/b')!.message).toContain('path fleet/b/, inside fleet/ that inventory ns/a writes through sink ns/outer');
  });

  it('same creation time: namespace/name decides; an inventory being deleted no longer counts', () => {
    const t = '2026-01-01T00:00:00Z';
    expect(gitPathStates([inv('z', 'outer', t), inv('y', 'inner', t)], sinks, 'prod').get('ns/z')?.status).toBe('False');
    const states = gitPathStates([inv('a', 'outer', t, { deletionTimestamp: t }), inv('b', 'inner', '2026-01-02T00:00:00Z')], sinks, 'prod');
    expect(states.get('ns/b')?.status).toBe('True');
    expect(states.has('ns/a')).toBe(false);
  });
});
