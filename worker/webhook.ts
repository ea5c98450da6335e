// The validating admission webhook (docs/admission.md): `POST /validate` over TLS, an
// admission.k8s.io/v1 AdmissionReview in and out. The checks on one object are pure
// (api/admission.ts); the one between objects, overlapping Git paths, reads the inventories and
// snapshot sinks through the apiserver with the operator's own client on every review (no cache
// that could lag), and the controller checks the same at reconcile time because two admissions
// can race (watcher/controller.ts, condition GitPathsDisjoint).
//
// The serving certificate is read from KOLLECT_WEBHOOK_CERT_DIR (tls.crt, tls.key) and read
// again whenever the files change (cert-manager rotates them in the mounted Secret): new TLS
// connections get the new certificate without a restart.
import https from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, type Registry } from 'prom-client';
import { METRICS, metricDef } from '../api/metrics-catalog.js';
import {
  ADMISSION_API_VERSION, inventoryVerdict, profileVerdict, reviewResponse, scopeRefusals,
  type AdmissionRequest, type AdmissionResponse, type AdmissionReview, type Refusal, type ScopeContext, type Verdict,
} from '../api/admission.js';
import { API_VERSION, GROUP, KOLLECT_PLURALS, SCOPE_NAME, type KollectKind } from '../api/constants.js';
import { SINK_KINDS, SINK_REF_FIELDS, type KollectInventory, type KollectProfile, type KollectSnapshotSink, type KollectTarget } from '../api/types.js';
import type { ProfileLike, ScopeLike, SinkLike, TenancyOptions } from '../api/tenancy.js';
import type { ExtractionLimits } from '../api/extract/limits.js';
import type { SensitivePolicy } from '../api/extract/sensitive.js';
import { conflicts, describeOverlap, inventoryClaims, type Conflict, type GitClaim } from '../activities/sinks/git-claims.js';
import { KubeApiError, type KubeTransport, type ObjectList } from '../watcher/kube.js';
import type { Log } from './log.js';

export const WEBHOOK_PATH = '/validate';
/** Largest request body read: an AdmissionReview carries the object and the old object (etcd caps each near 1.5 MiB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** How long the overlap check may spend reading the apiserver; the apiserver's own timeout (timeoutSeconds) is longer. */
const LIST_TIMEOUT_MS = 4_000;

export interface WebhookConfig {
  /** KOLLECT_WEBHOOK_PORT (0: any free port). */
  port: number;
  /** KOLLECT_WEBHOOK_HOST, default 0.0.0.0. */
  host: string;
  /** KOLLECT_WEBHOOK_CERT_DIR: holds tls.crt and tls.key. */
  certDir: string;
}

/** The webhook's settings, or undefined when KOLLECT_WEBHOOK_PORT is unset (no webhook). Errors name the variable. */
export function webhookConfigFromEnv(env: NodeJS.ProcessEnv): WebhookConfig | undefined {
  const rawPort = env.KOLLECT_WEBHOOK_PORT ?? '';
  if (rawPort === '') {
    if (env.KOLLECT_WEBHOOK_CERT_DIR) throw new TypeError('KOLLECT_WEBHOOK_CERT_DIR is set but KOLLECT_WEBHOOK_PORT is not: set the port to serve the validating webhook, or unset the directory');
    return undefined;
  }
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) throw new TypeError(`KOLLECT_WEBHOOK_PORT must be a port number 0-65535, got "${rawPort}"`);
  const certDir = env.KOLLECT_WEBHOOK_CERT_DIR ?? '';
  if (!certDir) throw new TypeError('KOLLECT_WEBHOOK_CERT_DIR is required with KOLLECT_WEBHOOK_PORT: a directory holding the serving certificate as tls.crt and tls.key (a mounted kubernetes.io/tls Secret)');
  readPair(certDir); // fails now, naming the variable, rather than at the first review
  return { port, host: env.KOLLECT_WEBHOOK_HOST || '0.0.0.0', certDir };
}

function readPair(dir: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, label: string): Buffer => {
    let data: Buffer;
    try { data = readFileSync(path.join(dir, file)); } catch (err) {
      throw new TypeError(`KOLLECT_WEBHOOK_CERT_DIR: cannot read ${path.join(dir, file)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
    }
    if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(data.toString('utf8'))) throw new TypeError(`KOLLECT_WEBHOOK_CERT_DIR: ${path.join(dir, file)} holds no PEM ${label}`);
    return data;
  };
  return { cert: read('tls.crt', 'CERTIFICATE'), key: read('tls.key', 'PRIVATE KEY') };
}

export interface WebhookOptions {
  config: WebhookConfig;
  /** The operator's apiserver client: lists inventories and snapshot sinks for the overlap check. */
  transport: KubeTransport;
  /** The operator's cluster name (KOLLECT_CLUSTER_NAME), for inventories without spec.cluster. */
  clusterName: string;
  sensitive: SensitivePolicy;
  limits?: Partial<ExtractionLimits>;
  /** The operator's cap on spec.maxExportBytes (KOLLECT_MAX_EXPORT_BYTES); undefined: no cap checked. */
  maxExportBytes?: number;
  /** Namespaces the operator serves (KOLLECT_WATCH_NAMESPACES): the overlap check lists these only; empty = all. */
  namespaces?: string[];
  /** Tenant mode and the namespaces the operator reads (docs/tenancy.md): checked against the namespace's KollectScope. */
  tenancy: TenancyOptions;
  log: Log;
  registry?: Registry;
  /** How often the certificate files are compared with what is served (ms, default 10 s). */
  reloadMs?: number;
}

export interface Webhook {
  port: number;
  /** Reviews one request (what POST /validate does after parsing). */
  review(req: AdmissionRequest): Promise<AdmissionResponse>;
  close(): Promise<void>;
}

const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const keyOf = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  const { log } = opts;
  const reviews = opts.registry ? new Counter({ ...metricDef(METRICS.admissionReviews), registers: [opts.registry] }) : undefined;

  const review = async (req: AdmissionRequest): Promise<AdmissionResponse> => {
    const kind = req.kind?.kind as KollectKind;
    if (req.kind?.group !== GROUP || !(kind in KOLLECT_PLURALS) || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return { uid: req.uid, allowed: true };
    const obj = (req.object ?? {}) as { metadata?: { namespace?: string; name?: string; deletionTimestamp?: string }; spec?: unknown };
    const old = req.oldObject as { spec?: unknown } | undefined;
    // The operator's own writes (finalizers, labels) and anything on an object being deleted pass:
    // only a new or changed spec is checked, so an object admitted before a policy changed is never stuck.
    if (req.operation === 'UPDATE' && (obj.metadata?.deletionTimestamp || isDeepStrictEqual(obj.spec, old?.spec))) return { uid: req.uid, allowed: true };
    const namespace = req.namespace ?? obj.metadata?.namespace ?? '';
    const verdict: Verdict = { refusals: scopeRefusals(kind, obj, { namespace, tenancy: opts.tenancy, ...await tenancyInputs(kind, obj, namespace) }), warnings: [] };
    const add = (v: Verdict): void => { verdict.refusals.push(...v.refusals); verdict.warnings.push(...v.warnings); };
    if (kind === 'KollectProfile') add(profileVerdict(obj as unknown as KollectProfile, { sensitive: opts.sensitive, limits: opts.limits }));
    if (kind === 'KollectInventory') add(inventoryVerdict(obj as unknown as KollectInventory, { maxExportBytes: opts.maxExportBytes }));
    if (kind === 'KollectInventory' || kind === 'KollectSnapshotSink') add(await overlapVerdict(kind, { ...obj, metadata: { ...obj.metadata, namespace } } as never, req.operation === 'UPDATE' ? old as never : undefined));
    return reviewResponse({ ...req, namespace, name: req.name ?? obj.metadata?.name }, verdict);
  };

  /** GET one Kollect object; undefined when it does not exist. */
  const get = async <T>(plural: string, namespace: string, name: string): Promise<T | undefined> => {
    try {
      return await opts.transport.request<T>('GET', `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}`, { signal: AbortSignal.timeout(LIST_TIMEOUT_MS) });
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  };

  /** What the tenancy checks read besides the object: the namespace's KollectScope, a target's profile, an inventory's sinks. */
  const tenancyInputs = async (kind: KollectKind, obj: { spec?: unknown }, namespace: string): Promise<Partial<Pick<ScopeContext, 'profile' | 'sinks'>> & Pick<ScopeContext, 'scopes'>> => {
    if (!namespace || !opts.tenancy.tenantMode || !['KollectProfile', 'KollectTarget', 'KollectInventory'].includes(kind)) return { scopes: [] };
    const scope = await get<ScopeLike>(KOLLECT_PLURALS.KollectScope, namespace, SCOPE_NAME);
    const scopes = scope ? [scope] : [];
    if (kind === 'KollectTarget') {
      const ref = (obj.spec as KollectTarget['spec'] | undefined)?.profileRef?.name;
      return { scopes, profile: ref ? await get<ProfileLike>(KOLLECT_PLURALS.KollectProfile, namespace, ref) : undefined };
    }
    if (kind === 'KollectInventory') {
      const spec = (obj.spec ?? {}) as KollectInventory['spec'];
      const refs = SINK_KINDS.flatMap((k) => (spec[SINK_REF_FIELDS[k]] ?? []).map((r) => [k, r.name] as const));
      const sinks = (await Promise.all(refs.map(async ([k, name]): Promise<SinkLike | undefined> => {
        const s = await get<SinkLike>(KOLLECT_PLURALS[k], namespace, name);
        return s ? { ...s, kind: k } : undefined;
      }))).filter((s) => s !== undefined);
      return { scopes, sinks };
    }
    return { scopes };
  };

  const list = async <T>(plural: string): Promise<T[]> => {
    const signal = AbortSignal.timeout(LIST_TIMEOUT_MS);
    const scopes = opts.namespaces?.length ? opts.namespaces : [undefined];
    const lists = await Promise.all(scopes.map((ns) => opts.transport.request<ObjectList>('GET', `/apis/${API_VERSION}/${ns ? `namespaces/${encodeURIComponent(ns)}/` : ''}${plural}`, { signal })));
    return lists.flatMap((l) => (l.items ?? []) as unknown as T[]);
  };

  /**
   * Git paths of the object under review against every other inventory's, read from the apiserver
   * now. On UPDATE only overlaps the change would create are refused; one the old object already
   * had (both objects predate the webhook, or got past it) comes back as a warning, so that
   * unrelated edits of the earlier inventory are not blocked by a later one.
   */
  const overlapVerdict = async (kind: 'KollectInventory' | 'KollectSnapshotSink', obj: KollectInventory | KollectSnapshotSink, old: KollectInventory | KollectSnapshotSink | undefined): Promise<Verdict> => {
    if (kind === 'KollectSnapshotSink' && (obj as KollectSnapshotSink).spec?.type !== 'git' && (obj as KollectSnapshotSink).spec?.type !== 'gitlab') return { refusals: [], warnings: [] };
    if (kind === 'KollectInventory' && !(obj as KollectInventory).spec?.snapshotSinkRefs?.length) return { refusals: [], warnings: [] };
    let inventories: KollectInventory[];
    let sinkList: KollectSnapshotSink[];
    try {
      [inventories, sinkList] = await Promise.all([list<KollectInventory>(KOLLECT_PLURALS.KollectInventory), list<KollectSnapshotSink>(KOLLECT_PLURALS.KollectSnapshotSink)]);
    } catch (err) {
      // Allowed with a warning: the controller checks again at reconcile time (docs/admission.md).
      log('admission_overlap_unchecked', { object: keyOf(obj), error: errMsg(err) });
      return { refusals: [], warnings: [`Git path overlap not checked (listing inventories failed: ${errMsg(err)}); the operator checks it again at reconcile time`] };
    }
    const me = keyOf(obj);
    const stored = new Map(sinkList.map((s) => [keyOf(s), s]));
    const live = inventories.filter((i) => !i.metadata.deletionTimestamp && (kind === 'KollectSnapshotSink' || keyOf(i) !== me));
    /** The overlaps `candidate` (the new or the old object) takes part in. */
    const found = (candidate: KollectInventory | KollectSnapshotSink): Conflict[] => {
      const sinks = kind === 'KollectSnapshotSink' ? new Map([...stored, [me, candidate as KollectSnapshotSink]]) : stored;
      const claims = (inv: KollectInventory): GitClaim[] => inventoryClaims(inv, sinks, opts.clusterName);
      if (kind === 'KollectInventory') return conflicts(claims(candidate as KollectInventory), live.flatMap(claims));
      const all = live.flatMap(claims);
      return conflicts(all.filter((c) => c.sink === me), all.filter((c) => c.sink !== me));
    };
    const id = (c: Conflict): string => `${c.mine.inventory}|${c.mine.sink}|${c.theirs.inventory}|${c.theirs.sink}`;
    const before = new Set(old ? found({ ...old, metadata: { ...old.metadata, namespace: obj.metadata.namespace } }).map(id) : []);
    const now = found(obj);
    const refusals: Refusal[] = now.filter((c) => !before.has(id(c))).map(({ mine: m, theirs }) => ({
      field: kind === 'KollectInventory'
        ? `spec.snapshotSinkRefs[${(obj as KollectInventory).spec.snapshotSinkRefs!.findIndex((r) => `${m.sink.split('/')[0]}/${r.name}` === m.sink)}]`
        : `spec.${(obj as KollectSnapshotSink).spec.type}.path`,
      message: describeOverlap(m, theirs),
      kind: 'forbidden',
    }));
    const warnings = now.filter((c) => before.has(id(c))).map((c) => `already overlapping, not made worse by this change: ${describeOverlap(c.mine, c.theirs)}`);
    return { refusals, warnings };
  };

  // ---------- the HTTPS server ----------

  let served = readPair(opts.config.certDir);
  const server = https.createServer({ cert: served.cert, key: served.key, minVersion: 'TLSv1.2' }, (req, res) => { void handle(req, res); });
  server.requestTimeout = 15_000; // the apiserver gives up after timeoutSeconds (at most 30 s)
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 30_000;

  const stamp = (): string => ['tls.crt', 'tls.key'].map((f) => { try { const s = statSync(path.join(opts.config.certDir, f)); return `${s.mtimeMs}/${s.size}/${s.ino}`; } catch { return 'missing'; } }).join(',');
  let lastStamp = stamp();
  const reload = (): void => {
    const now = stamp();
    if (now === lastStamp) return;
    lastStamp = now;
    try {
      const next = readPair(opts.config.certDir);
      if (next.cert.equals(served.cert) && next.key.equals(served.key)) return;
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
      served = next;
      log('webhook_certificate_reloaded', { certDir: opts.config.certDir });
    } catch (err) {
      // Half-written files (the key rotated before the certificate): keep serving the old pair, try again on the next change.
      lastStamp = '';
      log('webhook_certificate_reload_failed', { certDir: opts.config.certDir, error: errMsg(err) });
    }
  };
  const reloader = setInterval(reload, opts.reloadMs ?? 10_000);
  reloader.unref();

  const reply = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  /** 413, and the connection closed after it: the rest of the body is never read. */
  const tooLarge = (req: IncomingMessage, res: ServerResponse): void => {
    req.pause();
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ message: `body above ${MAX_BODY_BYTES} bytes` }));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://webhook');
    if (url.pathname === '/healthz' && req.method === 'GET') { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'); return; }
    if (url.pathname !== WEBHOOK_PATH) { reply(res, 404, { message: `not found: POST ${WEBHOOK_PATH}` }); return; }
    if (req.method !== 'POST') { reply(res, 405, { message: `POST ${WEBHOOK_PATH} only` }); return; }
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) { reply(res, 415, { message: 'content-type must be application/json' }); return; }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) { tooLarge(req, res); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) { tooLarge(req, res); return; }
        chunks.push(chunk as Buffer);
      }
    } catch { return; } // the client went away
    let body: AdmissionReview;
    try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AdmissionReview; } catch { reply(res, 400, { message: 'body is not JSON' }); return; }
    const request = body?.request;
    if (body?.apiVersion !== ADMISSION_API_VERSION || body.kind !== 'AdmissionReview' || !request || typeof request.uid !== 'string') {
      reply(res, 400, { message: `expected an ${ADMISSION_API_VERSION} AdmissionReview with request.uid (admissionReviewVersions: ["v1"])` });
      return;
    }
    let response: AdmissionResponse;
    try {
      response = await review(request);
    } catch (err) {
      // A bug, not a verdict: HTTP 500, and the webhook's failurePolicy decides.
      log('admission_failed', { uid: request.uid, kind: request.kind?.kind, object: `${request.namespace ?? ''}/${request.name ?? ''}`, error: errMsg(err) });
      reply(res, 500, { message: `review failed: ${errMsg(err)}` });
      return;
    }
    reviews?.inc({ kind: request.kind?.kind ?? '', allowed: String(response.allowed) });
    if (!response.allowed) log('admission_denied', { kind: request.kind?.kind, object: `${request.namespace ?? ''}/${request.name ?? ''}`, operation: request.operation, user: request.userInfo?.username, message: response.status?.message });
    reply(res, 200, { apiVersion: ADMISSION_API_VERSION, kind: 'AdmissionReview', response });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.config.port, opts.config.host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.config.port;
  log('webhook_started', { port, path: WEBHOOK_PATH, certDir: opts.config.certDir });
  return {
    port,
    review,
    close: () => new Promise((r) => { clearInterval(reloader); server.closeAllConnections(); server.close(() => r()); }),
  };
}
