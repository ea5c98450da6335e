// Rows that are not exported as their objects are (docs/extraction.md#row-limits-and-quarantine):
// quarantined rows (over the row size or nesting depth cap: not exported, withdrawn from sinks
// that held an earlier version) and rows with evaluation errors (a failing attribute is left out;
// a failing filter excludes the object). Per Target, the watcher keeps which objects have one,
// and writes counts and a few samples to the Target's status.rowIssues and to the status of every
// inventory that references it (status.targetRowIssues). Never all keys: counts and samples.
import type { InventoryTargetRowIssues, KollectInventory, TargetRowIssues } from '../api/types.js';
import type { RowOutcome } from '../api/extract/index.js';
import { API_VERSION, KOLLECT_PLURALS } from '../api/constants.js';
import { KubeApiError, MERGE_PATCH, type KubeObject, type KubeTransport } from './kube.js';

/** Samples written per Target (the CRD allows 3). */
export const MAX_ISSUE_SAMPLES = 3;
/** Longest sample. */
const MAX_SAMPLE = 512;

export interface RowIssue { kind: 'quarantined' | 'errors'; text: string }

const nameOf = (obj: KubeObject): string => `${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name ?? ''}`;

/** The issue of one object's outcome, if it has one. */
export function issueOf(obj: KubeObject, out: RowOutcome | undefined): RowIssue | undefined {
  if (!out || 'failed' in out) return undefined; // counted and logged as an extraction failure
  if ('quarantined' in out) return { kind: 'quarantined', text: clip(`${nameOf(obj)}: quarantined, not exported: ${out.quarantined.detail}; limit ${out.quarantined.limit}`) };
  const errors = out.errors ?? [];
  if (errors.length === 0) return undefined;
  const first = errors[0]!;
  const what = out.row ? 'left out of the row' : 'object excluded';
  return { kind: 'errors', text: clip(`${nameOf(obj)}: ${first.field}: ${first.message} (${what})${errors.length > 1 ? `; and ${errors.length - 1} more` : ''}`) };
}

const clip = (s: string): string => (s.length > MAX_SAMPLE ? `${s.slice(0, MAX_SAMPLE - 1)}…` : s);

/** One Target's objects with an issue, by uid. */
export class RowIssues {
  private readonly byUid = new Map<string, RowIssue>();
  /** Told when the set changes (the controller then schedules a status write). */
  onChange?: () => void;
  /** Told of each issue found (metrics). */
  onIssue?: (issue: RowIssue) => void;

  set(uid: string, issue: RowIssue | undefined): void {
    if (!issue) { this.forget(uid); return; }
    this.onIssue?.(issue);
    const prev = this.byUid.get(uid);
    if (prev && prev.kind === issue.kind && prev.text === issue.text) return;
    this.byUid.set(uid, issue);
    this.onChange?.();
  }

  forget(uid: string): void {
    if (this.byUid.delete(uid)) this.onChange?.();
  }

  clear(): void {
    if (this.byUid.size === 0) return;
    this.byUid.clear();
    this.onChange?.();
  }

  /** Counts and samples (quarantined rows first), or undefined when there is nothing to report. */
  summary(): TargetRowIssues | undefined {
    if (this.byUid.size === 0) return undefined;
    const all = [...this.byUid.values()];
    const q = all.filter((i) => i.kind === 'quarantined');
    const e = all.filter((i) => i.kind === 'errors');
    return { quarantined: q.length, extractionErrors: e.length, samples: [...q, ...e].slice(0, MAX_ISSUE_SAMPLES).map((i) => i.text) };
  }
}

export interface RowIssueWriterDeps {
  transport: KubeTransport;
  /** The Target and Inventory CRs as the watcher's informers hold them. */
  target: (key: string) => KubeObject | undefined;
  inventories: () => Iterable<[string, KubeObject]>;
  /** The current summary of a Target (`namespace/name`), undefined when it has none or is not collecting. */
  summary: (key: string) => TargetRowIssues | undefined;
  log: (event: string, fields?: Record<string, unknown>) => void;
  /** Debounce of status writes, ms (default 1 s). */
  delayMs?: number;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Writes Target and Inventory row-issue status, debounced per Target, only when it changed. */
export class RowIssueWriter {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  constructor(private readonly d: RowIssueWriterDeps) {}

  schedule(targetKey: string): void {
    if (this.stopped || this.timers.has(targetKey)) return;
    this.timers.set(targetKey, setTimeout(() => {
      this.timers.delete(targetKey);
      this.write(targetKey).catch((err: unknown) => {
        if (!(err instanceof KubeApiError && err.status === 404)) this.d.log('status_failed', { kind: 'KollectTarget', object: targetKey, error: (err as Error).message });
      });
    }, this.d.delayMs ?? 1000).unref());
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private async write(targetKey: string): Promise<void> {
    const [namespace, name] = targetKey.split('/') as [string, string];
    const summary = this.d.summary(targetKey);
    const target = this.d.target(targetKey);
    if (target && !same((target.status as { rowIssues?: unknown } | undefined)?.rowIssues, summary)) {
      await this.patch(KOLLECT_PLURALS.KollectTarget, namespace, name, { rowIssues: summary ?? null });
      this.d.log('status_written', { kind: 'KollectTarget', object: targetKey, quarantined: summary?.quarantined ?? 0, extractionErrors: summary?.extractionErrors ?? 0 });
    }
    for (const [key, obj] of this.d.inventories()) {
      const inv = obj as unknown as KollectInventory;
      // Inventories that reference the Target, or still list it (they stopped referencing it).
      const refs = inv.spec?.targetRefs ?? [];
      if ((inv.metadata.namespace ?? '') !== namespace
        || !(refs.some((r) => r.name === name) || (inv.status?.targetRowIssues ?? []).some((t) => t.target === name))) continue;
      const list: InventoryTargetRowIssues[] = [];
      for (const r of refs) {
        const s = this.d.summary(`${namespace}/${r.name}`);
        if (s) list.push({ target: r.name, ...s });
      }
      if (same(inv.status?.targetRowIssues?.length ? inv.status.targetRowIssues : undefined, list.length ? list : undefined)) continue;
      await this.patch(KOLLECT_PLURALS.KollectInventory, namespace, inv.metadata.name, { targetRowIssues: list.length ? list : null });
      this.d.log('status_written', { kind: 'KollectInventory', object: key, targetRowIssues: list.length });
    }
  }

  private async patch(plural: string, namespace: string, name: string, status: Record<string, unknown>): Promise<void> {
    await this.d.transport.request('PATCH', `/apis/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/${plural}/${encodeURIComponent(name)}/status`, { body: { status }, contentType: MERGE_PATCH });
  }
}
