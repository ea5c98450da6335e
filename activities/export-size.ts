// The export size limit (docs/sinks.md#export-size): an operator-wide cap (KOLLECT_MAX_EXPORT_BYTES)
// and a per-inventory spec.maxExportBytes that may only lower it. An export above it is refused
// (non-retryable ExportTooLarge) with a message naming its largest contributors, so the user sees
// which target or object to narrow. One oversized object cannot cause this on its own any more:
// rows over KOLLECT_EXTRACT_MAX_ROW_BYTES are quarantined at extraction.
import { ApplicationFailure } from '@temporalio/activity';
import type { RowEntry } from '../api/rows.js';
import type { BodyStore } from '../store/bodies.js';

export interface ExportLimit { bytes: number; source: string }

/** Contributors named in the message. */
export const TOP_CONTRIBUTORS = 5;

/** The limit that applies: the lower of spec.maxExportBytes and the operator's cap, named; undefined: none. */
export function exportLimit(spec: number | undefined, operator: number | undefined): ExportLimit | undefined {
  if (operator !== undefined && (spec === undefined || operator < spec)) {
    return { bytes: operator, source: spec === undefined ? "the operator's KOLLECT_MAX_EXPORT_BYTES" : `the operator's KOLLECT_MAX_EXPORT_BYTES (which caps the inventory's spec.maxExportBytes ${spec})` };
  }
  return spec === undefined ? undefined : { bytes: spec, source: "the inventory's spec.maxExportBytes" };
}

const human = (n: number): string => (n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

/** Throws ExportTooLarge, naming the largest targets and objects, when `upserts` exceed `limit`. */
export async function checkExportSize(store: BodyStore, upserts: readonly RowEntry[], limit: ExportLimit | undefined): Promise<void> {
  if (!limit) return;
  const total = await store.bytes(upserts.map((e) => e.hash));
  if (total <= limit.bytes) return;
  throw ApplicationFailure.nonRetryable(`${await tooLargeMessage(store, upserts, total, limit)}`, 'ExportTooLarge');
}

async function tooLargeMessage(store: BodyStore, upserts: readonly RowEntry[], total: number, limit: ExportLimit): Promise<string> {
  const sizes = await store.sizes(upserts.map((e) => e.hash));
  const perTarget = new Map<string, { bytes: number; rows: number }>();
  for (const e of upserts) {
    const t = perTarget.get(e.target) ?? { bytes: 0, rows: 0 };
    t.bytes += sizes.get(e.hash) ?? 0;
    t.rows++;
    perTarget.set(e.target, t);
  }
  const targets = [...perTarget].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, TOP_CONTRIBUTORS)
    .map(([t, s]) => `${t} ${human(s.bytes)} in ${s.rows} row(s)`);
  const top = [...upserts].sort((a, b) => (sizes.get(b.hash) ?? 0) - (sizes.get(a.hash) ?? 0)).slice(0, TOP_CONTRIBUTORS);
  const bodies = await store.get(top.map((e) => e.hash), { allowMissing: true });
  const objects = top.map((e) => {
    const b = bodies.get(e.hash);
    const name = b ? `${b.kind} ${b.namespace ? `${b.namespace}/` : ''}${b.name}` : e.uid;
    return `${e.target}: ${name} ${human(sizes.get(e.hash) ?? 0)}`;
  });
  return `export is ${total} bytes (${human(total)}), above ${limit.source} (${limit.bytes}); largest targets: ${targets.join(', ')}; largest objects: ${objects.join(', ')}; `
    + 'raise the limit, narrow those targets, or lower KOLLECT_EXTRACT_MAX_ROW_BYTES so that no single object can fill an export';
}
