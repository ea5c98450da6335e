// Sink backends by spec.type. Adding a sink type: its module here, its CRD enum value and schema
// block, its sample, its integration test, its docs. Nothing in the workflow.
import { gitBackend } from './git.js';
import { natsBackend } from './nats.js';
import { postgresBackend } from './postgres.js';
import type { SinkBackend } from './types.js';

export const sinkBackends: Record<string, SinkBackend> = {
  [gitBackend.type]: gitBackend,
  [postgresBackend.type]: postgresBackend,
  [natsBackend.type]: natsBackend,
};

/** Releases every backend's pooled connections and working clones (worker shutdown). Never throws. */
export async function closeAll(): Promise<void> {
  await Promise.allSettled(Object.values(sinkBackends).map(async (b) => { await b.close?.(); }));
}
