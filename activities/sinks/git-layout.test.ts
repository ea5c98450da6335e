import { describe, it, expect } from 'vitest';
import type { Row } from '../../api/rows.js';
import {
  commitMessage, countChanges, fileUid, parsePorcelain, pathSegment, TreePlanner, readWatermark, resolveBasePath, rowPaths, summaryDocument, summaryFile,
} from './git-layout.js';
import { rowDocument, serialize } from './serialize.js';
import { SinkConfigError } from './types.js';

const inv = { namespace: 'team-a', name: 'apps', cluster: 'prod-eu' };
const wm = { lineage: 'lin-1', version: 7 };
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
  it('defaults to <cluster>/<inventory namespace>/<inventory name> and fills placeholders', () => {
    expect(resolveBasePath(undefined, inv)).toBe('prod-eu/team-a/apps');
    expect(resolveBasePath('{inventoryNamespace}/{inventoryName}', inv)).toBe('team-a/apps');
    expect(resolveBasePath('/fleet/{cluster}/{inventoryNamespace}/{inventoryName}/', inv)).toBe('fleet/prod-eu/team-a/apps');
  });
  it('refuses the repository root, parent segments, .git and unknown placeholders', () => {
    for (const p of ['/', '..', 'a/../b', '.git/hooks', 'a/{namespace}', 'a/*']) {
      expect(() => resolveBasePath(p, inv), p).toThrow(SinkConfigError);
    }
  });
});

describe('TreePlanner and the summary', () => {
  it('places one file per row, cluster-scoped rows under _cluster, and keeps only paths', () => {
    const t = new TreePlanner('base', 'yaml');
    const web = t.place(row());
    const view = t.place(row({ namespace: '', kind: 'ClusterRole', name: 'view', uid: 'u2', target: 'roles' }));
    expect([web.path, view.path]).toEqual(['base/deploys/default/deployment-web.yaml', 'base/roles/_cluster/clusterrole-view.yaml']);
    expect(web.content).toBe(serialize(rowDocument(row()), 'yaml'));
    expect([...t.placed]).toEqual([['base/deploys/default/deployment-web.yaml', 'u1'], ['base/roles/_cluster/clusterrole-view.yaml', 'u2']]);
    expect(new TreePlanner('base', 'json').place(row()).path).toBe('base/deploys/default/deployment-web.json');
  });
  it('gives a second row on the same path (a recreated object) its ~uid alternate: the older row keeps the name', () => {
    const t = new TreePlanner('b', 'yaml');
    expect(t.place(row({ uid: 'u2' })).path).toBe('b/deploys/default/deployment-web.yaml');
    expect(t.place(row({ uid: 'u1' })).path).toBe('b/deploys/default/deployment-web~u1.yaml');
    expect(t.place(row({ uid: 'u2' })).path).toBe('b/deploys/default/deployment-web.yaml'); // the same row again: same file
  });
  it('names the held row files no placed row claims', () => {
    const t = new TreePlanner('b', 'yaml');
    t.place(row());
    expect(t.stale(['b/deploys/default/deployment-web.yaml', 'b/deploys/default/deployment-old.yaml'])).toEqual(['b/deploys/default/deployment-old.yaml']);
  });
  it('writes counts and the watermark into the summary, in both formats', () => {
    const yaml = serialize(summaryDocument(inv, 2, { roles: 1, deploys: 1 }, wm), 'yaml');
    expect(yaml).toBe('inventory:\n  namespace: team-a\n  name: apps\ncluster: prod-eu\nrows: 2\ntargets:\n  deploys: 1\n  roles: 1\nsnapshot:\n  lineage: lin-1\n  version: 7\n');
    expect(JSON.parse(serialize(summaryDocument(inv, 2, { deploys: 1, roles: 1 }, wm), 'json'))).toEqual({ inventory: { namespace: 'team-a', name: 'apps' }, cluster: 'prod-eu', rows: 2, targets: { deploys: 1, roles: 1 }, snapshot: wm });
    expect(readWatermark(serialize(summaryDocument(inv, 0, {}, { lineage: 'lin-2', version: 8 }), 'yaml'))).toEqual({ lineage: 'lin-2', version: 8 });
  });
});

describe('rowPaths', () => {
  it('puts a row at <target>/<namespace | _cluster>/<kind>-<name>, with a ~uid alternate', () => {
    expect(rowPaths('base', row(), 'yaml')).toEqual({ primary: 'base/deploys/default/deployment-web.yaml', alternate: 'base/deploys/default/deployment-web~u1.yaml' });
    expect(rowPaths('b/c', row({ namespace: '', kind: 'ClusterRole', name: 'view', target: 'roles', uid: 'u9' }), 'json'))
      .toEqual({ primary: 'b/c/roles/_cluster/clusterrole-view.json', alternate: 'b/c/roles/_cluster/clusterrole-view~u9.json' });
  });
  it('sanitizes every segment, the uid of the alternate too', () => {
    const p = rowPaths('base', row({ target: 'a/b', namespace: '..', name: 'x y', uid: '../u:1' }), 'yaml');
    expect(p).toEqual({ primary: 'base/a_b/_./deployment-x_y.yaml', alternate: 'base/a_b/_./deployment-x_y~_._u_1.yaml' });
  });
});

describe('fileUid', () => {
  it('reads the top-level uid of a YAML row file, plain or quoted', () => {
    for (const uid of ['u1', 'abc-def', '0123', '6f1c2d3e-5b7a-4c1d-9e2f-001122334455', 'yes', 'a: b', 'x #y', 'with "quotes"']) {
      expect(fileUid(serialize(rowDocument(row({ uid })), 'yaml'), 'yaml'), uid).toBe(uid);
    }
  });
  it('ignores a uid nested in the attributes or inside a literal block', () => {
    const r = row({ uid: 'top', attributes: { uid: 'nested', metadata: { uid: 'deeper' }, script: 'line\nuid: fake\n' } });
    const text = serialize(rowDocument(r), 'yaml');
    expect(text).toContain('\n    uid: fake\n');
    expect(fileUid(text, 'yaml')).toBe('top');
    expect(fileUid('kind: Deployment\nattributes:\n  uid: nested\n', 'yaml')).toBeUndefined();
  });
  it('reads the uid of a JSON row file, and nothing from a broken one', () => {
    for (const uid of ['u1', '0123', 'a: b']) expect(fileUid(serialize(rowDocument(row({ uid })), 'json'), 'json')).toBe(uid);
    expect(fileUid('{"kind": "Deployment"}', 'json')).toBeUndefined();
    expect(fileUid('{not json', 'json')).toBeUndefined();
  });
});

describe('readWatermark', () => {
  it('reads back what the summary holds, in both formats, whatever the lineage looks like', () => {
    for (const lineage of ['lin-1', '0123', '1e5', 'true', 'null', '6f1c2d3e-5b7a-4c1d-9e2f-001122334455']) {
      for (const format of ['yaml', 'json'] as const) {
        const text = serialize(summaryDocument(inv, 3, { b: 1, a: 2 }, { lineage, version: 42 }), format);
        expect(readWatermark(text), `${format} ${lineage}`).toEqual({ lineage, version: 42 });
      }
    }
    expect(summaryFile('json')).toBe('_inventory.json');
    expect(summaryFile('yaml')).toBe('_inventory.yaml');
  });
  it('has none for a missing, empty, old-format or malformed summary', () => {
    expect(readWatermark(undefined)).toBeUndefined();
    expect(readWatermark('')).toBeUndefined();
    // a summary written before watermarks existed
    expect(readWatermark('inventory:\n  namespace: team-a\n  name: apps\ncluster: c1\nrows: 2\n')).toBeUndefined();
    expect(readWatermark('snapshot:\n  lineage: l\n')).toBeUndefined();
    expect(readWatermark('snapshot:\n  lineage: l\n  version: "7"\n')).toBeUndefined();
    expect(readWatermark('snapshot:\n  lineage: 12\n  version: 7\n')).toBeUndefined();
    expect(readWatermark('snapshot: [\n')).toBeUndefined();
    expect(readWatermark('- a\n- b\n')).toBeUndefined();
    expect(readWatermark('just text')).toBeUndefined();
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
    const msg = commitMessage(inv, changes, { added: 25, updated: 0, removed: 0 }, { exportId: 'e1', lineage: 'lin-1', version: 7 });
    const lines = msg.split('\n');
    expect(lines[0]).toBe('kollect: team-a/apps: 25 added, 0 updated, 0 removed');
    expect(lines.filter((l) => l.startsWith('A '))).toHaveLength(20);
    expect(msg).toContain('... and 5 more');
    expect(msg.endsWith('\n\nKollect-Cluster: prod-eu\nKollect-Export-Id: e1\nKollect-Lineage: lin-1\nKollect-Snapshot-Version: 7\n')).toBe(true);
  });
});
