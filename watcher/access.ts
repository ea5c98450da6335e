// Before a Target's informers start, the watcher asks the apiserver whether it may list and watch
// the kind in each namespace the Target reads (a SelfSubjectAccessReview per verb and scope). When
// it may not, that Target alone is Degraded (reason Forbidden, naming the verb, the resource and
// the namespace, and the fix) and looks again periodically; every other Target keeps collecting.
// An informer started without the permission would only retry 403s in the background with the
// Target claiming to collect. See docs/operations.md#rbac.
import type { Condition } from '../api/types.js';
import type { ResolvedKind } from './discovery.js';
import { MERGE_PATCH, type KubeObject, type KubeTransport } from './kube.js';
import { withCondition, type ReadyState } from './status.js';

/** The Target condition this file writes (True while a permission is missing). */
export const DEGRADED = 'Degraded';
/** Degraded's reason (and Ready's) when the operator may not list or watch a kind it needs. */
export const FORBIDDEN = 'Forbidden';
/** Degraded's reason once the permission is there again. */
export const ACCESS_GRANTED = 'AccessGranted';

export const WATCH_VERBS = ['list', 'watch'] as const;

export interface AccessDenial {
  verb: string;
  group: string;
  resource: string;
  /** undefined: all namespaces (or a cluster-scoped kind). */
  namespace?: string;
  /** The authorizer's explanation, when it gave one. */
  reason?: string;
}

interface AccessReview { status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string } }

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/**
 * The first of list/watch the operator may not do on `kind` in one of `namespaces` (undefined:
 * all namespaces, as a Target without spec.namespaces reads), or undefined when all are allowed.
 */
export async function firstDenial(transport: KubeTransport, kind: ResolvedKind, namespaces: string[] | undefined): Promise<AccessDenial | undefined> {
  const scopes = kind.namespaced && namespaces && namespaces.length > 0 ? [...new Set(namespaces)] : [undefined];
  const group = groupOf(kind.apiVersion);
  for (const namespace of scopes) {
    for (const verb of WATCH_VERBS) {
      const review = await transport.request<AccessReview>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        body: {
          apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
          spec: { resourceAttributes: { group, resource: kind.plural, verb, ...(namespace ? { namespace } : {}) } },
        },
      });
      if (!review.status?.allowed) return { verb, group, resource: kind.plural, namespace, reason: review.status?.reason || review.status?.evaluationError || undefined };
    }
  }
  return undefined;
}

/** `verb group/resource in namespace X` (or `in all namespaces`), as the message and the docs spell it. */
export function describeDenial(d: AccessDenial): string {
  const where = d.namespace ? `in namespace ${d.namespace}` : 'in all namespaces (cluster-wide)';
  return `${d.verb} ${d.group || 'core'}/${d.resource} ${where}`;
}

export function degradedState(d: AccessDenial, retryMs: number): ReadyState {
  const grant = d.namespace
    ? `grant ${WATCH_VERBS.join(' and ')} on ${d.resource}${d.group ? `.${d.group}` : ''} in namespace ${d.namespace} to the operator (a RoleBinding there to its ClusterRole kollect-watched)`
    : `grant ${WATCH_VERBS.join(' and ')} on ${d.resource}${d.group ? `.${d.group}` : ''} to the operator in its ClusterRole (kollect-watched, deploy/rbac), or name spec.namespaces it may read`;
  return {
    status: 'True', reason: FORBIDDEN,
    message: `the operator may not ${describeDenial(d)}${d.reason ? ` (${d.reason})` : ''}: ${grant}; checking again every ${Math.round(retryMs / 1000)} s`,
  };
}

/**
 * Ready=False and Degraded=True, both reason Forbidden, as one status patch (two merge patches of
 * `conditions` would overwrite each other). undefined when the object already says so.
 */
export function forbiddenStatus(obj: KubeObject, d: AccessDenial, retryMs: number): { conditions: Condition[]; observedGeneration?: number } | undefined {
  const degraded = degradedState(d, retryMs);
  const ready: ReadyState = { status: 'False', reason: FORBIDDEN, message: `not collecting: ${degraded.message}` };
  const first = withCondition(obj, DEGRADED, degraded);
  const second = withCondition(first ? { ...obj, status: { ...(obj.status as object | undefined), ...first } } : obj, 'Ready', ready);
  return second ?? first;
}

/**
 * The object with Degraded set False (AccessGranted) in its status when it was True, so that the
 * next Ready patch written from it clears Degraded in the same write; else the object unchanged.
 */
export function withAccessGranted(obj: KubeObject): KubeObject {
  const conditions = ((obj.status ?? {}) as { conditions?: Condition[] }).conditions;
  if (!conditions?.some((c) => c.type === DEGRADED && c.status === 'True')) return obj;
  const next = withCondition(obj, DEGRADED, { status: 'False', reason: ACCESS_GRANTED, message: 'the operator may list and watch what this Target reads' });
  return next ? { ...obj, status: { ...(obj.status as object | undefined), conditions: next.conditions } } : obj;
}

/** Writes forbiddenStatus on the Target's status subresource; false when it already said so. */
export async function patchForbidden(transport: KubeTransport, path: string, obj: KubeObject, d: AccessDenial, retryMs: number): Promise<boolean> {
  const status = forbiddenStatus(obj, d, retryMs);
  if (!status) return false;
  await transport.request('PATCH', `${path}/status`, { body: { status }, contentType: MERGE_PATCH });
  return true;
}
