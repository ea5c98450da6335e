import { describe, expect, it } from 'vitest';
import type { KollectInventory, KollectSnapshotSink } from '../../api/types.js';
import { claimOf, conflicts, describeOverlap, inventoryClaims, normaliseRepository, overlaps } from './git-claims.js';

const gitSink = (name: string, git: Record<string, unknown>, namespace = 'team-a'): KollectSnapshotSink => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectSnapshotSink', metadata: { name, namespace }, spec: { type: 'git', git: git as never },
});
const inv = (name: string, sinks: string[], extra: Record<string, unknown> = {}, namespace = 'team-a'): KollectInventory => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name, namespace },
  spec: { targetRefs: [{ name: 't' }], snapshotSinkRefs: sinks.map((s) => ({ name: s })), ...extra },
});
const byKey = (...sinks: KollectSnapshotSink[]): Map<string, KollectSnapshotSink> => new Map(sinks.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));

describe('git claims', () => {
  it('resolve the sink\'s path with the inventory\'s cluster: spec.cluster, else the operator\'s', () => {
    const sinks = byKey(gitSink('repo', { url: 'https://git.example/Org/inv.git/' }));
    expect(inventoryClaims(inv('apps', ['repo']), sinks, 'prod')).toEqual([
      { inventory: 'team-a/apps', sink: 'team-a/repo', repository: 'https://git.example/Org/inv', branch: 'main', path: 'prod/team-a/apps' },
    ]);
    expect(inventoryClaims(inv('apps', ['repo'], { cluster: 'edge-1' }), sinks, 'prod')[0]!.path).toBe('edge-1/team-a/apps');
  });

  it('a missing sink, another type or a spec that does not resolve claims nothing', () => {
    const s3: KollectSnapshotSink = { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectSnapshotSink', metadata: { name: 's3', namespace: 'team-a' }, spec: { type: 's3', s3: { bucket: 'b' } } };
    const sinks = byKey(s3, gitSink('bad', { url: 'https://git.example/r', path: 'a/../..' }));
    expect(inventoryClaims(inv('apps', ['s3', 'bad', 'missing']), sinks, 'prod')).toEqual([]);
  });

  it('gitlab sinks claim <instance>/<project> on their target branch, the same repository a git URL names', () => {
    const gl: KollectSnapshotSink = { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectSnapshotSink', metadata: { name: 'gl', namespace: 'team-a' }, spec: { type: 'gitlab', gitlab: { url: 'https://GitLab.example/', project: 'group/inv', path: 'fleet', mergeRequest: { targetBranch: 'main' } } } };
    const c = claimOf({ namespace: 'team-a', name: 'apps', cluster: 'prod' }, gl)!;
    const g = claimOf({ namespace: 'team-b', name: 'db', cluster: 'prod' }, gitSink('g', { url: 'https://gitlab.example/group/inv.git', path: 'fleet/{inventoryName}' }, 'team-b'))!;
    expect(c).toMatchObject({ repository: 'https://gitlab.example/group/inv', branch: 'main', path: 'fleet' });
    expect(overlaps(c, g)).toBe(true);
  });

  it('overlap: same repository and branch, paths equal or nested by whole segments', () => {
    const c = (path: string, branch = 'main', repository = 'https://git.example/r') => ({ inventory: 'a/b', sink: 'a/s', repository, branch, path });
    expect(overlaps(c('x/y'), c('x/y'))).toBe(true);
    expect(overlaps(c('x'), c('x/y/z'))).toBe(true);
    expect(overlaps(c('x/y/z'), c('x'))).toBe(true);
    expect(overlaps(c('x/y'), c('x/yz'))).toBe(false);
    expect(overlaps(c('x'), c('x', 'other'))).toBe(false);
    expect(overlaps(c('x'), c('x', 'main', 'https://git.example/other'))).toBe(false);
    expect(normaliseRepository('https://user@Git.Example:443/r.git')).toBe(normaliseRepository('https://git.example/r/'));
  });

  it('finds an inventory nested in another, and two sinks of one inventory on one tree', () => {
    const sinks = byKey(gitSink('all', { url: 'https://git.example/r', path: 'fleet' }), gitSink('one', { url: 'https://git.example/r', path: 'fleet/{inventoryName}' }), gitSink('copy', { url: 'https://git.example/r.git', path: 'fleet/{inventoryName}' }));
    const outer = inventoryClaims(inv('outer', ['all']), sinks, 'prod');
    const inner = inventoryClaims(inv('inner', ['one']), sinks, 'prod');
    const found = conflicts(inner, outer);
    expect(found).toHaveLength(1);
    expect(describeOverlap(found[0]!.mine, found[0]!.theirs)).toBe('sink team-a/one writes https://git.example/r branch main path fleet/inner/, inside fleet/ that inventory team-a/outer writes through sink team-a/all: each export would delete the other\'s files; give one spec.git.path (or spec.gitlab.path) a directory of its own, or another branch');
    const twice = inventoryClaims(inv('x', ['one', 'copy']), sinks, 'prod');
    expect(conflicts(twice, [])).toHaveLength(1);
    // The default path keeps inventories of different clusters, namespaces and names apart.
    const plain = byKey(gitSink('repo', { url: 'https://git.example/r' }), gitSink('repo', { url: 'https://git.example/r' }, 'team-b'));
    const all = [inv('apps', ['repo']), inv('apps', ['repo'], { cluster: 'edge' }), inv('apps', ['repo'], {}, 'team-b')].map((i) => inventoryClaims(i, plain, 'prod'));
    expect(conflicts(all[0]!, [...all[1]!, ...all[2]!])).toEqual([]);
  });
});
