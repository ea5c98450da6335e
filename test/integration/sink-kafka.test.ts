// The kafka sink against the harness's real Kafka (KRaft, one node): records keyed by row
// identity, folded by key (what compaction converges to) after every step.
import { createHash, randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tombstone, VersionedRow } from '../../api/rows.js';
import type { KafkaSinkSpec } from '../../api/types.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { EndpointGuard } from '../../activities/sinks/endpoints.js';
import { KafkaBackend, HEADERS, kafkaSink, recordKey } from '../../activities/sinks/kafka.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { SinkConfigError, type InventoryIdentity, type SinkContext } from '../../activities/sinks/types.js';
import { exportInput, tombstone, type TestExportInput } from '../support/export-input.js';
import { fold, kafkaFixture, readRecords } from '../support/sinks/kafka.js';
import { viaSharedPath } from '../support/sinks/shared-path.js';
import { service, startService, stopService } from '../harness/endpoints.js';
import { sleep, waitFor } from '../harness/util.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];
const log = (event: string, fields?: Record<string, unknown>) => { logs.push({ event, fields }); };

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

/** An event sink receives the changes after its watermark: a delta from `fromVersion`. */
function input(upserts: VersionedRow[], deletes: Tombstone[], fromVersion: number, exportId = `exp-${randomBytes(3).toString('hex')}`, inv: InventoryIdentity = inventory): TestExportInput {
  return exportInput(upserts, { inventory: inv, sink: { kind: 'KollectEventSink', namespace: 'team-a', name: 'kafka', type: 'kafka' }, exportId, mode: 'delta', deletes, fromVersion });
}

const backends: KafkaBackend[] = [];
const specs: KafkaSinkSpec[] = [];
function backend(opts: ConstructorParameters<typeof KafkaBackend>[0] = {}): KafkaBackend {
  const b = viaSharedPath(kafkaSink as SinkDescriptor<never>, new KafkaBackend(opts));
  backends.push(b);
  return b;
}
function spec(over: Partial<KafkaSinkSpec> = {}): KafkaSinkSpec {
  const s = { ...kafkaFixture.spec(randomBytes(4).toString('hex')) as KafkaSinkSpec, ...over };
  specs.push(s);
  return s;
}
const ctx = (s: KafkaSinkSpec, over: Partial<SinkContext<KafkaSinkSpec>> = {}): SinkContext<KafkaSinkSpec> => ({ ...kafkaFixture.context(s, log), ...over });

/** What the folded topic holds for the inventory: `target/uid` → `version:replicas`. */
async function view(s: KafkaSinkSpec, inv: InventoryIdentity = inventory): Promise<Map<string, string>> {
  const folded = fold(await readRecords(s.brokers, s.topic!), inv);
  return new Map([...folded].map(([k, e]) => [k, `${e.version}:${String(e.attributes?.replicas)}`]));
}
const expected = (rows: VersionedRow[]): Map<string, string> => new Map(rows.map((r) => [`${r.target}/${r.uid}`, `${r.version}:${String(r.attributes.replicas)}`]));

async function topics(): Promise<string[]> {
  const admin = new Admin({ clientId: 'kollect-test', bootstrapBrokers: service('kafka').brokers });
  try { return await admin.listTopics(); } finally { await admin.close(); }
}

/** The error a promise rejects with; fails the test when it resolves instead. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await Promise.all(specs.map((s) => kafkaFixture.cleanup!(s)));
});

describe('kafka sink', () => {
  it('creates the topic compacted, publishes keyed events and tombstones, and the folded topic is the snapshot after every step', async () => {
    const s = spec();
    const b = backend();
    const c = ctx(s);
    logs.length = 0;
    const rows = [row(1), row(2), row(3)];

    expect(await b.export(input(rows, [], 0, 'exp-1'), c)).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 3, deletes: 0, detail: `published 3 upserts, 0 deletes to topic ${s.topic}` });
    expect(logs.find((l) => l.event === 'sink.kafka.topic_created')?.fields).toEqual({ topic: s.topic, partitions: 3, replicas: 1 }); // replication factor 3 capped to the one broker
    const admin = new Admin({ clientId: 'kollect-test', bootstrapBrokers: s.brokers });
    try {
      const [d] = await admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: s.topic!, configurationKeys: ['cleanup.policy'] }] });
      expect(d?.configs.find((e) => e.name === 'cleanup.policy')?.value).toBe('compact');
    } finally { await admin.close(); }
    expect(await view(s)).toEqual(expected(rows));

    // update one row
    const changed = row(2, { attributes: { replicas: 9 }, version: 4 });
    await b.export(input([changed], [], 3, 'exp-2'), c);
    expect(await view(s)).toEqual(expected([rows[0]!, changed, rows[2]!]));

    // delete one: a tombstone (no value) with the headers
    expect(await b.export(input([], [tombstone(rows[2]!, 5)], 4, 'exp-3'), c)).toMatchObject({ outcome: 'applied', rowsExported: 1, upserts: 0, deletes: 1 });
    expect(await view(s)).toEqual(expected([rows[0]!, changed]));

    const records = await readRecords(s.brokers, s.topic!);
    expect(records).toHaveLength(5);
    const first = records.find((r) => r.key === recordKey(inventory, rows[0]!))!;
    expect(first.key).toBe('c1/team-a/apps/deployments/uid-1');
    expect(first.headers).toEqual({
      [HEADERS.inventory]: 'team-a/apps', [HEADERS.cluster]: 'c1', [HEADERS.version]: '1', [HEADERS.lineage]: 'lineage-a',
      [HEADERS.eventType]: 'upsert', [HEADERS.exportId]: 'exp-1',
    });
    expect(JSON.parse(first.value!.toString('utf8'))).toEqual({
      type: 'upsert', cluster: 'c1', inventory: { namespace: 'team-a', name: 'apps' }, target: 'deployments', apiVersion: 'apps/v1',
      kind: 'Deployment', namespace: 'default', name: 'web-1', uid: 'uid-1', version: 1, lineage: 'lineage-a', hash: rows[0]!.hash, attributes: { replicas: 1 }, exportId: 'exp-1',
    });
    const tomb = records.filter((r) => r.key === recordKey(inventory, rows[2]!)).at(-1)!;
    expect(tomb.value).toBeUndefined();
    expect(tomb.headers).toMatchObject({ [HEADERS.eventType]: 'delete', [HEADERS.version]: '5', [HEADERS.exportId]: 'exp-3' });
    // every record of one key lands in one partition, so its order holds
    expect(new Set(records.filter((r) => r.key === recordKey(inventory, rows[1]!)).map((r) => r.partition)).size).toBe(1);
  });

  it('re-exporting the same plan publishes again but leaves the folded view as it was', async () => {
    const s = spec();
    const b = backend();
    const rows = Array.from({ length: 20 }, (_, i) => row(i, { version: i + 1 }));
    const gone = tombstone(row(100), 21);
    await b.export(input(rows, [gone], 0, 'exp-r'), ctx(s));
    const before = await view(s);
    await b.export(input(rows, [gone], 0, 'exp-r'), ctx(s));
    expect(await view(s)).toEqual(before);
    expect(before).toEqual(expected(rows));
    // Kafka has no dedupe across producer sessions: the retry is there twice, with the same version headers
    const records = await readRecords(s.brokers, s.topic!);
    expect(records).toHaveLength(42);
    expect(new Set(records.map((r) => `${r.key}@${r.headers[HEADERS.version]}`)).size).toBe(21);
  });

  it('keeps inventories and clusters apart in one topic', async () => {
    const s = spec();
    const b = backend();
    const other = { ...inventory, cluster: 'c2' };
    await b.export(input([row(1), row(2)], [], 0, 'exp-a'), ctx(s));
    await b.export(input([row(1, { attributes: { replicas: 7 } })], [], 0, 'exp-b', other), ctx(s));
    await b.export(input([], [tombstone(row(1), 3)], 2, 'exp-c', other), ctx(s));
    expect(await view(s)).toEqual(expected([row(1), row(2)]));
    expect(await view(s, other)).toEqual(new Map());
  });

  it('uses an existing topic as it is; with create: false a missing topic is a configuration error naming it', async () => {
    const s = spec();
    const err = await failure(backend().export(input([row(1)], [], 0), ctx(s, { create: false })));
    expect(err).toBeInstanceOf(SinkConfigError);
    expect((err as SinkConfigError).field).toBe('spec.kafka.topic');
    expect(err.message).toContain(`topic ${s.topic} does not exist`);
    expect(await topics()).not.toContain(s.topic);

    const admin = new Admin({ clientId: 'kollect-test', bootstrapBrokers: s.brokers });
    try {
      await admin.createTopics({ topics: [s.topic!], partitions: 1, replicas: 1 });
      await waitFor(`topic ${s.topic}`, async () => (await admin.listTopics()).includes(s.topic!), 10_000);
    } finally { await admin.close(); }
    logs.length = 0;
    const b = backend();
    expect((await b.export(input([row(1)], [], 0), ctx(s, { create: false }))).upserts).toBe(1);
    expect(logs.find((l) => l.event === 'sink.kafka.topic_not_compacted')?.fields).toEqual({ topic: s.topic, cleanupPolicy: 'delete' });
    expect(await view(s)).toEqual(expected([row(1)]));
    expect((await b.probe(ctx(s, { create: false }))).detail).toBe(`topic ${s.topic} reachable (1 partition, 1 broker)`);
  });

  it('refuses bad settings as configuration errors naming the field', async () => {
    const cases: [Partial<KafkaSinkSpec>, Partial<SinkContext<KafkaSinkSpec>>, string][] = [
      [{ brokers: ['kafka://bob:s3cretpass@127.0.0.1:9092'] }, {}, 'spec.kafka.brokers'],
      [{ brokers: ['no-port'] }, {}, 'spec.kafka.brokers'],
      [{ brokers: [] }, {}, 'spec.kafka.brokers'],
      [{ topic: 'bad topic' }, {}, 'spec.kafka.topic'],
      [{ partitions: 0 }, {}, 'spec.kafka.partitions'],
      [{ sasl: { mechanism: 'scram-sha-512' } }, {}, 'spec.secretRef'],
    ];
    for (const [over, c, field] of cases) {
      const err = await failure(backend().export(input([row(1)], [], 0), ctx(spec(over), c)));
      expect(err, field).toBeInstanceOf(SinkConfigError);
      expect((err as SinkConfigError).field).toBe(field);
      expect(err.message).not.toContain('s3cretpass');
    }
  });

  it('refuses a broker the endpoint guard does not allow, before connecting', async () => {
    const s = spec();
    const err = await failure(backend().export(input([row(1)], [], 0), ctx(s, { guard: new EndpointGuard({ allow: [], clusterCidrs: [] }) })));
    // the shared path keeps it a SinkConfigError (non-retryable) naming the field
    expect(err).toBeInstanceOf(SinkConfigError);
    expect((err as SinkConfigError).field).toBe('spec.kafka.brokers');
    expect(err.message).toMatch(/resolves to 127\.0\.0\.1 \(loopback\), which sinks may not reach/);
    expect(await topics()).not.toContain(s.topic);
  });

  it('fails retryably within seconds while the broker is down, then the same export succeeds and the folded view is exact', async () => {
    const s = spec();
    const b = backend();
    const c = ctx(s);
    const rows = Array.from({ length: 50 }, (_, i) => row(i, { version: i + 1 }));
    await b.export(input(rows.slice(0, 30), [], 0, 'exp-1'), c);

    await stopService('kafka');
    let down: Error;
    try {
      const t0 = Date.now();
      down = await failure(b.export(input(rows.slice(30), [tombstone(rows[0]!, 51)], 30, 'exp-2'), c));
      console.log(`[bench] kafka broker down: export failed after ${Date.now() - t0} ms`);
      expect(Date.now() - t0).toBeLessThan(20_000);
    } finally { await startService('kafka'); }
    expect(down).toBeInstanceOf(SinkExportError);
    expect(down).not.toBeInstanceOf(SinkConfigError);

    // what the workflow's retries do: the same export again until the broker answers
    let result;
    for (let i = 0; i < 30 && !result; i++) result = await b.export(input(rows.slice(30), [tombstone(rows[0]!, 51)], 30, 'exp-2'), c).catch(async () => { await sleep(1_000); return undefined; });
    expect(result).toMatchObject({ outcome: 'applied', upserts: 20, deletes: 1 });
    expect(await view(s)).toEqual(expected(rows.slice(1)));
  }, 60_000);

  it('exports 10k rows, then a 100-row delta', async () => {
    const s = spec();
    const b = backend();
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { version: i + 1, attributes: { replicas: i % 7, image: `registry.example.com/team/app-${i}:1.2.${i % 50}`, labels: { app: `app-${i}`, tier: 'backend' } } }));
    let t0 = Date.now();
    expect((await b.export(input(rows, [], 0, 'exp-10k'), ctx(s))).upserts).toBe(10_000);
    const fullMs = Date.now() - t0;
    const changed = rows.slice(0, 100).map((r, i) => ({ ...r, attributes: { ...r.attributes, replicas: 100 + i }, version: 10_001 + i }));
    t0 = Date.now();
    await b.export(input(changed, [], 10_000, 'exp-100'), ctx(s));
    const deltaMs = Date.now() - t0;
    console.log(`[bench] kafka 10k full: ${fullMs} ms; 100-row delta: ${deltaMs} ms`);
    const folded = await view(s);
    expect(folded.size).toBe(10_000);
    expect(folded.get('deployments/uid-0')).toBe('10001:100');
    expect(folded.get('deployments/uid-9999')).toBe('10000:3');
  }, 60_000);
});
