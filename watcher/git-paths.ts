// The reconcile-time half of the overlapping-Git-paths check (docs/admission.md): the webhook
// refuses an inventory or sink that would make two inventories write nested or equal directories
// of one repository and branch, but two admissions can race, an object may predate the webhook,
// and the webhook may be unregistered or fail open. The controller therefore evaluates the same
// claims (activities/sinks/git-claims.ts) over its caches and marks the later inventory of each
// overlap with condition GitPathsDisjoint=False (reason GitPathOverlap); the earlier one keeps
// exporting undisturbed.
import type { KollectInventory, KollectSnapshotSink } from '../api/types.js';
import { conflicts, describeOverlap, inventoryClaims } from '../activities/sinks/git-claims.js';
import type { ReadyState } from './status.js';

/** Condition type on inventories; written False only on an overlap, and True again once it is gone. */
export const GIT_PATHS_DISJOINT = 'GitPathsDisjoint';
export const GIT_PATH_OVERLAP = 'GitPathOverlap';

type Stamped = KollectInventory & { metadata: { creationTimestamp?: string } };
const keyOf = (o: { metadata: { namespace?: string; name: string } }): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Order of creation: creationTimestamp, then namespace/name for objects created the same second. */
function earlier(a: Stamped, b: Stamped): boolean {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta !== tb ? ta < tb : keyOf(a) < keyOf(b);
}

/**
 * GitPathsDisjoint of every live inventory: False on the later inventory of each overlap (naming
 * the other and the paths), True on the rest. Two sinks of one inventory that overlap mark it too.
 */
export function gitPathStates(inventories: readonly KollectInventory[], sinks: ReadonlyMap<string, KollectSnapshotSink>, cluster: string): Map<string, ReadyState> {
  const live = inventories.filter((i) => !i.metadata.deletionTimestamp) as Stamped[];
  const byKey = new Map(live.map((i) => [keyOf(i), i]));
  const claims = new Map(live.map((i) => [keyOf(i), inventoryClaims(i, sinks, cluster)]));
  const out = new Map<string, ReadyState>();
  for (const inv of live) {
    const key = keyOf(inv);
    const mine = claims.get(key)!;
    const others = [...claims].filter(([k]) => k !== key && earlier(byKey.get(k)!, inv)).flatMap(([, c]) => c);
    const found = conflicts(mine, others);
    out.set(key, found.length === 0
      ? { status: 'True', reason: 'Disjoint', message: 'no other inventory writes this inventory\'s Git paths' }
      : { status: 'False', reason: GIT_PATH_OVERLAP, message: `${found.map((c) => describeOverlap(c.mine, c.theirs)).join('; ')}; the validating webhook refuses such a change (docs/admission.md)` });
  }
  return out;
}
