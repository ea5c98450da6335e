// The nats sink against the harness's nats-server with JetStream: a stream and subject prefix per
// spec, read back with an ordered consumer from the first message and folded by row key (last
// event wins, a delete removes the key), which is what a consumer of the stream builds.
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsSinkSpec } from '../../../api/types.js';
import type { KollectEvent } from '../../../activities/sinks/event.js';
import { service } from '../../harness/endpoints.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

export const natsFixture: SinkFixture<NatsSinkSpec> = {
  type: 'nats',
  service: 'nats',
  spec: (unique) => {
    const token = unique.replace(/[^A-Za-z0-9_-]/g, '_');
    return { url: service('nats').url, stream: `K_${token}`.slice(0, 200), subjectPrefix: `k_${token}`.slice(0, 200) };
  },
  secret: () => ({}),
  context: (spec, log = () => undefined) => ({ spec, credentials: {}, guard: testGuard, log }),
  async read(spec, inventory) {
    const nc = await connect({ servers: spec.url, timeout: 5_000 });
    const held = new Map<string, HeldRow>();
    try {
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(spec.stream ?? 'KOLLECT').catch(() => undefined);
      if (!info || info.state.messages === 0) return held;
      const consumer = await jetstream(nc).consumers.get(spec.stream ?? 'KOLLECT');
      let seen = 0;
      for await (const m of await consumer.fetch({ max_messages: info.state.messages, expires: 5_000 })) {
        seen++;
        const e = m.json<KollectEvent>();
        if (e.cluster === inventory.cluster && e.inventory.namespace === inventory.namespace && e.inventory.name === inventory.name) {
          const key = `${e.target}/${e.uid}`;
          if (e.type === 'delete') held.delete(key);
          else held.set(key, { attributes: e.attributes ?? {}, hash: e.hash });
        }
        if (seen >= info.state.messages) break;
      }
      return held;
    } finally { await nc.close(); }
  },
};
