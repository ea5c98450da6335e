// Smoke test of the kafka service: a real Apache Kafka (KRaft) reached through `@platformatic/kafka`.
import { randomBytes } from 'node:crypto';
import { Admin, Consumer, Producer, ProduceAcks, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { describe, it, expect, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';
import { waitFor } from '../harness/util.js';

describe('kafka service', () => {
  const suffix = randomBytes(4).toString('hex');
  const topic = `kollect-smoke-${suffix}`;
  let admin: Admin | undefined;
  let created = false;

  // Connecting inside the test (not in beforeAll) makes an unreachable broker a failed test, not a skipped one.
  afterAll(async () => {
    if (!admin) return;
    try { if (created) await admin.deleteTopics({ topics: [topic] }); } finally { await admin.close(); }
  });

  it('creates a topic, produces a keyed message and consumes it from the beginning with a fresh group', async () => {
    const brokers = service('kafka').brokers;
    admin = new Admin({ clientId: `smoke-${suffix}`, bootstrapBrokers: brokers, connectTimeout: 5_000, retries: 3 });
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    created = true;
    // a broker learns of the new topic a moment after the controller created it
    await waitFor(`topic ${topic}`, async () => (await admin!.listTopics()).includes(topic), 10_000);

    const producer = new Producer({ clientId: `smoke-${suffix}`, bootstrapBrokers: brokers, idempotent: true, acks: ProduceAcks.ALL, retries: 3, serializers: stringSerializers });
    try {
      const result = await producer.send({
        messages: [{ topic, key: 'ns/web', value: JSON.stringify({ kind: 'Deployment', replicas: 3 }), headers: { 'kollect-kind': 'Deployment', 'kollect-uid': 'u-1' } }],
      });
      expect(result.offsets).toEqual([{ topic, partition: 0, offset: 0n }]);
    } finally { await producer.close(); }

    const consumer = new Consumer({ clientId: `smoke-${suffix}`, groupId: `smoke-${suffix}`, bootstrapBrokers: brokers, deserializers: stringDeserializers });
    let received;
    try {
      const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
      const timer = setTimeout(() => { stream.destroy(new Error(`no message consumed from ${topic} within 30 s`)); }, 30_000);
      try {
        for await (const m of stream) { received = m; break; }
      } finally {
        clearTimeout(timer);
        await new Promise<void>((resolve) => { stream.close(() => resolve()); });
      }
    } finally { await new Promise<void>((resolve) => { consumer.close(true, () => resolve()); }); }

    expect(received?.key).toBe('ns/web');
    expect(JSON.parse(received?.value ?? 'null')).toEqual({ kind: 'Deployment', replicas: 3 });
    expect(received?.headers.get('kollect-kind')).toBe('Deployment');
    expect(received?.headers.get('kollect-uid')).toBe('u-1');
    expect(received?.offset).toBe(0n);

    await admin.deleteTopics({ topics: [topic] });
    created = false;
    await waitFor(`topic ${topic} gone`, async () => !(await admin!.listTopics()).includes(topic), 10_000);
  });
});
