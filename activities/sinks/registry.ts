// Every sink type Kollect has, by its descriptor (descriptor.ts). Adding a sink type: its module
// (activities/sinks/<type>.ts, exporting its descriptor), its spec block (api/sinks/<type>.ts and
// one line in api/sinks/index.ts), its sample, its docs page, its integration test, and one line
// here. Nothing in the workflow; the CRD enum, printer columns, format rules, samples test and
// docs index are derived from this list.
import type { SinkKind } from '../../api/types.js';
import type { SinkDescriptor } from './descriptor.js';
import { bigquerySink } from './bigquery.js';
import { gcsSink } from './gcs.js';
import { gitSink } from './git.js';
import { gitlabSink } from './gitlab.js';
import { kafkaSink } from './kafka.js';
import { mongodbSink } from './mongodb.js';
import { natsSink } from './nats.js';
import { postgresSink } from './postgres.js';
import { s3Sink } from './s3.js';
import type { SinkBackend } from './types.js';

export const SINKS: readonly SinkDescriptor<never>[] = [
  gitSink, gitlabSink, s3Sink, gcsSink,
  postgresSink, mongodbSink, bigquerySink,
  kafkaSink, natsSink,
] as readonly SinkDescriptor<never>[];

export const sinkDescriptors: Readonly<Record<string, SinkDescriptor<never>>> = Object.fromEntries(SINKS.map((d) => [d.type, d]));
export const sinkBackends: Readonly<Record<string, SinkBackend>> = Object.fromEntries(SINKS.map((d) => [d.type, d.backend as SinkBackend]));

/** The types of one family, in registration order. */
export const sinkTypesOf = (kind: SinkKind): string[] => SINKS.filter((d) => d.kind === kind).map((d) => d.type);

/** Releases every backend's pooled connections and working clones (worker shutdown). Never throws. */
export async function closeAll(): Promise<void> {
  await Promise.allSettled(SINKS.map(async (d) => { await d.backend.close?.(); }));
}
