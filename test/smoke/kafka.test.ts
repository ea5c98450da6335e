// Smoke test of the kafka service: a real Apache Kafka (KRaft) reached through `kafkajs`.
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type KafkaMessage } from 'kafkajs';
import { describe, it, expect, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

describe('kafka service', () => {
  const suffix = randomBytes(4).toString('hex');
  const topic = `kollect-smoke-${suffix}`;
  let admin: Admin | undefined;
  let created = false;

  // Connecting inside the test (not in beforeAll) makes an unreachable broker a failed test, not a skipped one.
  afterAll(async () => {
    if (!admin) return;
    try { if (created) await admin.deleteTopics({ topics: [topic], timeout: 10_000 }); } finally { await admin.disconnect(); }
  });

  it('creates a topic, produces a keyed message and consumes it from the beginning with a fresh group', async () => {
    const kafka = new Kafka({ clientId: `smoke-${suffix}`, brokers: service('kafka').brokers, logLevel: logLevel.ERROR, connectionTimeout: 5_000, retry: { retries: 3 } });
    admin = kafka.admin();
    await admin.connect();
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
    created = true;
    expect(await admin.listTopics()).toContain(topic);

    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const [meta] = await producer.send({
        topic, acks: -1,
        messages: [{ key: 'ns/web', value: JSON.stringify({ kind: 'Deployment', replicas: 3 }), headers: { 'kollect-kind': 'Deployment', 'kollect-uid': 'u-1' } }],
      });
      expect(meta?.errorCode).toBe(0);
    } finally { await producer.disconnect(); }

    const consumer = kafka.consumer({ groupId: `smoke-${suffix}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    await consumer.connect();
    let received: KafkaMessage;
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      received = await new Promise<KafkaMessage>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message consumed from ${topic} within 30 s`)), 30_000);
        consumer.run({ eachMessage: ({ message }) => { clearTimeout(timer); resolve(message); return Promise.resolve(); } }).catch(reject);
      });
    } finally { await consumer.disconnect(); }

    expect(received.key?.toString()).toBe('ns/web');
    expect(JSON.parse(received.value?.toString() ?? 'null')).toEqual({ kind: 'Deployment', replicas: 3 });
    expect(received.headers?.['kollect-kind']?.toString()).toBe('Deployment');
    expect(received.headers?.['kollect-uid']?.toString()).toBe('u-1');
    expect(received.offset).toBe('0');

    await admin.deleteTopics({ topics: [topic], timeout: 10_000 });
    created = false;
    expect(await admin.listTopics()).not.toContain(topic);
  });
});
