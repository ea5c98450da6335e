// Smoke test of the nats service: a real nats-server with JetStream, reached through `nats` (v2).
import { randomBytes } from 'node:crypto';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { describe, it, expect, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

describe('nats service (JetStream)', () => {
  const suffix = randomBytes(4).toString('hex');
  const stream = `SMOKE_${suffix}`;
  const subject = `kollect.smoke.${suffix}.inventory`;
  let nc: NatsConnection | undefined;
  let jsm: JetStreamManager | undefined;

  // Connecting inside the test (not in beforeAll) makes an unreachable server a failed test, not a skipped one.
  afterAll(async () => {
    if (!nc) return;
    try { if (jsm) await jsm.streams.delete(stream).catch(() => false); } finally { await nc.close(); }
  });

  it('dedupes a re-published msgID and delivers the message with its headers to a consumer', async () => {
    nc = await connect({ servers: service('nats').url, timeout: 5_000, maxReconnectAttempts: 0 });
    jsm = await jetstreamManager(nc);
    const info = await jsm.streams.add({ name: stream, subjects: [subject], duplicate_window: 60_000_000_000 /* 60 s in ns */ });
    expect(info.config.name).toBe(stream);

    const js = jetstream(nc);
    const h = headers();
    h.set('Kollect-Kind', 'Deployment');
    h.set('Kollect-Uid', 'u-1');
    const body = JSON.stringify({ name: 'web', replicas: 3 });
    const data = new TextEncoder().encode(body);

    const pa1 = await js.publish(subject, data, { msgID: `u-1@1-${suffix}`, headers: h });
    expect(pa1.stream).toBe(stream);
    expect(pa1.duplicate).toBe(false);
    const pa2 = await js.publish(subject, data, { msgID: `u-1@1-${suffix}`, headers: h });
    expect(pa2.duplicate).toBe(true);
    expect(pa2.seq).toBe(pa1.seq);
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);

    const durable = `smoke-${suffix}`;
    await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get(stream, durable);
    const msg = await consumer.next({ expires: 5_000 });
    expect(msg, 'consumer must receive the published message').not.toBeNull();
    expect(msg!.subject).toBe(subject);
    expect(msg!.seq).toBe(pa1.seq);
    expect(msg!.string()).toBe(body);
    expect(msg!.json()).toEqual({ name: 'web', replicas: 3 });
    expect(msg!.headers?.get('Kollect-Kind')).toBe('Deployment');
    expect(msg!.headers?.get('Kollect-Uid')).toBe('u-1');
    expect(msg!.headers?.get('Nats-Msg-Id')).toBe(`u-1@1-${suffix}`);
    await msg!.ackAck();
    expect((await consumer.info()).num_ack_pending).toBe(0);
    // nothing else in the stream: the duplicate was not stored
    expect(await consumer.next({ expires: 1_000 })).toBeNull();
  });
});
