// Shared informers: one per (apiVersion, kind, namespace scope), reference-counted across the
// Targets that use it. Two Targets on ConfigMaps in `team-a` share one list+watch; the last
// release stops it. Each Target filters the shared cache by its own selectors client-side.
import type { Log } from '../worker/log.js';
import { Discovery, type ResolvedKind } from './discovery.js';
import {
  Informer, LIST_DONE, ADD, DELETE, WATCH_RESTART, NETWORK_ERROR, OLD_RESOURCE_VERSION,
  type InformerConfig, type InformerEvent,
} from './informer.js';
import type { KubeTransport } from './kube.js';
import type { WatcherMetrics } from './metrics.js';

export interface PoolKey {
  apiVersion: string;
  kind: string;
  /** One namespace, or undefined for all namespaces. Ignored for cluster-scoped kinds. */
  namespace?: string;
}

export interface Lease {
  readonly informer: Informer;
  release(): void;
}

/** The kind is not served by the apiserver (CRD missing, typo): the Target waits and retries. */
export class UnknownKindError extends Error {
  override readonly name = 'UnknownKindError';
  constructor(readonly apiVersion: string, readonly kind: string) {
    super(`the apiserver does not serve kind ${kind} in ${apiVersion}`);
  }
}

export interface InformerInfo { id: string; refs: number; objects: number; synced: boolean }
export type InformerTap = (informerId: string, e: InformerEvent) => void;

export class InformerPool {
  private readonly entries = new Map<string, { informer: Informer; refs: number; off: () => void }>();
  private readonly taps = new Set<InformerTap>();
  /** Informers released but still winding down; stopAll() waits for them too. */
  private readonly stopping = new Set<Promise<void>>();

  constructor(
    private readonly transport: KubeTransport,
    private readonly discovery: Discovery,
    private readonly config: InformerConfig,
    private readonly metrics: WatcherMetrics,
    private readonly log: Log,
  ) {}

  /** Watch every informer event of the pool (metrics, tests). */
  tap(listener: InformerTap): () => void {
    this.taps.add(listener);
    return () => { this.taps.delete(listener); };
  }

  async resolve(apiVersion: string, kind: string): Promise<ResolvedKind> {
    const r = await this.discovery.resolve(apiVersion, kind);
    if (!r) throw new UnknownKindError(apiVersion, kind);
    return r;
  }

  /** A started informer for the key (shared), plus a handle to give it back. */
  async acquire(key: PoolKey): Promise<Lease> {
    const r = await this.resolve(key.apiVersion, key.kind);
    return this.acquireResolved(r, key.namespace);
  }

  acquireResolved(r: ResolvedKind, namespace: string | undefined): Lease {
    const scope = r.namespaced ? namespace : undefined;
    const id = `${r.apiVersion}/${r.kind}@${scope ?? '*'}`;
    let entry = this.entries.get(id);
    if (!entry) {
      const informer = new Informer({ ...r, namespace: scope }, this.transport, this.config);
      const off = informer.on((e) => this.observe(informer, e));
      entry = { informer, refs: 0, off };
      this.entries.set(id, entry);
      informer.start();
      this.log('informer_started', { informer: id });
    }
    entry.refs++;
    const e = entry;
    let released = false;
    return {
      informer: e.informer,
      release: () => {
        if (released) return;
        released = true;
        if (--e.refs > 0) return;
        this.entries.delete(id);
        e.off();
        const p = e.informer.stop().finally(() => this.stopping.delete(p));
        this.stopping.add(p);
        this.metrics.informerRemoved(`${r.apiVersion}/${r.kind}`, scope ?? '*');
        this.log('informer_stopped', { informer: id });
      },
    };
  }

  informers(): InformerInfo[] {
    return [...this.entries.entries()].map(([id, e]) => ({ id, refs: e.refs, objects: e.informer.size, synced: e.informer.synced }));
  }

  async stopAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) e.off();
    await Promise.all([...all.map((e) => e.informer.stop()), ...this.stopping]);
  }

  private observe(informer: Informer, e: InformerEvent): void {
    const { apiVersion, kind, namespace } = informer.resource;
    const gvk = `${apiVersion}/${kind}`;
    if (e.type === LIST_DONE || e.type === ADD || e.type === DELETE) this.metrics.informerObjects(gvk, namespace ?? '*', informer.size);
    if (e.type === WATCH_RESTART) this.metrics.watchRestart(gvk, e.reason);
    if (e.type === LIST_DONE && e.reason !== 'periodic') this.log('informer_listed', { informer: informer.id, reason: e.reason, objects: e.objects, pages: e.pages, durationMs: e.durationMs });
    if (e.type === OLD_RESOURCE_VERSION) this.log('informer_resource_version_expired', { informer: informer.id, resourceVersion: e.resourceVersion });
    if (e.type === NETWORK_ERROR) this.log('informer_error', { informer: informer.id, phase: e.phase, status: e.status, reason: e.reason, error: e.message });
    for (const t of this.taps) {
      try { t(informer.id, e); } catch { /* taps are observers only */ }
    }
  }
}
