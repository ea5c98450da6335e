// The kafka sink against the harness's Kafka: a topic per test, read back with a fresh consumer
// from the beginning and folded by key (last record wins, a tombstone removes the key), which is
// what a compacted topic converges to.
import { Admin, Consumer, stringDeserializer } from '@platformatic/kafka';
import type { KafkaSinkSpec } from '../../../api/types.js';
import { keyPrefix } from '../../../activities/sinks/kafka.js';
import type { KollectEvent } from '../../../activities/sinks/event.js';
import type { InventoryIdentity } from '../../../activities/sinks/types.js';
import { service } from '../../harness/endpoints.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

/** One record as stored: `value` undefined for a tombstone. */
export interface KafkaRecord { key: string; value?: Buffer; headers: Record<string, string>; partition: number; offset: bigint }

/** Every record of the topic, each partition in offset order (partitions one after another). */
export async function readRecords(brokers: string[], topic: string, timeoutMs = 30_000): Promise<KafkaRecord[]> {
  const consumer = new Consumer<string, Buffer, string, string>({
    clientId: 'kollect-test-read', groupId: `read-${Date.now()}-${Math.random().toString(16).slice(2)}`, bootstrapBrokers: brokers,
    deserializers: { key: stringDeserializer, value: (b?: Buffer) => b, headerKey: stringDeserializer, headerValue: stringDeserializer },
  });
  try {
    const ends = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    // A partition is read when its last offset (high watermark - 1) has come by.
    const pending = new Map(ends.map((high, partition) => [partition, high - 1n]).filter(([, last]) => (last as bigint) >= 0n) as [number, bigint][]);
    const out: KafkaRecord[] = [];
    if (pending.size === 0) return out;
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 200 });
    const timer = setTimeout(() => { stream.destroy(new Error(`reading ${topic}: not done within ${timeoutMs} ms (${pending.size} partitions left)`)); }, timeoutMs);
    try {
      for await (const m of stream) {
        out.push({ key: m.key, value: m.value ?? undefined, headers: Object.fromEntries(m.headers), partition: m.partition, offset: m.offset });
        if (pending.get(m.partition) === m.offset) pending.delete(m.partition);
        if (pending.size === 0) break;
      }
    } finally {
      clearTimeout(timer);
      await new Promise<void>((resolve) => { stream.close(() => resolve()); });
    }
    return out.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
  } finally { await new Promise<void>((resolve) => { consumer.close(true, () => resolve()); }); }
}

/** The records of one inventory folded by key: `target/uid` → the last upsert's event (tombstones remove). */
export function fold(records: readonly KafkaRecord[], inventory: InventoryIdentity): Map<string, KollectEvent> {
  const prefix = keyPrefix(inventory);
  const out = new Map<string, KollectEvent>();
  for (const r of records) {
    if (!r.key.startsWith(prefix)) continue;
    const key = r.key.slice(prefix.length);
    if (r.value === undefined) out.delete(key);
    else out.set(key, JSON.parse(r.value.toString('utf8')) as KollectEvent);
  }
  return out;
}

export const kafkaFixture: SinkFixture<KafkaSinkSpec> = {
  type: 'kafka',
  service: 'kafka',
  spec: (unique) => ({ brokers: service('kafka').brokers, topic: `kollect-test.${unique}`, partitions: 3 }),
  secret: () => ({}),
  context: (spec, log) => ({ spec, credentials: {}, log: log ?? (() => undefined), guard: testGuard }),
  async read(spec, inventory) {
    const held = new Map<string, HeldRow>();
    for (const [k, e] of fold(await readRecords(spec.brokers, spec.topic ?? 'kollect.rows'), inventory)) held.set(k, { attributes: e.attributes ?? {}, hash: e.hash });
    return held;
  },
  async cleanup(spec) {
    const admin = new Admin({ clientId: 'kollect-test-cleanup', bootstrapBrokers: spec.brokers });
    try { await admin.deleteTopics({ topics: [spec.topic ?? 'kollect.rows'] }); } catch { /* best effort */ } finally { await admin.close(); }
  },
};
