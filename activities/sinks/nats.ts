// NATS event sink (KollectEventSink, type nats): one JetStream message per changed row, with a
// dedupe id per (row, version) so a retried export is absorbed by the stream's duplicate window.
// See docs/sinks/nats.md for the subject scheme, the body and the headers.
import { createHash } from 'node:crypto';
import {
  connect, headers as natsHeaders, nanos, type ConnectionOptions, type MsgHdrs, type NatsConnection,
} from '@nats-io/transport-node';
import {
  jetstream, jetstreamManager, DiscardPolicy, JetStreamApiCodes, JetStreamApiError, RetentionPolicy, StorageType, type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsSinkSpec } from '../../api/types.js';
import type { Tombstone, VersionedRow } from '../../api/rows.js';
import { encodeEvent, renderEvent, toEvent, type EventType } from './event.js';
import { redactError, redactUrl, secretValues } from './redact.js';
import { SinkConfigError, type ExportInput, type ExportReply, type ProbeResult, type SinkBackend, type SinkContext } from './types.js';
import { defaultEndpointGuard } from './endpoints.js';
import type { SinkDescriptor } from './descriptor.js';

export interface NatsBackendOptions {
  /** Initial connect timeout (default 5 s): a down server is a quick, retryable error. */
  connectTimeoutMs?: number;
  /** Wait for one publish ack at most this long (default 5 s). */
  publishTimeoutMs?: number;
  /** Publishes in flight before awaiting their acks (default 256). */
  window?: number;
  /** Duplicate window of a stream this sink creates (default 10 min). */
  duplicateWindowMs?: number;
}

export { EVENT_TYPES, type EventType, type KollectEvent } from './event.js';
export const HEADER_EVENT_TYPE = 'Kollect-Event-Type';

interface Compiled { servers: string[]; display: string; stream: string; prefix: string; tls: boolean }

/** A subject token: `.`, whitespace, `*`, `>` and control characters become `_`; empty becomes `_`. */
export function subjectToken(s: string): string {
  const t = s.replace(/[.*>\s\p{Cc}]/gu, '_');
  return t === '' ? '_' : t;
}

/** `<prefix>.<cluster>.<inventoryNamespace>.<inventoryName>.<upsert|delete>` */
export function eventSubject(prefix: string, inv: ExportInput['inventory'], type: EventType): string {
  return `${prefix}.${subjectToken(inv.cluster)}.${subjectToken(inv.namespace)}.${subjectToken(inv.name)}.${type}`;
}

/**
 * `Nats-Msg-Id`: one per (row, lineage, version), the same on every retry of an export. The
 * lineage keeps it unique when a new lineage numbers its versions from 1 again.
 */
export function eventId(inv: ExportInput['inventory'], lineage: string, row: { target: string; uid: string; version: number }): string {
  return `${inv.cluster}/${inv.namespace}/${inv.name}/${row.target}/${row.uid}/${lineage}/${row.version}`;
}

/** True when a stream bound to `streamSubject` captures every subject matching `ours`. */
export function subjectCovers(streamSubject: string, ours: string): boolean {
  const s = streamSubject.split('.');
  const o = ours.split('.');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '>') return i < o.length;
    if (i >= o.length) return false;
    if (s[i] === '*') { if (o[i] === '>') return false; continue; }
    if (s[i] !== o[i]) return false;
  }
  return s.length === o.length;
}

function compile(spec: NatsSinkSpec, ctx: SinkContext<NatsSinkSpec>): Compiled {
  if (!spec || typeof spec.url !== 'string' || spec.url === '') throw new SinkConfigError('spec.nats.url', 'is required');
  const servers = spec.url.split(',').map((s) => s.trim()).filter(Boolean);
  let tls = !!ctx.caPem;
  for (const s of servers) {
    let u: URL;
    try { u = new URL(s); } catch { throw new SinkConfigError('spec.nats.url', `not a URL: ${redactUrl(s)}`); }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw new SinkConfigError('spec.nats.url', `must be nats:// or tls:// (got ${u.protocol}//)`);
    if (u.username || u.password) throw new SinkConfigError('spec.nats.url', 'must not contain credentials: put them in the Secret of spec.secretRef (token, or user and password)');
    if (u.protocol === 'tls:') tls = true;
  }
  const stream = spec.stream ?? 'KOLLECT';
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(stream)) throw new SinkConfigError('spec.nats.stream', `"${stream}" must be letters, digits, _ or -`);
  const prefix = spec.subjectPrefix ?? 'kollect';
  const tokens = prefix.split('.');
  if (tokens.some((t) => t === '' || /[*>\s\p{Cc}]/u.test(t)) || prefix.startsWith('$')) {
    throw new SinkConfigError('spec.nats.subjectPrefix', `"${prefix}" must be dot-separated tokens without wildcards or spaces, not starting with $`);
  }
  const { user, username, password } = ctx.credentials;
  if (password && !(user || username)) throw new SinkConfigError('spec.secretRef', 'key password needs key user (or use key token)');
  return { servers, display: servers.map(redactUrl).join(','), stream, prefix, tls };
}

interface Conn {
  fingerprint: string;
  nc: NatsConnection;
  connected: boolean;
  /** Called once on the next disconnect: publishes in flight fail then instead of at their timeout. */
  onLost: Set<() => void>;
  streams: Set<string>;
}

export class NatsBackend implements SinkBackend<NatsSinkSpec> {
  readonly type = 'nats';
  readonly kind = 'KollectEventSink' as const;
  private readonly conns = new Map<string, Promise<Conn>>();

  constructor(private readonly opts: NatsBackendOptions = {}) {}

  async export(input: ExportInput, ctx: SinkContext<NatsSinkSpec>): Promise<ExportReply> {
    const c = compile(ctx.spec, ctx);
    const conn = await this.ready(c, ctx);
    const subject = `${c.prefix}.>`;
    const t0 = Date.now();
    const r = await this.publish(conn, c, input).catch((err: unknown) => {
      conn.streams.delete(`${c.stream}|${subject}`); // the stream may be gone: check again next time
      throw err;
    });
    ctx.log('sink.nats.export', { stream: c.stream, upserts: input.upsertCount, deletes: input.deletes.length, duplicates: r.duplicates, ms: Date.now() - t0 });
    const n = input.upsertCount + input.deletes.length;
    return {
      outcome: 'applied', rowsExported: n, upserts: input.upsertCount, deletes: input.deletes.length,
      detail: `published ${plural(input.upsertCount, 'upsert')}, ${plural(input.deletes.length, 'delete')} to ${c.stream} (${plural(r.duplicates, 'duplicate')})`,
    };
  }

  /** Connects with the sink's credentials and checks (or creates, when allowed) the stream; publishes nothing. */
  async probe(ctx: SinkContext<NatsSinkSpec>): Promise<ProbeResult> {
    const c = compile(ctx.spec, ctx);
    const conn = await this.ready(c, ctx);
    return { detail: `connected to ${conn.nc.getServer()}; stream ${c.stream} captures ${c.prefix}.>` };
  }

  /**
   * A connected connection whose stream captures our subjects. Every server named in the spec is
   * checked by the endpoint guard first, each time; gossiped cluster members are ignored
   * (ignoreClusterUpdates), so the client only ever dials checked names.
   */
  private async ready(c: Compiled, ctx: SinkContext<NatsSinkSpec>): Promise<Conn> {
    const guard = ctx.guard ?? defaultEndpointGuard();
    for (const s of c.servers) await guard.resolve('spec.nats.url', new URL(s).hostname);
    const conn = await this.connection(c, ctx, secretValues(ctx.credentials));
    if (!conn.connected) throw Object.assign(new Error('disconnected from the server, reconnecting'), { code: 'DISCONNECT' });
    const subject = `${c.prefix}.>`;
    if (!conn.streams.has(`${c.stream}|${subject}`)) {
      await ensureStream(await jetstreamManager(conn.nc, { timeout: this.opts.publishTimeoutMs ?? 5_000 }), c.stream, subject, this.opts.duplicateWindowMs ?? 600_000, ctx);
      conn.streams.add(`${c.stream}|${subject}`);
    }
    return conn;
  }

  /** Drains every cached connection (pending publishes are flushed), bounded to 10 s each. */
  async close(): Promise<void> {
    const conns = [...this.conns.values()];
    this.conns.clear();
    await Promise.allSettled(conns.map(async (p) => {
      const { nc } = await p;
      if (nc.isClosed()) return;
      const timer = new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([nc.drain().catch(() => nc.close()), timer]);
      if (!nc.isClosed()) await nc.close();
    }));
  }

  /** The cached connection for these servers; replaced when closed or when the credentials changed. */
  private async connection(c: Compiled, ctx: SinkContext<NatsSinkSpec>, secrets: readonly string[]): Promise<Conn> {
    const { token, user, username, password } = ctx.credentials;
    const fingerprint = createHash('sha256').update(JSON.stringify([token ?? null, user ?? username ?? null, password ?? null, ctx.caPem ?? null, c.tls])).digest('hex');
    // One connection per servers and credentials: two sinks with different credentials on one
    // server each keep their own.
    const key = `${c.servers.join(',')}|${fingerprint}`;
    const cached = this.conns.get(key);
    if (cached) {
      const conn = await cached.catch(() => undefined);
      if (conn && !conn.nc.isClosed() && conn.fingerprint === fingerprint) return conn;
      if (this.conns.get(key) === cached) this.conns.delete(key);
      if (conn && !conn.nc.isClosed()) await conn.nc.close().catch(() => undefined);
    }
    const opts: ConnectionOptions = {
      servers: c.servers, name: 'kollect', timeout: this.opts.connectTimeoutMs ?? 5_000,
      // A cached connection heals itself when the server returns; exports meanwhile fail fast.
      maxReconnectAttempts: -1, reconnectTimeWait: 2_000, pingInterval: 30_000,
      ignoreClusterUpdates: true, // only the servers the spec names (and the endpoint guard checked)
    };
    if (token) opts.token = token;
    else if (password) { opts.user = user ?? username; opts.pass = password; }
    if (c.tls) opts.tls = ctx.caPem ? { ca: ctx.caPem } : {};
    const log = ctx.log;
    const p = connect(opts).then((nc) => {
      const conn: Conn = { fingerprint, nc, connected: true, onLost: new Set(), streams: new Set() };
      void (async () => {
        for await (const s of nc.status()) {
          if (s.type === 'reconnect') conn.connected = true;
          if (s.type === 'disconnect') {
            conn.connected = false;
            for (const f of conn.onLost) f();
            conn.onLost.clear();
          }
          if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
            const data = s.type === 'error' ? s.error : s.server;
            log('sink.nats.status', { servers: c.display, status: s.type, data: redactError(data, { sinkType: 'nats', context: 'status', secrets }).message });
          }
        }
      })().catch(() => undefined);
      return conn;
    });
    this.conns.set(key, p);
    try {
      return await p;
    } catch (err) {
      if (this.conns.get(key) === p) this.conns.delete(key);
      // The client's message is generic ("connection refused"); its cause names the socket error.
      const cause = (err as Error).cause as (Error & { code?: string }) | undefined;
      const msg = `${(err as Error).message}${cause?.message ? ` (${cause.message})` : ''}`;
      // redactError (in export) scrubs this message; the code names the reason for metrics.
      throw Object.assign(new Error(`connect: ${msg}`), { code: cause?.code ?? (err as Error).name });
    }
  }

  private async publish(conn: Conn, c: Compiled, input: ExportInput): Promise<{ duplicates: number }> {
    const js = jetstream(conn.nc, { timeout: this.opts.publishTimeoutMs ?? 5_000 });
    const maxPayload = conn.nc.info?.max_payload ?? 1 << 20;
    // A disconnect fails the export at once instead of at every pending ack's timeout.
    let onLost = (): void => undefined;
    const lost = new Promise<never>((_resolve, reject) => {
      onLost = () => reject(Object.assign(new Error('disconnected from the server while publishing'), { code: 'DISCONNECT' }));
    });
    lost.catch(() => undefined);
    conn.onLost.add(onLost);
    try {
      const window = this.opts.window ?? 256;
      let duplicates = 0;
      const send = async (messages: ReturnType<typeof toMessage>[]): Promise<void> => {
        for (let i = 0; i < messages.length; i += window) {
          // Published in order on one connection; allSettled observes every ack (none left unhandled).
          const acks = messages.slice(i, i + window).map((m) => js.publish(m.subject, m.data, { msgID: m.id, headers: m.headers }));
          for (const s of await Promise.race([Promise.allSettled(acks), lost])) {
            if (s.status === 'rejected') throw s.reason;
            if (s.value.duplicate) duplicates++;
          }
        }
      };
      // Bodies arrive a page at a time from the store: memory stays bounded however large the export.
      for await (const page of input.upserts()) await send(page.map((row) => toMessage('upsert', row, input, c.prefix, maxPayload)));
      await send(input.deletes.map((row) => toMessage('delete', row, input, c.prefix, maxPayload)));
      return { duplicates };
    } finally {
      conn.onLost.delete(onLost);
    }
  }
}

function toMessage(type: EventType, row: VersionedRow | Tombstone, input: ExportInput, prefix: string, maxPayload: number): { subject: string; data: Uint8Array; id: string; headers: MsgHdrs } {
  const headers = natsHeaders();
  headers.set(HEADER_EVENT_TYPE, type);
  // 1 KiB of the server's max_payload is left for the headers.
  const data = encodeEvent(toEvent(type, row, input), maxPayload - 1024);
  return { subject: eventSubject(prefix, input.inventory, type), data, id: eventId(input.inventory, input.plan.lineage, row), headers };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const isApiError = (err: unknown, errCode: number): boolean => err instanceof JetStreamApiError && err.code === errCode;
const STREAM_NAME_IN_USE = 10058;

/** Creates the stream if absent (never deletes or rewrites one); checks an existing one captures our subjects. */
async function ensureStream(jsm: JetStreamManager, stream: string, subject: string, duplicateWindowMs: number, ctx: SinkContext<NatsSinkSpec>): Promise<void> {
  let info;
  try {
    info = await jsm.streams.info(stream);
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    if (ctx.create === false) throw new SinkConfigError('spec.create', `stream ${stream} does not exist and spec.create is false: create it (docs/sinks/nats.md) or allow the sink to`);
    try {
      await jsm.streams.add({
        name: stream, subjects: [subject], storage: StorageType.File, retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old, duplicate_window: nanos(duplicateWindowMs),
      });
      ctx.log('sink.nats.stream_created', { stream, subject });
      return;
    } catch (addErr) {
      if (!isApiError(addErr, STREAM_NAME_IN_USE)) throw addErr; // another worker created it first
      info = await jsm.streams.info(stream);
    }
  }
  const subjects = info.config.subjects ?? [];
  if (!subjects.some((s) => subjectCovers(s, subject))) {
    throw new SinkConfigError('spec.nats.stream', `stream ${stream} exists with subjects [${subjects.join(', ')}], which do not capture ${subject}; add it to the stream or choose another stream or subjectPrefix`);
  }
}

export const natsBackend = new NatsBackend();

export const natsSink: SinkDescriptor<NatsSinkSpec> = {
  type: 'nats', kind: 'KollectEventSink', backend: natsBackend, formats: [],
  locate: (spec, inv) => ({ endpoint: spec.url.split(',').map((s) => redactUrl(s.trim())).join(','), location: `stream ${spec.stream ?? 'KOLLECT'}, subjects ${eventSubject(spec.subjectPrefix ?? 'kollect', inv, 'upsert').replace(/\.upsert$/, '.{upsert,delete}')}` }),
  render: renderEvent,
  sample: 'sink-nats.yaml', docs: 'nats.md',
};
