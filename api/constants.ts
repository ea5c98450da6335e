// Names both sides of the product share: the CRD group and version, and the Temporal task queue.
export const GROUP = 'kollect.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The task queue the operator's worker polls and the watcher starts workflows on. */
export const DEFAULT_TASK_QUEUE = 'kollect';

/** The cluster name rows carry when neither the inventory's spec.cluster nor KOLLECT_CLUSTER_NAME says one. */
export const DEFAULT_CLUSTER_NAME = 'default';
/** What a cluster name may be (the CRD's spec.cluster rule). */
export const CLUSTER_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Resource (plural) names of the Kollect kinds. */
export const KOLLECT_PLURALS = {
  KollectProfile: 'kollectprofiles',
  KollectTarget: 'kollecttargets',
  KollectInventory: 'kollectinventories',
  KollectSnapshotSink: 'kollectsnapshotsinks',
  KollectDatabaseSink: 'kollectdatabasesinks',
  KollectEventSink: 'kollecteventsinks',
  KollectConnectionTest: 'kollectconnectiontests',
  KollectScope: 'kollectscopes',
  KollectClusterTarget: 'kollectclustertargets',
  KollectClusterInventory: 'kollectclusterinventories',
} as const;
export type KollectKind = keyof typeof KOLLECT_PLURALS;

/**
 * The cluster-scoped Kollect kinds (docs/tenancy.md) and the namespaced kind whose machinery each
 * reuses: the watcher keys them as `/<name>` (empty namespace) beside the namespaced ones.
 */
export const CLUSTER_KINDS = { KollectClusterTarget: 'KollectTarget', KollectClusterInventory: 'KollectInventory' } as const;
export type ClusterKind = keyof typeof CLUSTER_KINDS;
export const isClusterKind = (kind: string): kind is ClusterKind => Object.hasOwn(CLUSTER_KINDS, kind);
/** The plural of a kind's object: the cluster kind's when the object has no namespace. */
export function pluralOf(plural: string, namespace: string | undefined): string {
  if (namespace) return plural;
  for (const [cluster, base] of Object.entries(CLUSTER_KINDS)) if (KOLLECT_PLURALS[base] === plural) return KOLLECT_PLURALS[cluster as ClusterKind];
  return plural;
}
/** The name of the one KollectScope of a namespace that counts (the CRD admits no other). */
export const SCOPE_NAME = 'default';

/** The finalizer the watcher puts on every KollectInventory; the workflow removes it. */
export const INVENTORY_FINALIZER = 'kollect.dev/inventory';

/**
 * The label a Secret carries to opt in to being used by Kollect sinks (spec.secretRef,
 * spec.tls.caSecretRef), with the value SINK_CREDENTIALS_VALUE. A sink naming a Secret without
 * it is refused (Ready=False, reason SecretNotAllowed), so that whoever may create a sink cannot
 * have the operator send a Secret they cannot read to a host of their choosing (docs/sinks.md).
 */
export const SINK_CREDENTIALS_LABEL = 'kollect.dev/sink-credentials';
export const SINK_CREDENTIALS_VALUE = 'true';
