// A scripted stand-in for the apiserver's list/watch protocol, for unit tests of the informer's
// fault handling (410 mid-stream, 429, dropped connections) that a real apiserver will not
// produce on demand. Integration tests use the real apiserver.
import { KubeApiError, type KubeObject, type KubeStatus, type KubeTransport, type ObjectList, type Query, type RawWatchEvent } from './kube.js';

export type WatchScript = KubeApiError | Error | ((w: FakeWatch) => void);

/** One open watch: the test pushes events, ends it, or fails it. */
export class FakeWatch {
  private queue: (RawWatchEvent | { end: true } | { error: unknown })[] = [];
  private wake: (() => void) | undefined;
  constructor(readonly query: Query, readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }
  push(type: RawWatchEvent['type'], object: KubeObject & KubeStatus): void { this.queue.push({ type, object }); this.wake?.(); }
  end(): void { this.queue.push({ end: true }); this.wake?.(); }
  fail(error: unknown): void { this.queue.push({ error }); this.wake?.(); }
  async *events(): AsyncGenerator<RawWatchEvent> {
    for (;;) {
      if (this.signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      const next = this.queue.shift();
      if (!next) { await new Promise<void>((r) => { this.wake = r; }); continue; }
      if ('end' in next) return;
      if ('error' in next) throw next.error;
      yield next;
    }
  }
}

export class FakeKube implements KubeTransport {
  /** The "etcd" contents listed by default. */
  readonly objects = new Map<string, KubeObject>();
  resourceVersion = 100;
  /** Scripted answers for the next list pages / watches; when empty, defaults apply. */
  readonly listScript: (KubeApiError | Error | undefined)[] = [];
  readonly watchScript: WatchScript[] = [];
  readonly listCalls: Query[] = [];
  readonly watchCalls: Query[] = [];
  readonly requests: { method: string; path: string; body?: unknown }[] = [];
  readonly openWatches: FakeWatch[] = [];
  private watchWaiters: ((w: FakeWatch) => void)[] = [];

  put(name: string, extra: Record<string, unknown> = {}, namespace = 'ns'): KubeObject {
    const rv = String(++this.resourceVersion);
    const o: KubeObject = { metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: rv }, ...extra };
    this.objects.set(name, o);
    return o;
  }

  /** Resolves with the next watch opened (or the current one, if it is open and unclaimed). */
  nextWatch(): Promise<FakeWatch> {
    return new Promise((r) => this.watchWaiters.push(r));
  }

  request<T>(method: 'GET' | 'PATCH' | 'POST' | 'DELETE', path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    this.requests.push({ method, path, body: opts.body });
    if (method !== 'GET') return Promise.resolve({} as T);
    this.listCalls.push(opts.query ?? {});
    const scripted = this.listScript.shift();
    if (scripted) return Promise.reject(scripted);
    const all = [...this.objects.values()].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const limit = Number(opts.query?.limit ?? all.length) || all.length;
    const start = Number(opts.query?.continue ?? 0);
    const items = all.slice(start, start + limit);
    const next = start + limit < all.length ? String(start + limit) : undefined;
    const list: ObjectList = { metadata: { resourceVersion: String(this.resourceVersion), continue: next }, items };
    return Promise.resolve(list as T);
  }

  watch(_path: string, query: Query, signal: AbortSignal): Promise<AsyncIterable<RawWatchEvent>> {
    this.watchCalls.push(query);
    const scripted = this.watchScript.shift();
    if (scripted instanceof Error) return Promise.reject(scripted);
    const w = new FakeWatch(query, signal);
    this.openWatches.push(w);
    if (scripted) scripted(w);
    const waiter = this.watchWaiters.shift();
    if (waiter) waiter(w);
    return Promise.resolve(w.events());
  }
}

export const apiError = (status: number, reason?: string, retryAfterMs?: number): KubeApiError =>
  new KubeApiError('GET', '/fake', status, reason, `fake ${status}`, retryAfterMs);
