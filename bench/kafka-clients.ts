// `npx tsx bench/kafka-clients.ts`: the Kafka clients Kollect could use, side by side on the
// harness's Kafka (KRaft, one node), for docs/decisions/0015-kafka-client.md.
//
// For each client that is installed (kafkajs, @platformatic/kafka, @confluentinc/kafka-javascript;
// a missing one is reported, not fatal — `npm install --no-save kafkajs@2.2.4` brings back the old
// one for a comparison run):
//   1. throughput: N Kollect-sized keyed messages (a KollectEvent JSON body of ~700 bytes, the
//      six kollect-* headers) to a 6-partition compacted topic, idempotent producer,
//      acks=all, in sequential pages of --page messages (how the sink sends a page of rows). 
//      Median of --runs runs after one warm-up run, all to one topic.
//   2. broker restart mid-export: the same N messages in pages of 250 with the sink's bounded
//      timeouts and retries; after page 10 the broker is stopped through the harness and started
//      again 5 s after it is down. Every send has a 60 s watchdog (a hang is reported as such); a
//      failed page is sent again (what a retried export does) until it succeeds. Reported: when
//      the first error came after the stop, what it said, the longest page, pages re-sent, and
//      what the topic then holds (records, distinct messages, duplicates, missing).
// Prints a table and writes bench-results/kafka-clients.json.
//
// Options: --messages=N (default 10000)  --page=P (default 500)  --runs=R (default 3)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Admin, Consumer, stringDeserializers } from '@platformatic/kafka';
import { startHarness } from '../test/harness/harness.js';
import { service, startService, stopService } from '../test/harness/endpoints.js';
import { root } from '../test/support/process.js';
import { sleep } from '../test/harness/util.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = Number(arg('messages', '10000'));
const PAGE = Number(arg('page', '500'));
const RUNS = Number(arg('runs', '3'));
const say = (s: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);

const installedVersion = (pkg: string): string => (JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** The message of an error and of the errors it aggregates or wraps (the clients nest them). */
function describe(err: Error): string {
  const inner: unknown = ((err as AggregateError).errors as unknown[] | undefined)?.[0] ?? err.cause;
  return `${err.name}: ${err.message}${inner instanceof Error ? ` <- ${describe(inner)}` : ''}`;
}

interface Msg { key: string; value: string; headers: Record<string, string> }

/** One client behind the three things the bench does with it. */
interface Client {
  name: string;
  version: string;
  /** An idempotent acks=all producer; `bounded` uses the sink's short timeouts and few retries. */
  producer(brokers: string[], bounded: boolean): Promise<{ send(topic: string, msgs: Msg[]): Promise<void>; close(): Promise<void> }>;
}

/** A row as the sink publishes it: the KollectEvent body and headers, keyed by row identity. */
function message(i: number): Msg {
  const uid = `8d3f${String(i).padStart(8, '0')}-5a1c-4c1e-9a57-0b8e7c2d1f00`;
  const event = {
    type: 'upsert', cluster: 'prod-eu-1', inventory: { namespace: 'platform', name: 'workloads' }, target: 'deployments',
    apiVersion: 'apps/v1', kind: 'Deployment', namespace: `team-${i % 40}`, name: `service-${i}`, uid, version: i + 1, lineage: 'lin-4f1c9a',
    hash: 'a3f5c2e1b4d6a7f8e9c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2',
    attributes: { replicas: 3, image: `registry.example.com/team-${i % 40}/service-${i}:1.24.${i % 100}`, labels: { app: `service-${i}`, tier: 'backend', team: `team-${i % 40}` }, ready: true, conditions: ['Available', 'Progressing'], created: '2026-01-12T09:30:00Z' },
    exportId: 'exp-0001',
  };
  return {
    key: `prod-eu-1/platform/workloads/deployments/${uid}`, value: JSON.stringify(event),
    headers: { 'kollect-inventory': 'platform/workloads', 'kollect-cluster': 'prod-eu-1', 'kollect-version': String(i + 1), 'kollect-lineage': 'lin-4f1c9a', 'kollect-event-type': 'upsert', 'kollect-export-id': 'exp-0001' },
  };
}

/** What the bench uses of kafkajs (typed here: it is no longer a dependency). */
interface Kafkajs {
  Kafka: new (config: Record<string, unknown>) => { producer(config: Record<string, unknown>): { connect(): Promise<void>; send(record: Record<string, unknown>): Promise<unknown>; disconnect(): Promise<void> } };
  logLevel: { NOTHING: number };
}

/** A module that may not be installed, by a name TypeScript does not resolve. */
const optional = async <T>(name: string): Promise<T> => (await import(name)) as T;

async function kafkajsClient(): Promise<Client> {
  const { Kafka, logLevel } = (await optional<{ default: Kafkajs }>('kafkajs')).default;
  return {
    name: 'kafkajs', version: installedVersion('kafkajs'),
    async producer(brokers, bounded) {
      const kafka = new Kafka({
        clientId: 'bench', brokers, logLevel: logLevel.NOTHING,
        ...(bounded ? { connectionTimeout: 3_000, requestTimeout: 5_000, retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2_000 } } : {}),
      });
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, ...(bounded ? { retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2_000 } } : {}) });
      await p.connect();
      return {
        async send(topic, msgs) { await p.send({ topic, acks: -1, messages: msgs.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) }); },
        close: () => p.disconnect(),
      };
    },
  };
}

async function platformaticClient(): Promise<Client> {
  const { Producer, ProduceAcks, stringSerializers } = await import('@platformatic/kafka');
  return {
    name: '@platformatic/kafka', version: installedVersion('@platformatic/kafka'),
    producer(brokers, bounded) {
      const p = new Producer({
        clientId: 'bench', bootstrapBrokers: brokers, idempotent: true, acks: ProduceAcks.ALL, serializers: stringSerializers,
        ...(bounded ? { connectTimeout: 3_000, requestTimeout: 5_000, timeout: 5_000, retries: 3, retryDelay: 500 } : {}),
      });
      return Promise.resolve({
        async send(topic, msgs) { await p.send({ messages: msgs.map((m) => ({ topic, key: m.key, value: m.value, headers: m.headers })) }); },
        close: () => p.close(),
      });
    },
  };
}

// What `npm install @confluentinc/kafka-javascript@1.10.1` does on linux-x64, Node 20.20 and 24.22.
const CONFLUENT_INSTALL = 'install script (node-pre-gyp) downloads the prebuilt binding from github.com releases (node-v115 / node-v137 linux-glibc-x64 tarballs), then falls back to building librdkafka, which downloads zlib and OpenSSL sources: the npm tarball ships no binary, so it does not install without that download';

async function confluentClient(): Promise<Client> {
  const mod = await optional<{ KafkaJS: { Kafka: new (c: unknown) => { producer(c: unknown): { connect(): Promise<void>; send(a: unknown): Promise<void>; disconnect(): Promise<void> } } } }>('@confluentinc/kafka-javascript');
  return {
    name: '@confluentinc/kafka-javascript', version: 'installed',
    async producer(brokers, bounded) {
      const kafka = new mod.KafkaJS.Kafka({ kafkaJS: { brokers, clientId: 'bench' } });
      const p = kafka.producer({ kafkaJS: { idempotent: true, acks: -1 }, ...(bounded ? { 'message.timeout.ms': 15_000, 'socket.timeout.ms': 5_000 } : {}) });
      await p.connect();
      return {
        async send(topic, msgs) { await p.send({ topic, messages: msgs.map((m) => ({ key: m.key, value: m.value, headers: m.headers })) }); },
        close: () => p.disconnect(),
      };
    },
  };
}

let topicSeq = 0;
async function freshTopic(admin: Admin, label: string): Promise<string> {
  const topic = `bench.${label.replace(/[^a-z0-9]+/gi, '-')}.${Date.now()}.${topicSeq++}`;
  await admin.createTopics({ topics: [topic], partitions: 6, replicas: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] });
  return topic;
}

/** Records in the topic, and how many distinct messages (by kollect-version) they hold. */
async function census(brokers: string[], topic: string): Promise<{ records: number; distinct: number }> {
  const consumer = new Consumer({ clientId: 'bench-census', groupId: `census-${Date.now()}-${topicSeq++}`, bootstrapBrokers: brokers, deserializers: stringDeserializers });
  try {
    const ends = await consumer.listOffsets({ topics: [topic] });
    const high = ends.get(topic) ?? [];
    const records = high.reduce((a, b) => a + Number(b), 0);
    const seen = new Set<string>();
    let read = 0;
    if (records > 0) {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
      for await (const m of stream) {
        seen.add(String(m.headers.get('kollect-version')));
        if (++read >= records) break;
      }
      await stream.close();
    }
    return { records, distinct: seen.size };
  } finally { await new Promise<void>((resolve) => { consumer.close(true, () => resolve()); }); }
}

async function throughput(c: Client, admin: Admin, brokers: string[]): Promise<{ medianMs: number; bestMs: number; msgsPerSec: number; runsMs: number[] }> {
  const msgs = Array.from({ length: N }, (_, i) => message(i));
  const p = await c.producer(brokers, false);
  const runsMs: number[] = [];
  // One topic for every run: run 0 warms up connections, metadata and the partitions' leaders.
  const topic = await freshTopic(admin, c.name);
  try {
    for (let r = 0; r <= RUNS; r++) {
      const t0 = performance.now();
      for (let i = 0; i < N; i += PAGE) await p.send(topic, msgs.slice(i, i + PAGE));
      if (r > 0) runsMs.push(Math.round(performance.now() - t0));
    }
  } finally { await p.close(); }
  const { records } = await census(brokers, topic);
  if (records !== N * (RUNS + 1)) throw new Error(`${c.name}: topic holds ${records} records, expected ${N * (RUNS + 1)}`);
  const sorted = [...runsMs].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)]!;
  return { medianMs, bestMs: sorted[0]!, msgsPerSec: Math.round(N / (medianMs / 1000)), runsMs };
}

interface RestartResult {
  firstErrorAfterStopMs?: number;
  firstError?: string;
  errors: number;
  hangs: number;
  longestPageMs: number;
  pagesResent: number;
  totalMs: number;
  records: number;
  distinct: number;
  duplicates: number;
  missing: number;
  note: string;
}

/** A send that reports a hang after 60 s instead of waiting forever. */
async function watched(p: Promise<void>): Promise<'ok' | 'hang'> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), 60_000); });
  try { return await Promise.race([p.then(() => 'ok' as const), hang]); } finally { clearTimeout(timer); }
}

async function restart(c: Client, admin: Admin, brokers: string[]): Promise<RestartResult> {
  const topic = await freshTopic(admin, `${c.name}-restart`);
  const msgs = Array.from({ length: N }, (_, i) => message(i));
  const p = await c.producer(brokers, true);
  const page = 250;
  let stoppedAt: number | undefined;
  let outage: Promise<void> | undefined;
  const r: RestartResult = { errors: 0, hangs: 0, longestPageMs: 0, pagesResent: 0, totalMs: 0, records: 0, distinct: 0, duplicates: 0, missing: 0, note: '' };
  const t0 = performance.now();
  try {
    for (let i = 0, n = 0; i < N; i += page, n++) {
      if (n === 10) {
        outage = (async () => {
          await stopService('kafka');
          stoppedAt = performance.now();
          say(`${c.name}: broker stopped`);
          await sleep(5_000);
          await startService('kafka');
          say(`${c.name}: broker started again (${Math.round(performance.now() - stoppedAt)} ms after the stop)`);
        })();
      }
      for (let attempt = 0; ; attempt++) {
        const s = performance.now();
        const sent = p.send(topic, msgs.slice(i, i + page));
        let outcome: 'ok' | 'hang' | Error;
        try { outcome = await watched(sent); } catch (err) { outcome = err as Error; }
        r.longestPageMs = Math.max(r.longestPageMs, Math.round(performance.now() - s));
        if (outcome === 'ok') break;
        if (outcome === 'hang') { r.hangs++; sent.catch(() => undefined); } else {
          r.errors++;
          if (r.firstError === undefined) {
            r.firstError = describe(outcome).slice(0, 400);
            if (stoppedAt !== undefined) r.firstErrorAfterStopMs = Math.round(performance.now() - stoppedAt);
          }
        }
        if (attempt === 0) r.pagesResent++;
        if (performance.now() - t0 > 240_000) throw new Error('gave up after 240 s');
        await sleep(500);
      }
    }
  } finally {
    await outage;
    r.totalMs = Math.round(performance.now() - t0);
    await Promise.race([p.close(), sleep(10_000)]);
  }
  const { records, distinct } = await census(brokers, topic);
  Object.assign(r, { records, distinct, duplicates: records - distinct, missing: N - distinct });
  r.note = r.hangs ? 'a send hung (no answer within 60 s)' : r.errors ? 'sends failed while the broker was down, then the same producer recovered' : 'the client retried through the outage without surfacing an error';
  return r;
}

const h = await startHarness({ only: ['kafka'] });
const results: Record<string, unknown>[] = [];
try {
  const brokers = service('kafka').brokers;
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers });
  for (const load of [kafkajsClient, platformaticClient, confluentClient]) {
    let c: Client;
    try { c = await load(); } catch (err) {
      results.push({ client: load.name.replace(/Client$/, ''), installed: false, error: (err as Error).message.split('\n')[0], ...(load === confluentClient ? { why: CONFLUENT_INSTALL } : {}) });
      say(`${load.name}: not installed (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    say(`${c.name} ${c.version}: throughput`);
    const t = await throughput(c, admin, brokers);
    say(`${c.name}: ${N} messages in ${t.medianMs} ms median (${t.msgsPerSec}/s); runs ${t.runsMs.join(', ')} ms`);
    say(`${c.name}: broker restart mid-export`);
    const rs = await restart(c, admin, brokers).catch((err: unknown) => ({ failed: (err as Error).message }));
    say(`${c.name}: ${JSON.stringify(rs)}`);
    results.push({ client: c.name, version: c.version, installed: true, node: process.version, messages: N, page: PAGE, ...t, restart: rs });
  }
  await admin.close();
} finally { await h.stop(); }

const out = path.join(root, 'bench-results', 'kafka-clients.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), kafka: h.services.find((s) => s.name === 'kafka')?.version, results }, null, 2));
process.stdout.write(`\n${'client'.padEnd(32)}${'msgs/s'.padStart(10)}${`${N} ms`.padStart(10)}  restart\n`);
for (const r of results) {
  const rs = r.restart as RestartResult | { failed: string } | undefined;
  const restartText = !rs ? String(r.error) : 'failed' in rs ? `failed: ${rs.failed}` : `first error ${rs.firstErrorAfterStopMs ?? '-'} ms after stop, ${rs.errors} errors, ${rs.hangs} hangs, longest page ${rs.longestPageMs} ms, ${rs.duplicates} dup, ${rs.missing} missing`;
  process.stdout.write(`${String(r.client).padEnd(32)}${String(r.msgsPerSec as number | undefined ?? '-').padStart(10)}${String(r.medianMs as number | undefined ?? '-').padStart(10)}  ${restartText}\n`);
}
process.stdout.write(`\nwritten to ${out}\n`);
process.exit(0);
