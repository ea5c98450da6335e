// Names both sides of the product share: the CRD group and version, and the Temporal task queue.
export const GROUP = 'kollect.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
/** The task queue the operator's worker polls and the watcher starts workflows on. */
export const DEFAULT_TASK_QUEUE = 'kollect';
