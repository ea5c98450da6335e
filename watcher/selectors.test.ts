import { describe, it, expect } from 'vitest';
import { compileFieldSelector, compileLabelSelector, compileNamespaces, SelectorError } from './selectors.js';
import type { KubeObject } from './kube.js';

const obj = (name: string, labels: Record<string, string> = {}, extra: Record<string, unknown> = {}): KubeObject =>
  ({ metadata: { name, namespace: 'team-a', labels }, ...extra });

describe('label selectors', () => {
  it('matches matchLabels and every matchExpressions operator', () => {
    const m = compileLabelSelector({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'edge'] },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
        { key: 'owner', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    expect(m(obj('a', { app: 'web', tier: 'front', owner: 'x' }))).toBe(true);
    expect(m(obj('b', { app: 'web', tier: 'front', owner: 'x', env: 'dev' }))).toBe(false);
    expect(m(obj('c', { app: 'web', tier: 'back', owner: 'x' }))).toBe(false);
    expect(m(obj('d', { app: 'web', tier: 'edge' }))).toBe(false);
    expect(m(obj('e', { app: 'web', tier: 'edge', owner: 'x', legacy: '1' }))).toBe(false);
    expect(m(obj('f', { app: 'api', tier: 'edge', owner: 'x' }))).toBe(false);
    expect(compileLabelSelector(undefined)(obj('g'))).toBe(true);
    expect(compileLabelSelector({})(obj('g'))).toBe(true);
  });
  it('names the bad requirement', () => {
    expect(() => compileLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Like' as 'In', values: ['x'] }] }))
      .toThrow(new SelectorError('spec.labelSelector.matchExpressions[0].operator', 'must be one of In, NotIn, Exists, DoesNotExist, got "Like"'));
    expect(() => compileLabelSelector({ matchExpressions: [{ key: 'a', operator: 'In' }] })).toThrow(/matchExpressions\[0\].values: must not be empty/);
  });
});

describe('field selectors', () => {
  it('evaluates =, ==, != on metadata and other fields, ANDed', () => {
    const m = compileFieldSelector('metadata.name!=kube-root-ca.crt, metadata.namespace==team-a');
    expect(m(obj('settings'))).toBe(true);
    expect(m(obj('kube-root-ca.crt'))).toBe(false);
    const phase = compileFieldSelector('status.phase=Running');
    expect(phase(obj('p', {}, { status: { phase: 'Running' } }))).toBe(true);
    expect(phase(obj('p', {}, { status: { phase: 'Pending' } }))).toBe(false);
    expect(phase(obj('p'))).toBe(false);
    expect(compileFieldSelector('spec.replicas=3')(obj('d', {}, { spec: { replicas: 3 } }))).toBe(true);
    expect(compileFieldSelector('')(obj('x'))).toBe(true);
  });
  it('honours escapes and rejects garbage', () => {
    expect(compileFieldSelector('metadata.name=a\\,b')(obj('a,b'))).toBe(true);
    expect(() => compileFieldSelector('metadata.name')).toThrow(/is not a field requirement/);
    expect(() => compileFieldSelector('a=b,,c=d')).toThrow(SelectorError);
  });
});

describe('namespaces', () => {
  it('empty means all', () => {
    expect(compileNamespaces([])(obj('x'))).toBe(true);
    expect(compileNamespaces(['team-a'])(obj('x'))).toBe(true);
    expect(compileNamespaces(['team-b'])(obj('x'))).toBe(false);
  });
});
