// The Temporal remote codec endpoint (a "codec server"), served by the operator so the Temporal UI
// and CLI show Kollect's payloads as JSON: it gunzips what GzipCodec compressed and fetches
// claim-checked payloads from the payload store (worker/payloads.ts). Protocol, auth and CORS:
// docs/temporal-ui.md; why a port of its own: docs/decisions/0020.
import http from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StorageDriverClaim, type Payload } from '@temporalio/common';
import { GzipCodec, type PostgresPayloadStore } from './payloads.js';

/** The codec's settings (KOLLECT_CODEC_*); `port` undefined = not served. */
export interface CodecConfig {
  port?: number;
  host: string;
  /** Browser origins (the Temporal UI's) allowed to call the codec; empty = no browser. */
  corsOrigins: string[];
  /** Bearer token every POST must carry (KOLLECT_CODEC_TOKEN_FILE); undefined = none. */
  token?: string;
  maxBodyBytes: number;
}

export const DEFAULT_CODEC_MAX_BODY_BYTES = 4 * 1024 * 1024;
/**
 * The path prefix: POST /codec/decode, /codec/encode, /codec/download, and the same under
 * /codec/{namespace}/ for the CLI's templating.
 */
export const CODEC_PATH = '/codec';

/** The codec settings from the environment; errors name the variable and the fix. */
export function codecConfig(env: NodeJS.ProcessEnv): CodecConfig {
  const portText = env.KOLLECT_CODEC_PORT ?? '';
  let port: number | undefined;
  if (portText !== '' && portText !== 'off') {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`KOLLECT_CODEC_PORT must be a port number 0-65535 (or off), got "${portText}"`);
  }
  const corsOrigins = (env.KOLLECT_CODEC_CORS_ORIGINS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const o of corsOrigins) {
    let u: URL | undefined;
    try { u = new URL(o); } catch { /* reported below */ }
    if (o === '*' || !u || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.origin !== o) {
      throw new TypeError(`KOLLECT_CODEC_CORS_ORIGINS must list origins like https://temporal-ui.example.com or http://127.0.0.1:8233 (scheme, host and port only, no path, no *), got "${o}"`);
    }
  }
  let token: string | undefined;
  const tokenFile = env.KOLLECT_CODEC_TOKEN_FILE ?? '';
  if (tokenFile) {
    try { token = readFileSync(tokenFile, 'utf8').trim(); } catch (err) {
      throw new TypeError(`KOLLECT_CODEC_TOKEN_FILE: cannot read ${tokenFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    if (!token) throw new TypeError(`KOLLECT_CODEC_TOKEN_FILE: ${tokenFile} is empty`);
  }
  const maxText = env.KOLLECT_CODEC_MAX_BODY_BYTES ?? '';
  const maxBodyBytes = maxText === '' ? DEFAULT_CODEC_MAX_BODY_BYTES : Number(maxText);
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) throw new TypeError(`KOLLECT_CODEC_MAX_BODY_BYTES must be a whole number of bytes, at least 1024, got "${maxText}"`);
  return { ...(port !== undefined ? { port } : {}), host: env.KOLLECT_CODEC_HOST || env.KOLLECT_HTTP_HOST || '0.0.0.0', corsOrigins, ...(token ? { token } : {}), maxBodyBytes };
}

/** A payload in the protocol's JSON form: proto3 JSON, every bytes field base64. */
export interface JsonPayload { metadata?: Record<string, string> | null; data?: string | null }

const fromJson = (p: JsonPayload, i: number): Payload => {
  if (typeof p !== 'object' || p === null) throw new CodecRequestError(400, `payloads[${i}] must be an object {metadata, data}`);
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) {
    if (typeof v !== 'string') throw new CodecRequestError(400, `payloads[${i}].metadata.${k} must be a base64 string`);
    metadata[k] = Buffer.from(v, 'base64');
  }
  if (p.data != null && typeof p.data !== 'string') throw new CodecRequestError(400, `payloads[${i}].data must be a base64 string`);
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
};

// A payload without data (binary/null, what a void activity returns) is sent back without data, as it came.
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  ...(p.data?.length ? { data: Buffer.from(p.data).toString('base64') } : {}),
});

class CodecRequestError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

// The SDK's external-storage reference payload (what ExternalStorage leaves in the history).
const REFERENCE_ENCODING = 'json/protobuf';
const REFERENCE_MESSAGE_TYPE = 'temporal.api.sdk.v1.ExternalStorageReference';
const text = (b?: Uint8Array | null): string => (b ? Buffer.from(b).toString('utf8') : '');

function reference(p: Payload): { driverName: string; claimData: Record<string, string> } | undefined {
  if (text(p.metadata?.encoding) !== REFERENCE_ENCODING || text(p.metadata?.messageType) !== REFERENCE_MESSAGE_TYPE) return undefined;
  const ref = JSON.parse(text(p.data)) as { driverName?: string; driver_name?: string; claimData?: Record<string, string>; claim_data?: Record<string, string> };
  return { driverName: ref.driverName ?? ref.driver_name ?? '', claimData: ref.claimData ?? ref.claim_data ?? {} };
}

/**
 * Decodes what Kollect's data converter wrote: claim-checked payloads are fetched from the store,
 * gzip-compressed ones are gunzipped; anything else is returned as it is.
 */
export async function decodePayloads(payloads: Payload[], store: PostgresPayloadStore | undefined, opts: { gzip?: GzipCodec; preserveStorageRefs?: boolean } = {}): Promise<Payload[]> {
  const gzip = opts.gzip ?? new GzipCodec();
  if (opts.preserveStorageRefs) {
    // What the UI asks for when it renders a history: references stay (it shows them and fetches
    // one through /download when clicked); everything else is decoded.
    const refs = new Set(payloads.filter((p) => reference(p)));
    const decoded = await gzip.decode(payloads.filter((p) => !refs.has(p)));
    return payloads.map((p) => (refs.has(p) ? p : decoded.shift()!));
  }
  const out = payloads.slice();
  // A claim holds the codec's output, so a payload can take two steps (claim → gzip → JSON).
  for (let round = 0; round < 3; round++) {
    const claims: { index: number; claim: StorageDriverClaim }[] = [];
    for (const [i, p] of out.entries()) {
      const ref = reference(p);
      if (!ref) continue;
      if (!store || ref.driverName !== store.name) {
        throw new CodecRequestError(422, `payloads[${i}] is a claim of storage driver "${ref.driverName}", which this codec does not have${store ? ` (it has ${store.name})` : ' (no KOLLECT_STORE_URL)'}`);
      }
      claims.push({ index: i, claim: new StorageDriverClaim(ref.claimData) });
    }
    if (claims.length && store) {
      let fetched: Payload[];
      try { fetched = await store.retrieve({}, claims.map((c) => c.claim)); } catch (err) {
        const msg = (err as Error).message;
        throw new CodecRequestError(/is missing from/.test(msg) ? 404 : 502, `payload store: ${msg}`);
      }
      for (const [j, c] of claims.entries()) out[c.index] = fetched[j]!;
    }
    const before = out.slice();
    const decoded = await gzip.decode(out);
    for (const [i, p] of decoded.entries()) out[i] = p;
    if (!claims.length && decoded.every((p, i) => p === before[i])) break;
  }
  return out;
}

export interface CodecServer { port: number; close(): Promise<void> }

/**
 * Serves the codec on its own port (docs/decisions/0020). `namespace` is the operator's Temporal
 * namespace: requests that name another one (X-Namespace or the path) get their payloads back
 * unchanged, so a UI shared with other namespaces shows theirs as it would without a codec and
 * never reads Kollect's store for them.
 */
export async function startCodecServer(opts: { config: CodecConfig; namespace: string; store?: PostgresPayloadStore; log: (event: string, fields?: Record<string, unknown>) => void }): Promise<CodecServer> {
  const { config, namespace, store, log } = opts;
  const allowed = new Set(config.corsOrigins);
  const gzip = new GzipCodec();
  const tokenDigest = config.token ? createHash('sha256').update(config.token).digest() : undefined;

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
  };
  const fail = (res: http.ServerResponse, status: number, error: string, headers: Record<string, string> = {}): void => send(res, status, { error }, headers);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://codec');
    const origin = req.headers.origin;
    const cors: Record<string, string> = { vary: 'Origin' };
    if (origin && allowed.has(origin)) Object.assign(cors, { 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' });
    const m = new RegExp(`^${CODEC_PATH}(?:/([^/]+))?/(decode|encode|download)$`).exec(url.pathname);
    if (!m) { fail(res, 404, `no such path ${url.pathname}: the codec answers POST ${CODEC_PATH}/decode, ${CODEC_PATH}/encode and ${CODEC_PATH}/download`, cors); return; }
    if (origin && !allowed.has(origin)) {
      // Preflight or request from a page whose origin is not listed: refused, with no CORS headers.
      fail(res, 403, `origin ${origin} is not allowed: add it to KOLLECT_CODEC_CORS_ORIGINS (chart value codec.corsOrigins)`, { vary: 'Origin' });
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...cors, 'access-control-allow-methods': 'POST, OPTIONS', 'access-control-allow-headers': 'content-type, x-namespace, authorization',
        'access-control-max-age': '600', ...(req.headers['access-control-request-private-network'] === 'true' ? { 'access-control-allow-private-network': 'true' } : {}),
      }).end();
      return;
    }
    if (req.method !== 'POST') { fail(res, 405, `${req.method ?? ''} ${url.pathname}: the codec takes POST`, { ...cors, allow: 'POST, OPTIONS' }); return; }
    if (tokenDigest) {
      const auth = req.headers.authorization ?? '';
      const given = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim() ?? '';
      if (!given || !timingSafeEqual(createHash('sha256').update(given).digest(), tokenDigest)) {
        fail(res, 401, given ? 'the bearer token does not match KOLLECT_CODEC_TOKEN_FILE' : 'missing Authorization: Bearer <token> (the codec requires the token in KOLLECT_CODEC_TOKEN_FILE)',
          { ...cors, 'www-authenticate': 'Bearer realm="kollect-codec"' });
        req.resume();
        return;
      }
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    // Answered at once; the rest of the body is read and dropped (the client then reads the
    // answer), up to 16 times the limit, past which the connection is cut.
    const tooLarge = (): void => {
      fail(res, 413, `request body over ${config.maxBodyBytes} bytes (KOLLECT_CODEC_MAX_BODY_BYTES): send fewer payloads per request`, cors);
      let dropped = 0;
      req.removeAllListeners('data');
      req.on('data', (c: Buffer) => { dropped += c.length; if (dropped > 16 * config.maxBodyBytes) req.destroy(); });
      req.resume();
    };
    if (declared > config.maxBodyBytes) { tooLarge(); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > config.maxBodyBytes) { if (!res.headersSent) tooLarge(); return; }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      const ns = m[1] !== undefined ? decodeURIComponent(m[1]) : req.headers['x-namespace'];
      const op = m[2] as 'decode' | 'encode' | 'download';
      handle(op, typeof ns === 'string' && ns !== '' ? ns : namespace, Buffer.concat(chunks), url.searchParams.get('preserveStorageRefs') === 'true').then(
        (body) => send(res, 200, body, cors),
        (err: unknown) => {
          const status = err instanceof CodecRequestError ? err.status : 500;
          if (status >= 500) log('codec_failed', { error: (err as Error).message });
          fail(res, status, (err as Error).message, cors);
        },
      );
    });
  });

  async function handle(op: 'decode' | 'encode' | 'download', ns: string, raw: Buffer, preserveStorageRefs: boolean): Promise<{ payloads: JsonPayload[] }> {
    let body: { payloads?: unknown };
    try { body = JSON.parse(raw.toString('utf8')) as { payloads?: unknown }; } catch (err) {
      throw new CodecRequestError(400, `the body is not JSON (${(err as Error).message}): send {"payloads": [{"metadata": {...}, "data": "<base64>"}]}`);
    }
    if (typeof body !== 'object' || body === null || !Array.isArray(body.payloads)) throw new CodecRequestError(400, 'the body must be {"payloads": [...]}');
    const input = body.payloads as JsonPayload[];
    if (ns !== namespace) return { payloads: input.map((p, i) => toJson(fromJson(p, i))) };
    const payloads = input.map(fromJson);
    if (op === 'download') {
      const notRef = payloads.findIndex((p) => !reference(p));
      if (notRef >= 0) throw new CodecRequestError(400, `payloads[${notRef}] is not a storage reference: /download takes only references (use /decode for the others)`);
    }
    const result = op === 'encode' ? await gzip.encode(payloads) : await decodePayloads(payloads, store, { gzip, preserveStorageRefs: op === 'decode' && preserveStorageRefs });
    return { payloads: result.map(toJson) };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, config.host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port ?? 0;
  log('codec_listening', { port, corsOrigins: config.corsOrigins, token: tokenDigest !== undefined });
  return { port, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}
