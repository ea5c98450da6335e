// The nats sink against the harness's real nats-server with JetStream.
import { viaSharedPath } from '../support/sinks/shared-path.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, StorageType, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tombstone, VersionedRow } from '../../api/rows.js';
import type { NatsSinkSpec } from '../../api/types.js';
import { NatsBackend, natsSink, eventId, subjectCovers, subjectToken } from '../../activities/sinks/nats.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { SinkConfigError, type InventoryIdentity, type SinkContext } from '../../activities/sinks/types.js';
import { exportInput, tombstone, type TestExportInput } from '../support/export-input.js';
import { endpoints, service } from '../harness/endpoints.js';
import { tools } from '../harness/tools.js';
import { ManagedProcess, freePort, sleep, waitFor } from '../harness/util.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}
const tomb = tombstone;

/** An event sink always receives the changes after its watermark (a delta). */
function input(upserts: VersionedRow[], deletes: Tombstone[] = [], exportId = `exp-${randomBytes(3).toString('hex')}`, inv: InventoryIdentity = inventory, opts: { lineage?: string; pageSize?: number } = {}): TestExportInput {
  return exportInput(upserts, {
    inventory: inv, sink: { kind: 'KollectEventSink', namespace: 'team-a', name: 'nats', type: 'nats' }, exportId, mode: 'delta', deletes,
    lineage: opts.lineage ?? 'lineage-a', pageSize: opts.pageSize,
  });
}

/** A stream and subject prefix of its own, so tests never share subjects. */
function unique(): { stream: string; subjectPrefix: string } {
  const s = randomBytes(4).toString('hex');
  return { stream: `KT_${s}`, subjectPrefix: `kt${s}.events` };
}
function ctx(spec: Partial<NatsSinkSpec>, over: Partial<SinkContext<NatsSinkSpec>> = {}): SinkContext<NatsSinkSpec> {
  return { spec: { url: service('nats').url, ...spec }, credentials: {}, log: (event, fields) => logs.push({ event, fields }), ...over };
}

let nc: NatsConnection;
const backends: NatsBackend[] = [];
function backend(opts: ConstructorParameters<typeof NatsBackend>[0] = {}): NatsBackend {
  const b = viaSharedPath(natsSink as SinkDescriptor<never>, new NatsBackend(opts));
  backends.push(b);
  return b;
}
const messages = async (stream: string) => (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;

/** Every message of the stream, in order. */
async function readAll(stream: string): Promise<JsMsg[]> {
  const jsm = await jetstreamManager(nc);
  const durable = `read_${randomBytes(3).toString('hex')}`;
  await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All });
  const consumer = await jetstream(nc).consumers.get(stream, durable);
  const out: JsMsg[] = [];
  const total = await messages(stream);
  while (out.length < total) {
    const m = await consumer.next({ expires: 2_000 });
    if (!m) break;
    out.push(m);
  }
  await jsm.consumers.delete(stream, durable);
  return out;
}

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

const created: string[] = [];
beforeAll(async () => { nc = await connect({ servers: service('nats').url, timeout: 5_000 }); });
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  const jsm = await jetstreamManager(nc);
  for (const s of created) await jsm.streams.delete(s).catch(() => false);
  await nc.close();
});

/** The error a promise rejects with; fails the test when it resolves instead. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

describe('nats sink', () => {
  it('creates the stream, publishes one event per change, dedupes a replayed export by Msg-Id', async () => {
    const u = unique();
    created.push(u.stream);
    const b = backend();
    const c = ctx(u);
    const rows = [row(1), row(2), row(3)];

    const first = await b.export(input(rows, [], 'exp-1'), c);
    expect(first).toEqual({ outcome: 'applied', rowsExported: 3, upserts: 3, deletes: 0, detail: `published 3 upserts, 0 deletes to ${u.stream} (0 duplicates)` });
    const info = await (await jetstreamManager(nc)).streams.info(u.stream);
    expect(info.config).toMatchObject({ subjects: [`${u.subjectPrefix}.>`], storage: StorageType.File, duplicate_window: 600_000_000_000 });
    expect(info.state.messages).toBe(3);

    // the same export again (a retry after a lost ack): every message is a duplicate, nothing stored
    const replay = await b.export(input(rows, [], 'exp-1'), c);
    expect(replay.detail).toBe(`published 3 upserts, 0 deletes to ${u.stream} (3 duplicates)`);
    expect(await messages(u.stream)).toBe(3);

    const changed = row(2, { attributes: { replicas: 9 }, version: 2 });
    await b.export(input([changed], [], 'exp-2'), c);
    expect(await messages(u.stream)).toBe(4);

    const del = await b.export(input([], [tomb(rows[2]!, 3)], 'exp-3'), c);
    expect(del).toMatchObject({ outcome: 'applied', rowsExported: 1, upserts: 0, deletes: 1 });
    expect(await messages(u.stream)).toBe(5);

    const all = await readAll(u.stream);
    expect(all.map((m) => m.subject)).toEqual([
      ...Array.from({ length: 4 }, () => `${u.subjectPrefix}.c1.team-a.apps.upsert`), `${u.subjectPrefix}.c1.team-a.apps.delete`,
    ]);
    expect(all[0]!.json()).toEqual({
      type: 'upsert', cluster: 'c1', inventory: { namespace: 'team-a', name: 'apps' }, target: 'deployments', apiVersion: 'apps/v1',
      kind: 'Deployment', namespace: 'default', name: 'web-1', uid: 'uid-1', version: 1, lineage: 'lineage-a', hash: rows[0]!.hash, attributes: { replicas: 1 }, exportId: 'exp-1',
    });
    expect(all[0]!.headers?.get('Nats-Msg-Id')).toBe('c1/team-a/apps/deployments/uid-1/lineage-a/1');
    expect(all[0]!.headers?.get('Kollect-Event-Type')).toBe('upsert');
    expect(all[3]!.json()).toMatchObject({ uid: 'uid-2', version: 2, attributes: { replicas: 9 }, exportId: 'exp-2' });
    const delEvent = all[4]!.json<Record<string, unknown>>();
    expect(delEvent).toEqual({ type: 'delete', cluster: 'c1', inventory: { namespace: 'team-a', name: 'apps' }, target: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web-3', uid: 'uid-3', version: 3, lineage: 'lineage-a', exportId: 'exp-3' });
    expect(all[4]!.headers?.get('Kollect-Event-Type')).toBe('delete');
    expect(all[4]!.headers?.get('Nats-Msg-Id')).toBe('c1/team-a/apps/deployments/uid-3/lineage-a/3');
  });

  it('dedupes within a lineage only: a new lineage numbering its versions from 1 again is not swallowed', async () => {
    const u = unique();
    created.push(u.stream);
    const b = backend();
    const c = ctx(u);
    const rows = [row(1), row(2, { version: 2 })];
    const gone = tomb(row(3), 3);

    const a = await b.export(input(rows, [gone], 'exp-a1', inventory, { lineage: 'lineage-a' }), c);
    expect(a).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1 });
    expect(a.detail).toContain('(0 duplicates)');
    // the same rows and versions in another lineage (e.g. after a workflow reset): new events
    const bl = await b.export(input(rows, [gone], 'exp-b1', inventory, { lineage: 'lineage-b' }), c);
    expect(bl.detail).toContain('(0 duplicates)');
    expect(await messages(u.stream)).toBe(6);
    // retries within each lineage, even under another export id or paged differently: all duplicates
    for (const [lineage, exportId] of [['lineage-a', 'exp-a1'], ['lineage-b', 'exp-b2']] as const) {
      const retry = await b.export(input(rows, [gone], exportId, inventory, { lineage, pageSize: 1 }), c);
      expect(retry).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1 });
      expect(retry.detail, lineage).toContain('(3 duplicates)');
    }
    expect(await messages(u.stream)).toBe(6);

    const all = await readAll(u.stream);
    const ids = all.map((m) => m.headers?.get('Nats-Msg-Id'));
    expect(new Set(ids).size).toBe(6);
    expect(ids).toEqual([
      ...['lineage-a', 'lineage-b'].flatMap((l) => [eventId(inventory, l, rows[0]!), eventId(inventory, l, rows[1]!), eventId(inventory, l, gone)]),
    ]);
    expect(ids[0]).toBe('c1/team-a/apps/deployments/uid-1/lineage-a/1');
    expect(all.map((m) => m.json<{ lineage: string; version: number; type: string }>()).map((e) => `${e.lineage}/${e.type}/${e.version}`)).toEqual([
      'lineage-a/upsert/1', 'lineage-a/upsert/2', 'lineage-a/delete/3', 'lineage-b/upsert/1', 'lineage-b/upsert/2', 'lineage-b/delete/3',
    ]);
  });

  it('publishes every page of the upserts, in order, then the deletes', async () => {
    const u = unique();
    created.push(u.stream);
    const rows = Array.from({ length: 25 }, (_, i) => row(i, { version: i + 1 }));
    const deletes = [tomb(row(100), 26), tomb(row(101), 27)];
    const inp = input(rows, deletes, 'exp-pages', inventory, { pageSize: 10 });
    const r = await backend({ window: 4 }).export(inp, ctx(u));
    expect(r).toMatchObject({ outcome: 'applied', rowsExported: 27, upserts: 25, deletes: 2 });
    expect(inp.reads).toEqual({ calls: 1, pages: 3, rows: 25 });
    const all = (await readAll(u.stream)).map((m) => m.json<{ type: string; name: string }>());
    expect(all.map((e) => `${e.type}:${e.name}`)).toEqual([...rows.map((x) => `upsert:${x.name}`), 'delete:web-100', 'delete:web-101']);
  });

  it('publishes more than one window in order, and sanitizes subject tokens', async () => {
    const u = unique();
    created.push(u.stream);
    const inv = { namespace: 'team.a', name: 'apps *prod*', cluster: 'eu west>1' };
    const rows = Array.from({ length: 700 }, (_, i) => row(i));
    const r = await backend({ window: 256 }).export(input(rows, [], 'exp-w', inv), ctx(u));
    expect(r.upserts).toBe(700);
    const all = await readAll(u.stream);
    expect(all).toHaveLength(700);
    expect(new Set(all.map((m) => m.subject))).toEqual(new Set([`${u.subjectPrefix}.eu_west_1.team_a.apps__prod_.upsert`]));
    expect(all.map((m) => (m.json<{ name: string }>()).name)).toEqual(rows.map((x) => x.name));
    expect(all[0]!.json()).toMatchObject({ cluster: 'eu west>1', inventory: { namespace: 'team.a', name: 'apps *prod*' } });
  });

  it('uses an existing stream that captures its subjects, and refuses one that does not (never changes it)', async () => {
    const jsm = await jetstreamManager(nc);
    const u = unique();
    created.push(u.stream);
    await jsm.streams.add({ name: u.stream, subjects: [`${u.subjectPrefix.split('.')[0]}.>`], storage: StorageType.Memory });
    await backend().export(input([row(1)]), ctx(u));
    expect((await jsm.streams.info(u.stream)).config).toMatchObject({ storage: StorageType.Memory, subjects: [`${u.subjectPrefix.split('.')[0]}.>`] });
    expect(await messages(u.stream)).toBe(1);

    const v = unique();
    created.push(v.stream);
    await jsm.streams.add({ name: v.stream, subjects: [`${v.subjectPrefix}.only.this`] });
    const err = await failure(backend().export(input([row(1)]), ctx(v)));
    expect(err).toBeInstanceOf(SinkConfigError);
    expect(err.message).toContain('do not capture');
    expect((await jsm.streams.info(v.stream)).config.subjects).toEqual([`${v.subjectPrefix}.only.this`]);
  });

  it('fails fast and retryably when the server is unreachable, without the token in the error', async () => {
    const token = `tok-${randomBytes(8).toString('hex')}`;
    const port = await closedPort();
    logs.length = 0;
    const t0 = Date.now();
    const err = await failure(backend().export(input([row(1)]), ctx({ url: `nats://127.0.0.1:${port}`, ...unique() }, { credentials: { token } })));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/CONNECTION_REFUSED|ECONNREFUSED/);
    for (const text of [err.message, err.stack ?? '', JSON.stringify(logs)]) expect(text).not.toContain(token);
  });

  it('rejects credentials in the URL and bad names as config errors, without echoing the secret', async () => {
    const err = await failure(backend().export(input([row(1)]), ctx({ url: service('nats').url.replace('nats://', 'nats://bob:s3cretpass@') })));
    expect(err).toBeInstanceOf(SinkConfigError);
    expect(err.message).not.toContain('s3cretpass');
    const bad = await failure(backend().export(input([row(1)]), ctx({ subjectPrefix: 'kollect.*' })));
    expect((bad as SinkConfigError).field).toBe('spec.nats.subjectPrefix');
  });
});

// A private nats-server (same binary as the harness's) with token auth, which this test may stop
// and start without disturbing other test files that share the harness's server.
describe('nats sink against a server that requires a token and goes away', () => {
  const token = `tok-${randomBytes(12).toString('hex')}`;
  let proc: ManagedProcess | undefined;
  let port = 0;
  let monitor = 0;
  let dir = '';
  const start = async () => {
    const p = new ManagedProcess({ cmd: tools.natsServer(), logFile: path.join(dir, 'nats.log'), args: ['-js', '-sd', path.join(dir, 'js'), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitor), '--auth', token] });
    proc = p;
    await waitFor('private nats', async () => (await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`)).ok, 20_000, () => p.alive);
  };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(endpoints().runDir, 'sink-nats-'));
    [port, monitor] = [await freePort(), await freePort()];
    await start();
  });
  afterAll(async () => { await proc?.stop(); });

  it('refuses a wrong token without echoing it (also beside an authenticated connection), and fails fast while the server is down, then catches up', async () => {
    const u = unique();
    const url = `nats://127.0.0.1:${port}`;
    logs.length = 0;
    const wrong = `tok-${randomBytes(12).toString('hex')}`;
    const denied = await failure(backend().export(input([row(1)]), ctx({ url, ...u }, { credentials: { token: wrong } })));
    expect(denied).toBeInstanceOf(SinkExportError);
    expect(denied.message).toMatch(/AUTHORIZATION_VIOLATION|authorization/i);

    const b = backend();
    const c = ctx({ url, ...u }, { credentials: { token } });
    expect((await b.export(input([row(1), row(2)], [], 'exp-a'), c)).upserts).toBe(2);
    // The same backend, the same server, another (wrong) token: its own connection, refused; the
    // authenticated connection of the first sink is not shared (connections keyed by credentials).
    const other = await failure(b.export(input([row(9)], [], 'exp-w'), ctx({ url, ...u }, { credentials: { token: wrong } })));
    expect(other.message).toMatch(/AUTHORIZATION_VIOLATION|authorization/i);

    await proc!.stop();
    const t0 = Date.now();
    const down = await failure(b.export(input([row(3)], [], 'exp-b'), c));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(down).toBeInstanceOf(SinkExportError);

    await start();
    // what the workflow's retries do: the same export again until the sink is back
    let result;
    for (let i = 0; i < 40 && !result; i++) result = await b.export(input([row(3)], [], 'exp-b'), c).catch(async () => { await sleep(500); return undefined; });
    expect(result?.upserts).toBe(1);
    const probe = await connect({ servers: url, token, timeout: 5_000 });
    try {
      expect((await (await jetstreamManager(probe)).streams.info(u.stream)).state.messages).toBe(3);
    } finally { await probe.close(); }

    for (const text of [denied.message, denied.stack ?? '', other.message, down.message, JSON.stringify(logs)]) {
      expect(text).not.toContain(token);
      expect(text).not.toContain(wrong);
    }
  }, 60_000);
});

describe('nats subject helpers', () => {
  it('sanitizes tokens', () => {
    expect(subjectToken('a.b c*d>e\tf')).toBe('a_b_c_d_e_f');
    expect(subjectToken('')).toBe('_');
  });
  it('knows which stream subjects capture the sink subject', () => {
    expect(subjectCovers('kollect.>', 'kollect.>')).toBe(true);
    expect(subjectCovers('>', 'kollect.x.>')).toBe(true);
    expect(subjectCovers('kollect.>', 'kollect.prod.>')).toBe(true);
    expect(subjectCovers('*.prod.>', 'kollect.prod.>')).toBe(true);
    expect(subjectCovers('kollect.prod.>', 'kollect.>')).toBe(false);
    expect(subjectCovers('kollect.*', 'kollect.>')).toBe(false);
    expect(subjectCovers('other.>', 'kollect.>')).toBe(false);
  });
});
