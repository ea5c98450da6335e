// Reading Kollect CRs and Secrets, and writing status, for activities.
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION, KOLLECT_PLURALS as PLURALS, INVENTORY_FINALIZER, pluralOf, type KollectKind } from '../api/constants.js';

export { INVENTORY_FINALIZER, type KollectKind };

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

export class Kube {
  readonly custom: k8s.CustomObjectsApi;
  readonly core: k8s.CoreV1Api;
  constructor(readonly kc: k8s.KubeConfig) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  // An empty namespace names the cluster kind that shares `kind`'s machinery (KollectClusterInventory
  // for KollectInventory: api/constants.ts CLUSTER_KINDS), a cluster-scoped object.

  /** The object, or undefined when it does not exist. */
  async get<T>(kind: KollectKind, namespace: string, name: string): Promise<T | undefined> {
    try {
      if (!namespace) return (await this.custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: pluralOf(PLURALS[kind], undefined), name })) as T;
      return (await this.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS[kind], namespace, name })) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Merge-patches the status; with `resourceVersion`, only if the object did not change since (409 otherwise). */
  async patchStatus(kind: KollectKind, namespace: string, name: string, status: unknown, resourceVersion?: string): Promise<void> {
    const body = resourceVersion ? { metadata: { resourceVersion }, status } : { status };
    if (!namespace) { await this.custom.patchClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural: pluralOf(PLURALS[kind], undefined), name, body }, mergePatch); return; }
    await this.custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURALS[kind], namespace, name, body }, mergePatch);
  }

  async patchMetadata(kind: KollectKind, namespace: string, name: string, metadata: Record<string, unknown>): Promise<void> {
    if (!namespace) { await this.custom.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: pluralOf(PLURALS[kind], undefined), name, body: { metadata } }, mergePatch); return; }
    await this.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURALS[kind], namespace, name, body: { metadata } }, mergePatch);
  }

  /** The Secret's data, decoded; throws a clear error naming the Secret if it is missing. */
  async secretData(namespace: string, name: string): Promise<Record<string, string>> {
    return (await this.secret(namespace, name)).data;
  }

  /** The Secret's data, decoded, and its labels; throws MissingSecretError if it is missing. */
  async secret(namespace: string, name: string): Promise<{ data: Record<string, string>; labels: Record<string, string> }> {
    try {
      const s = await this.core.readNamespacedSecret({ namespace, name });
      const data = Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
      return { data, labels: s.metadata?.labels ?? {} };
    } catch (err) {
      if (isNotFound(err)) throw new MissingSecretError(namespace, name);
      throw err;
    }
  }
}

export class MissingSecretError extends Error {
  override readonly name = 'MissingSecretError';
  constructor(readonly namespace: string, readonly secret: string) { super(`Secret ${namespace}/${secret} not found`); }
}

export function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === 404;
}
