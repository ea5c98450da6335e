// spec.namespaceSelector of KollectClusterTargets (docs/tenancy.md): the namespaces whose labels
// match, from one shared informer on v1/Namespace that is started when the first cluster target
// with a selector needs it. A namespace created, deleted or relabelled makes the controller
// reconcile the targets with a selector again; their fingerprint changes only when the set of
// selected namespaces does.
import type { LabelSelector } from '../api/types.js';
import { ADD, DELETE, LIST_DONE, UPDATE } from './informer.js';
import type { InformerPool, Lease } from './informer-pool.js';
import type { KubeObject } from './kube.js';
import { compileLabelSelector, type Matcher } from './selectors.js';

const NAMESPACES = { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false } as const;

export class NamespaceSelection {
  private lease?: Lease;
  private off?: () => void;
  private synced?: Promise<void>;
  /** Ends a wait for the first list when the controller stops (its reconcile queues must drain). */
  private unblock: () => void = () => undefined;
  private readonly stopped = new Promise<void>((resolve) => { this.unblock = resolve; });

  /** `changed` runs after every namespace change once the namespaces have been listed. */
  constructor(private readonly pool: InformerPool, private readonly changed: () => void) {}

  /** The namespaces (sorted) whose labels match `selector`, once the namespaces have been listed (none after stop()). Throws SelectorError. */
  async select(selector: LabelSelector, field = 'spec.namespaceSelector'): Promise<string[]> {
    const match: Matcher = compileLabelSelector(selector, field);
    await Promise.race([this.start(), this.stopped]);
    if (!this.lease) return [];
    return [...this.lease.informer.objects()].filter(match).map((n: KubeObject) => n.metadata?.name ?? '').filter(Boolean).sort();
  }

  private start(): Promise<void> {
    if (this.synced) return this.synced;
    const lease = (this.lease = this.pool.acquireResolved(NAMESPACES, undefined));
    this.synced = new Promise<void>((resolve) => {
      if (lease.informer.synced) resolve();
      this.off = lease.informer.on((e) => {
        if (e.type === LIST_DONE) resolve();
        if (lease.informer.synced && (e.type === ADD || e.type === UPDATE || e.type === DELETE)) this.changed();
      });
    });
    return this.synced;
  }

  stop(): void {
    this.unblock();
    this.off?.();
    this.lease?.release();
    this.lease = undefined;
  }
}

/** A matcher of objects in `namespaces` only (an empty set matches nothing). */
export const inNamespaces = (namespaces: readonly string[]): Matcher => {
  const set = new Set(namespaces);
  return (o) => set.has(o.metadata?.namespace ?? '');
};
