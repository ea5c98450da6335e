// Names both sides of the product share: the CRD group and version, and the Temporal task queue.
export const GROUP = 'kollect.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The task queue the operator's worker polls and the watcher starts workflows on. */
export const DEFAULT_TASK_QUEUE = 'kollect';

/** Resource (plural) names of the Kollect kinds. */
export const KOLLECT_PLURALS = {
  KollectProfile: 'kollectprofiles',
  KollectTarget: 'kollecttargets',
  KollectInventory: 'kollectinventories',
  KollectSnapshotSink: 'kollectsnapshotsinks',
  KollectDatabaseSink: 'kollectdatabasesinks',
  KollectEventSink: 'kollecteventsinks',
  KollectConnectionTest: 'kollectconnectiontests',
} as const;
export type KollectKind = keyof typeof KOLLECT_PLURALS;

/** The finalizer the watcher puts on every KollectInventory; the workflow removes it. */
export const INVENTORY_FINALIZER = 'kollect.dev/inventory';
