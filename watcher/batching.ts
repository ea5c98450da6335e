// Pure helpers that turn coalesced changes into signal payloads within Temporal's limits
// (a payload warns above 512 KB and fails above 2 MB: docs/decisions/0006).
import type { Row, RowRef } from '../api/rows.js';
import type { DeltaBatch, ResyncPart } from '../api/signals.js';

export const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

export interface SizedBatch {
  batch: DeltaBatch;
  /** Bodies of the batch's upserts that are not in the body store yet: written before the signal is sent. */
  bodies: Row[];
  /** Serialized JSON size of `batch`. */
  bytes: number;
  /** A single row larger than the budget, sent alone (the payload codec may still shrink it). */
  oversized: boolean;
}

const isRow = (r: Row | RowRef): r is Row => (r as Row).attributes !== undefined;

/**
 * Packs one target's upserts (as references) and deletes into as few batches as fit `maxBytes`
 * each (JSON of the DeltaBatch). Order is kept. Upserts given with their body carry it in the
 * batch's `bodies`; those given as a bare reference are already in the store.
 */
export function splitDeltas(target: string, upserts: readonly (Row | RowRef)[], deleteUids: readonly string[], maxBytes: number): SizedBatch[] {
  const out: SizedBatch[] = [];
  const empty = (): DeltaBatch => ({ target, upserts: [], deletes: [] });
  const base = jsonBytes(empty());
  let cur = empty();
  let bodies: Row[] = [];
  let bytes = base;
  let items = 0;
  const push = (): void => {
    if (items === 0) return;
    out.push({ batch: cur, bodies, bytes, oversized: bytes > maxBytes });
    cur = empty();
    bodies = [];
    bytes = base;
    items = 0;
  };
  const add = (size: number, put: () => void): void => {
    // +1 for the comma that separates it from the previous element of its array
    const extra = size + 1;
    if (items > 0 && bytes + extra > maxBytes) push();
    put();
    bytes += extra;
    items++;
  };
  for (const r of upserts) {
    const ref: RowRef = { uid: r.uid, hash: r.hash };
    add(jsonBytes(ref), () => { cur.upserts.push(ref); if (isRow(r)) bodies.push(r); });
  }
  for (const uid of deleteUids) {
    const d = { target, uid };
    add(jsonBytes(d), () => cur.deletes.push(d));
  }
  push();
  // The comma estimate over-counts by one per non-empty array; report the exact size.
  for (const b of out) b.bytes = jsonBytes(b.batch);
  return out;
}

/** The full uid set of one target after a (re)list, in parts of at most `maxUids` (≥ 1 part). */
export function resyncParts(target: string, uids: Iterable<string>, id: string, maxUids: number): ResyncPart[] {
  const all = [...uids].sort();
  const parts = Math.max(1, Math.ceil(all.length / maxUids));
  return Array.from({ length: parts }, (_, part) => ({ target, id, part, parts, uids: all.slice(part * maxUids, (part + 1) * maxUids) }));
}
