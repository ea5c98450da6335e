// collectGarbageWorkflow: deletes row bodies and claim-checked payloads nothing can name any more.
// Run by a Temporal Schedule the operator keeps (worker/schedule.ts), so each round is visible in
// the Temporal UI. Mark, then sweep:
//   1. every open inventory run touches the bodies it can still name (index, tombstones, exports
//      in flight) through its markLive update; a round that cannot reach one of them sweeps nothing;
//   2. bodies not touched since the round began, minus a grace period (bodies the watcher wrote
//      for signals not yet applied are younger than that), are deleted;
//   3. payload blobs last stored before the start of the oldest open run and before the
//      namespace's retention, minus a grace period, are deleted (a blob is re-stamped whenever a
//      history names it again, e.g. the state carried by continue-as-new).
// See docs/decisions/0011.
import { proxyActivities } from '@temporalio/workflow';
import type { createCollectorActivities } from '../activities/collect.js';

export interface CollectArgs {
  /** Bodies untouched this long before the round began go (default 1 h). */
  bodyGraceMs?: number;
  /** Extra age payload blobs must have beyond the oldest open run and the retention (default 1 h, at least 10 min). */
  payloadGraceMs?: number;
}

export interface CollectResult { inventories: number; touched: number; bodiesDeleted: number; payloadsDeleted: number }

const HOUR = 3_600_000;
/** A continue-as-new stores the new run's input just before that run starts: never sweep that close. */
export const MIN_PAYLOAD_GRACE_MS = 10 * 60_000;

const acts = proxyActivities<ReturnType<typeof createCollectorActivities>>({
  startToCloseTimeout: '30 minutes', heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 3, initialInterval: '5 seconds' },
});

export async function collectGarbageWorkflow(args: CollectArgs = {}): Promise<CollectResult> {
  const roundStartMs = Date.now();
  const runs = await acts.listInventoryRuns();
  const touched = await acts.markInventories(runs.runs.map((r) => r.workflowId));
  const bodiesDeleted = await acts.sweepBodies(roundStartMs - (args.bodyGraceMs ?? HOUR));
  const oldestOpenMs = Math.min(roundStartMs, ...runs.runs.map((r) => r.startMs));
  const payloadCutoff = Math.min(oldestOpenMs, roundStartMs - runs.retentionMs) - Math.max(MIN_PAYLOAD_GRACE_MS, args.payloadGraceMs ?? HOUR);
  const payloadsDeleted = await acts.sweepPayloads(payloadCutoff);
  return { inventories: runs.runs.length, touched, bodiesDeleted, payloadsDeleted };
}
