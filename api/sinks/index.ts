// The sink types of each family, by their spec block: a sink's settings go in the field named
// after its type (spec.git for type git), and the family's `type` enum is the list of these keys.
// Adding a sink type: its block in api/sinks/<type>.ts and one line here; its backend and
// descriptor in activities/sinks/<type>.ts and one line in activities/sinks/registry.ts.
import type { GitSinkSpec } from './git.js';
import type { KafkaSinkSpec } from './kafka.js';
import type { NatsSinkSpec } from './nats.js';
import type { PostgresSinkSpec } from './postgres.js';

export type { GitSinkSpec, KafkaSinkSpec, NatsSinkSpec, PostgresSinkSpec };

/** Snapshot sinks: whole snapshots as files. */
export interface SnapshotSinkBlocks {
  /** Settings of type git. */
  git?: GitSinkSpec;
}
/** Database sinks: one row per collected object. */
export interface DatabaseSinkBlocks {
  /** Settings of type postgres. */
  postgres?: PostgresSinkSpec;
}
/** Event sinks: every change as an event. */
export interface EventSinkBlocks {
  /** Settings of type nats. */
  nats?: NatsSinkSpec;
  /** Settings of type kafka. */
  kafka?: KafkaSinkSpec;
}
