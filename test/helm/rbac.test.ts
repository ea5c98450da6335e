// deploy/rbac and the chart grant the same: the chart, rendered as release `kollect` in
// kollect-system, has exactly the rules of deploy/rbac's ClusterRoles and Role, the same bindings
// for a cluster-wide and for a namespaced install, and with rbac.watchedResources set to
// deploy/rbac's default watched kinds the same watched rules. The apiserver accepts every file.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { service } from '../harness/endpoints.js';
import { root } from '../support/process.js';
import { kubectl } from '../support/e2e.js';

const exec = promisify(execFile);
const CHART = path.join(root, 'deploy', 'helm', 'kollect');
const RBAC = path.join(root, 'deploy', 'rbac');

interface Rule { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }
interface Obj {
  kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  rules?: Rule[]; roleRef?: { kind: string; name: string }; subjects?: { kind: string; name: string; namespace?: string }[];
  aggregationRule?: unknown;
}

let dir: string;
const files = (sub: string): Obj[] => readdirSync(path.join(RBAC, sub)).filter((f) => f.endsWith('.yaml')).sort()
  .flatMap((f) => YAML.parseAllDocuments(readFileSync(path.join(RBAC, sub, f), 'utf8')).map((d) => d.toJS() as Obj).filter(Boolean));
const find = (objects: Obj[], kind: string, name: string, namespace?: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name && (namespace === undefined || x.metadata.namespace === namespace));
  if (!o) throw new Error(`no ${kind} ${name}${namespace ? ` in ${namespace}` : ''} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};
/** Bindings as kind, name, role and subjects: what they grant, without labels. */
const binding = (o: Obj) => ({ kind: o.kind, name: o.metadata.name, roleRef: o.roleRef, subjects: o.subjects });

async function render(values: object): Promise<Obj[]> {
  const f = path.join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, YAML.stringify(values));
  const env = { ...process.env, HELM_CONFIG_HOME: path.join(dir, 'h'), HELM_CACHE_HOME: path.join(dir, 'h'), HELM_DATA_HOME: path.join(dir, 'h') };
  const { stdout } = await exec(service('helm').bin, ['template', 'kollect', CHART, '--namespace', 'kollect-system', '-f', f], { env, maxBuffer: 32 * 1024 * 1024 });
  return YAML.parseAllDocuments(stdout).map((d) => d.toJS() as Obj).filter(Boolean).filter((o) => o.kind.includes('Role'));
}

describe('deploy/rbac is what the chart grants', () => {
  const common = files('common');
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-rbac-')); });
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('the operator ClusterRole, the access review and the leader election Role have the same rules', async () => {
    const chart = await render({});
    for (const [kind, name] of [['ClusterRole', 'kollect'], ['ClusterRole', 'kollect-access-review'], ['Role', 'kollect-leader-election']] as const) {
      expect(find(chart, kind, name).rules, `${kind} ${name}`).toEqual(find(common, kind, name).rules);
    }
    expect(find(common, 'Role', 'kollect-leader-election').metadata.namespace).toBe('kollect-system');
    expect(find(chart, 'Role', 'kollect-leader-election').rules![1]!.resourceNames).toEqual(['kollect-watcher']);
  });

  it('a cluster-wide install binds the same roles cluster-wide', async () => {
    const chart = await render({});
    const want = [...files('cluster'), ...common].filter((o) => o.kind.endsWith('Binding')).map(binding);
    const got = chart.filter((o) => o.kind.endsWith('Binding')).map(binding);
    const byName = (a: { kind: string; name: string }, b: { kind: string; name: string }) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`);
    expect(got.sort(byName)).toEqual(want.sort(byName));
  });

  it('a namespaced install binds the operator and watched roles in each served namespace only', async () => {
    const chart = await render({ operator: { watchNamespaces: ['team-a', 'team-b'] } });
    const perNamespace = files('namespaced').map(binding);
    for (const ns of ['team-a', 'team-b']) {
      expect(chart.filter((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns).map(binding)).toEqual(perNamespace);
    }
    expect(chart.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name)).toEqual(['kollect-access-review']);
  });

  it('the watched kinds: deploy/rbac aggregates labelled ClusterRoles; the chart with those kinds in rbac.watchedResources grants the same', async () => {
    expect(find(common, 'ClusterRole', 'kollect-watched').aggregationRule).toEqual({ clusterRoleSelectors: [{ matchLabels: { 'kollect.dev/aggregate-to-watched': 'true' } }] });
    const defaults = find(common, 'ClusterRole', 'kollect-watched-defaults');
    expect(defaults.metadata.labels).toEqual({ 'kollect.dev/aggregate-to-watched': 'true' });
    const chart = await render({ rbac: { watchAllResources: false, watchedResources: defaults.rules!.map((r) => ({ apiGroups: r.apiGroups, resources: r.resources })) } });
    expect(find(chart, 'ClusterRole', 'kollect-watched').rules).toEqual(defaults.rules);
  });

  it('the apiserver accepts every file (server-side dry-run)', async () => {
    await kubectl(['create', 'namespace', 'kollect-system']).catch(() => undefined); // the files' namespace
    for (const sub of ['common', 'cluster']) {
      const out = await kubectl(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', path.join(RBAC, sub)]);
      expect(out.trim().split('\n')).toHaveLength(files(sub).length);
    }
    const out = await kubectl(['-n', 'default', 'apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', path.join(RBAC, 'namespaced')]);
    expect(out.trim().split('\n')).toHaveLength(files('namespaced').length);
  });
});
