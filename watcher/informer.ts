// A list+watch cache of one resource type in one namespace scope, written for faults rather than
// for the happy path. client-node's stock informer stops on an unexpected error; this one never
// gives up while it is started: it lists (paginated), watches from the list's resourceVersion
// with bookmarks and a randomised server timeout, relists on 410 Gone, backs off with jitter on
// 429 / network errors / apiserver restarts, restarts a silent watch (inactivity timeout) and
// relists periodically as a safety net (a plain watch can silently miss events). Every such
// decision is emitted as a typed event so metrics and tests can see it.
import { KubeApiError, WATCH_ADDED, WATCH_BOOKMARK, WATCH_DELETED, WATCH_ERROR, WATCH_MODIFIED, type KubeObject, type KubeStatus, type KubeTransport, type ObjectList } from './kube.js';

// ---------- configuration ----------

export interface InformerConfig {
  /** Items per list page (`limit`). */
  pageSize: number;
  /** Server-side watch timeout, drawn uniformly from [min, max] seconds for each watch. */
  watchTimeoutSeconds: { min: number; max: number };
  /** Full relist this often (±10 % jitter), even when the watch looks healthy; 0 disables. */
  relistIntervalMs: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. */
  inactivityTimeoutMs: number;
  /** Exponential backoff with full jitter after failures. */
  backoff: { initialMs: number; maxMs: number };
}

// The apiserver sends a BOOKMARK about every 60 s on an idle watch (measured on v1.36.3, see
// docs/decisions/0007), so three missed bookmarks mean the connection is dead.
export const DEFAULT_INFORMER_CONFIG: InformerConfig = Object.freeze({
  pageSize: 500,
  watchTimeoutSeconds: Object.freeze({ min: 300, max: 600 }),
  relistIntervalMs: 600_000,
  inactivityTimeoutMs: 180_000,
  backoff: Object.freeze({ initialMs: 500, maxMs: 30_000 }),
});

export type InformerConfigInput = Partial<Omit<InformerConfig, 'watchTimeoutSeconds' | 'backoff'>> & {
  watchTimeoutSeconds?: Partial<InformerConfig['watchTimeoutSeconds']>;
  backoff?: Partial<InformerConfig['backoff']>;
};

/** Validates options once at the edge; throws a TypeError naming the bad option. */
export function compileInformerConfig(input: InformerConfigInput = {}): InformerConfig {
  const d = DEFAULT_INFORMER_CONFIG;
  const c: InformerConfig = {
    pageSize: input.pageSize ?? d.pageSize,
    watchTimeoutSeconds: { ...d.watchTimeoutSeconds, ...input.watchTimeoutSeconds },
    relistIntervalMs: input.relistIntervalMs ?? d.relistIntervalMs,
    inactivityTimeoutMs: input.inactivityTimeoutMs ?? d.inactivityTimeoutMs,
    backoff: { ...d.backoff, ...input.backoff },
  };
  const positive = (name: string, v: number, allowZero = false): void => {
    if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new TypeError(`informer option ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`);
  };
  positive('pageSize', c.pageSize);
  positive('watchTimeoutSeconds.min', c.watchTimeoutSeconds.min);
  positive('watchTimeoutSeconds.max', c.watchTimeoutSeconds.max);
  if (c.watchTimeoutSeconds.max < c.watchTimeoutSeconds.min) throw new TypeError('informer option watchTimeoutSeconds.max must be >= watchTimeoutSeconds.min');
  positive('relistIntervalMs', c.relistIntervalMs, true);
  positive('inactivityTimeoutMs', c.inactivityTimeoutMs);
  positive('backoff.initialMs', c.backoff.initialMs);
  positive('backoff.maxMs', c.backoff.maxMs);
  return c;
}

// ---------- events ----------

export const ADD = 'add';
export const UPDATE = 'update';
export const DELETE = 'delete';
export const LIST_DONE = 'LIST_DONE';
export const RELIST = 'RELIST';
export const OLD_RESOURCE_VERSION = 'OLD_RESOURCE_VERSION';
export const NETWORK_ERROR = 'NETWORK_ERROR';
export const BACKOFF = 'BACKOFF';
export const WATCH_START = 'WATCH_START';
export const WATCH_RESTART = 'WATCH_RESTART';

/** Why a list ran: the first one, after 410 Gone, the periodic safety net, or after an error. */
export type ListReason = 'initial' | 'gone' | 'periodic' | 'error';
/** Why a watch was re-opened; the `reason` label of kollect_watch_restarts_total. */
export type RestartReason = 'closed' | 'inactivity' | 'gone' | 'throttled' | 'network' | 'error' | 'periodic';

export type InformerEvent =
  | { type: typeof ADD; object: KubeObject }
  | { type: typeof UPDATE; object: KubeObject; old: KubeObject }
  | { type: typeof DELETE; object: KubeObject }
  /** A (re)list completed: the cache now holds exactly `objects` objects as of `resourceVersion`. */
  | { type: typeof LIST_DONE; reason: ListReason; objects: number; pages: number; durationMs: number; resourceVersion: string }
  | { type: typeof RELIST; reason: Exclude<ListReason, 'initial'> }
  | { type: typeof OLD_RESOURCE_VERSION; resourceVersion: string; message: string }
  | { type: typeof NETWORK_ERROR; phase: 'list' | 'watch'; status: number; reason?: string; message: string }
  | { type: typeof BACKOFF; delayMs: number; attempt: number }
  | { type: typeof WATCH_START; resourceVersion: string; timeoutSeconds: number }
  | { type: typeof WATCH_RESTART; reason: RestartReason };

export type InformerListener = (e: InformerEvent) => void;

// ---------- the resource ----------

export interface ResourceRef {
  apiVersion: string;
  kind: string;
  /** Lower-case plural from discovery, e.g. `configmaps`. */
  plural: string;
  namespaced: boolean;
  /** Watch one namespace; undefined watches all namespaces (or a cluster-scoped type). */
  namespace?: string;
}

export function resourcePath(r: ResourceRef): string {
  const base = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  return r.namespaced && r.namespace ? `${base}/namespaces/${encodeURIComponent(r.namespace)}/${r.plural}` : `${base}/${r.plural}`;
}

/** Is this error (or watch ERROR status) a 410: the resourceVersion is too old to watch from? */
export function isGone(err: unknown): boolean {
  if (err instanceof KubeApiError) return err.status === 410 || err.reason === 'Expired' || err.reason === 'Gone';
  const s = err as KubeStatus | undefined;
  return !!s && typeof s === 'object' && (s.code === 410 || s.reason === 'Expired' || s.reason === 'Gone');
}

class GoneError extends Error {
  constructor(readonly resourceVersion: string, message: string) { super(message); }
}
class WatchStatusError extends Error {
  constructor(readonly status: KubeStatus) { super(status.message ?? `watch error ${status.code ?? ''}`); }
}
class Restart extends Error {
  constructor(readonly reason: 'inactivity' | 'periodic') { super(reason); }
}

/** Backoff delay for the given attempt (1-based): full jitter over an exponential cap. */
export function backoffDelay(attempt: number, b: InformerConfig['backoff'], random: () => number = Math.random): number {
  const cap = Math.min(b.maxMs, b.initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(b.initialMs / 2 + random() * (cap - b.initialMs / 2));
}

const uidOf = (o: KubeObject): string | undefined => o.metadata?.uid;
const rvOf = (o: KubeObject): string => o.metadata?.resourceVersion ?? '';

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) { resolve(); return; }
    const t = setTimeout(() => { signal.removeEventListener('abort', done); resolve(); }, ms);
    const done = (): void => { clearTimeout(t); resolve(); };
    signal.addEventListener('abort', done, { once: true });
  });
}

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly listeners = new Set<InformerListener>();
  private readonly path: string;
  private stopper = new AbortController();
  private running: Promise<void> | undefined;
  private hasSynced = false;
  private lastListAt = 0;
  private nextRelistMs = 0;

  constructor(
    readonly resource: ResourceRef,
    private readonly transport: KubeTransport,
    private readonly config: InformerConfig = DEFAULT_INFORMER_CONFIG,
    private readonly random: () => number = Math.random,
  ) {
    this.path = resourcePath(resource);
  }

  /** `apiVersion/Kind` plus scope, e.g. `v1/ConfigMap@team-a` or `apps/v1/Deployment@*`. */
  get id(): string { return `${this.resource.apiVersion}/${this.resource.kind}@${this.resource.namespace ?? '*'}`; }
  /** True once the first list completed; the cache is then a faithful copy. */
  get synced(): boolean { return this.hasSynced; }
  get size(): number { return this.cache.size; }
  /** The cached objects (do not mutate them). */
  objects(): IterableIterator<KubeObject> { return this.cache.values(); }
  get(uid: string): KubeObject | undefined { return this.cache.get(uid); }

  on(listener: InformerListener): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  start(): void {
    if (this.running) return;
    this.stopper = new AbortController();
    this.running = this.run(this.stopper.signal);
  }

  /** Stops watching; resolves when the loop has ended. The cache is kept (and stale). */
  async stop(): Promise<void> {
    this.stopper.abort();
    const r = this.running;
    this.running = undefined;
    await r;
  }

  private emit(e: InformerEvent): void {
    for (const l of [...this.listeners]) {
      try { l(e); } catch { /* a listener's bug must not stop the watch; listeners log their own errors */ }
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    let listReason: ListReason = 'initial';
    let attempt = 0;
    while (!signal.aborted) {
      let phase: 'list' | 'watch' = 'list';
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.list(listReason, signal);
          attempt = 0;
          if (signal.aborted) break;
        }
        phase = 'watch';
        const outcome = await this.watch(resourceVersion, signal);
        resourceVersion = outcome.resourceVersion;
        if (signal.aborted) break;
        if (outcome.events > 0) attempt = 0;
        if (outcome.end === 'periodic') {
          this.emit({ type: WATCH_RESTART, reason: 'periodic' });
          this.emit({ type: RELIST, reason: 'periodic' });
          resourceVersion = undefined;
          listReason = 'periodic';
          continue;
        }
        this.emit({ type: WATCH_RESTART, reason: outcome.end });
        // A server that closes watches immediately (restarting, overloaded) must not make us spin.
        if (outcome.end === 'closed' && outcome.events === 0 && outcome.durationMs < 1000) await this.backoff(++attempt, undefined, signal);
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof GoneError || isGone(err)) {
          const rv = err instanceof GoneError ? err.resourceVersion : resourceVersion ?? '';
          this.emit({ type: OLD_RESOURCE_VERSION, resourceVersion: rv, message: (err as Error).message });
          if (phase === 'watch') this.emit({ type: WATCH_RESTART, reason: 'gone' });
          this.emit({ type: RELIST, reason: 'gone' });
          resourceVersion = undefined;
          listReason = 'gone';
          // A 410 during a list (expired continue token) or right after a fresh list means the
          // server is unsettled: back off rather than relist in a tight loop.
          if (phase === 'list' || Date.now() - this.lastListAt < 1000) await this.backoff(++attempt, undefined, signal);
          continue;
        }
        const status = err instanceof KubeApiError ? err.status : err instanceof WatchStatusError ? err.status.code ?? 0 : 0;
        const reason = err instanceof KubeApiError ? err.reason : err instanceof WatchStatusError ? err.status.reason : undefined;
        this.emit({ type: NETWORK_ERROR, phase, status, reason, message: (err as Error).message });
        if (phase === 'watch') this.emit({ type: WATCH_RESTART, reason: status === 429 ? 'throttled' : status === 0 ? 'network' : 'error' });
        else listReason = this.hasSynced ? 'error' : 'initial';
        await this.backoff(++attempt, err instanceof KubeApiError ? err.retryAfterMs : undefined, signal);
      }
    }
  }

  private async backoff(attempt: number, retryAfterMs: number | undefined, signal: AbortSignal): Promise<void> {
    const delayMs = Math.max(backoffDelay(attempt, this.config.backoff, this.random), Math.min(retryAfterMs ?? 0, this.config.backoff.maxMs));
    this.emit({ type: BACKOFF, delayMs, attempt });
    await abortableSleep(delayMs, signal);
  }

  /** Lists every page, then replaces the cache and emits the differences. Returns the list's RV. */
  private async list(reason: ListReason, signal: AbortSignal): Promise<string> {
    const started = Date.now();
    const fresh = new Map<string, KubeObject>();
    let cont: string | undefined;
    let resourceVersion = '';
    let pages = 0;
    do {
      const page = await this.transport.request<ObjectList>('GET', this.path, { query: { limit: this.config.pageSize, continue: cont }, signal });
      pages++;
      if (pages === 1) resourceVersion = page.metadata?.resourceVersion ?? '';
      // A list response's items carry no apiVersion/kind; put them back so every object looks
      // the same whether it came from a list or a watch (profiles read them).
      for (const item of page.items ?? []) {
        const uid = uidOf(item);
        if (!uid) continue;
        fresh.set(uid, cached({ apiVersion: this.resource.apiVersion, kind: this.resource.kind, ...item }));
      }
      cont = page.metadata?.continue || undefined;
    } while (cont && !signal.aborted);
    if (signal.aborted) return resourceVersion;

    const old = new Map(this.cache);
    this.cache.clear();
    for (const [uid, o] of fresh) this.cache.set(uid, o);
    for (const [uid, o] of old) if (!fresh.has(uid)) this.emit({ type: DELETE, object: o });
    for (const [uid, o] of fresh) {
      const prev = old.get(uid);
      if (!prev) this.emit({ type: ADD, object: o });
      else if (rvOf(prev) !== rvOf(o)) this.emit({ type: UPDATE, object: o, old: prev });
    }
    this.hasSynced = true;
    this.lastListAt = Date.now();
    const r = this.config.relistIntervalMs;
    this.nextRelistMs = r > 0 ? r * (0.9 + 0.2 * this.random()) : 0;
    this.emit({ type: LIST_DONE, reason, objects: this.cache.size, pages, durationMs: Date.now() - started, resourceVersion });
    return resourceVersion;
  }

  /** One watch request; returns how it ended and the newest resourceVersion seen. */
  private async watch(from: string, stop: AbortSignal): Promise<{ end: 'closed' | 'inactivity' | 'periodic'; resourceVersion: string; events: number; durationMs: number }> {
    const { min, max } = this.config.watchTimeoutSeconds;
    const timeoutSeconds = Math.round(min + this.random() * (max - min));
    const ctl = new AbortController();
    const onStop = (): void => ctl.abort();
    if (stop.aborted) ctl.abort();
    stop.addEventListener('abort', onStop, { once: true });
    let resourceVersion = from;
    let events = 0;
    const started = Date.now();
    let inactivity: NodeJS.Timeout | undefined;
    let periodic: NodeJS.Timeout | undefined;
    let restart: Restart | undefined;
    const arm = (): void => {
      clearTimeout(inactivity);
      inactivity = setTimeout(() => { restart = new Restart('inactivity'); ctl.abort(); }, this.config.inactivityTimeoutMs);
    };
    if (this.nextRelistMs > 0) {
      const due = Math.max(0, this.lastListAt + this.nextRelistMs - Date.now());
      periodic = setTimeout(() => { restart = new Restart('periodic'); ctl.abort(); }, due);
    }
    try {
      arm();
      this.emit({ type: WATCH_START, resourceVersion: from, timeoutSeconds });
      const stream = await this.transport.watch(this.path, { resourceVersion: from, allowWatchBookmarks: true, timeoutSeconds }, ctl.signal);
      for await (const ev of stream) {
        arm();
        events++;
        const obj = ev.object;
        if (ev.type === WATCH_ERROR) {
          if (isGone(obj)) throw new GoneError(resourceVersion, obj.message ?? 'resource version too old');
          throw new WatchStatusError(obj);
        }
        if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
        if (ev.type === WATCH_BOOKMARK) continue;
        const uid = uidOf(obj);
        if (!uid) continue;
        const o: KubeObject = cached({ apiVersion: this.resource.apiVersion, kind: this.resource.kind, ...obj });
        if (ev.type === WATCH_DELETED) {
          // The event carries the object's final state; emit it even if the cache never had it.
          this.cache.delete(uid);
          this.emit({ type: DELETE, object: o });
        } else if (ev.type === WATCH_ADDED || ev.type === WATCH_MODIFIED) {
          const prev = this.cache.get(uid);
          this.cache.set(uid, o);
          this.emit(prev ? { type: UPDATE, object: o, old: prev } : { type: ADD, object: o });
        }
      }
      return { end: restart?.reason ?? 'closed', resourceVersion, events, durationMs: Date.now() - started };
    } catch (err) {
      if (restart && !stop.aborted) return { end: restart.reason, resourceVersion, events, durationMs: Date.now() - started };
      if (stop.aborted) return { end: 'closed', resourceVersion, events, durationMs: Date.now() - started };
      throw err;
    } finally {
      clearTimeout(inactivity);
      clearTimeout(periodic);
      stop.removeEventListener('abort', onStop);
      ctl.abort();
    }
  }
}

/**
 * What the cache keeps of an object: everything but metadata.managedFields, the server-side-apply
 * bookkeeping that is often the largest part of an object and that no row uses (pruning drops it
 * too). The same transform client-go informers apply; at 100k objects it is most of the cache.
 */
function cached(o: KubeObject): KubeObject {
  const meta = o.metadata;
  if (!meta?.managedFields) return o;
  const { managedFields: _dropped, ...rest } = meta;
  return { ...o, metadata: rest };
}
