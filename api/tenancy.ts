// Tenancy rules, as pure functions (no I/O): what a KollectTarget, KollectProfile or
// KollectInventory may read and export to, given the operator's settings and the KollectScopes.
// The watcher (at reconcile time: watcher/tenancy.ts) and the admission webhook (at admission)
// both call these, so a refusal reads the same wherever it comes from. docs/tenancy.md.
//
// Rules, in tenant mode (KOLLECT_TENANT_MODE, default true):
// - A namespaced KollectTarget reads its own namespace; no spec.namespaces means its own
//   namespace, not the cluster. Another namespace needs the namespace's KollectScope to list it
//   in spec.namespaces (or `*`); a cluster-scoped kind needs it in spec.clusterKinds.
// - A KollectProfile watches a kind its namespace's KollectScope allows (spec.kinds; unset: any).
// - A KollectInventory exports to sink types its KollectScope allows (spec.sinkTypes; unset: any).
// Always (tenant mode or not), when the operator is limited to some namespaces
// (KOLLECT_WATCH_NAMESPACES): no target reads outside them, and cluster-scoped kinds are read
// only by cluster targets (served only with KOLLECT_CLUSTER_KINDS), never by a namespaced target.
// Cluster kinds (KollectClusterTarget, KollectClusterInventory) are the cluster administrator's:
// no KollectScope applies to them.
import type { KindPattern, KollectClusterInventorySpec, KollectInventorySpec, KollectScope, KollectScopeSpec } from './types.js';
import { SCOPE_NAME } from './constants.js';

/** Ready reasons of a refused object; one per rule. */
export const REFUSAL_REASONS = {
  /** A namespaced target lists a namespace its KollectScope does not grant. */
  NamespaceNotAllowed: 'NamespaceNotAllowed',
  /** A namespaced target on a cluster-scoped kind its KollectScope does not grant (any, under KOLLECT_WATCH_NAMESPACES). */
  ClusterScopedKind: 'ClusterScopedKind',
  /** The profile's kind is not in its namespace's KollectScope spec.kinds. */
  KindNotAllowed: 'KindNotAllowed',
  /** A namespace outside KOLLECT_WATCH_NAMESPACES. */
  OutsideWatchNamespaces: 'OutsideWatchNamespaces',
  /** A sink whose type is not in the inventory namespace's KollectScope spec.sinkTypes. */
  SinkTypeNotAllowed: 'SinkTypeNotAllowed',
} as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[keyof typeof REFUSAL_REASONS];

/** The Ready reason of an inventory some of whose sinks are refused (its workflow writes it). */
export const SCOPE_DENIED = 'ScopeDenied';

export interface Refusal {
  reason: RefusalReason;
  /** The field of the checked object that asks for what is refused, e.g. `spec.namespaces[1]`. */
  field: string;
  /** What is refused and how to grant it. */
  message: string;
}

export interface TenancyOptions {
  /** KOLLECT_TENANT_MODE: namespaced objects are confined to their namespace and its KollectScope. */
  tenantMode: boolean;
  /** KOLLECT_WATCH_NAMESPACES: the only namespaces the operator reads; empty or undefined: all. */
  watchNamespaces?: readonly string[];
}

/** The operator's behaviour before tenancy: every namespace, any kind, any sink. */
export const NO_TENANCY: TenancyOptions = { tenantMode: false };

/** The fields of the checked objects these functions read (any Kollect object of the kind fits). */
export interface TargetLike {
  /** Cluster targets have no namespace. */
  metadata: { name: string; namespace?: string };
  spec: { namespaces?: string[] };
}
export interface ProfileLike { metadata: { name: string; namespace?: string }; spec: { apiVersion: string; kind: string } }
export interface SinkLike { kind: string; metadata: { name: string; namespace?: string }; spec: { type: string } }
export interface InventoryLike { metadata: { name: string; namespace?: string } }
export type ScopeLike = Pick<KollectScope, 'metadata' | 'spec'>;

const watching = (o: TenancyOptions): readonly string[] | undefined => (o.watchNamespaces && o.watchNamespaces.length > 0 ? o.watchNamespaces : undefined);

/** The KollectScope that governs `namespace`: the one named `default` in it. */
export function scopeOf(namespace: string, scopes: readonly ScopeLike[]): ScopeLike | undefined {
  return scopes.find((s) => s.metadata.namespace === namespace && s.metadata.name === SCOPE_NAME);
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** Splits `apps/v1` into group and version (`v1`: the core group ""). */
export function groupVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.lastIndexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Whether a kind matches one of the patterns. */
export function matchesKind(patterns: readonly KindPattern[], apiVersion: string, kind: string): boolean {
  const { group, version } = groupVersion(apiVersion);
  return patterns.some((p) => glob(p.group).test(group) && glob(p.version ?? '*').test(version) && glob(p.kind ?? '*').test(kind));
}

const kindName = (apiVersion: string, kind: string): string => `${kind} (${apiVersion})`;
const scopeName = (ns: string): string => `KollectScope ${ns}/${SCOPE_NAME}`;

/** Whether the namespace's scope lets its targets read `other`. */
function grantsNamespace(spec: KollectScopeSpec | undefined, other: string): boolean {
  return (spec?.namespaces ?? []).some((n) => n === '*' || n === other);
}

/**
 * The namespaces a target's informers list: undefined is every namespace (one cluster-wide
 * informer). A namespaced target without spec.namespaces reads its own namespace in tenant mode;
 * otherwise spec.namespaces, or KOLLECT_WATCH_NAMESPACES, or all. Refused namespaces are not
 * removed here: checkTarget says which they are, and a refused target collects nothing.
 */
export function effectiveNamespaces(target: TargetLike, opts: TenancyOptions): string[] | undefined {
  const listed = target.spec.namespaces?.length ? [...new Set(target.spec.namespaces)] : undefined;
  if (listed) return listed;
  const own = target.metadata.namespace;
  if (own && opts.tenantMode) return [own];
  const bound = watching(opts);
  return bound ? [...bound] : undefined;
}

/** The profile's kind against the KollectScope of the profile's namespace (tenant mode only). */
export function checkProfile(profile: ProfileLike, scopes: readonly ScopeLike[], opts: TenancyOptions, field = 'spec.kind'): Refusal[] {
  const ns = profile.metadata.namespace;
  if (!opts.tenantMode || !ns) return [];
  const kinds = scopeOf(ns, scopes)?.spec.kinds;
  if (!kinds || matchesKind(kinds, profile.spec.apiVersion, profile.spec.kind)) return [];
  return [{
    reason: REFUSAL_REASONS.KindNotAllowed, field,
    message: `KollectProfile ${ns}/${profile.metadata.name} watches ${kindName(profile.spec.apiVersion, profile.spec.kind)}, which ${scopeName(ns)} does not allow (spec.kinds); a cluster administrator can add it there, or collect it with a KollectClusterTarget`,
  }];
}

export interface CheckTargetOptions extends TenancyOptions {
  /**
   * Whether the profile's kind is namespaced, when known (the watcher knows it from discovery;
   * at admission it may not be known: then the cluster-scoped rules are skipped).
   */
  namespaced?: boolean;
}

/**
 * What a KollectTarget (namespaced) or KollectClusterTarget (no namespace) may not read. `profile`
 * is the KollectProfile it references, when it resolves. Empty: the target may collect.
 */
export function checkTarget(target: TargetLike, profile: ProfileLike | undefined, scopes: readonly ScopeLike[], opts: CheckTargetOptions): Refusal[] {
  const own = target.metadata.namespace;
  const kind = profile ? kindName(profile.spec.apiVersion, profile.spec.kind) : 'its kind';
  const what = own ? `KollectTarget ${own}/${target.metadata.name}` : `KollectClusterTarget ${target.metadata.name}`;
  const out: Refusal[] = [];
  if (own && profile) out.push(...checkProfile(profile, scopes, opts, 'spec.profileRef'));
  const bound = watching(opts);
  if (opts.namespaced === false) {
    if (bound && own) {
      out.push({
        reason: REFUSAL_REASONS.ClusterScopedKind, field: 'spec.profileRef',
        message: `${what} reads ${kind}, a cluster-scoped kind, but the operator only reads namespaces ${bound.join(', ')} (KOLLECT_WATCH_NAMESPACES); collect it with a KollectClusterTarget`,
      });
    } else if (own && opts.tenantMode) {
      const granted = scopeOf(own, scopes)?.spec.clusterKinds;
      if (!granted || !profile || !matchesKind(granted, profile.spec.apiVersion, profile.spec.kind)) {
        out.push({
          reason: REFUSAL_REASONS.ClusterScopedKind, field: 'spec.profileRef',
          message: `${what} reads ${kind}, a cluster-scoped kind, which ${scopeName(own)} does not grant (spec.clusterKinds); a cluster administrator can grant it there, or collect it with a KollectClusterTarget`,
        });
      }
    }
    return out; // spec.namespaces does not apply to cluster-scoped kinds
  }
  const listed = target.spec.namespaces ?? [];
  const scope = own ? scopeOf(own, scopes)?.spec : undefined;
  listed.forEach((ns, i) => {
    const field = `spec.namespaces[${i}]`;
    if (own && opts.tenantMode && ns !== own && !grantsNamespace(scope, ns)) {
      out.push({
        reason: REFUSAL_REASONS.NamespaceNotAllowed, field,
        message: `${what} lists namespace ${ns}, which ${scopeName(own)} does not grant (spec.namespaces); a cluster administrator can grant it there, or collect it with a KollectClusterTarget`,
      });
    }
    if (bound && !bound.includes(ns)) {
      out.push({
        reason: REFUSAL_REASONS.OutsideWatchNamespaces, field,
        message: `${what} lists namespace ${ns}, outside the namespaces this operator reads (KOLLECT_WATCH_NAMESPACES: ${bound.join(', ')}); add it there or remove it from the target`,
      });
    }
  });
  return out;
}

/**
 * What sinks a KollectInventory may not export to: `sinks` are the sinks it references that
 * resolve. A KollectClusterInventory (no namespace) is not bound by any KollectScope.
 */
export function checkInventory(inventory: InventoryLike, sinks: readonly SinkLike[], scopes: readonly ScopeLike[], opts: TenancyOptions): Refusal[] {
  const ns = inventory.metadata.namespace;
  if (!opts.tenantMode || !ns) return [];
  const types = scopeOf(ns, scopes)?.spec.sinkTypes;
  if (!types) return [];
  return sinks.filter((s) => !types.includes(s.spec.type)).map((s) => ({
    reason: REFUSAL_REASONS.SinkTypeNotAllowed, field: `${s.kind} ${s.metadata.name}`,
    message: `KollectInventory ${ns}/${inventory.metadata.name} exports to ${s.kind} ${s.metadata.name} of type ${s.spec.type}, which ${scopeName(ns)} does not allow (spec.sinkTypes: ${types.join(', ') || 'none'}); a cluster administrator can add the type there, or export with a KollectClusterInventory`,
  }));
}

/** An inventory problem (its Ready message) that is a refusal: Ready's reason is then SCOPE_DENIED. */
export const scopeProblem = (r: Refusal): string => `${SCOPE_DENIED}: ${r.message}`;
export const isScopeProblem = (problem: string): boolean => problem.startsWith(`${SCOPE_DENIED}: `);

// ---------- cluster inventories ----------

/**
 * The namespace a sink ref resolves in: a KollectInventory's own; for a KollectClusterInventory
 * (inventory namespace ''), the ref's namespace or spec.sinkNamespace.
 */
export function sinkNamespaceOf(inventoryNamespace: string, spec: KollectInventorySpec | KollectClusterInventorySpec, ref: { namespace?: string }): string {
  if (inventoryNamespace) return inventoryNamespace;
  return ref.namespace ?? (spec as KollectClusterInventorySpec).sinkNamespace ?? '';
}

/**
 * A sink's name in the inventory workflow (its configuration, status.sinkExports): a
 * KollectInventory's sinks by name, a KollectClusterInventory's as `<namespace>/<name>`.
 */
export const workflowSinkName = (inventoryNamespace: string, sinkNamespace: string, name: string): string =>
  (inventoryNamespace ? name : `${sinkNamespace}/${name}`);

/** The sink an export request names: its namespace and name (workflowSinkName reversed). */
export function sinkOfRequest(sink: { namespace: string; name: string }): { namespace: string; name: string } {
  if (sink.namespace) return sink;
  const i = sink.name.indexOf('/');
  return i < 0 ? sink : { namespace: sink.name.slice(0, i), name: sink.name.slice(i + 1) };
}

/** One line for a condition: every refusal's message. */
export function refusalMessage(refusals: readonly Refusal[]): string {
  return refusals.map((r) => `${r.field}: ${r.message}`).join('; ');
}

/** What a KollectScope grants, for its Ready message. */
export function describeScope(scope: ScopeLike): string {
  const s = scope.spec ?? {};
  const kinds = (ps: KindPattern[] | undefined): string => ps?.map((p) => `${p.group || 'core'}/${p.version ?? '*'}/${p.kind ?? '*'}`).join(', ') ?? '';
  return [
    `profiles may watch ${s.kinds ? kinds(s.kinds) || 'no kind' : 'any kind'}`,
    `targets may read ${s.namespaces?.length ? `namespace ${scope.metadata.namespace ?? ''} and ${s.namespaces.join(', ')}` : `namespace ${scope.metadata.namespace ?? ''} only`}`,
    `cluster-scoped kinds ${s.clusterKinds?.length ? kinds(s.clusterKinds) : 'none'}`,
    `sink types ${s.sinkTypes ? s.sinkTypes.join(', ') || 'none' : 'any'}`,
  ].join('; ');
}
