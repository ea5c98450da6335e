// The watcher's few writes to Kollect CRs. Ready conditions on Profiles (does it compile?) and
// Targets (is it collecting, and if not, why), written with a JSON merge patch on the status
// subresource and only when something changed, so that our own write (which comes back as a
// watch event) does not cause another; and the Inventory finalizer.
import type { Condition } from '../api/types.js';
import { API_VERSION, pluralOf } from '../api/constants.js';
import { KubeApiError, MERGE_PATCH, type KubeObject, type KubeTransport } from './kube.js';

export interface ReadyState { status: 'True' | 'False' | 'Unknown'; reason: string; message: string }

// An object without a namespace is of the cluster kind that shares the plural's machinery
// (KollectClusterTarget for kollecttargets: api/constants.ts CLUSTER_KINDS).
export const objectPath = (plural: string, obj: KubeObject): string => (obj.metadata?.namespace
  ? `/apis/${API_VERSION}/namespaces/${encodeURIComponent(obj.metadata.namespace)}/${plural}/${encodeURIComponent(obj.metadata?.name ?? '')}`
  : `/apis/${API_VERSION}/${pluralOf(plural, undefined)}/${encodeURIComponent(obj.metadata?.name ?? '')}`);

/** Longest message we write; a compile error listing every bad attribute stays readable. */
const MAX_MESSAGE = 4096;

/** The object's conditions with Ready set to `ready`, or undefined when it already says so. */
export function withReady(obj: KubeObject, ready: ReadyState, now: () => Date = () => new Date()): { conditions: Condition[]; observedGeneration?: number } | undefined {
  return withCondition(obj, 'Ready', ready, now);
}

/** The object's conditions with `type` set to `state`, or undefined when it already says so. */
export function withCondition(obj: KubeObject, type: string, ready: ReadyState, now: () => Date = () => new Date()): { conditions: Condition[]; observedGeneration?: number } | undefined {
  const status = (obj.status ?? {}) as { conditions?: Condition[]; observedGeneration?: number };
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const generation = obj.metadata?.generation;
  const message = ready.message.length > MAX_MESSAGE ? `${ready.message.slice(0, MAX_MESSAGE - 1)}…` : ready.message;
  const cur = conditions.find((c) => c.type === type);
  if (cur && cur.status === ready.status && cur.reason === ready.reason && cur.message === message
    && cur.observedGeneration === generation && status.observedGeneration === generation) return undefined;
  const next: Condition = {
    type, status: ready.status, reason: ready.reason, message,
    lastTransitionTime: cur && cur.status === ready.status ? cur.lastTransitionTime : now().toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return {
    conditions: [...conditions.filter((c) => c.type !== type), next],
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

export async function patchReady(transport: KubeTransport, plural: string, obj: KubeObject, ready: ReadyState): Promise<boolean> {
  const status = withReady(obj, ready);
  if (!status) return false;
  if (!obj.metadata?.name) return false;
  await transport.request('PATCH', `${objectPath(plural, obj)}/status`, { body: { status }, contentType: MERGE_PATCH });
  return true;
}

/**
 * Sets one condition of an object another writer also updates (the inventory, whose workflow
 * writes Ready and Synced): the patch carries the resourceVersion it read, so a concurrent
 * write yields 409 (`conflict`: read again and retry) and nothing of the other writer's is lost.
 */
export async function patchCondition(transport: KubeTransport, plural: string, obj: KubeObject, type: string, state: ReadyState): Promise<'written' | 'unchanged' | 'conflict' | 'gone'> {
  const status = withCondition(obj, type, state);
  if (!status) return 'unchanged';
  if (!obj.metadata?.name) return 'gone';
  try {
    await transport.request('PATCH', `${objectPath(plural, obj)}/status`, { body: { metadata: { resourceVersion: obj.metadata.resourceVersion }, status: { conditions: status.conditions } }, contentType: MERGE_PATCH });
    return 'written';
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 409) return 'conflict';
    if (err instanceof KubeApiError && err.status === 404) return 'gone';
    throw err;
  }
}

/**
 * Appends a finalizer. The merge patch carries the resourceVersion it read, making it a
 * compare-and-swap on the list: a concurrent edit yields 409 (false here) and the next watch
 * event tries again with the fresh list. false also when the object is already gone.
 */
export async function addFinalizer(transport: KubeTransport, plural: string, obj: KubeObject, finalizer: string): Promise<boolean> {
  const finalizers = obj.metadata?.finalizers ?? [];
  if (finalizers.includes(finalizer)) return false;
  const body = { metadata: { finalizers: [...finalizers, finalizer], resourceVersion: obj.metadata?.resourceVersion } };
  try {
    await transport.request('PATCH', objectPath(plural, obj), { body, contentType: MERGE_PATCH });
    return true;
  } catch (err) {
    if (err instanceof KubeApiError && (err.status === 409 || err.status === 404)) return false;
    throw err;
  }
}
