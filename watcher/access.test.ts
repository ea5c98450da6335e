// The Target status an access denial writes: Degraded and Ready in one patch, the message naming
// verb, resource, namespace and fix; and Degraded cleared together with the next Ready.
import { describe, it, expect } from 'vitest';
import { forbiddenStatus, withAccessGranted, describeDenial } from './access.js';
import { withReady } from './status.js';
import type { KubeObject } from './kube.js';

const target: KubeObject = { metadata: { name: 't', namespace: 'team-a', generation: 2 }, status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Collecting', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' }] } };

describe('access denial status', () => {
  it('sets Degraded True and Ready False, reason Forbidden, naming verb, group/resource, namespace and the grant', () => {
    const s = forbiddenStatus(target, { verb: 'watch', group: 'apps', resource: 'deployments', namespace: 'team-c' }, 10_000)!;
    const degraded = s.conditions.find((c) => c.type === 'Degraded')!;
    expect(degraded).toMatchObject({ status: 'True', reason: 'Forbidden', observedGeneration: 2 });
    expect(degraded.message).toBe('the operator may not watch apps/deployments in namespace team-c: grant list and watch on deployments.apps in namespace team-c to the operator (a RoleBinding there to its ClusterRole kollect-watched); checking again every 10 s');
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'Forbidden' });
    expect(describeDenial({ verb: 'list', group: '', resource: 'nodes' })).toBe('list core/nodes in all namespaces (cluster-wide)');
  });

  it('writes nothing when the object already says so', () => {
    const d = { verb: 'list', group: '', resource: 'configmaps' };
    const once = { ...target, status: forbiddenStatus(target, d, 10_000) };
    expect(forbiddenStatus(once, d, 10_000)).toBeUndefined();
  });

  it('clears Degraded in the same patch as the next Ready, and leaves a Target that never was Degraded alone', () => {
    const degraded = { ...target, status: forbiddenStatus(target, { verb: 'list', group: '', resource: 'configmaps' }, 10_000) };
    const s = withReady(withAccessGranted(degraded), { status: 'True', reason: 'Collecting', message: 'Collecting ConfigMap' })!;
    expect(s.conditions.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'False', reason: 'AccessGranted' });
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Collecting' });
    expect(withAccessGranted(target)).toBe(target);
  });
});
