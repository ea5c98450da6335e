// The sink types of each family, by their spec block: a sink's settings go in the field named
// after its type (spec.git for type git), and the family's `type` enum is the list of these keys.
// Adding a sink type: its block in api/sinks/<type>.ts and one line here; its backend and
// descriptor in activities/sinks/<type>.ts and one line in activities/sinks/registry.ts.
import type { BigQueryColumn, BigQueryPartitioning, BigQuerySinkSpec } from './bigquery.js';
import type { GcsSinkSpec } from './gcs.js';
import type { GitSinkSpec } from './git.js';
import type { GitLabSinkSpec } from './gitlab.js';
import type { KafkaSinkSpec } from './kafka.js';
import type { MongodbSinkSpec } from './mongodb.js';
import type { NatsSinkSpec } from './nats.js';
import type { PostgresSinkSpec } from './postgres.js';
import type { S3SinkSpec } from './s3.js';

export type { BigQueryColumn, BigQueryPartitioning, BigQuerySinkSpec, GcsSinkSpec, GitLabSinkSpec, GitSinkSpec, KafkaSinkSpec, MongodbSinkSpec, NatsSinkSpec, PostgresSinkSpec, S3SinkSpec };

/** Snapshot sinks: whole snapshots as files. */
export interface SnapshotSinkBlocks {
  /** Settings of type git. */
  git?: GitSinkSpec;
  /** Settings of type gitlab. */
  gitlab?: GitLabSinkSpec;
  /** Settings of type s3. */
  s3?: S3SinkSpec;
  /** Settings of type gcs. */
  gcs?: GcsSinkSpec;
}
/** Database sinks: one row per collected object. */
export interface DatabaseSinkBlocks {
  /** Settings of type postgres. */
  postgres?: PostgresSinkSpec;
  /** Settings of type mongodb. */
  mongodb?: MongodbSinkSpec;
  /** Settings of type bigquery. */
  bigquery?: BigQuerySinkSpec;
}
/** Event sinks: every change as an event. */
export interface EventSinkBlocks {
  /** Settings of type kafka. */
  kafka?: KafkaSinkSpec;
  /** Settings of type nats. */
  nats?: NatsSinkSpec;
}
