// The git sink's repository layout and commit message, as pure functions (no I/O):
//
//   <path>/_inventory.<ext>                                  summary (counts) and the watermark
//   <path>/<target>/<namespace | _cluster>/<kind>-<name>.<ext>   one file per row
//
// The sink owns everything under <path>: each export makes the tree exactly this plan.
import { createHash } from 'node:crypto';
import YAML from 'yaml';
import type { Row } from '../../api/rows.js';
import type { InventoryIdentity, Watermark } from './types.js';
import { SinkConfigError } from './types.js';
import { rowDocument, serialize, type Format } from './serialize.js';

/** Directory of cluster-scoped rows; `_` cannot start a namespace name, so it never collides. */
export const CLUSTER_SCOPED_DIR = '_cluster';
export const summaryFile = (format: Format): string => `_inventory.${format === 'json' ? 'json' : 'yaml'}`;

const MAX_SEGMENT = 200; // bytes; file systems cap a name at 255

/**
 * One safe path segment: characters outside [A-Za-z0-9._-] become `_`, a leading `.` becomes
 * `_` (no `.git`, no hidden files, no `..`), and overlong segments are shortened with a hash.
 */
export function pathSegment(s: string): string {
  let out = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\./, '_');
  if (out === '') out = '_';
  if (Buffer.byteLength(out) > MAX_SEGMENT) out = `${out.slice(0, MAX_SEGMENT - 13)}-${createHash('sha256').update(s).digest('hex').slice(0, 12)}`;
  return out;
}

/**
 * The directory of an inventory without spec.path: the cluster first, so that the inventories of
 * a fleet sharing one repository never write into each other's trees (docs/decisions/0026;
 * before, the default was `{inventoryNamespace}/{inventoryName}`).
 */
export const DEFAULT_PATH_TEMPLATE = '{cluster}/{inventoryNamespace}/{inventoryName}';

/**
 * spec.path with placeholders `{cluster}`, `{inventoryNamespace}`, `{inventoryName}` filled in,
 * default DEFAULT_PATH_TEMPLATE. Must name a directory below the repository root.
 */
export function resolveBasePath(path: string | undefined, inv: InventoryIdentity): string {
  const template = path?.trim() || DEFAULT_PATH_TEMPLATE;
  const filled = template.replace(/\{(cluster|inventoryNamespace|inventoryName)\}/g, (_m, key: string) =>
    pathSegment(key === 'cluster' ? inv.cluster : key === 'inventoryNamespace' ? inv.namespace : inv.name));
  const segments = filled.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw new SinkConfigError('spec.git.path', 'must name a directory below the repository root: the sink owns everything under it');
  for (const seg of segments) {
    if (seg === '.' || seg === '..' || seg.startsWith('.git') || /[\\:*?"<>|[\]\0]/.test(seg) || /\{[A-Za-z]+\}/.test(seg)) {
      throw new SinkConfigError('spec.git.path', `invalid segment "${seg}" (no ., .., .git*, wildcards, or unknown {placeholders})`);
    }
  }
  return segments.join('/');
}

/** Where a row's file goes: `primary`, or `alternate` when another uid already holds that name. */
export function rowPaths(base: string, row: Pick<Row, 'target' | 'namespace' | 'kind' | 'name' | 'uid'>, format: Format): { primary: string; alternate: string } {
  const ext = format === 'json' ? 'json' : 'yaml';
  const dir = `${base}/${pathSegment(row.target)}/${row.namespace ? pathSegment(row.namespace) : CLUSTER_SCOPED_DIR}`;
  const stem = `${pathSegment(row.kind.toLowerCase())}-${pathSegment(row.name)}`;
  return { primary: `${dir}/${stem}.${ext}`, alternate: `${dir}/${stem}~${pathSegment(row.uid)}.${ext}` };
}

/** The uid a row file holds (top-level `uid`), read without parsing the whole document. */
export function fileUid(content: string, format: Format): string | undefined {
  if (format === 'json') {
    try { return (JSON.parse(content) as { uid?: string }).uid; } catch { return undefined; }
  }
  const m = /^uid: (.*)$/m.exec(content);
  if (!m) return undefined;
  const v = m[1]!;
  try { return v.startsWith('"') ? JSON.parse(v) as string : v; } catch { return v; }
}

/** The summary document: counts, and the watermark (lineage, version) the tree holds. */
export function summaryDocument(inv: InventoryIdentity, rows: number, perTarget: Record<string, number>, watermark: Watermark): Record<string, unknown> {
  return {
    inventory: { namespace: inv.namespace, name: inv.name },
    cluster: inv.cluster,
    rows,
    targets: Object.fromEntries(Object.keys(perTarget).sort().map((t) => [t, perTarget[t]])),
    snapshot: { lineage: watermark.lineage, version: watermark.version },
  };
}

/** The watermark in a summary file, if it has one. */
export function readWatermark(content: string | undefined): Watermark | undefined {
  if (!content) return undefined;
  try {
    const doc = YAML.parse(content) as { snapshot?: { lineage?: unknown; version?: unknown } } | null; // JSON is YAML
    const s = doc?.snapshot;
    return typeof s?.lineage === 'string' && typeof s.version === 'number' ? { lineage: s.lineage, version: s.version } : undefined;
  } catch { return undefined; }
}

/**
 * Places rows in the tree one at a time, as an export streams them: a row goes to its primary
 * path unless another uid of this export already took that name, then to its ~uid alternate. Rows
 * come in version order, so of two rows that want one name the older keeps it (a delta decides
 * the same way from the files it finds). Keeps only paths, never the rows.
 */
export class TreePlanner {
  /** path → uid of every row file placed so far. */
  readonly placed = new Map<string, string>();
  constructor(private readonly base: string, private readonly format: Format) {}

  /** Where `row` goes, and the file's content. */
  place(row: Row): { path: string; content: string } {
    const { primary, alternate } = rowPaths(this.base, row, this.format);
    const owner = this.placed.get(primary);
    const path = owner === undefined || owner === row.uid ? primary : alternate;
    this.placed.set(path, row.uid);
    return { path, content: serialize(rowDocument(row), this.format) };
  }

  /** Row files held before that no placed row claims: what a full reconcile removes. */
  stale(held: Iterable<string>): string[] {
    return [...held].filter((p) => !this.placed.has(p));
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export type FileChange = { status: 'A' | 'M' | 'D'; path: string };

export interface ChangeCounts { added: number; updated: number; removed: number }

/** Counts row-file changes (the summary file is not a row). */
export function countChanges(changes: readonly FileChange[], base: string, format: Format): ChangeCounts {
  const summary = `${base}/${summaryFile(format)}`;
  const counts = { added: 0, updated: 0, removed: 0 };
  for (const c of changes) {
    if (c.path === summary) continue;
    if (c.status === 'A') counts.added++;
    else if (c.status === 'M') counts.updated++;
    else counts.removed++;
  }
  return counts;
}

const MAX_LISTED = 20;

/** `kollect: <ns>/<name>: 2 added, 1 updated, 1 removed`, a body listing up to 20 paths, and trailers. */
export function commitMessage(inv: InventoryIdentity, changes: readonly FileChange[], counts: ChangeCounts, meta: { exportId: string; lineage: string; version: number }): string {
  const subject = `kollect: ${inv.namespace}/${inv.name}: ${counts.added} added, ${counts.updated} updated, ${counts.removed} removed`;
  const sorted = [...changes].sort((a, b) => cmp(a.path, b.path));
  const listed = sorted.slice(0, MAX_LISTED).map((c) => `${c.status} ${c.path}`);
  if (sorted.length > MAX_LISTED) listed.push(`... and ${sorted.length - MAX_LISTED} more`);
  const trailers = [`Kollect-Cluster: ${inv.cluster}`, `Kollect-Export-Id: ${meta.exportId}`, `Kollect-Lineage: ${meta.lineage}`, `Kollect-Snapshot-Version: ${meta.version}`];
  return `${subject}\n\n${listed.join('\n')}\n\n${trailers.join('\n')}\n`;
}

/** Parses `git status --porcelain=v1 -z --no-renames` after `git add -A`: index column A/M/D. */
export function parsePorcelain(out: string): FileChange[] {
  const changes: FileChange[] = [];
  for (const entry of out.split('\0')) {
    if (entry.length < 4) continue;
    const x = entry[0];
    const path = entry.slice(3);
    if (x === 'A' || x === 'M' || x === 'D') changes.push({ status: x, path });
    else if (x === 'T') changes.push({ status: 'M', path });
  }
  return changes;
}
