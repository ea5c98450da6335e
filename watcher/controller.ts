// The watcher's controller: it watches the Kollect CRs and keeps, for every KollectTarget, the
// rows of the objects it selects flowing to the workflows of the KollectInventories that
// reference it.
//
//   Profile ──compile──▶ Target ──lease──▶ shared informer (GVK, namespace) ──rows──▶ Outbox per Inventory ──signals──▶ workflow
//
// Rules (docs/decisions/0007-watcher.md):
// - Nothing a user writes crashes it: a Profile that does not compile gets Ready=False/CompileError
//   and its Targets stop collecting (their rows stay where they are) until it is fixed. Profiles
//   run on worker threads (api/extract/sandbox.ts); one that exceeds an extraction limit (time,
//   output size, JSONPath nodes) is disabled likewise (ExtractionLimit), the others keep running.
// - A profile on a sensitive kind (v1/Secret…) is refused unless an administrator allowed it.
// - A Target's rows are computed from full informer caches only: before all its informers have
//   listed, events are ignored and the first full pass computes everything, then a resync.
// - After every (re)list of a Target's informers, each of its inventories gets a resync of the
//   Target's full uid set; a Target that goes away (deleted, or no longer referenced) gets an
//   empty one.
import { SINK_REF_FIELDS, type KollectConnectionTest, type KollectInventory, type KollectProfile, type KollectSink, type KollectSnapshotSink, type KollectTarget, type LabelSelector, type SinkKind } from '../api/types.js';
import type { ConnectionTests } from './connection-tests.js';
import type { SinkDescriptor } from '../activities/sinks/descriptor.js';
import { sinkDescriptors } from '../activities/sinks/registry.js';
import { API_VERSION, KOLLECT_PLURALS, INVENTORY_FINALIZER, CLUSTER_KINDS, isClusterKind, type KollectKind } from '../api/constants.js';
import type { TenancyOptions } from '../api/tenancy.js';
import { clusterInventorySinkNamespace, profileKeyOf, scopeReady, tenancyOf, targetScope, targetsOfScope } from './tenancy.js';
import { inNamespaces, NamespaceSelection } from './namespace-selector.js';
import {
  compileProfile, DEFAULT_LIMITS, ExtractionLimitError, sensitivePolicyFromEnv, sensitiveRefusal,
  type CompileResult, type ExtractionLimits, type ExtractionPool, type SensitivePolicy,
} from '../api/extract/index.js';
import type { Log } from '../worker/log.js';
import { ADD, DELETE, LIST_DONE, UPDATE, type InformerEvent } from './informer.js';
import { UnknownKindError, type InformerPool, type Lease } from './informer-pool.js';
import { KubeApiError, MERGE_PATCH, type KubeObject, type KubeTransport } from './kube.js';
import type { WatcherMetrics } from './metrics.js';
import { Outbox, type DeliveryConfig, type SignalSender } from './outbox.js';
import { SelectorError } from './selectors.js';
import { addFinalizer, objectPath, patchCondition, patchReady, withReady, type ReadyState } from './status.js';
import { evaluateSink, sinkStatusPatch } from './sink-status.js';
import { GIT_PATHS_DISJOINT, gitPathStates } from './git-paths.js';
import { StoreUnavailableError } from '../store/bodies.js';
import { describeDenial, firstDenial, patchForbidden, withAccessGranted } from './access.js';
import { RowIssueWriter } from './row-issues.js';

/** Condition the watcher writes on inventories (the workflow writes Ready and Synced). */
export const DELIVERED = 'Delivered';
import { ActiveTarget, compileTargetMatcher } from './target.js';

export { INVENTORY_FINALIZER };
const KOLLECT_KINDS = KOLLECT_PLURALS;
/** The kinds whose caches must be complete before the controller acts. */
const CORE_KINDS: KollectKind[] = ['KollectProfile', 'KollectTarget', 'KollectInventory', 'KollectScope', 'KollectClusterTarget', 'KollectClusterInventory'];
export interface ControllerOptions {
  transport: KubeTransport;
  pool: InformerPool;
  sender: SignalSender;
  delivery: DeliveryConfig;
  metrics: WatcherMetrics;
  log: Log;
  /** Serve the Kollect CRs of these namespaces only; undefined: all namespaces. */
  namespaces?: string[];
  /** How often a Target whose kind is not served (yet) looks again. */
  unknownKindRetryMs: number;
  /** Cluster name of rows whose inventory has no spec.cluster (the operator's KOLLECT_CLUSTER_NAME). */
  clusterName: string;
  /** Evaluates profiles off the main thread, within `limits`. */
  extraction: ExtractionPool;
  limits?: ExtractionLimits;
  /** Sensitive kinds and the profiles allowed to watch them (default: v1/Secret, none allowed). */
  sensitive?: SensitivePolicy;
  /** Sink types, for the sinks' Ready and preview (default: activities/sinks/registry.ts). */
  sinks?: Readonly<Record<string, SinkDescriptor<never>>>;
  /** Starts KollectConnectionTest probes and expires finished tests; without it tests are left alone. */
  connectionTests?: ConnectionTests;
  /** A sink whose Secret is missing looks again this often (ms, default 30 s). */
  secretRetryMs?: number;
  /** Tenant mode and the namespaces objects are read from (api/tenancy.ts); default: no tenant mode, bounded by `namespaces`. */
  tenancy?: TenancyOptions;
  /** Serve KollectClusterTarget and KollectClusterInventory; default: only when `namespaces` is unset (docs/tenancy.md). */
  clusterKinds?: boolean;
}

interface ProfileEntry {
  fingerprint: string;
  result: CompileResult;
  /** Why it is not usable: Ready's reason and message. */
  reason?: 'CompileError' | 'SensitiveKind' | 'ExtractionLimit';
  message?: string;
}
interface TargetEntry {
  key: string;
  namespace: string;
  name: string;
  active?: ActiveTarget;
  queue: Promise<void>;
  retry?: NodeJS.Timeout;
}
interface InventoryEntry {
  key: string;
  namespace: string;
  name: string;
  uid: string | undefined;
  outbox: Outbox;
  targets: Set<string>;
  cluster: string;
  fingerprint?: string;
  /** status.lineage last seen: a change means the workflow lost its state. */
  lineage?: string;
  deleting: boolean;
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class Controller {
  private readonly limits: ExtractionLimits;
  private readonly sensitive: SensitivePolicy;
  /** The Kollect CRs as the informers hold them, by kind then namespace/name. */
  private readonly crs = new Map<KollectKind, Map<string, KubeObject>>();
  private readonly crLeases: Lease[] = [];
  private readonly crOffs: (() => void)[] = [];
  private readonly profiles = new Map<string, ProfileEntry>();
  private readonly targets = new Map<string, TargetEntry>();
  private readonly inventories = new Map<string, InventoryEntry>();
  private readonly sinkFingerprints = new Map<string, string>();
  private readonly finalizing = new Set<string>();
  /** Per sink: its status evaluation in flight (one at a time) and its retry timer. */
  private readonly sinkStatus = new Map<string, { running?: Promise<void>; again?: boolean; retry?: NodeJS.Timeout }>();
  /** Outboxes of deleted inventories still delivering inventoryDeleted. */
  private readonly retiring = new Set<Outbox>();
  private started = false;
  private stopped = false;
  /** spec.namespaceSelector of cluster targets: namespaces by label. */
  private readonly nsSelection: NamespaceSelection;
  /** The pending check of overlapping Git paths (watcher/git-paths.ts), debounced. */
  private gitPathsTimer: NodeJS.Timeout | undefined;
  /** What the Git path check read of each inventory and snapshot sink: status updates alone do not run it again. */
  private readonly gitPathInputs = new Map<string, string>();

  /** Quarantined rows and evaluation errors into Target and Inventory status (watcher/row-issues.ts). */
  private readonly rowIssues: RowIssueWriter;

  constructor(private readonly o: ControllerOptions) {
    this.nsSelection = new NamespaceSelection(o.pool, () => {
      for (const [key, t] of this.crs.get('KollectTarget')!) if ((t.spec as { namespaceSelector?: unknown } | undefined)?.namespaceSelector) this.enqueueTarget(key);
    });
    this.rowIssues = new RowIssueWriter({
      transport: o.transport, log: o.log,
      target: (key) => this.crs.get('KollectTarget')!.get(key),
      inventories: () => this.crs.get('KollectInventory')!.entries(),
      summary: (key) => this.targets.get(key)?.active?.issues.summary(),
    });
    this.limits = o.limits ?? DEFAULT_LIMITS;
    this.sensitive = o.sensitive ?? sensitivePolicyFromEnv({});
    for (const k of Object.keys(KOLLECT_KINDS) as KollectKind[]) this.crs.set(k, new Map());
  }

  /** True once the Kollect CRs have been listed and acted upon. */
  get synced(): boolean { return this.started; }

  start(): void {
    const scopes = this.o.namespaces && this.o.namespaces.length > 0 ? this.o.namespaces : [undefined];
    for (const [kind, plural] of Object.entries(KOLLECT_KINDS) as [KollectKind, string][]) {
      // Cluster kinds: by default only an operator that reads the whole cluster serves them (docs/tenancy.md).
      if (isClusterKind(kind) && !(this.o.clusterKinds ?? scopes[0] === undefined)) continue;
      for (const ns of isClusterKind(kind) ? [undefined] : scopes) {
        const lease = this.o.pool.acquireResolved({ apiVersion: API_VERSION, kind, plural, namespaced: !isClusterKind(kind) }, ns);
        this.crLeases.push(lease);
        this.crOffs.push(lease.informer.on((e) => this.onCrEvent(kind, e)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.nsSelection.stop();
    clearTimeout(this.gitPathsTimer);
    this.rowIssues.stop();
    for (const off of this.crOffs) off();
    for (const t of this.targets.values()) { clearTimeout(t.retry); t.active?.release(); }
    await Promise.allSettled([...this.targets.values()].map((t) => t.active?.idle() ?? Promise.resolve()));
    for (const t of this.targets.values()) t.active = undefined;
    for (const s of this.sinkStatus.values()) clearTimeout(s.retry);
    this.o.connectionTests?.stop();
    await Promise.allSettled([...this.targets.values()].map((t) => t.queue));
    await Promise.allSettled([...this.sinkStatus.values()].map((s) => s.running ?? Promise.resolve()));
    for (const i of this.inventories.values()) i.outbox.close();
    for (const o of this.retiring) o.close();
    for (const l of this.crLeases) l.release();
  }

  /** Resolves when every outbox has sent everything queued (tests, graceful shutdown). */
  async flushed(): Promise<void> {
    await Promise.allSettled([...this.targets.values()].map((t) => t.queue));
    await Promise.allSettled([...this.targets.values()].map((t) => t.active?.idle() ?? Promise.resolve()));
    await Promise.all([...this.inventories.values()].map((i) => i.outbox.idle()).concat([...this.retiring].map((o) => o.idle())));
  }

  /** Live Targets and the informers they lease (tests, debugging). */
  targetInfo(): { target: string; live: boolean; informers: string[] }[] {
    return [...this.targets.values()].map((t) => ({ target: t.key, live: t.active?.live ?? false, informers: t.active?.informerIds ?? [] }));
  }

  // ---------- Kollect CR events ----------

  private onCrEvent(crKind: KollectKind, e: InformerEvent): void {
    if (this.stopped) return;
    // A cluster kind shares the cache and the machinery of its namespaced kind, keyed `/<name>`.
    const kind: KollectKind = isClusterKind(crKind) ? CLUSTER_KINDS[crKind] : crKind;
    const cache = this.crs.get(kind)!;
    let key: string | undefined;
    let obj: KubeObject | undefined;
    if (e.type === ADD || e.type === UPDATE) cache.set((key = keyOf(e.object)), (obj = e.object));
    else if (e.type === DELETE) cache.delete((key = keyOf(e.object)));
    else if (e.type === LIST_DONE && !this.started && this.coreSynced()) { this.initialSync(); return; }
    if (!this.started || key === undefined) return;
    try {
      switch (kind) {
        case 'KollectProfile': this.onProfile(key); break;
        case 'KollectTarget': this.enqueueTarget(key); break;
        case 'KollectInventory': this.onInventory(key); this.gitPathInput(kind, key, obj); break;
        case 'KollectConnectionTest': this.o.connectionTests?.onEvent(key, obj as unknown as KollectConnectionTest | undefined); break;
        case 'KollectScope': this.onScope(key); break;
        default: this.onSink(kind, key, obj); this.refreshSinkStatus(kind, key); if (kind === 'KollectSnapshotSink') this.gitPathInput(kind, key, obj); break;
      }
    } catch (err) {
      this.o.log('controller_error', { kind, object: key, error: errMsg(err) });
    }
  }

  private coreSynced(): boolean {
    return this.crLeases.every((l) => !CORE_KINDS.includes(l.informer.resource.kind as KollectKind) || l.informer.synced);
  }

  private initialSync(): void {
    this.started = true;
    const count = (k: KollectKind): number => this.crs.get(k)!.size;
    this.o.log('controller_synced', { profiles: count('KollectProfile'), targets: count('KollectTarget'), inventories: count('KollectInventory') });
    for (const k of ['KollectSnapshotSink', 'KollectDatabaseSink', 'KollectEventSink'] as const) {
      for (const [key, obj] of this.crs.get(k)!) {
        this.sinkFingerprints.set(`${k}/${key}`, JSON.stringify(obj.spec ?? null));
        this.refreshSinkStatus(k, key);
      }
    }
    for (const [key, obj] of this.crs.get('KollectConnectionTest')!) this.o.connectionTests?.onEvent(key, obj as unknown as KollectConnectionTest);
    for (const key of this.crs.get('KollectScope')!.keys()) this.onScope(key, false);
    for (const key of this.crs.get('KollectProfile')!.keys()) this.onProfile(key, false);
    for (const key of this.crs.get('KollectInventory')!.keys()) this.onInventory(key);
    for (const key of this.crs.get('KollectTarget')!.keys()) this.enqueueTarget(key);
    this.checkGitPaths();
  }

  // ---------- Profiles ----------

  private onProfile(key: string, reconcileTargets = true): void {
    const obj = this.crs.get('KollectProfile')!.get(key) as unknown as KollectProfile | undefined;
    const before = this.profiles.get(key)?.fingerprint;
    if (!obj) this.profiles.delete(key);
    else {
      const fingerprint = `${obj.metadata.uid ?? ''}/${JSON.stringify(obj.spec ?? null)}`;
      let entry = this.profiles.get(key);
      if (entry?.fingerprint !== fingerprint) {
        let result: CompileResult;
        try {
          result = compileProfile(obj.spec, this.limits);
        } catch (err) {
          result = { ok: false, errors: [{ field: 'spec', message: `compiler failed: ${errMsg(err)}` }] };
        }
        const refusal = result.ok ? sensitiveRefusal(key, obj.spec.apiVersion, obj.spec.kind, this.sensitive) : undefined;
        if (refusal) result = { ok: false, errors: [{ field: 'spec.kind', message: refusal }] };
        const message = result.ok ? undefined : result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
        entry = { fingerprint, result, message, reason: refusal ? 'SensitiveKind' : result.ok ? undefined : 'CompileError' };
        this.profiles.set(key, entry);
        if (message) this.o.log('profile_invalid', { profile: key, error: message });
      }
      this.writeReady('KollectProfile', obj as unknown as KubeObject, this.profileReady(obj, entry));
    }
    if (!reconcileTargets || before === this.profiles.get(key)?.fingerprint) return;
    for (const [tkey, t] of this.crs.get('KollectTarget')!) {
      if (profileKeyOf(t) === key) this.enqueueTarget(tkey);
    }
  }

  private profileReady(obj: KollectProfile, entry: ProfileEntry): ReadyState {
    if (!entry.result.ok || entry.reason) return { status: 'False', reason: entry.reason ?? 'CompileError', message: entry.message ?? 'does not compile' };
    const p = entry.result.profile;
    const warnings = p.warnings.map((w) => `${w.field}: ${w.message}`).join('; ');
    return {
      status: 'True', reason: 'Compiled',
      message: `Extracts ${p.mode === 'Resource' ? 'the whole object' : `${p.attributeNames.length} attribute(s)`} from ${obj.spec.kind} (${obj.spec.apiVersion})${warnings ? `; warning: ${warnings}` : ''}`,
    };
  }

  /**
   * A profile exceeded an extraction limit: it stops (Ready=False/ExtractionLimit naming the
   * expression and the limit) and so do its Targets, keeping their rows, until its spec changes.
   */
  private disableProfile(key: string, fingerprint: string, err: ExtractionLimitError): void {
    const entry = this.profiles.get(key);
    if (!entry || entry.fingerprint !== fingerprint || entry.reason === 'ExtractionLimit') return;
    entry.reason = 'ExtractionLimit';
    entry.message = `disabled: ${err.message}; change the expression (or the operator's limit) to enable it again`;
    this.o.log('profile_disabled', { profile: key, field: err.field, limit: err.limit, error: err.message });
    const obj = this.crs.get('KollectProfile')!.get(key) as unknown as KollectProfile | undefined;
    if (obj) this.writeReady('KollectProfile', obj as unknown as KubeObject, this.profileReady(obj, entry));
    for (const [tkey, t] of this.crs.get('KollectTarget')!) {
      if (profileKeyOf(t) === key) this.enqueueTarget(tkey);
    }
  }

  // ---------- Scopes ----------

  /** A KollectScope changed: its Ready, then every Target of its namespace and the namespace's inventories (sink types) again. */
  private onScope(key: string, reconcile = true): void {
    const obj = this.crs.get('KollectScope')!.get(key);
    if (obj) { const ready = scopeReady(obj); if (ready) this.writeReady('KollectScope', obj, ready); }
    if (!reconcile) return;
    const namespace = key.split('/')[0]!;
    for (const tkey of targetsOfScope(namespace, this.crs.get('KollectTarget')!.keys())) this.enqueueTarget(tkey);
    for (const inv of this.inventories.values()) if (!inv.deleting && inv.namespace === namespace) inv.outbox.configChanged();
  }

  // ---------- Targets ----------

  private enqueueTarget(key: string): void {
    let t = this.targets.get(key);
    if (!t) {
      const [namespace, name] = key.split('/') as [string, string];
      t = { key, namespace, name, queue: Promise.resolve() };
      this.targets.set(key, t);
    }
    const entry = t;
    entry.queue = entry.queue.then(() => this.reconcileTarget(entry)).catch((err: unknown) => {
      this.o.log('target_reconcile_failed', { target: key, error: errMsg(err) });
      this.retryTarget(entry);
    });
  }

  private retryTarget(t: TargetEntry): void {
    if (this.stopped || t.retry) return;
    t.retry = setTimeout(() => { t.retry = undefined; this.enqueueTarget(t.key); }, this.o.unknownKindRetryMs);
  }

  private deactivate(t: TargetEntry): void {
    t.active?.release();
    if (t.active?.issues.summary()) this.rowIssues.schedule(t.key);
    t.active = undefined;
  }

  private async reconcileTarget(t: TargetEntry): Promise<void> {
    if (this.stopped) return;
    const obj = this.crs.get('KollectTarget')!.get(t.key) as unknown as KollectTarget | undefined;
    if (!obj) {
      this.deactivate(t);
      clearTimeout(t.retry);
      this.targets.delete(t.key);
      for (const inv of this.inventoriesOf(t)) inv.outbox.forgetTarget(t.name);
      return;
    }
    const spec = obj.spec ?? ({} as KollectTarget['spec']);
    const notCollecting = (reason: string, message: string): void => {
      this.deactivate(t);
      this.writeReady('KollectTarget', obj as unknown as KubeObject, { status: 'False', reason, message });
    };
    if (spec.suspend) { notCollecting('Suspended', 'spec.suspend is true: not collecting; rows already exported are kept'); return; }
    const profileName = spec.profileRef?.name ?? '';
    const profileKey = profileKeyOf(obj as unknown as KubeObject);
    const profile = this.profiles.get(profileKey);
    if (!profile) { notCollecting('ProfileNotFound', `KollectProfile "${profileName}" not found in namespace ${profileKey.split('/')[0]}`); return; }
    if (!profile.result.ok || profile.reason) {
      const why = profile.reason === 'ExtractionLimit' ? 'is disabled' : profile.reason === 'SensitiveKind' ? 'is refused' : 'does not compile';
      notCollecting('ProfileError', `KollectProfile "${profileName}" ${why}: ${profile.message ?? ''}`);
      return;
    }
    const compiled = profile.result.profile;

    let kind;
    try {
      kind = await this.o.pool.resolve(compiled.apiVersion, compiled.kind);
    } catch (err) {
      if (!(err instanceof UnknownKindError)) throw err;
      notCollecting('KindNotFound', `${err.message}; retrying every ${Math.round(this.o.unknownKindRetryMs / 1000)} s`);
      this.retryTarget(t);
      return;
    }
    if (this.stopped) return;
    // Tenancy (api/tenancy.ts): the namespaces it reads, or what it may not read.
    const scope = targetScope(obj as unknown as KubeObject, this.crs.get('KollectProfile')!.get(profileKey), this.crs.get('KollectScope')!.values(), kind.namespaced, tenancyOf(this.o));
    if (scope.refused) {
      // Unlike a broken profile, a refusal also withdraws what the target collected before: a
      // tenant sees only what it may.
      notCollecting(scope.refused.reason, scope.refused.message);
      for (const inv of this.inventoriesOf(t)) inv.outbox.forgetTarget(t.name);
      return;
    }
    const namespaces = scope.namespaces;
    const nsSelector = kind.namespaced ? (spec as { namespaceSelector?: LabelSelector }).namespaceSelector : undefined;
    let match;
    let selected: string[] | undefined;
    try {
      match = compileTargetMatcher({ ...spec, namespaces }, kind.namespaced);
      if (nsSelector) selected = await this.nsSelection.select(nsSelector);
    } catch (err) {
      if (!(err instanceof SelectorError)) throw err;
      notCollecting('InvalidSelector', err.message);
      return;
    }
    if (this.stopped) return;
    if (selected) { const [base, inSelected] = [match, inNamespaces(selected)]; match = (o: KubeObject) => base(o) && inSelected(o); }
    // May the operator list and watch the kind where the Target reads? If not, only this Target is Degraded (watcher/access.ts).
    const denial = await firstDenial(this.o.transport, kind, namespaces).catch((err: unknown) => { this.o.log('access_review_failed', { target: t.key, error: errMsg(err) }); return undefined; });
    if (this.stopped) return;
    if (denial) {
      this.deactivate(t);
      patchForbidden(this.o.transport, objectPath(KOLLECT_KINDS.KollectTarget, obj as unknown as KubeObject), obj as unknown as KubeObject, denial, this.o.unknownKindRetryMs).then(
        (written) => { if (written) this.o.log('target_forbidden', { target: t.key, denied: describeDenial(denial) }); },
        (err: unknown) => this.o.log('status_failed', { kind: 'KollectTarget', object: t.key, error: errMsg(err) }));
      this.retryTarget(t);
      return;
    }
    const fingerprint = JSON.stringify([profile.fingerprint, kind.plural, kind.namespaced ? namespaces ?? [] : [], spec.labelSelector ?? null, spec.fieldSelector ?? '', ...(selected ? [selected] : [])]);
    this.writeReady('KollectTarget', withAccessGranted(obj as unknown as KubeObject), {
      status: 'True', reason: 'Collecting',
      message: `Collecting ${compiled.kind} (${compiled.apiVersion}) from ${selected ? `the namespaces matching spec.namespaceSelector${namespaces?.length ? ` among ${namespaces.join(', ')}` : ''}: ${selected.filter((n) => !namespaces || namespaces.includes(n)).join(', ') || 'none'}` : kind.namespaced && namespaces?.length ? `namespaces ${namespaces.join(', ')}` : kind.namespaced ? 'all namespaces' : 'the cluster'}`,
    });
    if (t.active?.fingerprint === fingerprint) return;
    // Acquire the new informers before releasing the old ones, so that a shared informer both
    // use is not stopped and relisted in between.
    const old = t.active;
    const sandboxed = { key: profile.fingerprint, spec: (this.crs.get('KollectProfile')!.get(profileKey) as unknown as KollectProfile).spec, compiled };
    t.active = new ActiveTarget(t.name, fingerprint, sandboxed, this.o.extraction, kind, match, namespaces, this.o.pool,
      (a, e) => this.onTargetEvent(t, a, e),
      (err, o) => {
        this.o.metrics.extractionError(t.key);
        this.o.log('extraction_failed', { target: t.key, object: o ? keyOf(o) : undefined, error: errMsg(err) });
        if (err instanceof ExtractionLimitError) this.disableProfile(profileKey, profile.fingerprint, err);
      },
      (err) => this.o.log('controller_error', { target: t.key, error: errMsg(err) }),
      (source) => this.o.metrics.customMetrics?.(t.key, source) ?? (() => undefined));
    t.active.issues.onChange = () => this.rowIssues.schedule(t.key);
    t.active.issues.onIssue = (issue) => this.o.metrics.extractionError(t.key, issue.kind === 'quarantined' ? 'quarantined' : 'attribute');
    if (old?.issues.summary()) this.rowIssues.schedule(t.key);
    old?.release();
    this.o.log('target_collecting', { target: t.key, kind: `${compiled.apiVersion}/${compiled.kind}`, informers: t.active.informerIds });
    if (t.active.synced) this.goLive(t, t.active);
  }

  private onTargetEvent(t: TargetEntry, a: ActiveTarget, e: InformerEvent): void {
    if (this.stopped || t.active !== a) return;
    try {
      if (e.type === LIST_DONE) {
        if (!a.synced) return;
        if (!a.live) this.goLive(t, a);
        else a.serial(() => { for (const inv of this.inventoriesOf(t)) inv.outbox.resync(t.name); });
      } else if (a.live && (e.type === ADD || e.type === UPDATE || e.type === DELETE)) {
        const obj = e.object;
        const at = Date.now();
        a.serial(() => this.onObject(t, a, obj, e.type === DELETE, at));
      }
    } catch (err) {
      this.o.log('controller_error', { target: t.key, error: errMsg(err) });
    }
  }

  /** All informers of the Target have listed: compute its full row set, then resync. */
  private goLive(t: TargetEntry, a: ActiveTarget): void {
    a.live = true;
    for (const inv of this.inventoriesOf(t)) a.serial(() => this.syncLink(a, inv));
  }

  /** Brings one inventory's view of one Target up to date from the informer caches. */
  private async syncLink(a: ActiveTarget, inv: InventoryEntry): Promise<void> {
    const { rows, failed } = await a.rows(inv.cluster);
    if (this.stopped || inv.deleting || !inv.targets.has(a.name)) return;
    for (const row of rows.values()) inv.outbox.upsert(row);
    for (const uid of inv.outbox.state.uids(a.name)) if (!rows.has(uid) && !failed.has(uid)) inv.outbox.delete(a.name, uid);
    inv.outbox.resync(a.name);
  }

  private async onObject(t: TargetEntry, a: ActiveTarget, obj: KubeObject, deleted: boolean, at: number): Promise<void> {
    const uid = obj.metadata?.uid;
    if (!uid || this.stopped || t.active !== a) return;
    const byCluster = new Map<string, Awaited<ReturnType<ActiveTarget['row']>>>();
    for (const inv of this.inventoriesOf(t)) {
      const had = inv.outbox.state.has(a.name, uid);
      if (deleted) {
        a.forget(uid);
        if (had || a.match(obj)) inv.outbox.delete(a.name, uid, at);
        continue;
      }
      let r = byCluster.get(inv.cluster);
      if (r === undefined) byCluster.set(inv.cluster, (r = await a.row(obj, inv.cluster)));
      if (inv.deleting) continue;
      if (r === 'error') continue;
      if (r) inv.outbox.upsert(r, at);
      else if (had) inv.outbox.delete(a.name, uid, at);
    }
  }

  // ---------- Inventories ----------

  private inventoriesOf(t: { namespace: string; name: string }): InventoryEntry[] {
    return [...this.inventories.values()].filter((i) => !i.deleting && i.namespace === t.namespace && i.targets.has(t.name));
  }

  private onInventory(key: string): void {
    const obj = this.crs.get('KollectInventory')!.get(key) as unknown as KollectInventory | undefined;
    let inv = this.inventories.get(key);
    if (inv && (!obj || obj.metadata.uid !== inv.uid)) {
      // Gone (or replaced by a new object of the same name). Normally it was already deleting
      // (our finalizer held it); if it had no finalizer yet, tell its workflow now.
      this.inventories.delete(key);
      this.retire(inv);
      inv = undefined;
    }
    if (!obj) return;
    const [namespace, name] = key.split('/') as [string, string];
    if (!inv) {
      const outbox = new Outbox({ namespace, name }, this.o.sender, this.o.delivery, this.o.metrics, this.o.log, (ok, err) => this.onDeliveryHealth(key, ok, err));
      inv = { key, namespace, name, uid: obj.metadata.uid, outbox, targets: new Set(), cluster: '', deleting: false };
      this.inventories.set(key, inv);
    }
    if (obj.metadata.deletionTimestamp) {
      this.retire(inv);
      return;
    }
    this.ensureFinalizer(obj);
    const spec = obj.spec ?? ({} as KollectInventory['spec']);
    const fingerprint = JSON.stringify(spec);
    if (inv.fingerprint !== fingerprint) inv.outbox.configChanged();
    inv.fingerprint = fingerprint;
    // A new snapshot lineage in status: the workflow started over without state (terminated,
    // reset, history lost). Send it every row again and a resync per Target; it deletes nothing
    // from any sink until those resyncs are complete (docs/decisions/0009).
    const lineage = obj.status?.lineage;
    const newLineage = lineage !== undefined && inv.lineage !== undefined && inv.lineage !== lineage;
    if (lineage) inv.lineage = lineage;
    if (newLineage) {
      this.o.log('inventory_new_lineage', { inventory: key, lineage });
      inv.outbox.forgetSent();
    }
    const targets = new Set((spec.targetRefs ?? []).map((r) => r.name).filter(Boolean));
    const cluster = spec.cluster || this.o.clusterName;
    const clusterChanged = inv.cluster !== cluster;
    const before = inv.targets;
    inv.targets = targets;
    inv.cluster = cluster;
    for (const name of before) if (!targets.has(name)) { inv.outbox.forgetTarget(name); this.rowIssues.schedule(`${namespace}/${name}`); }
    for (const name of targets) {
      if (before.has(name) && !clusterChanged && !newLineage) continue;
      const a = this.targets.get(`${namespace}/${name}`)?.active;
      if (a?.live) a.serial(() => this.syncLink(a, inv));
      // A Target that does not exist contributes nothing; rows the workflow may hold for it go.
      else if (!this.crs.get('KollectTarget')!.has(`${namespace}/${name}`)) inv.outbox.forgetTarget(name);
    }
  }

  /** The inventory is being deleted: its workflow gets inventoryDeleted (and removes our
   * finalizer); nothing else is sent to it. */
  private retire(inv: InventoryEntry): void {
    if (inv.deleting) return;
    inv.deleting = true;
    inv.targets = new Set();
    inv.outbox.inventoryDeleted();
    this.retiring.add(inv.outbox);
    for (const o of this.retiring) if (o.isClosed) this.retiring.delete(o);
    this.o.log('inventory_deleting', { inventory: inv.key });
  }

  private ensureFinalizer(obj: KollectInventory): void {
    const uid = obj.metadata.uid ?? keyOf(obj as unknown as KubeObject);
    if ((obj.metadata.finalizers ?? []).includes(INVENTORY_FINALIZER) || this.finalizing.has(uid)) return;
    this.finalizing.add(uid);
    const inventory = keyOf(obj as unknown as KubeObject);
    addFinalizer(this.o.transport, 'kollectinventories', obj as unknown as KubeObject, INVENTORY_FINALIZER)
      .then(
        (added) => { if (added) this.o.log('finalizer_added', { inventory }); },
        (err: unknown) => this.o.log('finalizer_failed', { inventory, error: errMsg(err) }),
      )
      .finally(() => this.finalizing.delete(uid));
  }

  // ---------- Sinks ----------

  private onSink(kind: SinkKind, key: string, obj: KubeObject | undefined): void {
    const id = `${kind}/${key}`;
    const fingerprint = obj ? JSON.stringify(obj.spec ?? null) : undefined;
    if (this.sinkFingerprints.get(id) === fingerprint) return;
    if (fingerprint === undefined) this.sinkFingerprints.delete(id);
    else this.sinkFingerprints.set(id, fingerprint);
    const [namespace, name] = key.split('/') as [string, string];
    for (const inv of this.inventories.values()) {
      if (inv.deleting || (inv.namespace !== namespace && inv.namespace !== '')) continue;
      const spec = (this.crs.get('KollectInventory')!.get(inv.key) as unknown as KollectInventory | undefined)?.spec;
      if (spec?.[SINK_REF_FIELDS[kind]]?.some((r) => r.name === name && clusterInventorySinkNamespace(inv.namespace, spec, r as { namespace?: string }) === namespace)) inv.outbox.configChanged();
    }
  }

  /** Writes the sink's Ready and preview (watcher/sink-status.ts) when they changed; one evaluation at a time per sink. */
  private refreshSinkStatus(kind: SinkKind, key: string): void {
    const id = `${kind}/${key}`;
    let st = this.sinkStatus.get(id);
    if (!st) this.sinkStatus.set(id, (st = {}));
    if (st.retry) { clearTimeout(st.retry); st.retry = undefined; }
    if (st.running) { st.again = true; return; }
    const entry = st;
    const run = async (): Promise<void> => {
      const obj = this.crs.get(kind)!.get(key) as unknown as KollectSink | undefined;
      if (!obj || this.stopped) { this.sinkStatus.delete(id); return; }
      const ns = obj.metadata.namespace ?? '';
      const ev = await evaluateSink(obj, this.o.sinks ?? sinkDescriptors, '<cluster>', (name) => this.secretLabels(ns, name));
      const patch = sinkStatusPatch(obj, ev, (ready) => withReady(obj as unknown as KubeObject, ready));
      if (patch) {
        await this.o.transport.request('PATCH', `/apis/${API_VERSION}/namespaces/${encodeURIComponent(ns)}/${KOLLECT_KINDS[kind]}/${encodeURIComponent(obj.metadata.name)}/status`, { body: { status: patch }, contentType: MERGE_PATCH });
        this.o.log('status_written', { kind, object: key, ready: ev.ready.status, reason: ev.ready.reason });
      }
      if ((ev.ready.reason === 'SecretNotFound' || ev.ready.reason === 'SecretNotAllowed') && !this.stopped) entry.retry = setTimeout(() => this.refreshSinkStatus(kind, key), this.o.secretRetryMs ?? 30_000).unref();
    };
    entry.running = run()
      .catch((err: unknown) => { if (!(err instanceof KubeApiError && err.status === 404)) this.o.log('status_failed', { kind, object: key, error: errMsg(err) }); })
      .finally(() => {
        entry.running = undefined;
        if (entry.again) { entry.again = false; this.refreshSinkStatus(kind, key); }
      });
  }

  private async secretLabels(namespace: string, name: string): Promise<{ labels: Record<string, string> } | undefined> {
    try {
      // Only existence and labels: the data is never used here.
      const s = await this.o.transport.request<{ metadata?: { labels?: Record<string, string> } } | undefined>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`, {});
      return { labels: s?.metadata?.labels ?? {} };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  private gitPathInput(kind: KollectKind, key: string, obj: KubeObject | undefined): void {
    const id = `${kind}/${key}`;
    const input = obj ? JSON.stringify([obj.spec ?? null, obj.metadata?.deletionTimestamp ?? null]) : undefined;
    if (this.gitPathInputs.get(id) === input) return;
    if (input === undefined) this.gitPathInputs.delete(id); else this.gitPathInputs.set(id, input);
    this.checkGitPaths();
  }

  /**
   * Marks the later inventory of two whose Git sinks write nested or equal paths
   * (GitPathsDisjoint=False, watcher/git-paths.ts) and clears the mark once the overlap is gone.
   * Debounced: one pass over the caches after a burst of inventory and snapshot-sink events.
   */
  private checkGitPaths(delayMs = 200): void {
    if (this.stopped || this.gitPathsTimer) return;
    this.gitPathsTimer = setTimeout(() => {
      this.gitPathsTimer = undefined;
      if (this.stopped) return;
      const inventories = [...this.crs.get('KollectInventory')!.values()] as unknown as KollectInventory[];
      const sinks = this.crs.get('KollectSnapshotSink')! as unknown as Map<string, KollectSnapshotSink>;
      for (const [key, state] of gitPathStates(inventories, sinks, this.o.clusterName)) {
        const obj = this.crs.get('KollectInventory')!.get(key);
        if (!obj) continue;
        const cur = ((obj.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions?.find((c) => c.type === GIT_PATHS_DISJOINT);
        if (state.status === 'True' && cur?.status !== 'False') continue; // never marked: nothing to clear
        if (state.status === 'False' && cur?.status !== 'False') this.o.log('inventory_git_path_overlap', { inventory: key, message: state.message });
        patchCondition(this.o.transport, KOLLECT_KINDS.KollectInventory, obj, GIT_PATHS_DISJOINT, state).then(
          (r) => { if (r === 'conflict') this.checkGitPaths(1000); },
          (e: unknown) => this.o.log('status_failed', { kind: 'KollectInventory', object: key, error: errMsg(e) }),
        );
      }
    }, delayMs);
    this.gitPathsTimer.unref();
  }

  // ---------- status ----------

  /**
   * The inventory's Delivered condition: False (naming the store or Temporal) while its changes
   * cannot be handed over, so the outage is visible on the CR; True again once they flow.
   */
  private onDeliveryHealth(key: string, ok: boolean, err?: unknown): void {
    const write = (attempt: number): void => {
      const obj = this.crs.get('KollectInventory')!.get(key);
      if (!obj) return;
      const cur = ((obj.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions?.find((c) => c.type === DELIVERED);
      if (ok && cur?.status !== 'False') return; // never written False: nothing to clear
      const state: ReadyState = ok ? { status: 'True', reason: 'Delivering', message: 'changes reach the inventory workflow' }
        : err instanceof StoreUnavailableError ? { status: 'False', reason: 'StoreUnavailable', message: `${errMsg(err)}; changes are kept and retried` }
          : { status: 'False', reason: 'TemporalUnavailable', message: `signalling the inventory workflow failed: ${errMsg(err)}; changes are kept and retried` };
      patchCondition(this.o.transport, KOLLECT_KINDS.KollectInventory, obj, DELIVERED, state).then(
        (r) => { if (r === 'conflict' && attempt < 5 && !this.stopped) setTimeout(() => write(attempt + 1), 1000).unref(); },
        (e: unknown) => this.o.log('status_failed', { kind: 'KollectInventory', object: key, error: errMsg(e) }),
      );
    };
    write(0);
  }

  private writeReady(kind: 'KollectProfile' | 'KollectTarget' | 'KollectScope', obj: KubeObject, ready: ReadyState): void {
    patchReady(this.o.transport, KOLLECT_KINDS[kind], obj, ready).then(
      (written) => { if (written) this.o.log('status_written', { kind, object: keyOf(obj), ready: ready.status, reason: ready.reason }); },
      (err: unknown) => { if (!(err instanceof KubeApiError && err.status === 404)) this.o.log('status_failed', { kind, object: keyOf(obj), error: errMsg(err) }); },
    );
  }
}
