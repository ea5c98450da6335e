// One KollectTarget while it collects: its compiled Profile, its selectors, the shared informers
// it leases, and the rows it makes from their objects. It knows nothing of inventories; the
// controller routes its rows.
import type { Row } from '../api/rows.js';
import type { ExtractionPool, RowOutcome, SandboxProfile } from '../api/extract/index.js';
import type { KollectTargetSpec } from '../api/types.js';
import type { ResolvedKind } from './discovery.js';
import { DELETE, type InformerEvent } from './informer.js';
import type { MetricSample } from '../api/extract/metrics.js';
import type { CustomMetricSource } from './custom-metrics.js';
import type { InformerPool, Lease } from './informer-pool.js';
import type { KubeObject } from './kube.js';
import { compileFieldSelector, compileLabelSelector, compileNamespaces, type Matcher } from './selectors.js';
import { RowIssues, issueOf } from './row-issues.js';

/** Throws SelectorError naming the bad field. */
export function compileTargetMatcher(spec: KollectTargetSpec, namespaced: boolean): Matcher {
  const label = compileLabelSelector(spec.labelSelector);
  const field = compileFieldSelector(spec.fieldSelector);
  // `namespaces` does not apply to cluster-scoped kinds (Nodes, Namespaces…).
  const ns = namespaced ? compileNamespaces(spec.namespaces) : () => true;
  return (o) => ns(o) && label(o) && field(o);
}

/** undefined: the object yields no row (filtered out); 'error': extraction threw, keep what was sent. */
export type RowResult = Row | null | 'error';

export class ActiveTarget {
  private readonly leases: Lease[];
  private readonly offs: (() => void)[];
  /** Work on this Target's rows, one piece at a time, in the order the events came. */
  private queue: Promise<void> = Promise.resolve();
  /** True once every leased informer has listed and the full row set was computed. */
  live = false;
  /** uid → the object's custom metric samples (profile spec.metrics), kept here, never sent to Temporal. */
  private readonly samples = new Map<string, MetricSample[]>();
  private readonly unregister: () => void;
  /** Objects whose row is quarantined or has evaluation errors (watcher/row-issues.ts), for status. */
  readonly issues = new RowIssues();

  constructor(
    readonly name: string,
    /** Identity of what is collected: changes when the profile, selectors or namespaces change. */
    readonly fingerprint: string,
    readonly profile: SandboxProfile,
    /** Evaluates the profile off the main thread (api/extract/sandbox.ts). */
    private readonly extraction: ExtractionPool,
    readonly kind: ResolvedKind,
    readonly match: Matcher,
    namespaces: string[] | undefined,
    pool: InformerPool,
    onEvent: (t: ActiveTarget, e: InformerEvent) => void,
    /** Also told of an ExtractionLimitError, which disables the profile (obj undefined: a full pass). */
    private readonly onExtractionError: (err: unknown, obj: KubeObject | undefined) => void,
    private readonly onWorkError: (err: unknown) => void,
    /** Offers the samples to the custom metrics exposition; returns the way to withdraw them. */
    registerMetrics: (source: CustomMetricSource) => () => void = () => () => undefined,
  ) {
    // One informer per namespace (shared with other Targets on the same kind and namespace), or
    // one cluster-wide informer when the Target names none or the kind is cluster-scoped.
    const scopes = kind.namespaced && namespaces && namespaces.length > 0 ? [...new Set(namespaces)] : [undefined];
    this.leases = scopes.map((ns) => pool.acquireResolved(kind, ns));
    this.offs = this.leases.map((l) => l.informer.on((e) => {
      // Queued like the row work, so that an extraction still running for this object cannot put its samples back.
      const uid = e.type === DELETE ? e.object.metadata?.uid : undefined;
      if (uid) this.serial(() => { this.samples.delete(uid); });
      onEvent(this, e);
    }));
    this.unregister = profile.compiled.metrics.length > 0
      ? registerMetrics({ shapes: profile.compiled.metrics, samples: () => this.samples.values() })
      : () => undefined;
  }

  get synced(): boolean { return this.leases.every((l) => l.informer.synced); }
  get informerIds(): string[] { return this.leases.map((l) => l.informer.id); }

  release(): void {
    this.unregister();
    for (const off of this.offs) off();
    for (const l of this.leases) l.release();
  }

  *objects(): Generator<KubeObject> {
    for (const l of this.leases) yield* l.informer.objects();
  }

  /** Runs `work` after everything queued before it (extraction is asynchronous, order is not). */
  serial(work: () => Promise<void> | void): void {
    this.queue = this.queue.then(work).catch(this.onWorkError);
  }

  /** Resolves once the work queued so far is done. */
  idle(): Promise<void> {
    return this.queue;
  }

  async row(obj: KubeObject, cluster: string): Promise<RowResult> {
    const uid = obj.metadata?.uid ?? '';
    if (!this.match(obj)) { this.issues.forget(uid); this.samples.delete(uid); return null; }
    let out: RowOutcome | undefined;
    try {
      out = (await this.extraction.outcomes(this.profile, [obj], { target: this.name, cluster }))[0];
    } catch (err) {
      this.onExtractionError(err, obj);
      return 'error';
    }
    return this.settle(obj, out);
  }

  /** Records what one object became; a quarantined row is no row (withdrawn from the sinks). */
  private settle(obj: KubeObject, out: RowOutcome | undefined): RowResult {
    const uid = obj.metadata?.uid ?? '';
    this.issues.set(uid, issueOf(obj, out));
    if (!out || !('row' in out)) this.samples.delete(uid);
    if (!out) return null;
    if ('failed' in out) { this.onExtractionError(new Error(out.failed), obj); return 'error'; }
    if ('quarantined' in out) return null;
    if (uid) { if (out.row && out.samples) this.samples.set(uid, out.samples); else this.samples.delete(uid); }
    return out.row;
  }

  /** The object is gone: it has no issues any more. */
  forget(uid: string): void {
    this.issues.forget(uid);
  }

  /** Every row the Target holds for one cluster name, plus uids whose extraction failed. */
  async rows(cluster: string): Promise<{ rows: Map<string, Row>; failed: Set<string> }> {
    const rows = new Map<string, Row>();
    const failed = new Set<string>();
    const objects = [...this.objects()].filter((o) => o.metadata?.uid && this.match(o));
    try {
      const made = await this.extraction.outcomes(this.profile, objects, { target: this.name, cluster });
      this.issues.clear();
      this.samples.clear();
      objects.forEach((o, i) => {
        const r = this.settle(o, made[i]);
        if (r === 'error') failed.add(o.metadata!.uid!);
        else if (r) rows.set(o.metadata!.uid!, r);
      });
    } catch (err) {
      // Nothing is known of any row: none may be deleted on this pass.
      this.onExtractionError(err, undefined);
      for (const o of objects) failed.add(o.metadata!.uid!);
    }
    return { rows, failed };
  }
}
