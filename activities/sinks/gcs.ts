// GCS snapshot sink (KollectSnapshotSink, type gcs): the object-store snapshot (object-store.ts)
// in a Google Cloud Storage bucket. See docs/sinks/gcs.md.
//
// Requests go to the JSON API over node's http/https with Agents whose `lookup` is the endpoint
// guard's and whose CA is spec.tls's. @google-cloud/storage is not used for the data path: its
// transport (teeny-request) takes no agent, so neither the guard nor a private CA could apply to
// its sockets (docs/decisions/0012). google-auth-library supplies the access tokens.
import http from 'node:http';
import https from 'node:https';
import { GoogleAuth } from 'google-auth-library';
import type { GcsSinkSpec } from '../../api/types.js';
import { defaultEndpointGuard, type EndpointGuard } from './endpoints.js';
import {
  ObjectStoreBackend, PreconditionFailedError, fingerprint, inParallel, locateSnapshot, renderRow, OBJECT_FORMATS,
  type ObjectStore, type ObjectStoreDriver, type PutOptions, type StoredObject,
} from './object-store.js';
import { redactUrl } from './redact.js';
import { SinkConfigError, type SinkContext } from './types.js';
import type { SinkDescriptor } from './descriptor.js';

const DEFAULT_API = 'https://storage.googleapis.com';
const SCOPE = 'https://www.googleapis.com/auth/devstorage.read_write';
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const REQUEST_TIMEOUT_MS = 60_000;

interface Compiled { api: string; bucket: string; projectId?: string; location?: string }

function compile(spec: GcsSinkSpec): Compiled {
  if (!spec || typeof spec.bucket !== 'string' || !BUCKET.test(spec.bucket)) {
    throw new SinkConfigError('spec.gcs.bucket', 'is required: 3-222 lower-case letters, digits, dots, hyphens and underscores');
  }
  let api = DEFAULT_API;
  if (spec.apiEndpoint !== undefined) {
    let u: URL;
    try { u = new URL(spec.apiEndpoint); } catch { throw new SinkConfigError('spec.gcs.apiEndpoint', `not a URL: ${redactUrl(spec.apiEndpoint)}`); }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new SinkConfigError('spec.gcs.apiEndpoint', `must be http:// or https:// (got ${u.protocol}//)`);
    if (u.username || u.password) throw new SinkConfigError('spec.gcs.apiEndpoint', 'must not contain credentials: put them in the Secret of spec.secretRef (key credentials.json)');
    api = u.toString().replace(/\/$/, '');
  }
  return { api, bucket: spec.bucket, projectId: spec.projectId, location: spec.location };
}

/**
 * How requests are authorized: the service-account key of the Secret (key credentials.json);
 * without a Secret, Application Default Credentials (workload identity) for Google's endpoint,
 * and none for a custom apiEndpoint (an emulator).
 */
function authOf(ctx: SinkContext<GcsSinkSpec>, c: Compiled): GoogleAuth | undefined {
  const json = ctx.credentials['credentials.json'];
  if (json !== undefined) {
    let credentials: Record<string, unknown>;
    try { credentials = JSON.parse(json) as Record<string, unknown>; } catch { throw new SinkConfigError('spec.secretRef', 'key credentials.json is not JSON (expected a service-account key file)'); }
    if (typeof credentials.client_email !== 'string' || typeof credentials.private_key !== 'string') {
      throw new SinkConfigError('spec.secretRef', 'key credentials.json is not a service-account key (needs client_email and private_key)');
    }
    return new GoogleAuth({ credentials, scopes: [SCOPE], ...(c.projectId ? { projectId: c.projectId } : {}) });
  }
  if (Object.keys(ctx.credentials).length > 0) throw new SinkConfigError('spec.secretRef', 'the Secret needs key credentials.json (a service-account key)');
  return c.api === DEFAULT_API ? new GoogleAuth({ scopes: [SCOPE] }) : undefined;
}

const describe = (spec: GcsSinkSpec): string => `${spec.apiEndpoint ? redactUrl(spec.apiEndpoint).replace(/\/$/, '') : 'gs:/'}/${spec.bucket}`;

interface Response { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

/** A JSON API client over guarded agents: one per endpoint, credentials and CA. */
class GcsClient {
  constructor(
    private readonly api: string, private readonly agents: { http: http.Agent; https: https.Agent }, readonly auth: GoogleAuth | undefined,
  ) {}

  async request(method: string, path: string, opts: { query?: Record<string, string>; body?: Uint8Array | string; contentType?: string } = {}): Promise<Response> {
    const url = new URL(`${this.api}${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    if (this.auth) (await this.auth.getRequestHeaders(url)).forEach((v, k) => { headers[k] = v; });
    if (opts.body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/octet-stream';
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const tls = url.protocol === 'https:';
    return new Promise<Response>((resolve, reject) => {
      const req = (tls ? https : http).request(url, { method, headers, agent: tls ? this.agents.https : this.agents.http, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error(`${method} ${url.pathname} timed out after ${REQUEST_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  /** The error a non-2xx response means: config errors named, the rest retryable. */
  fail(r: Response, what: string): Error {
    let reason: string;
    try { reason = (JSON.parse(r.body.toString('utf8')) as { error?: { message?: string } }).error?.message ?? ''; } catch { reason = r.body.toString('utf8').slice(0, 200); }
    if (r.status === 412) return new PreconditionFailedError(`${what}: the object changed since it was read (a concurrent export); will retry`);
    if (r.status === 401 || r.status === 403) return new SinkConfigError('spec.secretRef', `${what}: HTTP ${r.status} ${reason}: check the credentials and their permissions on the bucket`);
    return Object.assign(new Error(`${what}: HTTP ${r.status} ${reason}`), { code: `http-${r.status}` });
  }
}

const objectPath = (bucket: string, key: string): string => `/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(key)}`;

class GcsStore implements ObjectStore {
  constructor(private readonly client: GcsClient, private readonly c: Compiled) {}

  async ensureBucket(create: boolean): Promise<string> {
    const r = await this.client.request('GET', `/storage/v1/b/${encodeURIComponent(this.c.bucket)}`, { query: { fields: 'name' } });
    if (r.status === 200) return `bucket ${this.c.bucket} reachable`;
    if (r.status !== 404) throw this.client.fail(r, `bucket ${this.c.bucket}`);
    if (!create) throw new SinkConfigError('spec.gcs.bucket', `bucket ${this.c.bucket} does not exist and spec.create is false: create it, or allow the sink to`);
    const project = this.c.projectId ?? await this.client.auth?.getProjectId().catch(() => undefined);
    if (!project) throw new SinkConfigError('spec.gcs.projectId', `bucket ${this.c.bucket} does not exist: set spec.gcs.projectId to create it in (the credentials name no project)`);
    const body = JSON.stringify({ name: this.c.bucket, ...(this.c.location ? { location: this.c.location } : {}) });
    const made = await this.client.request('POST', '/storage/v1/b', { query: { project }, body, contentType: 'application/json' });
    if (made.status !== 200 && made.status !== 409) throw this.client.fail(made, `create bucket ${this.c.bucket}`); // 409: another worker made it
    return `bucket ${this.c.bucket} created`;
  }

  async get(key: string): Promise<{ body: Buffer; tag: string } | undefined> {
    const meta = await this.client.request('GET', objectPath(this.c.bucket, key), { query: { fields: 'generation' } });
    if (meta.status === 404) return undefined;
    if (meta.status !== 200) throw this.client.fail(meta, `get ${key}`);
    const generation = (JSON.parse(meta.body.toString('utf8')) as { generation: string }).generation;
    // Pinned to the generation just seen, so body and tag belong together.
    const r = await this.client.request('GET', objectPath(this.c.bucket, key), { query: { alt: 'media', generation } });
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw this.client.fail(r, `get ${key}`);
    return { body: r.body, tag: generation };
  }

  async put(key: string, body: Uint8Array | string, opts: PutOptions): Promise<string> {
    const query: Record<string, string> = { uploadType: 'media', name: key, fields: 'generation' };
    if (opts.ifTag !== undefined) query.ifGenerationMatch = opts.ifTag ?? '0'; // 0: only if absent
    const r = await this.client.request('POST', `/upload/storage/v1/b/${encodeURIComponent(this.c.bucket)}/o`, { query, body, contentType: opts.contentType });
    if (r.status !== 200) throw this.client.fail(r, `put ${key}`);
    return String((JSON.parse(r.body.toString('utf8')) as { generation: string | number }).generation);
  }

  async *list(prefix: string): AsyncIterable<StoredObject[]> {
    let pageToken: string | undefined;
    do {
      const query: Record<string, string> = { prefix, maxResults: '1000', fields: 'items(name,generation),nextPageToken', ...(pageToken ? { pageToken } : {}) };
      const r = await this.client.request('GET', `/storage/v1/b/${encodeURIComponent(this.c.bucket)}/o`, { query });
      if (r.status !== 200) throw this.client.fail(r, `list ${prefix}`);
      const page = JSON.parse(r.body.toString('utf8')) as { items?: { name: string; generation: string | number }[]; nextPageToken?: string };
      yield (page.items ?? []).map((o) => ({ key: o.name, tag: String(o.generation) }));
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  async delete(keys: readonly string[]): Promise<void> {
    await inParallel(keys, async (key) => {
      const r = await this.client.request('DELETE', objectPath(this.c.bucket, key));
      if (r.status !== 204 && r.status !== 200 && r.status !== 404) throw this.client.fail(r, `delete ${key}`);
    }, 32);
  }
}

interface ClientEntry { fingerprint: string; guard: EndpointGuard; client: GcsClient; agents: { http: http.Agent; https: https.Agent } }

export class GcsDriver implements ObjectStoreDriver<GcsSinkSpec> {
  readonly type = 'gcs';
  private readonly clients = new Map<string, ClientEntry>();

  describe(spec: GcsSinkSpec): string { return describe(spec); }

  /** A client per endpoint; replaced when the key or the CA change (Secret rotated). */
  open(ctx: SinkContext<GcsSinkSpec>): ObjectStore {
    const c = compile(ctx.spec);
    const fp = fingerprint(ctx.credentials['credentials.json'], ctx.caPem, c.projectId);
    const guard = ctx.guard ?? defaultEndpointGuard();
    let entry = this.clients.get(c.api);
    if (entry?.fingerprint !== fp || entry.guard !== guard) {
      if (entry) { entry.agents.http.destroy(); entry.agents.https.destroy(); }
      const opts = { keepAlive: true, maxSockets: 64 };
      const agents = { http: guard.agent(http.Agent, 'spec.gcs.apiEndpoint', opts), https: guard.agent(https.Agent, 'spec.gcs.apiEndpoint', { ...opts, ...(ctx.caPem ? { ca: ctx.caPem } : {}) }) };
      entry = { fingerprint: fp, guard, agents, client: new GcsClient(c.api, agents, authOf(ctx, c)) };
      this.clients.set(c.api, entry);
    }
    return new GcsStore(entry.client, c);
  }

  close(): Promise<void> {
    for (const e of this.clients.values()) { e.agents.http.destroy(); e.agents.https.destroy(); }
    this.clients.clear();
    return Promise.resolve();
  }
}

export const gcsBackend = new ObjectStoreBackend(new GcsDriver());

export const gcsSink: SinkDescriptor<GcsSinkSpec> = {
  type: 'gcs', kind: 'KollectSnapshotSink', backend: gcsBackend, formats: OBJECT_FORMATS,
  locate: (spec, inv) => locateSnapshot('gcs', describe(spec), spec.pathTemplate, inv),
  render: (row, _spec, format) => renderRow(row, format),
  sample: 'sink-gcs.yaml', docs: 'gcs.md',
};
