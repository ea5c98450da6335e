// Issue 9 items 4 and 9 end to end, the way a user meets them: the operator runs as its own process
// against the real apiserver, Temporal, Postgres and git. One oversized object, one object nested
// 3,000 levels deep and one with a NUL character each stay alone: they are quarantined and
// reported, every other object keeps reaching the sinks. A CEL attribute that fails is left out
// and counted; an inventory over spec.maxExportBytes names its largest contributors; a sink whose
// Secret does not opt in is refused until it does.
//
// Sizes: the harness's etcd stores requests up to 1.5 MiB (and a ConfigMap holds at most 1 MiB),
// so an object of 2 MB cannot exist here; the operator runs with a 256 KiB row cap and the
// oversized ConfigMap is 600 KB. The mechanism is the same at the 1 MiB default.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { createBareRepo } from '../support/git.js';
import { kubectl, installCrds, pgQuery, gitTree } from '../support/e2e.js';
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../../api/constants.js';
import type { Condition, KollectInventory, KollectTarget, SinkExportStatus } from '../../api/types.js';

const id = randomBytes(3).toString('hex');
const ns = `poison-${id}`;
const tables = { main: `poison_${id}`, locked: `locked_${id}`, capped: `capped_${id}` };
const ROW_CAP = 256 * 1024;
const label = `${SINK_CREDENTIALS_LABEL}=${SINK_CREDENTIALS_VALUE}`;

let operator: Child | undefined;
let repo: { dir: string; url: string };

const get = async <T>(kind: string, name: string): Promise<T> => JSON.parse(await kubectl(['-n', ns, 'get', kind, name, '-o', 'json'])) as T;
const inventory = (name: string) => get<KollectInventory>('kollectinventory', name);
const target = (name: string) => get<KollectTarget>('kollecttarget', name);
const sinkExport = async (inv: string, sink: string): Promise<SinkExportStatus | undefined> => (await inventory(inv)).status?.sinkExports?.find((s) => s.name === sink);
const ready = async (kind: string, name: string): Promise<Condition | undefined> => (await get<{ status?: { conditions?: Condition[] } }>(kind, name)).status?.conditions?.find((c) => c.type === 'Ready');
const rows = (table: string) => pgQuery<{ target_name: string; name: string; attributes: Record<string, unknown> }>(
  `SELECT target_name, name, attributes FROM public.${table} WHERE inventory_namespace = $1 ORDER BY target_name, name`, [ns]).catch(() => []);
const names = async (table: string) => (await rows(table)).map((r) => `${r.target_name}/${r.name}`);
const alive = () => operator?.proc.exitCode === null;

async function explain<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (err) {
    const status = await inventory('main').then((i) => JSON.stringify(i.status, null, 1), (e: unknown) => String(e));
    process.stdout.write(`--- inventory status ---\n${status.slice(0, 6000)}\n--- operator (last 6000 chars) ---\n${operator?.output().slice(-6000) ?? '(none)'}\n`);
    throw err;
  }
}

function deep(levels: number): Record<string, unknown> {
  let d: Record<string, unknown> = { leaf: 'x' };
  for (let i = 0; i < levels; i++) d = { d };
  return d;
}

const pgSink = (name: string, table: string, secret: string) => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectDatabaseSink', metadata: { name },
  spec: { type: 'postgres', postgres: { url: pgUrlNoPassword(), table, sslMode: 'disable' }, secretRef: { name: secret }, maxAttempts: 2 },
});
function pgUrlNoPassword(): string {
  const u = new URL(service('postgres').url);
  return `postgres://${u.username}@${u.host}${u.pathname}`;
}
const configMap = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'poison' } }, data });

describe('poison rows, limits and sink Secret opt-in end to end', () => {
  beforeAll(async () => {
    await installCrds();
    await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'blobs.poison.kollect.dev' },
      spec: {
        group: 'poison.kollect.dev', scope: 'Namespaced', names: { kind: 'Blob', plural: 'blobs', singular: 'blob', listKind: 'BlobList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } } } }],
      },
    }));
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/blobs.poison.kollect.dev']);
    await kubectl(['create', 'namespace', ns]);
    repo = await createBareRepo(`poison-${id}`);
    const git = service('git');
    const pw = new URL(service('postgres').url).password;
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pw}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'pg-unlabelled', `--from-literal=password=${pw}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git', `--from-literal=username=${git.username}`, `--from-literal=password=${git.password}`]);
    await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-git-ca', `--from-file=ca.crt=${git.caFile}`]);
    await kubectl(['-n', ns, 'label', 'secret', 'kollect-postgres', 'kollect-git', 'kollect-git-ca', label]);
    const K = 'kollect.dev/v1alpha1';
    const docs = [
      { apiVersion: K, kind: 'KollectProfile', metadata: { name: 'cm-resource' }, spec: { apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource' } } },
      { apiVersion: K, kind: 'KollectProfile', metadata: { name: 'cm-attrs' }, spec: { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'mode', cel: 'object.data.mode' }, { name: 'keys', cel: 'size(object.data)' }] } },
      { apiVersion: K, kind: 'KollectProfile', metadata: { name: 'blobs' }, spec: { apiVersion: 'poison.kollect.dev/v1', kind: 'Blob', export: { mode: 'Resource' } } },
      { apiVersion: K, kind: 'KollectTarget', metadata: { name: 'cms' }, spec: { profileRef: { name: 'cm-resource' }, namespaces: [ns], labelSelector: { matchLabels: { app: 'poison' } } } },
      { apiVersion: K, kind: 'KollectTarget', metadata: { name: 'attrs' }, spec: { profileRef: { name: 'cm-attrs' }, namespaces: [ns], labelSelector: { matchLabels: { app: 'poison' } } } },
      { apiVersion: K, kind: 'KollectTarget', metadata: { name: 'blobs' }, spec: { profileRef: { name: 'blobs' }, namespaces: [ns] } },
      pgSink('pg', tables.main, 'kollect-postgres'),
      pgSink('pg-locked', tables.locked, 'pg-unlabelled'),
      pgSink('pg-capped', tables.capped, 'kollect-postgres'),
      { apiVersion: K, kind: 'KollectSnapshotSink', metadata: { name: 'git' }, spec: { type: 'git', git: { url: repo.url }, secretRef: { name: 'kollect-git' }, tls: { caSecretRef: { name: 'kollect-git-ca' } } } },
      { apiVersion: K, kind: 'KollectInventory', metadata: { name: 'main' }, spec: {
        targetRefs: [{ name: 'cms' }, { name: 'attrs' }, { name: 'blobs' }], exportMinInterval: '2s',
        databaseSinkRefs: [{ name: 'pg' }, { name: 'pg-locked' }], snapshotSinkRefs: [{ name: 'git' }],
      } },
      { apiVersion: K, kind: 'KollectInventory', metadata: { name: 'capped' }, spec: { targetRefs: [{ name: 'cms' }], exportMinInterval: '2s', databaseSinkRefs: [{ name: 'pg-capped' }], maxExportBytes: 1500 } },
      configMap('small-a', { mode: 'fast' }),
      configMap('small-b', { mode: 'slow' }),
      configMap('no-mode', { other: 'x' }),
      configMap('big', { mode: 'huge', blob: 'x'.repeat(600_000) }),
      configMap('nul', { mode: 'a\u0000b' }),
      { apiVersion: 'poison.kollect.dev/v1', kind: 'Blob', metadata: { name: 'shallow' }, spec: { size: 1 } },
      { apiVersion: 'poison.kollect.dev/v1', kind: 'Blob', metadata: { name: 'deep' }, spec: deep(3000) },
    ];
    for (const d of docs) await kubectl(['-n', ns, 'create', '-f', '-'], JSON.stringify(d));
    operator = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `poison-${id}`,
      KOLLECT_HTTP_PORT: String(await freePort()), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns,
      KOLLECT_STORE_URL: service('postgres').url, KOLLECT_EXTRACT_MAX_ROW_BYTES: String(ROW_CAP),
    });
  }, 240_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await operator?.exited;
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('quarantines the oversized and the 3,000-level object alone, reports them, and keeps every other object flowing', () => explain((async () => {
    await waitFor('the other rows in Postgres', async () => {
      const n = await names(tables.main);
      return ['cms/small-a', 'cms/small-b', 'cms/no-mode', 'blobs/shallow', 'attrs/big'].every((x) => n.includes(x));
    }, 120_000, alive);
    const n = await names(tables.main);
    expect(n).not.toContain('cms/big'); // its Resource row is over the cap; its small attributes row (attrs/big) is not
    expect(n).not.toContain('blobs/deep');

    await waitFor('the Targets report them', async () => (await target('cms')).status?.rowIssues?.quarantined === 1 && (await target('blobs')).status?.rowIssues?.quarantined === 1, 30_000);
    const cms = (await target('cms')).status!.rowIssues!;
    expect(cms.samples![0]).toMatch(new RegExp(`^${ns}/big: quarantined, not exported: ${ns}/big is 6\\d{5} bytes of JSON; limit 256 KiB per row \\(KOLLECT_EXTRACT_MAX_ROW_BYTES\\)$`));
    expect((await target('blobs')).status!.rowIssues!.samples![0]).toBe(`${ns}/deep: quarantined, not exported: ${ns}/deep nests deeper than 200 levels; limit 200 levels (KOLLECT_EXTRACT_MAX_DEPTH)`);
    await waitFor('the inventory reports them per target', async () => ((await inventory('main')).status?.targetRowIssues ?? []).length === 3, 30_000);
    expect((await inventory('main')).status!.targetRowIssues!.map((t) => [t.target, t.quarantined])).toEqual(expect.arrayContaining([['cms', 1], ['blobs', 1], ['attrs', 0]]));

    // A change to another object reaches the sink while the oversized one exists.
    await kubectl(['-n', ns, 'patch', 'configmap', 'small-a', '--type=merge', '-p', JSON.stringify({ data: { mode: 'faster' } })]);
    await waitFor('the change in Postgres', async () => (await rows(tables.main)).some((r) => r.target_name === 'attrs' && r.name === 'small-a' && r.attributes.mode === 'faster'), 60_000);

    // Shrunk under the cap, it is exported and no longer reported.
    await kubectl(['-n', ns, 'patch', 'configmap', 'big', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/data/blob' }])]);
    await waitFor('the shrunk object in Postgres', async () => (await names(tables.main)).includes('cms/big'), 60_000);
    await waitFor('cms no longer reports it', async () => (await target('cms')).status?.rowIssues === undefined, 30_000);
  })()), 300_000);

  it('a NUL character: Postgres refuses that row alone and reports it; git exports it', () => explain((async () => {
    await waitFor('Postgres reports the refused rows', async () => ((await sinkExport('main', 'pg'))?.quarantine?.rows ?? 0) >= 1, 60_000);
    const pg = (await sinkExport('main', 'pg'))!;
    expect(pg.lastError ?? '').toBe('');
    expect(pg.quarantine!.sample).toMatch(new RegExp(`^(cms|attrs)/[0-9a-f-]+ \\(${ns}/nul\\): attributes\\.(data\\.)?mode contains a NUL character \\(\\\\u0000\\), which PostgreSQL text and jsonb cannot store$`));
    expect((await names(tables.main)).filter((x) => x.endsWith('/nul'))).toEqual([]);
    await waitFor('git holds the NUL row', async () => (await gitTree(repo.dir)).files.some((f) => f.endsWith('-nul.yaml')), 60_000);
  })()), 120_000);

  it('a failing CEL attribute is left out of the row and counted in the Target and the inventory', () => explain((async () => {
    await waitFor('attrs reports evaluation errors', async () => ((await target('attrs')).status?.rowIssues?.extractionErrors ?? 0) >= 1, 60_000);
    const issues = (await target('attrs')).status!.rowIssues!;
    expect(issues.samples!.join('\n')).toContain(`${ns}/no-mode: spec.attributes[0].cel: attribute 'mode': `);
    const row = (await rows(tables.main)).find((r) => r.target_name === 'attrs' && r.name === 'no-mode')!;
    expect(row.attributes).toEqual({ keys: 1 }); // absent, not null
    expect((await inventory('main')).status!.targetRowIssues!.find((t) => t.target === 'attrs')!.extractionErrors).toBe(issues.extractionErrors);
  })()), 120_000);

  it('an export over spec.maxExportBytes is refused, naming its largest targets and objects', () => explain((async () => {
    await waitFor('the capped sink fails', async () => ((await sinkExport('capped', 'pg-capped'))?.lastError ?? '').includes('ExportTooLarge') || ((await sinkExport('capped', 'pg-capped'))?.lastError ?? '').includes('largest'), 90_000);
    const err = (await sinkExport('capped', 'pg-capped'))!.lastError!;
    expect(err).toMatch(/^export is \d+ bytes \([\d.]+ KiB\), above the inventory's spec\.maxExportBytes \(1500\); largest targets: cms [\d.]+ KiB in \d+ row\(s\); largest objects: cms: ConfigMap /);
    expect(err).toContain(`ConfigMap ${ns}/`);
    expect(await names(tables.capped)).toEqual([]);
  })()), 120_000);

  it('a sink whose Secret lacks the opt-in label is refused with the reason; labelling it makes the sink export', () => explain((async () => {
    await waitFor('the sink is refused', async () => (await ready('kollectdatabasesink', 'pg-locked'))?.reason === 'SecretNotAllowed', 60_000);
    expect((await ready('kollectdatabasesink', 'pg-locked'))!.message).toBe(
      `spec.secretRef: Secret ${ns}/pg-unlabelled is not labelled ${label}; a sink may only use a Secret that opts in: kubectl -n ${ns} label secret pg-unlabelled ${label}`);
    await waitFor('the export is refused too', async () => (await sinkExport('main', 'pg-locked'))?.reason === 'SecretNotAllowed', 60_000);
    expect((await sinkExport('main', 'pg-locked'))!.lastError).toContain(`Secret ${ns}/pg-unlabelled is not labelled ${label}`);
    expect(await names(tables.locked)).toEqual([]);

    await kubectl(['-n', ns, 'label', 'secret', 'pg-unlabelled', label]);
    await waitFor('the sink exports', async () => (await names(tables.locked)).includes('cms/small-b'), 150_000);
    await waitFor('the sink is Ready', async () => (await ready('kollectdatabasesink', 'pg-locked'))?.status === 'True', 60_000);
  })()), 300_000);
});
