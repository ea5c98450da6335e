// The controller's tenancy hooks (docs/tenancy.md): which profile a target or cluster target
// uses, which namespaces it reads or why it may not, and the KollectScope's Ready. The rules
// themselves are api/tenancy.ts, shared with the admission webhook.
import type { KollectProfile, KollectScope } from '../api/types.js';
import { checkTarget, describeScope, effectiveNamespaces, refusalMessage, type ScopeLike, type TargetLike, type TenancyOptions } from '../api/tenancy.js';
import type { KubeObject } from './kube.js';
import type { ReadyState } from './status.js';

/**
 * `namespace/name` of the KollectProfile a target uses: a KollectTarget's is in its own
 * namespace, a KollectClusterTarget (no namespace) names it in spec.profileRef.namespace.
 */
export function profileKeyOf(target: KubeObject): string {
  const ref = (target.spec ?? {}) as { profileRef?: { name?: string; namespace?: string } };
  const ns = target.metadata?.namespace || ref.profileRef?.namespace || '';
  return `${ns}/${ref.profileRef?.name ?? ''}`;
}

/** The controller's tenancy: the given options, always bounded by the namespaces it serves. */
export function tenancyOf(o: { tenancy?: TenancyOptions; namespaces?: string[] }): TenancyOptions {
  return { tenantMode: o.tenancy?.tenantMode ?? false, watchNamespaces: o.tenancy?.watchNamespaces ?? o.namespaces };
}

/**
 * The namespaces a target's informers list (undefined: all), or the first reason it is refused
 * with every refusal's message (Ready=False).
 */
export function targetScope(
  target: KubeObject, profile: KubeObject | undefined, scopes: Iterable<KubeObject>, namespaced: boolean, opts: TenancyOptions,
): { namespaces?: string[]; refused?: ReadyState } {
  const t = target as unknown as TargetLike;
  const refusals = checkTarget(t, profile as unknown as KollectProfile | undefined, [...scopes] as unknown as ScopeLike[], { ...opts, namespaced });
  if (refusals.length > 0) return { refused: { status: 'False', reason: refusals[0]!.reason, message: refusalMessage(refusals) } };
  return { namespaces: namespaced ? effectiveNamespaces(t, opts) : undefined };
}

/** Keys of the targets (namespace/name) a change of `namespace`'s KollectScope concerns. */
export function* targetsOfScope(namespace: string, targetKeys: Iterable<string>): Generator<string> {
  for (const k of targetKeys) if (k.startsWith(`${namespace}/`)) yield k;
}

/** The KollectScope's Ready: what it grants. */
export function scopeReady(obj: KubeObject): ReadyState | undefined {
  const scope = obj as unknown as KollectScope;
  return { status: 'True', reason: 'Accepted', message: describeScope(scope) };
}

export { sinkNamespaceOf as clusterInventorySinkNamespace } from '../api/tenancy.js';
