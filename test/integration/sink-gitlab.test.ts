// The gitlab sink against the harness's GitLab fake (REST v4 and git over HTTPS, per-run CA and
// token) over the git service's repositories: both modes, one merge request per inventory, what
// happens after a merge or a close, token errors, and the common sink contract.
import { viaSharedPath } from '../support/sinks/shared-path.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { GitLabSinkSpec } from '../../api/types.js';
import { GitLabBackend, gitlabSink } from '../../activities/sinks/gitlab.js';
import { EndpointGuard, EndpointRefusedError } from '../../activities/sinks/endpoints.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { readWatermark } from '../../activities/sinks/git-layout.js';
import { DeleteGuardError, SinkConfigError, type SinkContext } from '../../activities/sinks/types.js';
import { endpoints, service, startService, stopService } from '../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../support/export-input.js';
import { bareGit, gitCli, repoUrl } from '../support/git.js';
import { gitlabApi, projectId } from '../support/gitlab.js';
import { createProject, filesOn, gitlabFixture, repoDirOf, tipOf } from '../support/sinks/gitlab.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const BRANCH = 'kollect/c1/team-a/apps';
const SUMMARY = 'c1/team-a/apps/_inventory.yaml';

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}
type Opts = Partial<Omit<ExportInputOptions, 'inventory' | 'sink' | 'mode'>>;
const sink = { kind: 'KollectSnapshotSink' as const, namespace: 'team-a', name: 'gitlab', type: 'gitlab' };
const full = (rows: VersionedRow[], opts: Opts & { version: number }): TestExportInput => exportInput(rows, { sink, inventory, ...opts, mode: 'full' });
const delta = (rows: VersionedRow[], opts: Opts & { fromVersion: number; version: number }): TestExportInput => exportInput(rows, { sink, inventory, ...opts, mode: 'delta' });

const logs: { event: string; fields?: Record<string, unknown> }[] = [];
const ctx = (spec: GitLabSinkSpec, over: Partial<SinkContext<GitLabSinkSpec>> = {}): SinkContext<GitLabSinkSpec> =>
  ({ ...gitlabFixture.context(spec, (event, fields) => logs.push({ event, fields })), ...over });
const direct = (project: string, over: Partial<GitLabSinkSpec> = {}): GitLabSinkSpec => ({ url: service('gitlab').url, project, ...over });
const viaMr = (project: string, mr: GitLabSinkSpec['mergeRequest'] = {}): GitLabSinkSpec => ({ url: service('gitlab').url, project, mergeRequest: { mode: 'merge_request', ...mr } });

const backends: GitLabBackend[] = [];
const work = () => mkdtempSync(path.join(endpoints().runDir, 'sink-gitlab-'));
function backend(): GitLabBackend {
  const b = viaSharedPath(gitlabSink as SinkDescriptor<never>, new GitLabBackend({ cacheDir: work() }));
  backends.push(b);
  return b;
}
afterAll(async () => { await Promise.all(backends.map((b) => b.close())); });

async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

interface Mr { iid: number; state: string; title: string; description: string; source_branch: string; target_branch: string; sha: string; force_remove_source_branch: boolean }
const mrsOf = async (project: string, state = 'all') => (await gitlabApi<Mr[]>('GET', `/projects/${projectId(project)}/merge_requests?state=${state}`)).body;
/** What the sink holds for the inventory on `branch`: file paths under its directory. */
const treeOf = async (project: string, branch: string) => [...(await filesOn(project, branch, 'c1/team-a/apps')).keys()].sort();
const watermarkOn = async (project: string, branch: string) => readWatermark((await filesOn(project, branch, 'c1/team-a/apps')).get(SUMMARY));
const keysOf = async (spec: GitLabSinkSpec) => [...(await gitlabFixture.read(spec, inventory)).keys()].sort();
const file = (r: VersionedRow) => `c1/team-a/apps/deployments/${r.namespace}/deployment-${r.name}.yaml`;

/** Pushes a commit changing files under the inventory's directory on `branch` (someone else did). */
async function foreignEdit(project: string, branch: string, edit: (dir: string) => Promise<void>): Promise<void> {
  const dir = path.join(work(), 'hand');
  await gitCli(['clone', '--quiet', '--branch', branch, repoUrl(project), dir]);
  await edit(dir);
  await gitCli(['add', '-A'], { cwd: dir });
  await gitCli(['commit', '-qm', 'by hand'], { cwd: dir });
  await gitCli(['push', '-q', 'origin', branch], { cwd: dir });
}

describe('gitlab sink', () => {
  it('direct: commits to the default branch found through the API; updates and deletes touch only their files; a retry is a noop', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const c = ctx(direct(project));
    const first = await b.export(full([row(1), row(2), row(3)], { version: 3 }), c);
    expect(first).toMatchObject({ outcome: 'applied', upserts: 3, deletes: 0, rowsExported: 3 });
    expect(await treeOf(project, 'main')).toEqual([SUMMARY, file(row(1)), file(row(2)), file(row(3))].sort());
    expect((await bareGit(repoDirOf(project), ['log', '-1', '--format=%an <%ae>%n%s', 'main'])).trim()).toBe('Kollect <kollect@kollect.dev>\nkollect: team-a/apps: 3 added, 0 updated, 0 removed');

    const changed = row(2, { attributes: { replicas: 20 }, version: 4 });
    const d = () => delta([changed], { fromVersion: 3, version: 5, deletes: [tombstone(row(3), 5)], snapshot: [row(1), changed] });
    expect(await b.export(d(), c)).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1 });
    expect((await bareGit(repoDirOf(project), ['diff', '--name-status', 'main~1', 'main'])).trim().split('\n'))
      .toEqual([`M\t${SUMMARY}`, `M\t${file(row(2))}`, `D\t${file(row(3))}`]);
    const tip = await tipOf(project, 'main');
    expect(await b.export(d(), c)).toMatchObject({ outcome: 'noop', detail: 'already at version 5' });
    expect(await tipOf(project, 'main')).toBe(tip);
    expect(await watermarkOn(project, 'main')).toEqual({ lineage: 'lineage-a', version: 5 });
    expect(await mrsOf(project)).toEqual([]); // direct mode opens no merge request
  });

  it('merge_request: one branch made from main and one open merge request across many exports, updated in place', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const spec = viaMr(project);
    const c = ctx(spec);
    const mainTip = await tipOf(project, 'main');
    const first = await b.export(full([row(1), row(2)], { version: 2 }), c);
    expect(first.detail).toMatch(/^full commit [0-9a-f]{7}; merge request !1 opened$/);
    expect((await bareGit(repoDirOf(project), ['rev-parse', `${BRANCH}~1`])).trim()).toBe(mainTip); // made from main
    expect(await tipOf(project, 'main')).toBe(mainTip); // main untouched
    let rows = [row(1), row(2)];
    for (let v = 3; v <= 6; v++) {
      const r = row(v, { version: v });
      rows = [...rows, r];
      expect(await b.export(delta([r], { fromVersion: v - 1, version: v, snapshot: rows }), c)).toMatchObject({ outcome: 'applied', upserts: 1 });
    }
    const mrs = await mrsOf(project);
    expect(mrs).toHaveLength(1);
    expect(mrs[0]).toMatchObject({ iid: 1, state: 'opened', title: 'Kollect inventory team-a/apps', source_branch: BRANCH, target_branch: 'main', sha: await tipOf(project, BRANCH), force_remove_source_branch: true });
    expect(mrs[0]!.description).toContain('lineage `lineage-a`, version 6, 6 rows');
    expect(await keysOf(spec)).toEqual(rows.map((r) => `deployments/${r.uid}`).sort());
    expect(await watermarkOn(project, BRANCH)).toEqual({ lineage: 'lineage-a', version: 6 });

    // a retried export after the push whose merge request call was lost: the merge request is still the one
    expect(await b.export(delta([rows[5]!], { fromVersion: 5, version: 6, snapshot: rows }), c)).toMatchObject({ outcome: 'noop' });
    expect(await mrsOf(project)).toHaveLength(1);
    // a changed title template is applied to the open merge request, not a second one
    await b.export(full(rows, { version: 6 }), ctx(viaMr(project, { titleTemplate: 'Inventory {cluster}/{namespace}/{inventory}' })));
    expect((await mrsOf(project)).map((m) => [m.iid, m.title])).toEqual([[1, 'Inventory c1/team-a/apps']]);
  });

  it('merge_request: after a merge the branch is made again from main, whose summary drives a noop or the next delta; a closed one is not reopened', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const c = ctx(viaMr(project));
    const v2 = [row(1), row(2)];
    await b.export(full(v2, { version: 2 }), c);
    const merged = await gitlabApi<Mr>('PUT', `/projects/${projectId(project)}/merge_requests/1/merge`, { json: {} });
    expect(merged.body.state).toBe('merged');
    expect(await tipOf(project, BRANCH), 'the source branch was removed').toBe('');
    expect(await watermarkOn(project, 'main')).toEqual({ lineage: 'lineage-a', version: 2 });

    // the same version again: noop from main's summary; no branch, no merge request made
    expect(await b.export(full(v2, { version: 2 }), c)).toMatchObject({ outcome: 'applied', detail: 'no change' });
    expect(await tipOf(project, BRANCH)).toBe('');
    expect(await mrsOf(project, 'opened')).toEqual([]);
    // the next delta follows main's watermark: a new branch from main, a new merge request with just that change
    const v3 = [...v2, row(3, { version: 3 })];
    expect(await b.export(delta([v3[2]!], { fromVersion: 2, version: 3, snapshot: v3 }), c)).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect((await bareGit(repoDirOf(project), ['rev-parse', `${BRANCH}~1`])).trim()).toBe(await tipOf(project, 'main'));
    expect((await mrsOf(project)).map((m) => [m.iid, m.state])).toEqual([[2, 'opened'], [1, 'merged']]);

    // a human closes it: exports that change nothing leave it closed; the next change opens a new one
    await gitlabApi('PUT', `/projects/${projectId(project)}/merge_requests/2`, { json: { state_event: 'close' } });
    expect(await b.export(full(v3, { version: 3 }), c)).toMatchObject({ detail: 'no change; merge request !2 closed' });
    expect(await mrsOf(project, 'opened')).toEqual([]);
    const v4 = [...v3, row(4, { version: 4 })];
    await b.export(delta([v4[3]!], { fromVersion: 3, version: 4, snapshot: v4 }), c);
    expect((await mrsOf(project, 'opened')).map((m) => m.iid)).toEqual([3]);
  });

  it('merge_request with autoMerge: GitLab merges each change (no pipeline to wait for) and the next export starts again from main', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const spec = viaMr(project, { autoMerge: true });
    const c = ctx(spec);
    expect((await b.export(full([row(1)], { version: 1 }), c)).detail).toMatch(/merge request !1 merged$/);
    expect(await treeOf(project, 'main')).toEqual([SUMMARY, file(row(1))]);
    expect(await tipOf(project, BRANCH)).toBe('');
    expect((await b.export(delta([row(2, { version: 2 })], { fromVersion: 1, version: 2, snapshot: [row(1), row(2)] }), c)).detail).toMatch(/merge request !2 merged$/);
    expect(await keysOf(spec)).toEqual(['deployments/uid-1', 'deployments/uid-2']);
    expect(await watermarkOn(project, 'main')).toEqual({ lineage: 'lineage-a', version: 2 });
  });

  it('restores exactly the snapshot on a full reconcile after someone edited, deleted and added files on the branch', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const spec = viaMr(project);
    const c = ctx(spec);
    const rows = [row(1), row(2), row(3)];
    await b.export(full(rows, { version: 3 }), c);
    await foreignEdit(project, BRANCH, async (dir) => {
      writeFileSync(path.join(dir, file(row(1))), 'edited: by hand\n');
      await import('node:fs/promises').then((fs) => fs.rm(path.join(dir, file(row(2)))));
      await mkdir(path.join(dir, 'c1/team-a/apps/deployments/other'), { recursive: true });
      writeFileSync(path.join(dir, 'c1/team-a/apps/deployments/other/deployment-stray.yaml'), 'uid: stray\n');
      writeFileSync(path.join(dir, 'NOTES.md'), 'outside the sink\n');
    });
    const r = await b.export(full(rows, { version: 4 }), c);
    expect(r).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 1 });
    const held = await gitlabFixture.read(spec, inventory);
    expect([...held.keys()].sort()).toEqual(['deployments/uid-1', 'deployments/uid-2', 'deployments/uid-3']);
    expect(held.get('deployments/uid-1')).toEqual({ attributes: { replicas: 1 } });
    expect(await bareGit(repoDirOf(project), ['show', `${BRANCH}:NOTES.md`])).toBe('outside the sink\n');
    expect(await mrsOf(project)).toHaveLength(1);
  });

  it('asks for a full reconcile when a delta does not follow the watermark, and holds a delete beyond the guard', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const c = ctx(viaMr(project));
    expect(await b.export(delta([row(1, { version: 5 })], { fromVersion: 4, version: 5 }), c)).toMatchObject({ outcome: 'needsFull', detail: 'watermark absent: full reconcile needed' });
    expect(await tipOf(project, BRANCH)).toBe('');
    expect(await mrsOf(project)).toEqual([]);

    const ten = Array.from({ length: 10 }, (_, i) => row(i));
    await b.export(full(ten, { version: 10 }), c);
    const tip = await tipOf(project, BRANCH);
    expect(await b.export(delta([row(11, { version: 12 })], { fromVersion: 11, version: 12 }), c)).toMatchObject({ outcome: 'needsFull', detail: 'watermark lineage-a@10: full reconcile needed' });
    const err = await failure(b.export(full(ten.slice(0, 4), { version: 11, resyncComplete: false }), c));
    expect(err).toBeInstanceOf(DeleteGuardError);
    expect(err).toMatchObject({ deletes: 6, held: 10, maxPercent: 50 });
    expect(await tipOf(project, BRANCH)).toBe(tip);
  });

  it('names the field of a token or project GitLab refuses (401 → spec.secretRef, 404 → spec.gitlab.project) and never echoes the token', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const wrong = `glpat-${randomUUID()}`;
    logs.length = 0;
    const bad = await failure(b.export(full([row(1)], { version: 1 }), ctx(viaMr(project), { credentials: { token: wrong } })));
    expect(bad).toBeInstanceOf(SinkConfigError);
    expect(bad).toMatchObject({ field: 'spec.secretRef' });
    expect(bad.message).toMatch(/401/);
    for (const text of [bad.message, bad.stack ?? '', JSON.stringify(logs)]) expect(text).not.toContain(wrong);

    const stranger = await failure(b.export(full([row(1)], { version: 1 }), ctx(viaMr(project), { credentials: { token: service('gitlab').strangerToken } })));
    expect(stranger).toMatchObject({ name: 'SinkConfigError', field: 'spec.gitlab.project' });
    expect(stranger.message).toMatch(/404 Project Not Found/);
    expect(await failure(b.export(full([row(1)], { version: 1 }), ctx(viaMr('nobody/nothing'))))).toMatchObject({ field: 'spec.gitlab.project' });
    expect(await failure(b.export(full([row(1)], { version: 1 }), ctx(viaMr(project), { credentials: {} })))).toMatchObject({ field: 'spec.secretRef' });
    expect(await tipOf(project, BRANCH)).toBe('');
  });

  it('refuses bad settings as configuration errors naming the field', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const cases: [GitLabSinkSpec, string][] = [
      [direct(project, { url: service('gitlab').url.replace('https:', 'http:') }), 'spec.gitlab.url'],
      [direct(project, { url: service('gitlab').url.replace('https://', 'https://u:p@') }), 'spec.gitlab.url'],
      [direct('no-namespace'), 'spec.gitlab.project'],
      [direct(project, { path: '../up' }), 'spec.gitlab.path'],
      [viaMr(project, { titleTemplate: 'Kollect {nope}' }), 'spec.gitlab.mergeRequest.titleTemplate'],
      [viaMr(project, { targetBranch: 'release' }), 'spec.gitlab.mergeRequest.targetBranch'],
    ];
    for (const [spec, field] of cases) {
      const err = await failure(b.export(full([row(1)], { version: 1 }), ctx(spec)));
      expect(err, field).toBeInstanceOf(SinkConfigError);
      expect(err, field).toMatchObject({ field });
      expect(err.message).not.toContain('u:p@');
    }
    expect(await tipOf(project, BRANCH)).toBe('');
    expect(await b.probe(ctx(viaMr(project)))).toEqual({ detail: `project ${project} reachable with the token; merge requests into main` });
  });

  it('refuses a loopback GitLab when the endpoint guard does not allow it, writing nothing', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const guard = new EndpointGuard({ allow: [], clusterCidrs: [] });
    const err = await failure(backend().export(full([row(1)], { version: 1 }), ctx(viaMr(project), { guard })));
    expect(err).toBeInstanceOf(EndpointRefusedError);
    expect(err).toMatchObject({ field: 'spec.gitlab.url' });
    expect(await tipOf(project, BRANCH)).toBe('');
    expect(await mrsOf(project)).toEqual([]);

    // by name: the API resolves through the guard and git is pinned to the addresses it let through
    // (http_url_to_repo names 127.0.0.1, not the configured host: the clone URL is made under spec.gitlab.url)
    const byName = viaMr(project);
    byName.url = service('gitlab').url.replace('127.0.0.1', 'localhost');
    expect(await failure(backend().export(full([row(1)], { version: 1 }), ctx(byName, { guard })))).toMatchObject({ field: 'spec.gitlab.url' });
    logs.length = 0;
    expect(await backend().export(full([row(1)], { version: 1 }), ctx(byName))).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect(await tipOf(project, BRANCH)).not.toBe('');
  });

  it('fails with a retryable error while GitLab is down, and the same export then lands once', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const spec = viaMr(project);
    const c = ctx(spec);
    await b.export(full([row(1)], { version: 1 }), c);
    const d = () => delta([row(2, { version: 2 })], { fromVersion: 1, version: 2, snapshot: [row(1), row(2)] });
    await stopService('gitlab');
    try {
      const err = await failure(b.export(d(), c));
      expect(err).toBeInstanceOf(SinkExportError);
      expect(err).not.toBeInstanceOf(SinkConfigError);
    } finally {
      await startService('gitlab');
    }
    expect(await b.export(d(), c)).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect(await b.export(d(), c)).toMatchObject({ outcome: 'noop' });
    expect(await keysOf(spec)).toEqual(['deployments/uid-1', 'deployments/uid-2']);
    expect(await mrsOf(project)).toHaveLength(1);
    expect(Number((await bareGit(repoDirOf(project), ['rev-list', '--count', `main..${BRANCH}`])).trim())).toBe(2);
  });

  it('exports 10k rows through a merge request, then a 100-row delta (timing printed)', async () => {
    const project = await createProject(randomUUID().slice(0, 8));
    const b = backend();
    const spec = viaMr(project);
    const c = ctx(spec);
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}` }));
    let t = Date.now();
    const first = await b.export(full(rows, { version: 1 }), c);
    const fullMs = Date.now() - t;
    const changed = Array.from({ length: 100 }, (_, k) => row(k * 97, { namespace: `ns-${(k * 97) % 50}`, attributes: { replicas: 1_000 + k }, version: 2 }));
    for (const r of changed) rows[Number(r.name.slice('web-'.length))] = r;
    t = Date.now();
    const d = await b.export(delta(changed, { fromVersion: 1, version: 2, snapshot: rows }), c);
    const deltaMs = Date.now() - t;
    console.log(`[bench] gitlab 10k full: ${fullMs} ms; 100-row delta: ${deltaMs} ms`);
    expect(first).toMatchObject({ outcome: 'applied', upserts: 10_000 });
    expect(d).toMatchObject({ outcome: 'applied', upserts: 100 });
    expect((await gitlabFixture.read(spec, inventory)).size).toBe(10_000);
    expect(await mrsOf(project)).toHaveLength(1);
  }, 120_000);
});
