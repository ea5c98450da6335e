// The operator's codec endpoint (worker/codec.ts, docs/temporal-ui.md) against a real history:
// an inventory with a working Postgres sink and a failing NATS sink is exported, its history is
// read WITHOUT Kollect's data converter (the raw payloads the Temporal UI gets), and the codec
// turns them back into the JSON the workflow saw, claim-checked payloads included. Then CORS
// preflights and the bearer token.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { kubectl, installCrds } from '../support/e2e.js';
import { applyUiDemo } from '../support/ui-demo.js';
import { inventoryWorkflowId } from '../../workflows/definitions.js';
import type { KollectInventory } from '../../api/types.js';

const id = randomBytes(3).toString('hex');
const ns = `codec-${id}`;
const taskQueue = `codec-${id}`;
const UI_ORIGIN = 'http://127.0.0.1:8233';
const TOKEN = `t-${randomBytes(12).toString('hex')}`;
let operator: Child | undefined;
let codecUrl = '';

interface RawPayload { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }
interface JsonPayload { metadata: Record<string, string>; data: string }
const isPayload = (v: unknown): v is RawPayload => typeof v === 'object' && v !== null && 'metadata' in v && 'data' in v
  && typeof (v as RawPayload).metadata === 'object' && (v as RawPayload).metadata !== null && (v as RawPayload).data instanceof Uint8Array;
/** Every payload in a history event, wherever it sits (inputs, results, summaries). */
function payloadsIn(v: unknown, out: RawPayload[] = []): RawPayload[] {
  if (isPayload(v)) { out.push(v); return out; }
  if (Array.isArray(v)) for (const x of v) payloadsIn(x, out);
  else if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) for (const x of Object.values(v)) payloadsIn(x, out);
  return out;
}
const toJson = (p: RawPayload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});
const encodingOf = (p: JsonPayload): string => Buffer.from(p.metadata.encoding ?? '', 'base64').toString('utf8');
const dataOf = (p: JsonPayload): string => Buffer.from(p.data, 'base64').toString('utf8');

const post = (route: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
  fetch(`${codecUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default', ...headers }, body: JSON.stringify(body) });

const inventory = async (): Promise<KollectInventory> => JSON.parse(await kubectl(['-n', ns, 'get', 'kollectinventory', 'platform', '-o', 'json'])) as KollectInventory;

describe('codec endpoint for the Temporal UI', () => {
  beforeAll(async () => {
    await installCrds();
    await applyUiDemo({ ns, postgresUrl: service('postgres').url, deadNatsUrl: `nats://127.0.0.1:${await freePort()}`, table: `rows_${id}`, objects: 700 });
    const tokenFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-codec-')), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const codecPort = await freePort();
    codecUrl = `http://127.0.0.1:${codecPort}`;
    operator = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: taskQueue,
      KOLLECT_HTTP_PORT: String(await freePort()), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_STORE_URL: service('postgres').url,
      KOLLECT_CODEC_PORT: String(codecPort), KOLLECT_CODEC_CORS_ORIGINS: UI_ORIGIN, KOLLECT_CODEC_TOKEN_FILE: tokenFile,
    });
  }, 240_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await operator?.exited;
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('decodes the raw history of an export: inputs, summaries and claim-checked payloads (inline, or kept and downloaded as the UI does)', async () => {
    try {
      await waitFor('postgres exported and nats failed', async () => {
        const sinks = (await inventory()).status?.sinkExports ?? [];
        return sinks.some((s) => s.name === 'postgres' && s.lastSuccessTime) && sinks.some((s) => s.name === 'nats' && s.reason === 'Unreachable');
      }, 180_000, () => operator?.proc.exitCode === null);
    } catch (err) {
      process.stdout.write(`--- operator ---\n${operator?.output().slice(-6000) ?? ''}\n`);
      throw err;
    }
    // The history as the UI gets it: no data converter, so payloads are as stored.
    const connection = await Connection.connect({ address: service('temporal').address });
    const events: unknown[] = [];
    try {
      let nextPageToken: Uint8Array | undefined;
      do {
        const r = await connection.workflowService.getWorkflowExecutionHistory({ namespace: 'default', execution: { workflowId: inventoryWorkflowId(ns, 'platform') }, nextPageToken });
        events.push(...(r.history?.events ?? []));
        nextPageToken = r.nextPageToken?.length ? r.nextPageToken : undefined;
      } while (nextPageToken);
    } finally {
      await connection.close();
    }
    const raw = events.flatMap((e) => payloadsIn(e)).map(toJson);
    const claims = raw.filter((p) => encodingOf(p) === 'json/protobuf' && dataOf(p).includes('kollect-postgres'));
    const gzipped = raw.filter((p) => encodingOf(p) === 'binary/kollect-gzip');
    expect(claims.length, 'a payload above the claim threshold is in the history as a reference').toBeGreaterThan(0);

    const r = await post('/codec/decode', { payloads: raw });
    expect(r.status).toBe(200);
    const decoded = (await r.json() as { payloads: JsonPayload[] }).payloads;
    expect(decoded).toHaveLength(raw.length);
    for (const [i, p] of decoded.entries()) {
      if (claims.includes(raw[i]!) || gzipped.includes(raw[i]!)) {
        expect(encodingOf(p), `payload ${i} decodes to JSON`).toBe('json/plain');
        expect(() => JSON.parse(dataOf(p)) as unknown).not.toThrow();
      }
    }
    const texts = decoded.filter((p) => encodingOf(p) === 'json/plain').map(dataOf);
    // The export requests: inventory, sink and version range.
    const requests = texts.map((t) => JSON.parse(t) as { inventory?: { namespace: string; name: string }; sink?: { kind: string; name: string; type: string }; plan?: { mode: string; fromVersion: number; version: number } })
      .filter((x) => typeof x === 'object' && x !== null && x.sink && x.plan);
    expect(requests.some((x) => x.inventory?.namespace === ns && x.inventory.name === 'platform' && x.sink?.name === 'postgres' && x.sink.type === 'postgres' && x.plan?.mode === 'full' && x.plan.version > 0)).toBe(true);
    expect(requests.some((x) => x.sink?.kind === 'KollectEventSink' && x.sink.name === 'nats')).toBe(true);
    // The activity summaries the UI lists.
    expect(texts.some((t) => new RegExp(`^"inventory ${ns}/platform → KollectDatabaseSink ${ns}/postgres \\(postgres\\): full v0\\.\\.v\\d+"$`).test(t))).toBe(true);
    // The claim-checked payload: the export's row entries (700 PodTemplates), fetched from the store.
    const fromClaims = claims.map((c) => JSON.parse(dataOf(decoded[raw.indexOf(c)]!)) as unknown[] | { upserts?: unknown[]; uids?: unknown[] });
    const listed = (x: unknown): number => (typeof x === 'object' && x !== null && !Array.isArray(x) ? Math.max((x as { upserts?: unknown[] }).upserts?.length ?? 0, (x as { uids?: unknown[] }).uids?.length ?? 0) : 0);
    // What the UI does: render with references kept, fetch one through /download when clicked.
    const kept = (await (await post('/codec/decode?preserveStorageRefs=true', { payloads: raw })).json() as { payloads: JsonPayload[] }).payloads;
    for (const [i, p] of kept.entries()) expect(p).toEqual(claims.includes(raw[i]!) ? raw[i] : decoded[i]);
    const downloaded = await post('/codec/download', { payloads: claims });
    expect(downloaded.status).toBe(200);
    expect((await downloaded.json() as { payloads: JsonPayload[] }).payloads).toEqual(claims.map((c) => decoded[raw.indexOf(c)]));
    const notRef = await post('/codec/download', { payloads: [gzipped[0] ?? raw.find((p) => !claims.includes(p))] });
    expect(notRef.status).toBe(400);
    expect(await notRef.text()).toContain('is not a storage reference');
    expect(Math.max(...fromClaims.map((x) => (Array.isArray(x) ? Math.max(...x.map(listed)) : listed(x)))), 'rows named by a claim-checked payload').toBeGreaterThanOrEqual(700);
  }, 240_000);

  it('answers CORS preflights for the UI origin only, and requires the bearer token', async () => {
    const preflight = (origin: string) => fetch(`${codecUrl}/codec/decode`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' } });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/x-namespace/);
    const bad = await preflight('http://evil.example');
    expect(bad.status).toBe(403);
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
    expect(await bad.text()).toContain('KOLLECT_CODEC_CORS_ORIGINS');

    const sample = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"x"').toString('base64') }] };
    const noToken = await fetch(`${codecUrl}/codec/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sample) });
    expect(noToken.status).toBe(401);
    const wrong = await post('/codec/decode', sample, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await wrong.text()).toContain('does not match KOLLECT_CODEC_TOKEN_FILE');
    const good = await post('/codec/decode', sample, { origin: UI_ORIGIN });
    expect(good.status).toBe(200);
    expect(good.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(await good.json()).toEqual(sample);
    expect((await post('/codec/decode', sample, { origin: 'http://evil.example' })).status).toBe(403);

    // The CLI's templated form, another namespace (passed through), malformed and oversized bodies.
    expect((await post('/codec/default/encode', sample)).status).toBe(200);
    const gz = await post('/codec/encode', { payloads: [{ metadata: sample.payloads[0]!.metadata, data: Buffer.from(JSON.stringify('y'.repeat(20_000))).toString('base64') }] });
    const encoded = (await gz.json() as { payloads: JsonPayload[] }).payloads[0]!;
    expect(encodingOf(encoded)).toBe('binary/kollect-gzip');
    expect((await (await post('/codec/decode', { payloads: [encoded] }, { 'x-namespace': 'someone-else' })).json() as { payloads: JsonPayload[] }).payloads[0]).toEqual(encoded);
    const back = (await (await post('/codec/decode', { payloads: [encoded] })).json() as { payloads: JsonPayload[] }).payloads[0]!;
    expect(dataOf(back)).toBe(JSON.stringify('y'.repeat(20_000)));
    const malformed = await fetch(`${codecUrl}/codec/decode`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{"payload": []}' });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('{\\"payloads\\": [...]}');
    const huge = await fetch(`${codecUrl}/codec/decode`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: 'x'.repeat(4 * 1024 * 1024 + 1) });
    expect(huge.status).toBe(413);
    expect(await huge.text()).toContain('KOLLECT_CODEC_MAX_BODY_BYTES');
    expect((await fetch(`${codecUrl}/codec/decode`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(405);
  });
});
