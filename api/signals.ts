// What the watcher sends to an inventory workflow. Declared once here so that both the workflow
// (which handles them) and the watcher (which sends them) import the same definitions.
import type { RowRef } from './rows.js';

/**
 * A batch of changes from one target, by reference: every upserted body is in the body store
 * before the batch is sent. Each batch stays well under 512 KB serialized.
 */
export interface DeltaBatch {
  target: string;
  upserts: RowRef[];
  deletes: { target: string; uid: string }[];
}

/**
 * After every (re)list of a target the watcher sends its full key set, in parts when large, so
 * that rows deleted while nobody watched are removed. Applied when all parts of one id arrived.
 */
export interface ResyncPart {
  target: string;
  /** Same for all parts of one relist. */
  id: string;
  part: number;
  parts: number;
  uids: string[];
}
