import { describe, it, expect } from 'vitest';
import type { Row } from '../../api/rows.js';
import { commitMessage, countChanges, parsePorcelain, pathSegment, planSnapshot, resolveBasePath } from './git-layout.js';
import { SinkConfigError } from './types.js';

const inv = { namespace: 'team-a', name: 'apps', cluster: 'prod-eu' };
const row = (over: Partial<Row> = {}): Row => ({ target: 'deploys', cluster: 'prod-eu', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web', uid: 'u1', attributes: {}, hash: 'h', ...over });

describe('pathSegment', () => {
  it('keeps DNS names, replaces anything else, never yields a hidden or parent segment', () => {
    expect(pathSegment('web-1.example')).toBe('web-1.example');
    expect(pathSegment('a/b\\c d:e')).toBe('a_b_c_d_e');
    expect(pathSegment('..')).toBe('_.');
    expect(pathSegment('.git')).toBe('_git');
    expect(pathSegment('')).toBe('_');
  });
  it('shortens overlong segments with a hash, deterministically', () => {
    const long = 'x'.repeat(300);
    expect(Buffer.byteLength(pathSegment(long))).toBeLessThanOrEqual(200);
    expect(pathSegment(long)).toBe(pathSegment(long));
    expect(pathSegment(long)).not.toBe(pathSegment(`${long}y`));
  });
});

describe('resolveBasePath', () => {
  it('defaults to <inventory namespace>/<inventory name> and fills placeholders', () => {
    expect(resolveBasePath(undefined, inv)).toBe('team-a/apps');
    expect(resolveBasePath('/fleet/{cluster}/{inventoryNamespace}/{inventoryName}/', inv)).toBe('fleet/prod-eu/team-a/apps');
  });
  it('refuses the repository root, parent segments, .git and unknown placeholders', () => {
    for (const p of ['/', '..', 'a/../b', '.git/hooks', 'a/{namespace}', 'a/*']) {
      expect(() => resolveBasePath(p, inv), p).toThrow(SinkConfigError);
    }
  });
});

describe('planSnapshot', () => {
  it('lays out one file per row plus a summary, independent of row order', () => {
    const rows = [row(), row({ namespace: '', kind: 'ClusterRole', name: 'view', uid: 'u2', target: 'roles' })];
    const a = planSnapshot('base', rows, 'yaml', inv);
    const b = planSnapshot('base', [...rows].reverse(), 'yaml', inv);
    expect([...a.files.keys()]).toEqual(['base/deploys/default/deployment-web.yaml', 'base/roles/_cluster/clusterrole-view.yaml', 'base/_inventory.yaml']);
    expect([...a.files]).toEqual([...b.files]);
    expect(a.files.get('base/_inventory.yaml')).toBe('inventory:\n  namespace: team-a\n  name: apps\ncluster: prod-eu\nrows: 2\ntargets:\n  deploys: 1\n  roles: 1\n');
    expect(planSnapshot('base', rows, 'json', inv).files.has('base/deploys/default/deployment-web.json')).toBe(true);
  });
  it('gives a second row on the same path (recreated object) its uid', () => {
    const plan = planSnapshot('b', [row({ uid: 'u2' }), row({ uid: 'u1' })], 'yaml', inv);
    expect([...plan.rowFiles]).toEqual(['b/deploys/default/deployment-web.yaml', 'b/deploys/default/deployment-web~u2.yaml']);
  });
});

describe('commit message and status parsing', () => {
  it('parses porcelain -z and counts row files only', () => {
    const changes = parsePorcelain('A  b/t/ns/deployment-a.yaml\0M  b/_inventory.yaml\0D  b/t/ns/deployment-c.yaml\0M  b/t/ns/deployment-d.yaml\0');
    expect(changes).toEqual([
      { status: 'A', path: 'b/t/ns/deployment-a.yaml' }, { status: 'M', path: 'b/_inventory.yaml' },
      { status: 'D', path: 'b/t/ns/deployment-c.yaml' }, { status: 'M', path: 'b/t/ns/deployment-d.yaml' },
    ]);
    expect(countChanges(changes, 'b', 'yaml')).toEqual({ added: 1, updated: 1, removed: 1 });
  });
  it('says what changed, lists at most 20 paths, and carries trailers', () => {
    const changes = Array.from({ length: 25 }, (_, i) => ({ status: 'A' as const, path: `b/f${String(i).padStart(2, '0')}.yaml` }));
    const msg = commitMessage(inv, changes, { added: 25, updated: 0, removed: 0 }, { exportId: 'e1', version: 7 });
    const lines = msg.split('\n');
    expect(lines[0]).toBe('kollect: team-a/apps: 25 added, 0 updated, 0 removed');
    expect(lines.filter((l) => l.startsWith('A '))).toHaveLength(20);
    expect(msg).toContain('... and 5 more');
    expect(msg).toContain('Kollect-Export-Id: e1\nKollect-Snapshot-Version: 7');
  });
});
