// Raw apiserver access for the watcher: JSON requests and line-delimited watch streams, sent
// through @kubernetes/client-node's own fetch, TLS and auth (KubeConfig), but without its typed
// (de)serializer. The watcher needs objects exactly as the apiserver sends them (timestamps as
// strings, unknown fields kept) because profiles evaluate CEL/JSONPath over that JSON, and it
// needs the HTTP status and headers (410, 429 + Retry-After) that the generated clients hide.
import * as k8s from '@kubernetes/client-node';

export type Query = Record<string, string | number | boolean | undefined>;

/** A Kubernetes `Status` object (failed requests, and `ERROR` watch events). */
export interface KubeStatus {
  kind?: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface ObjectList {
  metadata?: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items?: KubeObject[];
}

export const WATCH_ADDED = 'ADDED';
export const WATCH_MODIFIED = 'MODIFIED';
export const WATCH_DELETED = 'DELETED';
export const WATCH_BOOKMARK = 'BOOKMARK';
export const WATCH_ERROR = 'ERROR';
export type WatchEventType = typeof WATCH_ADDED | typeof WATCH_MODIFIED | typeof WATCH_DELETED | typeof WATCH_BOOKMARK | typeof WATCH_ERROR;
export interface RawWatchEvent { type: WatchEventType; object: KubeObject & KubeStatus }

/** A failed apiserver call, with what a retry decision needs. Never carries request headers. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly method: string,
    readonly path: string,
    /** HTTP status; 0 when no response arrived (network error). */
    readonly status: number,
    readonly reason: string | undefined,
    message: string,
    /** Retry-After header in milliseconds, when the server sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(`${method} ${path}: ${status ? `${status} ` : ''}${message}`);
  }
}

/** What the watcher needs from the apiserver; tests substitute a scripted fake. */
export interface KubeTransport {
  request<T>(method: 'GET' | 'PATCH' | 'POST' | 'DELETE', path: string, opts?: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal }): Promise<T>;
  /** Opens a watch; resolves once the server answered 200, rejects with KubeApiError otherwise. */
  watch(path: string, query: Query, signal: AbortSignal): Promise<AsyncIterable<RawWatchEvent>>;
}

export const MERGE_PATCH = 'application/merge-patch+json';

function withQuery(base: string, path: string, query: Query | undefined): string {
  const url = new URL(base.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  return url.toString();
}

function retryAfter(headers: Record<string, string>): number | undefined {
  const v = headers['retry-after'];
  if (!v) return undefined;
  const s = Number(v);
  return Number.isFinite(s) ? s * 1000 : undefined;
}

async function failure(method: string, path: string, resp: k8s.ResponseContext): Promise<KubeApiError> {
  let status: KubeStatus;
  const text = await resp.body.text().catch(() => '');
  try { status = JSON.parse(text) as KubeStatus; } catch { status = { message: text.slice(0, 200) }; }
  return new KubeApiError(method, path, resp.httpStatusCode, status.reason, status.message ?? `HTTP ${resp.httpStatusCode}`, retryAfter(resp.headers));
}

/** Splits a byte stream into JSON lines and parses each as a watch event. */
export async function* parseWatchStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<RawWatchEvent> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line) as RawWatchEvent;
    }
  }
  const rest = (buf + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest) as RawWatchEvent;
}

/** The real transport: client-node's fetch (undici), TLS and credentials from the KubeConfig. */
export function kubeTransport(kc: k8s.KubeConfig): KubeTransport {
  const http = new k8s.IsomorphicFetchHttpLibrary();
  const server = (): string => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    return cluster.server;
  };
  const send = async (method: string, path: string, query: Query | undefined, signal: AbortSignal | undefined, body?: unknown, contentType?: string): Promise<k8s.ResponseContext> => {
    const ctx = new k8s.RequestContext(withQuery(server(), path, query), method as k8s.HttpMethod);
    await kc.applySecurityAuthentication(ctx);
    ctx.setHeaderParam('Accept', 'application/json');
    if (body !== undefined) {
      ctx.setHeaderParam('Content-Type', contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(body));
    }
    if (signal) ctx.setSignal(signal);
    try {
      return await http.send(ctx).toPromise();
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new KubeApiError(method, path, 0, cause?.code, cause?.message ?? (err as Error).message);
    }
  };
  return {
    async request<T>(method: 'GET' | 'PATCH' | 'POST' | 'DELETE', path: string, opts: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal } = {}): Promise<T> {
      const resp = await send(method, path, opts.query, opts.signal, opts.body, opts.contentType);
      if (resp.httpStatusCode < 200 || resp.httpStatusCode >= 300) throw await failure(method, path, resp);
      return JSON.parse(await resp.body.text()) as T;
    },
    async watch(path: string, query: Query, signal: AbortSignal): Promise<AsyncIterable<RawWatchEvent>> {
      const resp = await send('GET', path, { ...query, watch: true }, signal);
      if (resp.httpStatusCode !== 200) throw await failure('WATCH', path, resp);
      const stream = resp.body.stream();
      if (!stream) throw new KubeApiError('WATCH', path, resp.httpStatusCode, undefined, 'response has no body');
      return parseWatchStream(stream);
    },
  };
}
