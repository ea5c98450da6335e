// Kafka event sink (KollectEventSink, type kafka): one record per changed row, keyed by the row's
// identity, so a compacted topic converges to the inventory (an upsert's record holds the event,
// a delete's record is a tombstone). Idempotent producer, acks=all: a record the client retries
// internally is written once, in order per partition and so per key. Kafka has no dedupe across
// producer sessions: a retried export publishes its records again (see docs/sinks/kafka.md).
// Client: @platformatic/kafka (docs/decisions/0015-kafka-client.md).
import { createHash } from 'node:crypto';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import {
  Admin, Producer, ProduceAcks, SASLMechanisms, stringSerializer,
  type Broker, type ClusterMetadata, type MessageToProduce, type SASLMechanismValue,
} from '@platformatic/kafka';
import type { KafkaSinkSpec } from '../../api/types.js';
import type { Tombstone, VersionedRow } from '../../api/rows.js';
import { encodeEvent, renderEvent, toEvent, type EventType } from './event.js';
import { defaultEndpointGuard, type EndpointGuard } from './endpoints.js';
import { SinkConfigError, type ExportInput, type ExportReply, type InventoryIdentity, type ProbeResult, type SinkBackend, type SinkContext } from './types.js';
import type { SinkDescriptor } from './descriptor.js';

export interface KafkaBackendOptions {
  /** TCP (and TLS) connect timeout (default 5 s). */
  connectTimeoutMs?: number;
  /** Wait for one broker response at most this long (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * Retries of one request inside the client (default 3, 500 ms apart). Bounded, so a broker that
   * is down fails the export within seconds; the workflow retries the export.
   */
  retries?: number;
  /** One produce call (a batch, with the client's retries) fails after this long whatever happens (default 30 s). */
  sendTimeoutMs?: number;
  /** Records per produce call (default 500). */
  batch?: number;
  /** Bytes of record values per produce call (default 900 kB, under the brokers' default 1 MB batch limit). */
  batchBytes?: number;
  /** An event larger than this goes without its attributes (default 900 kB). */
  maxEventBytes?: number;
}

export const DEFAULT_TOPIC = 'kollect.rows';
const FIELD_BROKERS = 'spec.kafka.brokers';

/** Header names of every record; values are UTF-8 strings. */
export const HEADERS = {
  inventory: 'kollect-inventory', cluster: 'kollect-cluster', version: 'kollect-version',
  lineage: 'kollect-lineage', eventType: 'kollect-event-type', exportId: 'kollect-export-id',
} as const;

/** `<cluster>/<inventory namespace>/<inventory name>/`: the start of every key of one inventory. */
export const keyPrefix = (inv: InventoryIdentity): string => `${inv.cluster}/${inv.namespace}/${inv.name}/`;

/** A row's record key: `<cluster>/<inventory namespace>/<inventory name>/<target>/<uid>`. */
export const recordKey = (inv: InventoryIdentity, row: { target: string; uid: string }): string => `${keyPrefix(inv)}${row.target}/${row.uid}`;

const SASL: Record<NonNullable<KafkaSinkSpec['sasl']>['mechanism'], SASLMechanismValue> = {
  plain: SASLMechanisms.PLAIN, 'scram-sha-256': SASLMechanisms.SCRAM_SHA_256, 'scram-sha-512': SASLMechanisms.SCRAM_SHA_512,
};

interface Compiled {
  brokers: Broker[];
  topic: string;
  partitions: number;
  replicationFactor: number;
  sasl?: SASLMechanismValue;
  tls: boolean;
}

/** `host:port` or `[v6]:port`. */
function parseBroker(s: unknown): Broker {
  if (typeof s !== 'string' || s.includes('://') || s.includes('@')) {
    throw new SinkConfigError(FIELD_BROKERS, `each broker is host:port, without scheme or credentials (got ${typeof s === 'string' ? s.replace(/\/\/[^@/]*@/, '//…@') : typeof s})`);
  }
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):(\d{1,5})$/.exec(s);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new SinkConfigError(FIELD_BROKERS, `"${s}" is not host:port`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function compile(spec: KafkaSinkSpec, ctx: SinkContext<KafkaSinkSpec>): Compiled {
  if (!Array.isArray(spec.brokers) || spec.brokers.length === 0) throw new SinkConfigError(FIELD_BROKERS, 'is required: one or more host:port');
  const brokers = spec.brokers.map(parseBroker);
  const topic = spec.topic ?? DEFAULT_TOPIC;
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..') {
    throw new SinkConfigError('spec.kafka.topic', `"${topic}" must be 1-249 letters, digits, '.', '_' or '-'`);
  }
  const count = (field: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || v < 1) throw new SinkConfigError(`spec.kafka.${field}`, `must be a positive integer (got ${String(v)})`);
    return v;
  };
  let sasl: SASLMechanismValue | undefined;
  if (spec.sasl !== undefined) {
    sasl = SASL[spec.sasl.mechanism];
    if (!sasl) throw new SinkConfigError('spec.kafka.sasl.mechanism', `must be one of ${Object.keys(SASL).join(', ')}`);
    if (!ctx.credentials.username || !ctx.credentials.password) throw new SinkConfigError('spec.secretRef', 'spec.kafka.sasl needs Secret keys username and password');
  }
  return {
    brokers, topic, sasl, tls: spec.tls === true || !!ctx.caPem,
    partitions: count('partitions', spec.partitions, 6), replicationFactor: count('replicationFactor', spec.replicationFactor, 3),
  };
}

interface Conn {
  producer: Producer<string, Uint8Array, string, string>;
  admin: Admin;
  /** Topics found (or created) and checked: not looked up again until a send fails. */
  topics: Set<string>;
}

/** Each message of an error and the errors it aggregates or wraps, once: the client nests them deeply. */
function describe(err: unknown): { message: string; code?: string } {
  const seen: string[] = [];
  let code: string | undefined;
  const walk = (e: unknown): void => {
    if (!(e instanceof Error)) return;
    const errno = (e as { code?: unknown }).code;
    if (typeof errno === 'string' && !errno.startsWith('PLT_KFK_MULTIPLE')) code = errno;
    const inner: unknown[] = [...(((e as AggregateError).errors as unknown[] | undefined) ?? []), e.cause];
    if (!seen.includes(e.message) && !(inner.some((i) => i instanceof Error) && /failed( \d+ times)?\.$/.test(e.message))) seen.push(e.message);
    for (const i of inner) walk(i);
  };
  walk(err);
  return { message: seen.join(': ').replace(/\.:/g, ':') || String(err), code };
}

/** A retryable error from what the client threw, keeping a stable short code (errno or the client's). */
function clientError(what: string, err: unknown): Error {
  if (err instanceof SinkConfigError) return err;
  const d = describe(err);
  return Object.assign(new Error(`${what}: ${d.message}`), { code: d.code });
}

/** `p`, or a retryable error after `ms` (the client's own timeouts do not bound every path). */
async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms} ms`), { code: 'TIMEOUT' })), ms);
  });
  p.catch(() => undefined); // settled after the deadline: already reported
  try { return await Promise.race([p, late]); } finally { clearTimeout(timer); }
}

const toBuffer = (v?: Uint8Array): Buffer | undefined => (v === undefined ? undefined : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

export class KafkaBackend implements SinkBackend<KafkaSinkSpec> {
  readonly type = 'kafka';
  readonly kind = 'KollectEventSink' as const;
  private readonly conns = new Map<string, Promise<Conn>>();

  constructor(private readonly opts: KafkaBackendOptions = {}) {}

  async export(input: ExportInput, ctx: SinkContext<KafkaSinkSpec>): Promise<ExportReply> {
    const c = compile(ctx.spec, ctx);
    const guard = ctx.guard ?? defaultEndpointGuard();
    const { conn, key } = await this.connection(c, ctx, guard);
    const t0 = Date.now();
    try {
      await this.ensureTopic(conn, c, ctx, guard);
      await this.publish(conn, c, input, ctx);
    } catch (err) {
      conn.topics.delete(c.topic); // the topic may be gone or changed: look again next time
      if (!(err instanceof SinkConfigError)) await this.drop(key); // a fresh producer next time, not one mid-failure
      throw err;
    }
    ctx.log('sink.kafka.export', { topic: c.topic, upserts: input.upsertCount, deletes: input.deletes.length, ms: Date.now() - t0 });
    return {
      outcome: 'applied', rowsExported: input.upsertCount + input.deletes.length, upserts: input.upsertCount, deletes: input.deletes.length,
      detail: `published ${plural(input.upsertCount, 'upsert')}, ${plural(input.deletes.length, 'delete')} to topic ${c.topic}`,
    };
  }

  async probe(ctx: SinkContext<KafkaSinkSpec>): Promise<ProbeResult> {
    const c = compile(ctx.spec, ctx);
    const guard = ctx.guard ?? defaultEndpointGuard();
    const { conn } = await this.connection(c, ctx, guard);
    const md = await this.ensureTopic(conn, c, ctx, guard);
    const partitions = md.topics.get(c.topic)?.partitionsCount ?? 0;
    return { detail: `topic ${c.topic} reachable (${plural(partitions, 'partition')}, ${plural(md.brokers.size, 'broker')})` };
  }

  /** Closes every cached producer and admin client (in-flight sends are abandoned), bounded to 10 s each. */
  async close(): Promise<void> {
    const keys = [...this.conns.keys()];
    await Promise.allSettled(keys.map((k) => this.drop(k)));
  }

  private async drop(key: string): Promise<void> {
    const p = this.conns.get(key);
    if (!p) return;
    this.conns.delete(key);
    const conn = await p.catch(() => undefined);
    if (!conn) return;
    const closeProducer = new Promise<void>((resolve) => { conn.producer.close(true, () => resolve()); });
    await Promise.allSettled([deadline(closeProducer, 10_000, 'close'), deadline(conn.admin.close(), 10_000, 'close')]);
  }

  /** The cached clients for these brokers and credentials; built after the endpoint guard passed the bootstrap brokers. */
  private async connection(c: Compiled, ctx: SinkContext<KafkaSinkSpec>, guard: EndpointGuard): Promise<{ conn: Conn; key: string }> {
    const { username, password } = ctx.credentials;
    const fingerprint = createHash('sha256').update(JSON.stringify([c.sasl ?? null, c.sasl ? username : null, c.sasl ? password : null, ctx.caPem ?? null, c.tls])).digest('hex');
    const key = `${c.brokers.map((b) => `${b.host}:${b.port}`).join(',')}|${fingerprint}`;
    let p = this.conns.get(key);
    if (!p) {
      p = this.connect(c, ctx, guard);
      this.conns.set(key, p);
      p.catch(() => { if (this.conns.get(key) === p) this.conns.delete(key); });
    }
    return { conn: await p, key };
  }

  private async connect(c: Compiled, ctx: SinkContext<KafkaSinkSpec>, guard: EndpointGuard): Promise<Conn> {
    // Every bootstrap broker is checked first. Without TLS the client connects to the checked
    // address (the client takes no lookup); with TLS it keeps the name, for the certificate, and
    // resolves it through the guard's lookup at every connect.
    const bootstrapBrokers: Broker[] = [];
    for (const b of c.brokers) {
      const [first] = await guard.resolve(FIELD_BROKERS, b.host);
      bootstrapBrokers.push(c.tls || !first ? b : { host: first.address, port: b.port });
    }
    const tls: TlsOptions | undefined = c.tls ? { lookup: guard.lookupFor(FIELD_BROKERS), ...(ctx.caPem ? { ca: ctx.caPem } : {}) } : undefined;
    const { username, password } = ctx.credentials;
    const base = {
      clientId: 'kollect', bootstrapBrokers,
      connectTimeout: this.opts.connectTimeoutMs ?? 5_000, requestTimeout: this.opts.requestTimeoutMs ?? 10_000, timeout: this.opts.requestTimeoutMs ?? 10_000,
      retries: this.opts.retries ?? 3, retryDelay: 500, autocreateTopics: false,
      ...(tls ? { tls } : {}),
      ...(c.sasl ? { sasl: { mechanism: c.sasl, username, password } } : {}),
    };
    const producer = new Producer<string, Uint8Array, string, string>({
      ...base, idempotent: true, acks: ProduceAcks.ALL,
      serializers: { key: stringSerializer, value: toBuffer, headerKey: stringSerializer, headerValue: stringSerializer },
    });
    return { producer, admin: new Admin(base), topics: new Set() };
  }

  /**
   * Finds the topic, or creates it compacted when spec.create allows; then checks every broker
   * the cluster advertises with the endpoint guard (the client connects to those next).
   */
  private async ensureTopic(conn: Conn, c: Compiled, ctx: SinkContext<KafkaSinkSpec>, guard: EndpointGuard): Promise<ClusterMetadata> {
    const timeout = this.opts.sendTimeoutMs ?? 30_000;
    try {
      let created = false;
      if (!conn.topics.has(c.topic)) {
        const topics = await deadline(conn.admin.listTopics(), timeout, 'list topics');
        if (!topics.includes(c.topic)) created = await this.createTopic(conn, c, ctx, timeout);
        else await this.checkCompacted(conn, c, ctx, timeout);
      }
      const md = await deadline(created ? topicReady(conn.producer, c.topic, 10_000) : conn.producer.metadata({ topics: [c.topic] }), timeout, 'metadata');
      for (const b of md.brokers.values()) await guard.resolve(FIELD_BROKERS, b.host);
      conn.topics.add(c.topic);
      return md;
    } catch (err) {
      throw clientError(`topic ${c.topic}`, err);
    }
  }

  /** Creates the topic; false when another worker had just created it. */
  private async createTopic(conn: Conn, c: Compiled, ctx: SinkContext<KafkaSinkSpec>, timeout: number): Promise<boolean> {
    if (ctx.create === false) {
      throw new SinkConfigError('spec.kafka.topic', `topic ${c.topic} does not exist and spec.create is false: create it (cleanup.policy=compact) or allow spec.create`);
    }
    const cluster = await deadline(conn.admin.metadata({ topics: [] }), timeout, 'metadata');
    const replicas = Math.min(c.replicationFactor, Math.max(1, cluster.brokers.size));
    try {
      await deadline(conn.admin.createTopics({ topics: [c.topic], partitions: c.partitions, replicas, configs: [{ name: 'cleanup.policy', value: 'compact' }] }), timeout, 'create topic');
      ctx.log('sink.kafka.topic_created', { topic: c.topic, partitions: c.partitions, replicas });
      return true;
    } catch (err) {
      // Another worker created it first: use theirs (the check below still runs).
      if (!(err as { findBy?: (k: string, v: unknown) => unknown }).findBy?.('apiCode', TOPIC_ALREADY_EXISTS)) throw err;
      await this.checkCompacted(conn, c, ctx, timeout);
      return false;
    }
  }

  /** An existing topic is used as it is; one that is not compacted keeps every record, which the log says. */
  private async checkCompacted(conn: Conn, c: Compiled, ctx: SinkContext<KafkaSinkSpec>, timeout: number): Promise<void> {
    const [desc] = await deadline(conn.admin.describeConfigs({ resources: [{ resourceType: TOPIC_RESOURCE, resourceName: c.topic, configurationKeys: ['cleanup.policy'] }] }), timeout, 'describe topic');
    const policy = desc?.configs.find((e) => e.name === 'cleanup.policy')?.value ?? '';
    if (!policy.split(',').includes('compact')) ctx.log('sink.kafka.topic_not_compacted', { topic: c.topic, cleanupPolicy: policy });
  }

  private async publish(conn: Conn, c: Compiled, input: ExportInput, ctx: SinkContext<KafkaSinkSpec>): Promise<void> {
    const limit = this.opts.maxEventBytes ?? 900_000;
    const maxCount = this.opts.batch ?? 500;
    const maxBytes = this.opts.batchBytes ?? 900_000;
    const timeout = this.opts.sendTimeoutMs ?? 30_000;
    let batch: MessageToProduce<string, Uint8Array, string, string>[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      if (ctx.signal?.aborted) throw new Error('export cancelled before it finished publishing');
      const messages = batch;
      batch = [];
      bytes = 0;
      try {
        await deadline(conn.producer.send({ messages }), timeout, 'produce');
      } catch (err) { throw clientError(`produce to topic ${c.topic}`, err); }
    };
    const add = async (type: EventType, row: VersionedRow | Tombstone): Promise<void> => {
      const value = type === 'upsert' ? encodeEvent(toEvent(type, row, input), limit) : undefined;
      if (batch.length >= maxCount || (bytes > 0 && bytes + (value?.length ?? 0) > maxBytes)) await flush();
      batch.push({ topic: c.topic, key: recordKey(input.inventory, row), value, headers: headersOf(type, row, input) });
      bytes += value?.length ?? 0;
    };
    // Bodies arrive a page at a time from the store: memory stays bounded however large the export.
    for await (const page of input.upserts()) for (const row of page) await add('upsert', row);
    for (const row of input.deletes) await add('delete', row);
    await flush();
  }
}

/**
 * A topic just created: its metadata once every partition has a leader. A broker learns of a
 * topic the controller created a moment later, and until then calls it unknown.
 */
async function topicReady(producer: Conn['producer'], topic: string, timeoutMs: number): Promise<ClusterMetadata> {
  const until = Date.now() + timeoutMs;
  for (let forceUpdate = false; ; forceUpdate = true) {
    let md: ClusterMetadata | undefined;
    try {
      md = await producer.metadata({ topics: [topic], forceUpdate });
    } catch (err) {
      if (Date.now() > until) throw err;
    }
    if (md?.topics.get(topic)?.partitions.every((p) => p.leader >= 0)) return md;
    if (Date.now() > until) throw new Error(`topic ${topic}: partitions without a leader after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const TOPIC_ALREADY_EXISTS = 36;
const TOPIC_RESOURCE = 2;

function headersOf(type: EventType, row: VersionedRow | Tombstone, input: ExportInput): Record<string, string> {
  return {
    [HEADERS.inventory]: `${input.inventory.namespace}/${input.inventory.name}`, [HEADERS.cluster]: input.inventory.cluster,
    [HEADERS.version]: String(row.version), [HEADERS.lineage]: input.plan.lineage, [HEADERS.eventType]: type, [HEADERS.exportId]: input.exportId,
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export const kafkaBackend = new KafkaBackend();

export const kafkaSink: SinkDescriptor<KafkaSinkSpec> = {
  type: 'kafka', kind: 'KollectEventSink', backend: kafkaBackend, formats: [],
  locate: (spec, inv) => ({ endpoint: spec.brokers.join(','), location: `topic ${spec.topic ?? DEFAULT_TOPIC}, keys ${keyPrefix(inv)}<target>/<uid>` }),
  render: renderEvent,
  sample: 'sink-kafka.yaml', docs: 'kafka.md',
};
