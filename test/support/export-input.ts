// Builds the ExportInput a sink backend receives from rows held in memory, the way the export
// activity does (activities/index.ts): a plan, upserts read in pages (honouring the sink's `want`
// filter before any body is "read"), the keys a full reconcile keeps, and the tombstones.
import { rowKey, type RowEntry, type Tombstone, type VersionedRow } from '../../api/rows.js';
import type { ExportInput, InventoryIdentity } from '../../activities/sinks/types.js';
import type { ExportPlan } from '../../workflows/state.js';

export interface ExportInputOptions {
  inventory: InventoryIdentity;
  sink: ExportInput['sink'];
  /** Default 'full'. */
  mode?: ExportPlan['mode'];
  /** Default 'lineage-a'. */
  lineage?: string;
  /** The watermark a delta starts from; 0 for a full reconcile (default 0). */
  fromVersion?: number;
  /** Default: the highest version among the rows and deletes (at least fromVersion + 1). */
  version?: number;
  /** Deleted rows (delta). */
  deletes?: Tombstone[];
  /** Keys (`target/uid`) a full reconcile keeps; default every row's key (full) or none (delta). */
  keep?: Iterable<string>;
  /**
   * Every row of the snapshot at `version`, for the plan's rowCount and targetCounts (what the git
   * summary records). Default: the rows given, which is right for a full reconcile only.
   */
  snapshot?: readonly { target: string }[];
  /** Override the counts taken from `snapshot`. */
  rowCount?: number;
  targetCounts?: Record<string, number>;
  /** Default true. */
  resyncComplete?: boolean;
  /** Default 50. */
  maxDeletePercent?: number;
  /** Default `exp-<lineage>-<mode>-<version>`: the same on every retry of one export. */
  exportId?: string;
  /** Rows per page yielded by upserts() (default 1000, the body store's page). */
  pageSize?: number;
  /** Runs after each page has been handed to the sink (e.g. to abort the attempt mid-write). */
  onPage?: (page: readonly VersionedRow[], index: number) => void;
}

/** An ExportInput that also counts the bodies the sink asked for. */
export interface TestExportInput extends ExportInput {
  /** upserts() calls, pages and rows handed out, across every call. */
  readonly reads: { calls: number; pages: number; rows: number };
}

/** Rows per target, as the workflow's plan counts them. */
export function countTargets(rows: readonly { target: string }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[r.target] = (out[r.target] ?? 0) + 1;
  return out;
}

/** The tombstone of a row deleted at `version`. */
export function tombstone(row: VersionedRow, version: number): Tombstone {
  return { target: row.target, uid: row.uid, cluster: row.cluster, apiVersion: row.apiVersion, kind: row.kind, namespace: row.namespace, name: row.name, version };
}

export function exportInput(rows: readonly VersionedRow[], opts: ExportInputOptions): TestExportInput {
  const mode = opts.mode ?? 'full';
  const lineage = opts.lineage ?? 'lineage-a';
  const deletes = opts.deletes ?? [];
  const fromVersion = opts.fromVersion ?? 0;
  const version = opts.version ?? Math.max(fromVersion + 1, ...rows.map((r) => r.version), ...deletes.map((d) => d.version));
  const pageSize = opts.pageSize ?? 1_000;
  const plan: ExportPlan = {
    lineage, mode, fromVersion, version,
    rowCount: opts.rowCount ?? (opts.snapshot ?? rows).length, targetCounts: opts.targetCounts ?? countTargets(opts.snapshot ?? rows),
    resyncComplete: opts.resyncComplete ?? true,
  };
  const held = rows.map((r) => ({ ...r }));
  const reads = { calls: 0, pages: 0, rows: 0 };
  async function* upserts(want?: (e: RowEntry) => boolean): AsyncIterable<VersionedRow[]> {
    reads.calls++;
    const wanted = want ? held.filter((r) => want({ target: r.target, uid: r.uid, hash: r.hash, version: r.version })) : held;
    for (let i = 0, n = 0; i < wanted.length; i += pageSize, n++) {
      await Promise.resolve(); // a page of bodies arrives asynchronously, as from the store
      const page = wanted.slice(i, i + pageSize).map((r) => ({ ...r }));
      reads.pages++;
      reads.rows += page.length;
      yield page;
      opts.onPage?.(page, n);
    }
  }
  return {
    inventory: opts.inventory, sink: opts.sink, exportId: opts.exportId ?? `exp-${lineage}-${mode}-${version}`, plan,
    upserts, upsertCount: held.length,
    keep: new Set(opts.keep ?? (mode === 'full' ? held.map(rowKey) : [])),
    deletes, maxDeletePercent: opts.maxDeletePercent ?? 50, reads,
  };
}
