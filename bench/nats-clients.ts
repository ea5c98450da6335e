// `npx tsx bench/nats-clients.ts`: the nats 2.x client beside the @nats-io v3 modules
// (@nats-io/transport-node + @nats-io/jetstream) on the harness's nats-server with JetStream, for
// docs/decisions/0016-nats-client.md.
//
// For each client that is installed (a missing one is reported, not fatal): N messages the size
// of a Kollect event (~700 bytes of JSON, a Nats-Msg-Id and a Kollect-Event-Type header) to a
// fresh file-storage stream, published the way activities/sinks/nats.ts publishes: 256 in flight,
// then their acks awaited. Median of --runs runs after one warm-up run, each to its own stream;
// then the same N messages again to check that every one comes back as a duplicate.
// Prints a table and writes bench-results/nats-clients.json.
//
// Options: --messages=N (default 10000)  --runs=R (default 5)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startHarness } from '../test/harness/harness.js';
import { service } from '../test/harness/endpoints.js';
import { root } from '../test/support/process.js';

const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const N = Number(arg('messages', '10000'));
const RUNS = Number(arg('runs', '5'));
const WINDOW = 256;
const say = (s: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const installedVersion = (pkg: string): string => (JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** A module that may not be installed, by a name TypeScript does not resolve. */
const optional = async <T>(name: string): Promise<T> => (await import(name)) as T;

interface Msg { subject: string; data: string; id: string }

/** One client: connect, make a stream, publish with acks (returning how many were duplicates), close. */
interface Client {
  name: string;
  version: string;
  connect(url: string): Promise<{
    addStream(name: string, subject: string): Promise<void>;
    publish(msgs: Msg[]): Promise<number>;
    close(): Promise<void>;
  }>;
}

function message(i: number, prefix: string): Msg {
  const event = {
    type: 'upsert', cluster: 'prod-eu-1', inventory: { namespace: 'platform', name: 'workloads' }, target: 'deployments',
    apiVersion: 'apps/v1', kind: 'Deployment', namespace: `team-${i % 40}`, name: `service-${i}`, uid: `uid-${i}`, version: i + 1, lineage: 'lin-4f1c9a',
    hash: 'a3f5c2e1b4d6a7f8e9c0b1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2',
    attributes: { replicas: 3, image: `registry.example.com/team-${i % 40}/service-${i}:1.24.${i % 100}`, labels: { app: `service-${i}`, tier: 'backend', team: `team-${i % 40}` }, ready: true, conditions: ['Available', 'Progressing'], created: '2026-01-12T09:30:00Z' },
    exportId: 'exp-0001',
  };
  return { subject: `${prefix}.prod-eu-1.platform.workloads.upsert`, data: JSON.stringify(event), id: `prod-eu-1/platform/workloads/deployments/uid-${i}/lin-4f1c9a/${i + 1}` };
}

/** Publishes in windows of WINDOW, awaiting each window's acks, as the sink does. */
async function windowed<A extends { duplicate: boolean }>(msgs: Msg[], publish: (m: Msg) => Promise<A>): Promise<number> {
  let duplicates = 0;
  for (let i = 0; i < msgs.length; i += WINDOW) {
    for (const ack of await Promise.all(msgs.slice(i, i + WINDOW).map(publish))) if (ack.duplicate) duplicates++;
  }
  return duplicates;
}

/** The parts of the nats 2.x module the bench uses (no longer a dependency: install it to compare). */
interface NatsV2 {
  connect: (o: { servers: string; timeout: number }) => Promise<{
    jetstream(o: { timeout: number }): { publish(s: string, d: string, o: unknown): Promise<{ duplicate: boolean }> };
    jetstreamManager(): Promise<{ streams: { add(c: unknown): Promise<unknown> } }>;
    close(): Promise<void>;
  }>;
  headers: () => { set(k: string, v: string): void };
  StorageType: { File: string };
}

async function natsV2(): Promise<Client> {
  const { connect, headers, StorageType } = await optional<NatsV2>('nats');
  return {
    name: 'nats', version: installedVersion('nats'),
    async connect(url) {
      const nc = await connect({ servers: url, timeout: 5_000 });
      const js = nc.jetstream({ timeout: 5_000 });
      return {
        async addStream(name, subject) { await (await nc.jetstreamManager()).streams.add({ name, subjects: [subject], storage: StorageType.File }); },
        publish: (msgs) => windowed(msgs, (m) => {
          const h = headers();
          h.set('Kollect-Event-Type', 'upsert');
          return js.publish(m.subject, m.data, { msgID: m.id, headers: h });
        }),
        close: () => nc.close(),
      };
    },
  };
}

async function natsV3(): Promise<Client> {
  const { connect, headers } = await optional<Pick<NatsV2, 'connect' | 'headers'>>('@nats-io/transport-node');
  const { jetstream, jetstreamManager, StorageType } = await optional<{
    jetstream: (nc: unknown, o?: unknown) => { publish(s: string, d: string, o: unknown): Promise<{ duplicate: boolean }> };
    jetstreamManager: (nc: unknown) => Promise<{ streams: { add(c: unknown): Promise<unknown> } }>;
    StorageType: { File: string };
  }>('@nats-io/jetstream');
  return {
    name: '@nats-io/transport-node + @nats-io/jetstream', version: `${installedVersion('@nats-io/transport-node')} / ${installedVersion('@nats-io/jetstream')}`,
    async connect(url) {
      const nc = await connect({ servers: url, timeout: 5_000 });
      const js = jetstream(nc, { timeout: 5_000 });
      return {
        async addStream(name, subject) { await (await jetstreamManager(nc)).streams.add({ name, subjects: [subject], storage: StorageType.File }); },
        publish: (msgs) => windowed(msgs, (m) => {
          const h = headers();
          h.set('Kollect-Event-Type', 'upsert');
          return js.publish(m.subject, m.data, { msgID: m.id, headers: h });
        }),
        close: () => nc.close(),
      };
    },
  };
}

const h = await startHarness({ only: ['nats'] });
const results: Record<string, unknown>[] = [];
let seq = 0;
try {
  const url = service('nats').url;
  for (const load of [natsV2, natsV3]) {
    let c: Client;
    try { c = await load(); } catch (err) {
      results.push({ client: load.name, installed: false, error: (err as Error).message.split('\n')[0] });
      say(`${load.name}: not installed`);
      continue;
    }
    const conn = await c.connect(url);
    const runsMs: number[] = [];
    let replayDuplicates = 0;
    let replayMs = 0;
    try {
      for (let r = 0; r <= RUNS; r++) {
        const prefix = `bench${seq++}`;
        await conn.addStream(`BENCH_${prefix}`, `${prefix}.>`);
        const msgs = Array.from({ length: N }, (_, i) => message(i, prefix));
        const t0 = performance.now();
        const dup = await conn.publish(msgs);
        if (dup !== 0) throw new Error(`${c.name}: ${dup} duplicates on a fresh stream`);
        if (r > 0) runsMs.push(Math.round(performance.now() - t0)); // run 0 warms up
        if (r === RUNS) {
          const t1 = performance.now();
          replayDuplicates = await conn.publish(msgs);
          replayMs = Math.round(performance.now() - t1);
        }
      }
    } finally { await conn.close(); }
    const medianMs = [...runsMs].sort((a, b) => a - b)[Math.floor(runsMs.length / 2)]!;
    const row = { client: c.name, version: c.version, installed: true, node: process.version, messages: N, window: WINDOW, medianMs, msgsPerSec: Math.round(N / (medianMs / 1000)), runsMs, replayMs, replayDuplicates };
    say(JSON.stringify(row));
    results.push(row);
  }
} finally { await h.stop(); }

const out = path.join(root, 'bench-results', 'nats-clients.json');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), server: h.services.find((s) => s.name === 'nats')?.version, results }, null, 2));
process.stdout.write(`\n${'client'.padEnd(48)}${'msgs/s'.padStart(10)}${`${N} ms`.padStart(10)}${'replay ms'.padStart(11)}  duplicates on replay\n`);
for (const r of results as { client: string; msgsPerSec?: number; medianMs?: number; replayMs?: number; replayDuplicates?: number; error?: string }[]) {
  process.stdout.write(`${r.client.padEnd(48)}${String(r.msgsPerSec ?? '-').padStart(10)}${String(r.medianMs ?? '-').padStart(10)}${String(r.replayMs ?? '-').padStart(11)}  ${String(r.replayDuplicates ?? r.error)}\n`);
}
process.stdout.write(`\nwritten to ${out}\n`);
process.exit(0);
