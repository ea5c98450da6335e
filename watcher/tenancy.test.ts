// The controller's tenancy hooks as pure functions: which profile a (cluster) target uses, which
// namespaces it reads or why it may not, and which plural a cluster object's writes go to.
import { describe, it, expect } from 'vitest';
import { pluralOf, KOLLECT_PLURALS } from '../api/constants.js';
import { inventoryWorkflowId } from '../workflows/definitions.js';
import { profileKeyOf, scopeReady, targetScope, targetsOfScope, tenancyOf } from './tenancy.js';
import type { KubeObject } from './kube.js';

const profile = (ns: string, kind = 'ConfigMap'): KubeObject => ({ metadata: { name: 'p', namespace: ns }, spec: { apiVersion: 'v1', kind } });

describe('watcher tenancy hooks', () => {
  it('a target\'s profile is in its namespace; a cluster target names the namespace', () => {
    expect(profileKeyOf({ metadata: { name: 't', namespace: 'a' }, spec: { profileRef: { name: 'p' } } })).toBe('a/p');
    expect(profileKeyOf({ metadata: { name: 't' }, spec: { profileRef: { name: 'p', namespace: 'kollect-system' } } })).toBe('kollect-system/p');
    // a namespaced target cannot reach into another namespace through profileRef.namespace
    expect(profileKeyOf({ metadata: { name: 't', namespace: 'a' }, spec: { profileRef: { name: 'p', namespace: 'b' } } })).toBe('a/p');
  });

  it('targetScope: the namespaces to read, or Ready=False with the first reason and every message', () => {
    const opts = tenancyOf({ tenancy: { tenantMode: true } });
    expect(targetScope({ metadata: { name: 't', namespace: 'a' }, spec: {} }, profile('a'), [], true, opts)).toEqual({ namespaces: ['a'] });
    const r = targetScope({ metadata: { name: 't', namespace: 'a' }, spec: { namespaces: ['b', 'c'] } }, profile('a'), [], true, opts);
    expect(r.refused).toMatchObject({ status: 'False', reason: 'NamespaceNotAllowed' });
    expect(r.refused!.message).toContain('namespace b');
    expect(r.refused!.message).toContain('namespace c');
    const scope: KubeObject = { metadata: { name: 'default', namespace: 'a' }, spec: { namespaces: ['b', 'c'] } };
    expect(targetScope({ metadata: { name: 't', namespace: 'a' }, spec: { namespaces: ['b', 'c'] } }, profile('a'), [scope], true, opts)).toEqual({ namespaces: ['b', 'c'] });
    // cluster-scoped kinds list the cluster: no namespaces
    expect(targetScope({ metadata: { name: 'ct' }, spec: { namespaces: ['b'] } }, profile('ops', 'Namespace'), [], false, opts)).toEqual({ namespaces: undefined });
  });

  it('the controller is always bounded by the namespaces it serves', () => {
    expect(tenancyOf({ namespaces: ['x'] })).toEqual({ tenantMode: false, watchNamespaces: ['x'] });
    expect(tenancyOf({ tenancy: { tenantMode: true }, namespaces: ['x'] })).toEqual({ tenantMode: true, watchNamespaces: ['x'] });
  });

  it('a scope change concerns the targets of its namespace only', () => {
    expect([...targetsOfScope('a', ['a/t1', 'ab/t2', '/ct', 'a/t3'])]).toEqual(['a/t1', 'a/t3']);
  });

  it('scopeReady says what the scope grants', () => {
    expect(scopeReady({ metadata: { name: 'default', namespace: 'a' }, spec: { sinkTypes: ['git'] } })).toEqual({
      status: 'True', reason: 'Accepted', message: 'profiles may watch any kind; targets may read namespace a only; cluster-scoped kinds none; sink types git',
    });
  });

  it('a cluster object is written through its cluster kind; a cluster inventory\'s workflow is kollect/clusterinventory/<name>', () => {
    expect(pluralOf(KOLLECT_PLURALS.KollectTarget, 'a')).toBe('kollecttargets');
    expect(pluralOf(KOLLECT_PLURALS.KollectTarget, undefined)).toBe('kollectclustertargets');
    expect(pluralOf(KOLLECT_PLURALS.KollectInventory, '')).toBe('kollectclusterinventories');
    expect(pluralOf(KOLLECT_PLURALS.KollectProfile, undefined)).toBe('kollectprofiles');
    expect(inventoryWorkflowId('a', 'inv')).toBe('kollect/inventory/a/inv');
    expect(inventoryWorkflowId('', 'fleet')).toBe('kollect/clusterinventory/fleet');
  });
});
