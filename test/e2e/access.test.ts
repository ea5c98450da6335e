// The operator under least privilege, on the real apiserver: it runs as the ServiceAccount of
// deploy/rbac (a token from the TokenRequest API), installed the namespaced way (deploy/rbac/common,
// and deploy/rbac/namespaced bound in one namespace only). A Target reading ConfigMaps there
// exports; a Target on ServiceAccounts, a kind deploy/rbac's watched role does not grant, is
// Degraded (Forbidden, naming the verb, the resource, the namespace and the fix) while the other
// keeps exporting; once a Role grants the kind, the periodic re-check lets the Target collect and
// clears Degraded. (Another namespace is not the case to show: with tenant mode a namespaced Target
// may not read one anyway, docs/tenancy.md.)
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { root, runEntry, type Child } from '../support/process.js';
import { kubectl, installCrds, renderSamples, pgQuery, optInSinkSecrets } from '../support/e2e.js';
import type { Condition } from '../../api/types.js';

const id = randomBytes(3).toString('hex');
const ns = `access-${id}`;
const table = `access_${id}`;
const RBAC = path.join(root, 'deploy', 'rbac');

let operator: Child;
const alive = (): boolean => operator.proc.exitCode === null;

/** A kubeconfig for the operator's ServiceAccount (kollect in kollect-system, as deploy/rbac names it). */
async function serviceAccountKubeconfig(): Promise<string> {
  const token = (await kubectl(['-n', 'kollect-system', 'create', 'token', 'kollect', '--duration=2h'])).trim();
  const kube = service('kube');
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-access-')), 'kubeconfig');
  writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'clusters:', '- name: c', '  cluster:', `    server: ${kube.server}`,
    `    certificate-authority-data: ${readFileSync(kube.caFile).toString('base64')}`,
    'users:', '- name: kollect', '  user:', `    token: ${token}`,
    'contexts:', '- name: kollect', '  context: {cluster: c, user: kollect}', 'current-context: kollect', '',
  ].join('\n'), { mode: 0o600 });
  return file;
}
/**
 * What kube-controller-manager's ClusterRole aggregation controller does, which the harness does
 * not run: kollect-watched gets the rules of every ClusterRole its aggregationRule selects.
 */
async function aggregateWatched(): Promise<void> {
  const list = JSON.parse(await kubectl(['get', 'clusterroles', '-l', 'kollect.dev/aggregate-to-watched=true', '-o', 'json'])) as { items: { rules?: unknown[] }[] };
  const rules = list.items.flatMap((r) => r.rules ?? []);
  expect(rules.length).toBeGreaterThan(0);
  await kubectl(['patch', 'clusterrole', 'kollect-watched', '--type=merge', '-p', JSON.stringify({ rules })]);
}
async function conditions(target: string): Promise<Condition[]> {
  return (JSON.parse(await kubectl(['-n', ns, 'get', 'kollecttarget', target, '-o', 'json'])) as { status?: { conditions?: Condition[] } }).status?.conditions ?? [];
}
const condition = async (target: string, type: string): Promise<Condition | undefined> => (await conditions(target)).find((c) => c.type === type);
async function exported(): Promise<string[]> {
  const read = (t: string) => pgQuery<{ target_name: string; namespace: string; name: string }>(`SELECT target_name, namespace, name FROM public.${t} ORDER BY 1, 2, 3`).catch(() => []);
  const rows = [...await read(table), ...await read(`${table}_else`)];
  return rows.map((r) => `${r.target_name} ${r.namespace}/${r.name}`);
}

describe('operator with least-privilege RBAC (deploy/rbac, namespaced install)', () => {
  beforeAll(async () => {
    await installCrds();
    for (const n of ['kollect-system', ns]) await kubectl(['create', 'namespace', n]).catch(() => undefined);
    await kubectl(['apply', '-f', path.join(RBAC, 'common')]);
    await aggregateWatched();
    await kubectl(['-n', ns, 'apply', '-f', path.join(RBAC, 'namespaced')]);
    const db = service('postgres');
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${db.password}`]);
    await optInSinkSecrets(ns, ['kollect-postgres']);
    const dir = renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'inventory.yaml'], (d) => {
      if (d.spec.type === 'postgres') { d.spec.postgres!.url = `postgres://${db.user}@${db.host}:${db.port}/${db.database}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
      if (d.kind === 'KollectTarget') (d.spec as { namespaces?: string[] }).namespaces = [ns];
      if (d.kind === 'KollectInventory') { d.spec.exportMinInterval = '1s'; d.spec.cluster = 'e2e'; d.spec.targetRefs = [{ name: 'configmaps' }]; }
    }, { sinks: ['postgres'] });
    await kubectl(['-n', ns, 'apply', '-f', dir]);
    // A second Target on a kind the operator may not read, in its own inventory and table: an
    // inventory waits for a complete resync of every Target it references before its first state export.
    const sink = JSON.parse(await kubectl(['-n', ns, 'get', 'kollectdatabasesink', 'postgres', '-o', 'json'])) as { spec: { postgres: { table: string } } };
    await kubectl(['-n', ns, 'apply', '-f', '-'], [
      { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectProfile', metadata: { name: 'serviceaccounts' }, spec: { apiVersion: 'v1', kind: 'ServiceAccount', export: { mode: 'Resource' } } },
      { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectTarget', metadata: { name: 'elsewhere' }, spec: { profileRef: { name: 'serviceaccounts' } } },
      { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectDatabaseSink', metadata: { name: 'postgres-elsewhere' }, spec: { ...sink.spec, postgres: { ...sink.spec.postgres, table: `${table}_else` } } },
      { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name: 'elsewhere' }, spec: { exportMinInterval: '1s', cluster: 'e2e', targetRefs: [{ name: 'elsewhere' }], databaseSinkRefs: [{ name: 'postgres-elsewhere' }] } },
    ].map((d) => JSON.stringify(d)).join('\n---\n'));
    await kubectl(['-n', ns, 'create', 'configmap', 'mine', '--from-literal=k=v']);
    await kubectl(['-n', ns, 'create', 'serviceaccount', 'theirs']);
    const port = await freePort();
    operator = runEntry('worker/operator.ts', {
      KUBECONFIG: await serviceAccountKubeconfig(), TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `access-${id}`,
      KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns, KOLLECT_STORE_URL: db.url,
    });
  }, 120_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await operator?.exited;
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('a Target on a kind the operator may not list is Degraded, naming verb, resource, namespace and fix; the other exports', async () => {
    try {
      await waitFor('the allowed Target exports and the other is Degraded', async () =>
        (await exported()).join() === `configmaps ${ns}/mine` && (await condition('elsewhere', 'Degraded'))?.status === 'True', 120_000, alive);
    } catch (err) {
      process.stdout.write(`exported: ${(await exported()).join(', ')}\nconditions: ${JSON.stringify(await conditions('elsewhere'))}\n${operator.output().slice(-5000)}\n`);
      throw err;
    }
    const degraded = (await condition('elsewhere', 'Degraded'))!;
    expect(degraded.reason).toBe('Forbidden');
    expect(degraded.message).toContain(`may not list core/serviceaccounts in namespace ${ns}`);
    expect(degraded.message).toContain(`grant list and watch on serviceaccounts in namespace ${ns}`);
    expect(await condition('elsewhere', 'Ready')).toMatchObject({ status: 'False', reason: 'Forbidden' });
    expect(await condition('configmaps', 'Ready')).toMatchObject({ status: 'True', reason: 'Collecting' });
    expect(await condition('configmaps', 'Degraded')).toBeUndefined();
    // No informer was started for the forbidden scope: no 403 ever came back from a list or watch.
    expect(operator.output()).not.toMatch(/"informer_error"[^\n]*403/);
  }, 150_000);

  it('granting the kind lets the periodic re-check collect it and clears Degraded', async () => {
    await kubectl(['-n', ns, 'create', 'role', 'kollect-serviceaccounts', '--verb=get,list,watch', '--resource=serviceaccounts']);
    await kubectl(['-n', ns, 'create', 'rolebinding', 'kollect-serviceaccounts', '--role=kollect-serviceaccounts', '--serviceaccount=kollect-system:kollect']);
    await waitFor('the Target collects the granted kind', async () =>
      (await exported()).join() === `configmaps ${ns}/mine,elsewhere ${ns}/theirs`, 90_000, alive)
      .catch(async (err: unknown) => { process.stdout.write(`exported: ${(await exported()).join(', ')}\n${operator.output().slice(-5000)}\n`); throw err; });
    await waitFor('Degraded is cleared', async () => (await condition('elsewhere', 'Degraded'))?.status === 'False', 30_000, alive);
    expect(await condition('elsewhere', 'Degraded')).toMatchObject({ reason: 'AccessGranted' });
    expect(await condition('elsewhere', 'Ready')).toMatchObject({ status: 'True', reason: 'Collecting' });
  }, 120_000);
});
