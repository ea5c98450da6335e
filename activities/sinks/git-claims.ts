// Which directory of which repository and branch each inventory's Git sinks write (a "claim"), and
// which claims overlap. A git or gitlab sink owns everything under its resolved path: every export
// makes that tree exactly the inventory's snapshot, so two inventories whose paths are equal or
// nested delete each other's files on every export. Pure (no I/O): the validating webhook refuses
// the object that would make an overlap (worker/webhook.ts), and the controller marks the later
// inventory when one exists anyway (watcher/controller.ts), since admission can race.
//
// The paths are the sinks' own: resolveBasePath (git-layout.ts) for git, settingsOf (gitlab.ts)
// for gitlab, filled with the inventory's cluster (spec.cluster or the operator's cluster name).
import type { KollectInventory, KollectSnapshotSink, GitSinkSpec, GitLabSinkSpec } from '../../api/types.js';
import { resolveBasePath } from './git-layout.js';
import { settingsOf } from './gitlab.js';
import { SinkConfigError } from './types.js';

export interface GitClaim {
  /** `namespace/name` of the inventory. */
  inventory: string;
  /** `namespace/name` of the KollectSnapshotSink. */
  sink: string;
  /** The repository, normalised: scheme and host lower-cased, no userinfo, no trailing `/` or `.git`. */
  repository: string;
  /** The branch written; a gitlab sink without targetBranch writes the project's default branch. */
  branch: string;
  /** The resolved directory the sink owns, without leading or trailing `/`. */
  path: string;
}

/** `https://Host/group/repo.git/` → `https://host/group/repo`: the same repository however it is spelled. */
export function normaliseRepository(url: string): string {
  try {
    const u = new URL(url);
    u.username = ''; u.password = ''; u.hash = ''; u.search = '';
    return `${u.protocol}//${u.host.toLowerCase()}${u.pathname.replace(/\/+$/, '').replace(/\.git$/, '').replace(/\/+$/, '')}`;
  } catch {
    return url;
  }
}

const DEFAULT_BRANCH = '(default branch)';

/** The claim of one sink for one inventory, or undefined when the sink writes no Git tree or does not resolve (its Ready says why). */
export function claimOf(inventory: { namespace: string; name: string; cluster: string }, sink: KollectSnapshotSink): GitClaim | undefined {
  const id = { inventory: `${inventory.namespace}/${inventory.name}`, sink: `${sink.metadata.namespace ?? ''}/${sink.metadata.name}` };
  try {
    if (sink.spec?.type === 'git' && sink.spec.git) {
      const g: GitSinkSpec = sink.spec.git;
      return { ...id, repository: normaliseRepository(g.url), branch: g.branch?.trim() || 'main', path: resolveBasePath(g.path, inventory) };
    }
    if (sink.spec?.type === 'gitlab' && sink.spec.gitlab) {
      const g: GitLabSinkSpec = sink.spec.gitlab;
      const s = settingsOf(g, inventory);
      return { ...id, repository: normaliseRepository(`${s.root}/${s.project}`), branch: s.targetBranch ?? DEFAULT_BRANCH, path: s.base };
    }
  } catch (err) {
    if (err instanceof SinkConfigError) return undefined;
    throw err;
  }
  return undefined;
}

/** The cluster an inventory's rows and paths carry: spec.cluster, else the operator's. */
export const clusterOf = (inv: KollectInventory, operatorCluster: string): string => inv.spec?.cluster || operatorCluster;

/** Every Git claim of `inv`, its snapshot sinks looked up by `namespace/name` in `sinks`. */
export function inventoryClaims(inv: KollectInventory, sinks: ReadonlyMap<string, KollectSnapshotSink>, operatorCluster: string): GitClaim[] {
  const namespace = inv.metadata.namespace ?? '';
  const identity = { namespace, name: inv.metadata.name, cluster: clusterOf(inv, operatorCluster) };
  const out: GitClaim[] = [];
  for (const ref of inv.spec?.snapshotSinkRefs ?? []) {
    const sink = sinks.get(`${namespace}/${ref.name}`);
    const claim = sink ? claimOf(identity, sink) : undefined;
    if (claim) out.push(claim);
  }
  return out;
}

/** Same repository and branch, and one path equal to the other or below it. */
export function overlaps(a: GitClaim, b: GitClaim): boolean {
  if (a.repository !== b.repository || a.branch !== b.branch) return false;
  return a.path === b.path || a.path.startsWith(`${b.path}/`) || b.path.startsWith(`${a.path}/`);
}

/** `<repository> branch <b>: <path a> (inventory x, sink s) and <path b> (inventory y, sink t) are equal|nested`. */
export function describeOverlap(mine: GitClaim, theirs: GitClaim): string {
  const how = mine.path === theirs.path ? 'the same directory' : mine.path.startsWith(`${theirs.path}/`) ? `inside ${theirs.path}/` : `around ${theirs.path}/`;
  const self = mine.inventory === theirs.inventory;
  return `sink ${mine.sink} writes ${mine.repository} branch ${mine.branch} path ${mine.path}/, ${how} that ${self ? `sink ${theirs.sink} of this inventory writes` : `inventory ${theirs.inventory} writes through sink ${theirs.sink}`}: each export would delete the other's files; give one spec.git.path (or spec.gitlab.path) a directory of its own, or another branch`;
}

export interface Conflict { mine: GitClaim; theirs: GitClaim }

/**
 * Overlaps that involve `mine` (claims of the object under review): with every claim of
 * `others`, and between two of `mine` that come from different sinks.
 */
export function conflicts(mine: readonly GitClaim[], others: readonly GitClaim[]): Conflict[] {
  const out: Conflict[] = [];
  mine.forEach((m, i) => {
    for (const o of others) if (overlaps(m, o)) out.push({ mine: m, theirs: o });
    for (const o of mine.slice(i + 1)) if ((o.sink !== m.sink || o.inventory !== m.inventory) && overlaps(m, o)) out.push({ mine: m, theirs: o });
  });
  return out;
}
