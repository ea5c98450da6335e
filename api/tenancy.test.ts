// The tenancy rules (api/tenancy.ts) as pure functions: what a target, profile or inventory may
// use, with and without tenant mode, KollectScopes and KOLLECT_WATCH_NAMESPACES.
import { describe, it, expect } from 'vitest';
import {
  checkInventory, checkProfile, checkTarget, describeScope, effectiveNamespaces, groupVersion, isScopeProblem, matchesKind,
  scopeOf, scopeProblem, sinkNamespaceOf, sinkOfRequest, workflowSinkName, REFUSAL_REASONS, NO_TENANCY,
  type ScopeLike, type TenancyOptions,
} from './tenancy.js';
import type { KollectScopeSpec } from './types.js';

const TENANT: TenancyOptions = { tenantMode: true };
const target = (namespace: string | undefined, namespaces?: string[]) => ({ metadata: { name: 't', namespace }, spec: { namespaces } });
const profile = (namespace: string, apiVersion = 'v1', kind = 'ConfigMap') => ({ metadata: { name: 'p', namespace }, spec: { apiVersion, kind } });
const scope = (namespace: string, spec: KollectScopeSpec, name = 'default'): ScopeLike => ({ metadata: { name, namespace }, spec });
const sink = (type: string, name = type) => ({ kind: 'KollectDatabaseSink', metadata: { name, namespace: 'tenant-a' }, spec: { type } });
const reasons = (rs: { reason: string }[]) => rs.map((r) => r.reason);

describe('effectiveNamespaces', () => {
  it('a namespaced target without namespaces reads its own namespace in tenant mode, every namespace without', () => {
    expect(effectiveNamespaces(target('tenant-a'), TENANT)).toEqual(['tenant-a']);
    expect(effectiveNamespaces(target('tenant-a'), NO_TENANCY)).toBeUndefined();
  });
  it('listed namespaces are read as listed (deduplicated); checkTarget says which are refused', () => {
    expect(effectiveNamespaces(target('tenant-a', ['tenant-a', 'tenant-b', 'tenant-b']), TENANT)).toEqual(['tenant-a', 'tenant-b']);
  });
  it('KOLLECT_WATCH_NAMESPACES bounds "all namespaces", for namespaced and cluster targets alike', () => {
    expect(effectiveNamespaces(target('tenant-a'), { tenantMode: false, watchNamespaces: ['x', 'y'] })).toEqual(['x', 'y']);
    expect(effectiveNamespaces(target(undefined), { tenantMode: true, watchNamespaces: ['x'] })).toEqual(['x']);
    expect(effectiveNamespaces(target(undefined), TENANT)).toBeUndefined();
  });
});

describe('checkTarget', () => {
  it('tenant mode: its own namespace is fine, another is refused naming the namespace and how to grant it', () => {
    expect(checkTarget(target('tenant-a', ['tenant-a']), profile('tenant-a'), [], { ...TENANT, namespaced: true })).toEqual([]);
    const [r, ...more] = checkTarget(target('tenant-a', ['tenant-a', 'tenant-b']), profile('tenant-a'), [], { ...TENANT, namespaced: true });
    expect(more).toEqual([]);
    expect(r).toMatchObject({ reason: REFUSAL_REASONS.NamespaceNotAllowed, field: 'spec.namespaces[1]' });
    expect(r!.message).toContain('namespace tenant-b');
    expect(r!.message).toContain('KollectScope tenant-a/default');
    expect(r!.message).toContain('KollectClusterTarget');
  });

  it('a KollectScope in the target\'s namespace grants a namespace by name or every namespace with *', () => {
    const opts = { ...TENANT, namespaced: true };
    const t = target('tenant-a', ['tenant-b']);
    expect(checkTarget(t, profile('tenant-a'), [scope('tenant-a', { namespaces: ['tenant-b'] })], opts)).toEqual([]);
    expect(checkTarget(t, profile('tenant-a'), [scope('tenant-a', { namespaces: ['*'] })], opts)).toEqual([]);
    // a scope of another namespace, or one not named default, grants nothing here
    expect(reasons(checkTarget(t, profile('tenant-a'), [scope('tenant-b', { namespaces: ['tenant-b'] })], opts))).toEqual(['NamespaceNotAllowed']);
    expect(reasons(checkTarget(t, profile('tenant-a'), [scope('tenant-a', { namespaces: ['tenant-b'] }, 'other')], opts))).toEqual(['NamespaceNotAllowed']);
  });

  it('a cluster-scoped kind is refused to a namespaced target unless the scope grants it in clusterKinds', () => {
    const ns = profile('tenant-a', 'v1', 'Namespace');
    const opts = { ...TENANT, namespaced: false };
    const [r] = checkTarget(target('tenant-a'), ns, [], opts);
    expect(r).toMatchObject({ reason: 'ClusterScopedKind', field: 'spec.profileRef' });
    expect(r!.message).toContain('Namespace (v1)');
    expect(checkTarget(target('tenant-a'), ns, [scope('tenant-a', { clusterKinds: [{ group: '', kind: 'Namespace' }] })], opts)).toEqual([]);
    expect(reasons(checkTarget(target('tenant-a'), ns, [scope('tenant-a', { clusterKinds: [{ group: '', kind: 'Node' }] })], opts))).toEqual(['ClusterScopedKind']);
    // spec.namespaces does not apply to a cluster-scoped kind: nothing more is refused for it
    expect(checkTarget(target('tenant-a', ['tenant-b']), ns, [scope('tenant-a', { clusterKinds: [{ group: '*' }] })], opts)).toEqual([]);
  });

  it('at admission (scope of the kind unknown) the cluster-scoped rule is skipped', () => {
    expect(checkTarget(target('tenant-a'), profile('tenant-a', 'v1', 'Namespace'), [], TENANT)).toEqual([]);
  });

  it('includes the profile\'s kind refusal', () => {
    const rs = checkTarget(target('tenant-a'), profile('tenant-a', 'v1', 'Secret'), [scope('tenant-a', { kinds: [{ group: 'apps' }] })], { ...TENANT, namespaced: true });
    expect(rs).toHaveLength(1);
    expect(rs[0]).toMatchObject({ reason: 'KindNotAllowed', field: 'spec.profileRef' });
  });

  it('without tenant mode every namespace and cluster-scoped kind is allowed, as before', () => {
    expect(checkTarget(target('tenant-a', ['tenant-b']), profile('tenant-a'), [], { ...NO_TENANCY, namespaced: true })).toEqual([]);
    expect(checkTarget(target('tenant-a'), profile('tenant-a', 'v1', 'Node'), [], { ...NO_TENANCY, namespaced: false })).toEqual([]);
  });

  it('KOLLECT_WATCH_NAMESPACES: a namespace outside is refused to every target, cluster-scoped kinds to namespaced targets', () => {
    const opts = { tenantMode: false, watchNamespaces: ['tenant-a'], namespaced: true };
    const rs = checkTarget(target('tenant-a', ['tenant-a', 'tenant-c']), profile('tenant-a'), [], opts);
    expect(rs.map((r) => [r.reason, r.field])).toEqual([['OutsideWatchNamespaces', 'spec.namespaces[1]']]);
    expect(rs[0]!.message).toContain('KOLLECT_WATCH_NAMESPACES: tenant-a');
    // a scope cannot grant what the operator does not read
    const both = checkTarget(target('tenant-a', ['tenant-c']), profile('tenant-a'), [scope('tenant-a', { namespaces: ['*'] })], { ...opts, tenantMode: true });
    expect(reasons(both)).toEqual(['OutsideWatchNamespaces']);
    expect(reasons(checkTarget(target(undefined, ['tenant-c']), profile('ops'), [], opts))).toEqual(['OutsideWatchNamespaces']);
    expect(checkTarget(target(undefined), profile('ops', 'v1', 'Node'), [], { ...opts, namespaced: false })).toEqual([]);
    expect(reasons(checkTarget(target('tenant-a'), profile('tenant-a', 'v1', 'Node'), [], { ...opts, namespaced: false }))).toEqual(['ClusterScopedKind']);
    expect(reasons(checkTarget(target('tenant-a'), profile('tenant-a', 'v1', 'Node'), [scope('tenant-a', { clusterKinds: [{ group: '*' }] })], { ...opts, tenantMode: true, namespaced: false }))).toEqual(['ClusterScopedKind']);
  });

  it('a cluster target is bound by no KollectScope', () => {
    expect(checkTarget(target(undefined, ['tenant-a', 'tenant-b']), profile('kollect-system', 'v1', 'Secret'), [scope('kollect-system', { kinds: [] })], { ...TENANT, namespaced: true })).toEqual([]);
    expect(checkTarget(target(undefined), profile('kollect-system', 'v1', 'Namespace'), [], { ...TENANT, namespaced: false })).toEqual([]);
  });
});

describe('checkProfile', () => {
  it('no scope, or a scope without kinds: any kind', () => {
    expect(checkProfile(profile('tenant-a', 'apps/v1', 'Deployment'), [], TENANT)).toEqual([]);
    expect(checkProfile(profile('tenant-a', 'apps/v1', 'Deployment'), [scope('tenant-a', { namespaces: ['x'] })], TENANT)).toEqual([]);
  });
  it('kinds allowlists group/version/kind globs; an empty list allows none', () => {
    const s = [scope('tenant-a', { kinds: [{ group: 'apps' }, { group: '', version: 'v1', kind: 'ConfigMap' }, { group: '*.example.com', kind: 'W*' }] })];
    expect(checkProfile(profile('tenant-a', 'apps/v1', 'Deployment'), s, TENANT)).toEqual([]);
    expect(checkProfile(profile('tenant-a', 'v1', 'ConfigMap'), s, TENANT)).toEqual([]);
    expect(checkProfile(profile('tenant-a', 'widgets.example.com/v1', 'Widget'), s, TENANT)).toEqual([]);
    const [r] = checkProfile(profile('tenant-a', 'v1', 'Secret'), s, TENANT);
    expect(r).toMatchObject({ reason: 'KindNotAllowed', field: 'spec.kind' });
    expect(r!.message).toContain('Secret (v1)');
    expect(reasons(checkProfile(profile('tenant-a', 'example.com/v1', 'Widget'), s, TENANT))).toEqual(['KindNotAllowed']);
    expect(reasons(checkProfile(profile('tenant-a'), [scope('tenant-a', { kinds: [] })], TENANT))).toEqual(['KindNotAllowed']);
  });
  it('without tenant mode: any kind', () => {
    expect(checkProfile(profile('tenant-a', 'v1', 'Secret'), [scope('tenant-a', { kinds: [] })], NO_TENANCY)).toEqual([]);
  });
});

describe('checkInventory', () => {
  const inv = { metadata: { name: 'inv', namespace: 'tenant-a' } };
  it('sink types outside the scope\'s sinkTypes are refused, one refusal per sink', () => {
    const rs = checkInventory(inv, [sink('postgres'), sink('git'), sink('nats')], [scope('tenant-a', { sinkTypes: ['git'] })], TENANT);
    expect(rs.map((r) => r.field)).toEqual(['KollectDatabaseSink postgres', 'KollectDatabaseSink nats']);
    expect(rs[0]!.reason).toBe('SinkTypeNotAllowed');
    expect(rs[0]!.message).toContain('type postgres');
    expect(isScopeProblem(scopeProblem(rs[0]!))).toBe(true);
    expect(isScopeProblem('spec.databaseSinkRefs[0]: KollectDatabaseSink a/b not found')).toBe(false);
  });
  it('no scope, no sinkTypes, no tenant mode, or a cluster inventory: anything', () => {
    expect(checkInventory(inv, [sink('postgres')], [], TENANT)).toEqual([]);
    expect(checkInventory(inv, [sink('postgres')], [scope('tenant-a', { kinds: [] })], TENANT)).toEqual([]);
    expect(checkInventory(inv, [sink('postgres')], [scope('tenant-a', { sinkTypes: [] })], NO_TENANCY)).toEqual([]);
    expect(checkInventory({ metadata: { name: 'all' } }, [sink('postgres')], [scope('tenant-a', { sinkTypes: [] })], TENANT)).toEqual([]);
  });
});

describe('helpers', () => {
  it('groupVersion and matchesKind', () => {
    expect(groupVersion('v1')).toEqual({ group: '', version: 'v1' });
    expect(groupVersion('apps/v1')).toEqual({ group: 'apps', version: 'v1' });
    expect(matchesKind([{ group: 'apps', version: 'v1beta*' }], 'apps/v1', 'Deployment')).toBe(false);
    expect(matchesKind([{ group: 'apps', version: 'v1beta*' }], 'apps/v1beta2', 'Deployment')).toBe(true);
    // a dot in a pattern is literal
    expect(matchesKind([{ group: 'a.b' }], 'axb/v1', 'K')).toBe(false);
  });
  it('scopeOf finds the namespace\'s default scope only', () => {
    const s = [scope('a', {}, 'other'), scope('b', {}), scope('a', { sinkTypes: ['git'] })];
    expect(scopeOf('a', s)?.spec).toEqual({ sinkTypes: ['git'] });
    expect(scopeOf('c', s)).toBeUndefined();
  });
  it('cluster inventory sinks: namespace from the ref or spec.sinkNamespace, named <namespace>/<name> in the workflow', () => {
    expect(sinkNamespaceOf('tenant-a', { targetRefs: [] }, { namespace: 'x' })).toBe('tenant-a');
    expect(sinkNamespaceOf('', { targetRefs: [], sinkNamespace: 'kollect-system' }, {})).toBe('kollect-system');
    expect(sinkNamespaceOf('', { targetRefs: [], sinkNamespace: 'kollect-system' }, { namespace: 'ops' })).toBe('ops');
    expect(workflowSinkName('tenant-a', 'tenant-a', 'pg')).toBe('pg');
    expect(workflowSinkName('', 'ops', 'pg')).toBe('ops/pg');
    expect(sinkOfRequest({ namespace: '', name: 'ops/pg' })).toEqual({ namespace: 'ops', name: 'pg' });
    expect(sinkOfRequest({ namespace: 'tenant-a', name: 'pg' })).toEqual({ namespace: 'tenant-a', name: 'pg' });
  });
  it('describeScope says what a scope grants', () => {
    expect(describeScope(scope('a', {}))).toBe('profiles may watch any kind; targets may read namespace a only; cluster-scoped kinds none; sink types any');
    expect(describeScope(scope('a', { kinds: [{ group: 'apps' }], namespaces: ['b'], clusterKinds: [{ group: '', kind: 'Namespace' }], sinkTypes: ['git'] })))
      .toBe('profiles may watch apps/*/*; targets may read namespace a and b; cluster-scoped kinds core/*/Namespace; sink types git');
  });
});
