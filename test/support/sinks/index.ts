// Every sink type's fixture (test/support/sinks/fixture.ts), for the tests and benchmarks that run
// all sink types alike. A test checks this list covers the registry (activities/sinks/registry.ts).
import { bigqueryFixture } from './bigquery.js';
import type { SinkFixture } from './fixture.js';
import { gcsFixture } from './gcs.js';
import { gitFixture } from './git.js';
import { gitlabFixture } from './gitlab.js';
import { kafkaFixture } from './kafka.js';
import { mongodbFixture } from './mongodb.js';
import { natsFixture } from './nats.js';
import { postgresFixture } from './postgres.js';
import { s3Fixture } from './s3.js';

export const SINK_FIXTURES: readonly SinkFixture<never>[] = [
  gitFixture, gitlabFixture, s3Fixture, gcsFixture,
  postgresFixture, mongodbFixture, bigqueryFixture,
  kafkaFixture, natsFixture,
] as unknown as readonly SinkFixture<never>[];
