// The git sink against the harness's real git-over-HTTPS server (per-run CA, Basic auth).
import { EndpointGuard, EndpointRefusedError } from '../../activities/sinks/endpoints.js';
import { viaSharedPath } from '../support/sinks/shared-path.js';
import type { SinkDescriptor } from '../../activities/sinks/descriptor.js';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { VersionedRow } from '../../api/rows.js';
import type { GitSinkSpec } from '../../api/types.js';
import { GitBackend, gitSink } from '../../activities/sinks/git.js';
import { SinkExportError } from '../../activities/sinks/redact.js';
import { readWatermark } from '../../activities/sinks/git-layout.js';
import { rowDocument, serialize } from '../../activities/sinks/serialize.js';
import { DeleteGuardError, SinkConfigError, type SinkContext, type Watermark } from '../../activities/sinks/types.js';
import { endpoints, service } from '../harness/endpoints.js';
import { exportInput, tombstone, type ExportInputOptions, type TestExportInput } from '../support/export-input.js';
import { bareGit, createBareRepo, gitCli, type BareRepo } from '../support/git.js';

const inventory = { namespace: 'team-a', name: 'apps', cluster: 'c1' };
const logs: { event: string; fields?: Record<string, unknown> }[] = [];

function row(i: number, over: Partial<VersionedRow> = {}): VersionedRow {
  const r = { target: 'deployments', cluster: 'c1', apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: `web-${i}`, uid: `uid-${i}`, attributes: { replicas: i, image: `nginx:1.${i}` } as Record<string, unknown>, version: 1, ...over };
  return { ...r, hash: createHash('sha256').update(JSON.stringify([r.cluster, r.namespace, r.name, r.uid, r.attributes])).digest('hex') };
}

type Opts = Partial<Omit<ExportInputOptions, 'inventory' | 'sink' | 'mode'>>;
const sink = { kind: 'KollectSnapshotSink' as const, namespace: 'team-a', name: 'git', type: 'git' };
/** A full reconcile to exactly `rows`; its version defaults to a fresh, higher one each call. */
let round = 0;
function full(rows: VersionedRow[], opts: Opts = {}): TestExportInput {
  return exportInput(rows, { sink, inventory, ...opts, mode: 'full', version: opts.version ?? 1_000 + ++round });
}
/** The changes after `fromVersion` up to `version`. */
function delta(rows: VersionedRow[], opts: Opts & { fromVersion: number; version: number }): TestExportInput {
  return exportInput(rows, { sink, inventory, ...opts, mode: 'delta' });
}

function ctx(spec: GitSinkSpec, over: Partial<SinkContext<GitSinkSpec>> = {}): SinkContext<GitSinkSpec> {
  const ep = service('git');
  return {
    spec, credentials: { username: ep.username, password: ep.password }, caPem: readFileSync(ep.caFile, 'utf8'),
    log: (event, fields) => logs.push({ event, fields }), ...over,
  };
}

const work = () => mkdtempSync(path.join(endpoints().runDir, 'sink-git-'));

/** A fresh clone over HTTPS that trusts only the per-run CA. */
async function cloneOf(url: string, branch = 'main'): Promise<string> {
  const dir = path.join(work(), 'clone');
  await gitCli(['clone', '--quiet', '--branch', branch, url, dir]);
  return dir;
}
const commitCount = async (dir: string, branch = 'main') => Number((await bareGit(dir, ['rev-list', '--count', branch])).trim());
const subjectOf = async (dir: string, rev = 'main') => (await bareGit(dir, ['log', '-1', '--format=%s', rev])).trim();

/** The branch tip, or '' when the branch does not exist. */
const tipOf = async (dir: string, branch = 'main') => (await bareGit(dir, ['for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`])).trim();
const treeOf = async (dir: string, rev = 'main') => (await bareGit(dir, ['ls-tree', '-r', '--name-only', rev])).trim().split('\n');
/** The watermark in the branch's summary file. */
const watermarkOf = async (dir: string, file = 'c1/team-a/apps/_inventory.yaml', rev = 'main'): Promise<Watermark | undefined> => readWatermark(await bareGit(dir, ['show', `${rev}:${file}`]));
/** What the last commit changed: `<status>\t<path>` lines. */
const lastChange = async (dir: string, rev = 'main') => (await bareGit(dir, ['diff', '--name-status', '--no-renames', `${rev}~1`, rev])).trim().split('\n');
/** Everything an export could have changed: the branch tip (a commit pins tree and summary). */
const stateOf = async (repo: BareRepo) => ({ tip: await tipOf(repo.dir), refs: (await bareGit(repo.dir, ['for-each-ref'])).trim() });

/** Pushes a commit holding `files` to `branch` (a human, or an older Kollect, wrote them). */
async function pushFiles(repo: BareRepo, files: Record<string, string>, branch = 'main'): Promise<void> {
  const dir = path.join(work(), 'hand');
  await gitCli(['init', '--quiet', '--initial-branch', branch, dir]);
  for (const [f, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), content);
  }
  await gitCli(['add', '-A'], { cwd: dir });
  await gitCli(['commit', '-qm', 'by hand'], { cwd: dir });
  await gitCli(['push', '-q', repo.url, `${branch}:${branch}`], { cwd: dir });
}

const backends: GitBackend[] = [];
function backend(opts: ConstructorParameters<typeof GitBackend>[0] = {}): GitBackend {
  const b = viaSharedPath(gitSink as SinkDescriptor<never>, new GitBackend({ cacheDir: work(), ...opts }));
  backends.push(b);
  return b;
}
afterAll(async () => { await Promise.all(backends.map((b) => b.close())); });

/** The error a promise rejects with; fails the test when it resolves instead. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try { await p; } catch (e) { return e as Error; }
  throw new Error('expected the export to fail');
}

describe('git sink', () => {
  it('creates the branch in an empty repo, then no-ops, updates, deletes — one commit per change', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const rows = [row(1), row(2), row(3, { namespace: '', kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', target: 'roles', name: 'view' })];

    const first = await b.export(full(rows, { version: 1 }), c);
    expect(first).toMatchObject({ outcome: 'applied', rowsExported: 3, upserts: 3, deletes: 0 });
    expect(first.detail).toMatch(/^full commit [0-9a-f]{7}$/);
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 3 added, 0 updated, 0 removed');
    expect((await bareGit(repo.dir, ['rev-parse', '--short=7', 'main'])).trim()).toBe(first.detail.slice('full commit '.length));
    const body = await bareGit(repo.dir, ['log', '-1', '--format=%b%n%an <%ae>', 'main']);
    expect(body).toContain('A c1/team-a/apps/deployments/default/deployment-web-1.yaml');
    expect(body).toContain('Kollect-Export-Id: exp-lineage-a-full-1\nKollect-Lineage: lineage-a\nKollect-Snapshot-Version: 1\n');
    expect(body).toContain('Kollect <kollect@kollect.dev>');

    const clone = await cloneOf(repo.url);
    const doc = parse(readFileSync(path.join(clone, 'c1/team-a/apps/deployments/default/deployment-web-1.yaml'), 'utf8')) as Record<string, unknown>;
    expect(doc).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'web-1', uid: 'uid-1', cluster: 'c1', target: 'deployments', attributes: { image: 'nginx:1.1', replicas: 1 } });
    expect(Object.keys(doc)).toEqual(['apiVersion', 'kind', 'namespace', 'name', 'uid', 'cluster', 'target', 'attributes']);
    expect(existsSync(path.join(clone, 'c1/team-a/apps/roles/_cluster/clusterrole-view.yaml'))).toBe(true);
    expect(parse(readFileSync(path.join(clone, 'c1/team-a/apps/_inventory.yaml'), 'utf8'))).toEqual({
      inventory: { namespace: 'team-a', name: 'apps' }, cluster: 'c1', rows: 3, targets: { deployments: 2, roles: 1 }, snapshot: { lineage: 'lineage-a', version: 1 },
    });

    // the scheduled full reconcile of the same snapshot, rows in another order: no commit
    const again = await b.export(full([...rows].reverse(), { version: 1 }), c);
    expect(again).toMatchObject({ outcome: 'applied', detail: 'no change', upserts: 0, deletes: 0, rowsExported: 3 });
    expect(await commitCount(repo.dir)).toBe(1);

    // one row's attributes change: exactly that file and the summary (its watermark) change
    const updated = await b.export(full([row(1), row(2, { attributes: { replicas: 5, image: 'nginx:1.2' }, version: 2 }), rows[2]!], { version: 2 }), c);
    expect(updated).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 0 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 1 updated, 0 removed');
    expect(await lastChange(repo.dir)).toEqual(['M\tc1/team-a/apps/_inventory.yaml', 'M\tc1/team-a/apps/deployments/default/deployment-web-2.yaml']);

    // a row leaves the snapshot: its file is removed, empty directories too
    const deleted = await b.export(full([row(1), row(2, { attributes: { replicas: 5, image: 'nginx:1.2' }, version: 2 })], { version: 3 }), c);
    expect(deleted).toMatchObject({ outcome: 'applied', upserts: 0, deletes: 1, rowsExported: 2 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 0 updated, 1 removed');
    expect(await treeOf(repo.dir)).toEqual([
      'c1/team-a/apps/_inventory.yaml',
      'c1/team-a/apps/deployments/default/deployment-web-1.yaml',
      'c1/team-a/apps/deployments/default/deployment-web-2.yaml',
    ]);
    expect(await commitCount(repo.dir)).toBe(3);
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 3 });
  });

  it('applies a delta after a full reconcile: the commit touches only the changed rows and the summary, the watermark moves', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const role = row(5, { namespace: '', kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', target: 'roles', name: 'view', version: 3 });
    const base = [row(1), row(2, { version: 2 }), row(3, { version: 3 }), row(4, { version: 3 }), role];
    await b.export(full(base, { version: 3 }), c);
    const before = await tipOf(repo.dir);

    const changed = row(2, { attributes: { replicas: 20, image: 'nginx:2' }, version: 4 });
    const added = row(6, { version: 5 });
    const snapshot = [base[0]!, changed, base[2]!, role, added];
    const d = delta([changed, added], { fromVersion: 3, version: 6, deletes: [tombstone(base[3]!, 6)], snapshot });
    const r = await b.export(d, c);
    expect(r).toMatchObject({ outcome: 'applied', rowsExported: 5, upserts: 2, deletes: 1 });
    expect(r.detail).toMatch(/^delta commit [0-9a-f]{7}$/);
    expect((await bareGit(repo.dir, ['rev-parse', 'main~1'])).trim()).toBe(before);
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 1 added, 1 updated, 1 removed');
    expect(await lastChange(repo.dir)).toEqual([
      'M\tc1/team-a/apps/_inventory.yaml',
      'M\tc1/team-a/apps/deployments/default/deployment-web-2.yaml',
      'D\tc1/team-a/apps/deployments/default/deployment-web-4.yaml',
      'A\tc1/team-a/apps/deployments/default/deployment-web-6.yaml',
    ]);
    expect(await bareGit(repo.dir, ['show', 'main:c1/team-a/apps/deployments/default/deployment-web-2.yaml'])).toBe(serialize(rowDocument(changed), 'yaml'));
    expect(parse(await bareGit(repo.dir, ['show', 'main:c1/team-a/apps/_inventory.yaml']))).toEqual({
      inventory: { namespace: 'team-a', name: 'apps' }, cluster: 'c1', rows: 5, targets: { deployments: 4, roles: 1 }, snapshot: { lineage: 'lineage-a', version: 6 },
    });
    expect(await bareGit(repo.dir, ['log', '-1', '--format=%b', 'main'])).toContain('Kollect-Export-Id: exp-lineage-a-delta-6\nKollect-Lineage: lineage-a\nKollect-Snapshot-Version: 6\n');

    // the delta left exactly the tree a full reconcile of that snapshot makes
    expect(await b.export(full(snapshot, { version: 6 }), c)).toMatchObject({ outcome: 'applied', detail: 'no change' });
    expect(await commitCount(repo.dir)).toBe(2);
  });

  it('is idempotent: the same delta again is a noop and leaves the branch as it was', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    await b.export(full([row(1), row(2)], { version: 2 }), c);
    const d = () => delta([row(3, { version: 3 })], { fromVersion: 2, version: 4, deletes: [tombstone(row(1), 4)], rowCount: 2 });
    expect(await b.export(d(), c)).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1 });
    const held = await stateOf(repo);

    const retried = d();
    const again = await b.export(retried, c);
    expect(again).toEqual({ outcome: 'noop', rowsExported: 0, upserts: 0, deletes: 0, detail: 'already at version 4' });
    expect(again.aheadVersion).toBeUndefined();
    expect(retried.reads.calls, 'a noop reads no body').toBe(0);
    // from another worker with a cold working clone too
    expect((await backend().export(d(), c)).outcome).toBe('noop');
    expect(await stateOf(repo)).toEqual(held);
    expect(await commitCount(repo.dir)).toBe(2);
  });

  it('fences a stale attempt: after version 5, an older export of the same lineage is a noop reporting aheadVersion 5', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    await b.export(full([row(1, { version: 5 }), row(2, { attributes: { replicas: 50 }, version: 5 })], { version: 5 }), c);
    const held = await stateOf(repo);

    const staleFull = await b.export(full([row(1), row(3)], { version: 3 }), c);
    expect(staleFull).toMatchObject({ outcome: 'noop', aheadVersion: 5, upserts: 0, deletes: 0, detail: 'already at version 5' });
    const staleDelta = await b.export(delta([row(2, { version: 3 })], { fromVersion: 2, version: 3, deletes: [tombstone(row(1), 3)] }), c);
    expect(staleDelta).toMatchObject({ outcome: 'noop', aheadVersion: 5, upserts: 0, deletes: 0 });
    expect(await stateOf(repo)).toEqual(held);
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 5 });
  });

  it('decides again after a rejected push: a newer export that landed meanwhile makes the stale attempt a noop', async () => {
    const repo = await createBareRepo();
    const c = ctx({ url: repo.url });
    await backend().export(full([row(1)], { version: 1 }), c);
    const newer = backend();
    let raced = 0;
    const stale = backend({
      beforePush: async (attempt) => {
        if (attempt !== 1) return;
        raced++;
        expect(await newer.export(full([row(1), row(2, { version: 5 })], { version: 5 }), c)).toMatchObject({ outcome: 'applied', upserts: 1 });
      },
    });
    logs.length = 0;
    const r = await stale.export(full([row(1), row(3, { version: 3 })], { version: 3 }), c);
    expect(raced).toBe(1);
    expect(logs.some((l) => l.event === 'sink.git.retry')).toBe(true);
    expect(r).toMatchObject({ outcome: 'noop', aheadVersion: 5, upserts: 0, deletes: 0 });
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 5 });
    expect(await treeOf(repo.dir)).toEqual(['c1/team-a/apps/_inventory.yaml', 'c1/team-a/apps/deployments/default/deployment-web-1.yaml', 'c1/team-a/apps/deployments/default/deployment-web-2.yaml']);
    expect(await commitCount(repo.dir)).toBe(2);
  });

  it('asks for a full reconcile when a delta does not follow its watermark (absent, other lineage, gap) and changes nothing', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const ok = { fromVersion: 4, version: 5 };

    // an empty repository: no branch, no watermark; the delta creates nothing
    const empty = await b.export(delta([row(1, { version: 5 })], ok), c);
    expect(empty).toEqual({ outcome: 'needsFull', rowsExported: 0, upserts: 0, deletes: 0, detail: 'watermark absent: full reconcile needed' });
    expect(await stateOf(repo)).toEqual({ tip: '', refs: '' });

    // a summary without a watermark (written before watermarks existed, or by hand)
    await pushFiles(repo, {
      'c1/team-a/apps/_inventory.yaml': 'inventory:\n  namespace: team-a\n  name: apps\ncluster: c1\nrows: 1\ntargets:\n  deployments: 1\n',
      'c1/team-a/apps/deployments/default/deployment-web-1.yaml': serialize(rowDocument(row(1)), 'yaml'),
    });
    const old = await stateOf(repo);
    expect(await b.export(delta([row(2, { version: 5 })], ok), c)).toMatchObject({ outcome: 'needsFull', detail: 'watermark absent: full reconcile needed' });
    expect(await stateOf(repo)).toEqual(old);

    await b.export(full([row(1, { version: 2 }), row(2, { version: 4 })], { version: 4, lineage: 'lineage-a' }), c);
    const held = await stateOf(repo);
    const other = await b.export(delta([row(3, { version: 5 })], { ...ok, lineage: 'lineage-b', deletes: [tombstone(row(1), 5)] }), c);
    expect(other).toMatchObject({ outcome: 'needsFull', upserts: 0, deletes: 0, detail: 'watermark lineage-a@4: full reconcile needed' });
    expect(other.aheadVersion).toBeUndefined();
    const gap = await b.export(delta([row(3, { version: 7 })], { fromVersion: 6, version: 7, deletes: [tombstone(row(1), 7)] }), c);
    expect(gap).toMatchObject({ outcome: 'needsFull', upserts: 0, deletes: 0 });
    expect(await stateOf(repo)).toEqual(held);

    // the delta that does follow applies; a full reconcile of another lineage replaces the watermark
    expect(await b.export(delta([row(3, { version: 5 })], { ...ok, rowCount: 3 }), c)).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect(await b.export(full([row(3, { version: 1 })], { version: 1, lineage: 'lineage-b' }), c)).toMatchObject({ outcome: 'applied', deletes: 2 });
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-b', version: 1 });
  });

  it('holds a full reconcile that would delete more than maxDeletePercent without a complete resync, and applies it with one', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const ten = Array.from({ length: 10 }, (_, i) => row(i));
    await b.export(full(ten, { version: 10 }), c);
    const held = await stateOf(repo);

    const four = ten.slice(0, 4); // 6 of 10 deleted: 60% > 50%
    const err = await failure(b.export(full(four, { version: 11, resyncComplete: false }), c));
    expect(err).toBeInstanceOf(DeleteGuardError);
    expect(err.name).toBe('DeleteGuard');
    expect(err).toMatchObject({ deletes: 6, held: 10, maxPercent: 50 });
    expect(await stateOf(repo), 'nothing deleted, nothing pushed').toEqual(held);
    const dErr = await failure(b.export(delta([], { fromVersion: 10, version: 12, deletes: ten.slice(0, 6).map((r) => tombstone(r, 12)), resyncComplete: false, rowCount: 4 }), c));
    expect(dErr.name).toBe('DeleteGuard');
    expect(await stateOf(repo)).toEqual(held);

    const ok = await b.export(full(four, { version: 11, resyncComplete: true }), c);
    expect(ok).toMatchObject({ outcome: 'applied', upserts: 0, deletes: 6 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 0 updated, 6 removed');
    expect(await treeOf(repo.dir)).toEqual(['c1/team-a/apps/_inventory.yaml', ...four.map((r) => `c1/team-a/apps/deployments/default/deployment-${r.name}.yaml`)]);
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 11 });
  });

  it('pushes nothing when the attempt is cancelled: before it starts, or after its commit, before the push', async () => {
    const repo = await createBareRepo();
    const c = ctx({ url: repo.url });
    await backend().export(full([row(1), row(2)], { version: 2 }), c);
    const held = await stateOf(repo);

    const early = new AbortController();
    early.abort();
    const e0 = await failure(backend().export(full([row(1), row(3)], { version: 3 }), { ...c, signal: early.signal }));
    expect(e0.message).toMatch(/abort/i);
    expect(await stateOf(repo)).toEqual(held);

    let controller = new AbortController();
    let pushes = 0;
    const b = backend({ beforePush: () => { pushes++; controller.abort(); return Promise.resolve(); } });
    const e1 = await failure(b.export(full([row(1), row(3)], { version: 3 }), { ...c, signal: controller.signal }));
    expect(pushes).toBe(1); // the commit was made, the push was not
    expect(e1).toBeInstanceOf(SinkExportError);
    expect(e1.message).toMatch(/abort/i);
    expect(await stateOf(repo)).toEqual(held);
    controller = new AbortController();
    const e2 = await failure(b.export(delta([row(3, { version: 3 })], { fromVersion: 2, version: 3, deletes: [tombstone(row(2), 3)] }), { ...c, signal: controller.signal }));
    expect(e2.message).toMatch(/abort/i);
    expect(await stateOf(repo)).toEqual(held);
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 2 });

    // the same backend exports normally afterwards: the aborted commit is not left behind to be pushed
    controller = new AbortController();
    expect(await b.export(delta([row(3, { version: 3 })], { fromVersion: 2, version: 3, deletes: [tombstone(row(2), 3)], rowCount: 2 }), c)).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1 });
    expect((await bareGit(repo.dir, ['rev-parse', 'main~1'])).trim()).toBe(held.tip);
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 3 });
  });

  for (const format of ['yaml', 'json'] as const) {
    it(`places a recreated object's row at its ~uid alternate in a delta, and finds it there again (${format})`, async () => {
      const repo = await createBareRepo();
      const b = backend();
      const c = ctx({ url: repo.url, path: 'snap' }, { format });
      const dir = 'snap/deployments/default';
      const old = row(1, { uid: 'old' });
      await b.export(full([old], { version: 1 }), c);

      // the object was recreated under the same name; the old uid's delete has not arrived yet
      const fresh = row(1, { uid: 'new', attributes: { replicas: 2 }, version: 2 });
      expect(await b.export(delta([fresh], { fromVersion: 1, version: 2, rowCount: 2 }), c)).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 0 });
      expect(await lastChange(repo.dir)).toEqual([`M\tsnap/_inventory.${format}`, `A\t${dir}/deployment-web-1~new.${format}`]);
      expect(await bareGit(repo.dir, ['show', `main:${dir}/deployment-web-1.${format}`])).toBe(serialize(rowDocument(old), format));

      // an update of the new uid goes to its alternate, not over the old uid's file
      const fresh2 = row(1, { uid: 'new', attributes: { replicas: 3 }, version: 3 });
      await b.export(delta([fresh2], { fromVersion: 2, version: 3, rowCount: 2 }), c);
      expect(await lastChange(repo.dir)).toEqual([`M\tsnap/_inventory.${format}`, `M\t${dir}/deployment-web-1~new.${format}`]);

      // each delete removes the file holding its uid
      await b.export(delta([], { fromVersion: 3, version: 4, deletes: [tombstone(old, 4)], rowCount: 1 }), c);
      expect(await lastChange(repo.dir)).toEqual([`M\tsnap/_inventory.${format}`, `D\t${dir}/deployment-web-1.${format}`]);
      expect(await bareGit(repo.dir, ['show', `main:${dir}/deployment-web-1~new.${format}`])).toBe(serialize(rowDocument(fresh2), format));
      await b.export(delta([], { fromVersion: 4, version: 5, deletes: [tombstone(fresh2, 5)], rowCount: 0 }), c);
      expect(await treeOf(repo.dir)).toEqual([`snap/_inventory.${format}`]);
      expect(await watermarkOf(repo.dir, `snap/_inventory.${format}`)).toEqual({ lineage: 'lineage-a', version: 5 });
      // a delete whose uid no file holds (already gone) changes nothing but the watermark
      await b.export(delta([], { fromVersion: 5, version: 6, deletes: [tombstone(old, 6)], rowCount: 0 }), c);
      expect(await lastChange(repo.dir)).toEqual([`M\tsnap/_inventory.${format}`]);
    });
  }

  // Rows of one delta that are new to the sink and share a path: applyDelta tracks the paths it
  // claims within the delta, so the second gets the ~uid alternate instead of overwriting the first.
  it('gives two new rows of one delta that share a name a file each', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    await b.export(full([row(9)], { version: 1 }), c);
    const first = row(1, { uid: 'a', version: 2 });
    const second = row(1, { uid: 'b', attributes: { replicas: 2 }, version: 3 });
    const r = await b.export(delta([first, second], { fromVersion: 1, version: 3, snapshot: [row(9), first, second] }), c);
    expect(r).toMatchObject({ outcome: 'applied', upserts: 2 });
    expect(await treeOf(repo.dir)).toEqual([
      'c1/team-a/apps/_inventory.yaml', 'c1/team-a/apps/deployments/default/deployment-web-1.yaml',
      'c1/team-a/apps/deployments/default/deployment-web-1~b.yaml', 'c1/team-a/apps/deployments/default/deployment-web-9.yaml',
    ]);
  });

  it('keeps files outside its path, and reverts a foreign edit inside it to the snapshot', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url, path: 'inventories/{cluster}/{inventoryName}' });
    await b.export(full([row(1)], { version: 1 }), c);

    const clone = await cloneOf(repo.url);
    writeFileSync(path.join(clone, 'README.md'), '# inventories\n');
    writeFileSync(path.join(clone, 'inventories/c1/apps/deployments/default/deployment-web-1.yaml'), 'hand: edited\n');
    writeFileSync(path.join(clone, 'inventories/c1/apps/stray.yaml'), 'x: 1\n');
    await gitCli(['add', '-A'], { cwd: clone });
    await gitCli(['commit', '-qm', 'human edit'], { cwd: clone });
    await gitCli(['push', '-q', 'origin', 'main'], { cwd: clone });

    // the scheduled full reconcile at the same version repairs the tree
    const r = await b.export(full([row(1)], { version: 1 }), c);
    expect(r).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 1 });
    expect(await subjectOf(repo.dir)).toBe('kollect: team-a/apps: 0 added, 1 updated, 1 removed');
    expect(await treeOf(repo.dir)).toEqual([
      'README.md', 'inventories/c1/apps/_inventory.yaml', 'inventories/c1/apps/deployments/default/deployment-web-1.yaml',
    ]);
    expect(await bareGit(repo.dir, ['show', 'main:inventories/c1/apps/deployments/default/deployment-web-1.yaml'])).toContain('name: web-1');
  });

  it('handles a push that races the export (non-fast-forward): fetches, reapplies and pushes on top', async () => {
    const repo = await createBareRepo();
    await backend().export(full([row(1)], { version: 1 }), ctx({ url: repo.url }));
    const other = await cloneOf(repo.url);
    let raced = 0;
    const b = backend({
      beforePush: async (attempt) => {
        if (attempt !== 1) return;
        raced++;
        writeFileSync(path.join(other, 'NOTES.md'), 'pushed while kollect was exporting\n');
        await gitCli(['add', 'NOTES.md'], { cwd: other });
        await gitCli(['commit', '-qm', 'racing commit'], { cwd: other });
        await gitCli(['push', '-q', 'origin', 'main'], { cwd: other });
      },
    });
    logs.length = 0;
    const r = await b.export(full([row(1), row(2)], { version: 2 }), ctx({ url: repo.url }));
    expect(raced).toBe(1);
    expect(r).toMatchObject({ outcome: 'applied', upserts: 1 });
    expect(r.detail).toMatch(/^full commit /);
    expect(logs.some((l) => l.event === 'sink.git.retry')).toBe(true);
    expect((await bareGit(repo.dir, ['log', '--format=%s', 'main'])).trim().split('\n')).toEqual([
      'kollect: team-a/apps: 1 added, 0 updated, 0 removed', 'racing commit', 'kollect: team-a/apps: 1 added, 0 updated, 0 removed',
    ]);
    expect(await bareGit(repo.dir, ['show', 'main:NOTES.md'])).toContain('pushed while');
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 2 });
  });

  it('gives up with a retryable error after 3 rejected pushes', async () => {
    const repo = await createBareRepo();
    await backend().export(full([row(1)], { version: 1 }), ctx({ url: repo.url }));
    const other = await cloneOf(repo.url);
    let n = 0;
    const b = backend({
      beforePush: async () => {
        writeFileSync(path.join(other, 'counter.txt'), String(++n));
        await gitCli(['commit', '-qam', `race ${n}`], { cwd: other }).catch(async () => {
          await gitCli(['add', 'counter.txt'], { cwd: other });
          await gitCli(['commit', '-qm', `race ${n}`], { cwd: other });
        });
        await gitCli(['push', '-q', 'origin', 'main'], { cwd: other });
      },
    });
    const err = await failure(b.export(full([row(1), row(2)], { version: 2 }), ctx({ url: repo.url })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect((err as SinkExportError).code).toBe('non-fast-forward');
    expect(n).toBe(3);
    expect(await watermarkOf(repo.dir)).toEqual({ lineage: 'lineage-a', version: 1 });
    // the sink recovers on the next export once the branch is quiet
    expect((await backend().export(full([row(1), row(2)], { version: 2 }), ctx({ url: repo.url }))).detail).toMatch(/^full commit /);
  });

  it('writes JSON on a non-default branch of a repo that has other branches, and applies deltas there', async () => {
    const repo = await createBareRepo();
    await backend().export(full([row(9)]), ctx({ url: repo.url }));
    const b = backend();
    const c = ctx({ url: repo.url, branch: 'kollect/snapshots', path: 'snap', authorName: 'Inventory Bot', authorEmail: 'bot@example.invalid' }, { format: 'json' });
    const r = await b.export(full([row(1)], { version: 1 }), c);
    expect(r.detail).toMatch(/^full commit /);
    const text = await bareGit(repo.dir, ['show', 'kollect/snapshots:snap/deployments/default/deployment-web-1.json']);
    expect(JSON.parse(text)).toMatchObject({ name: 'web-1', attributes: { replicas: 1 } });
    expect(text.endsWith('}\n')).toBe(true);
    expect((await bareGit(repo.dir, ['log', '-1', '--format=%an <%ae>', 'kollect/snapshots'])).trim()).toBe('Inventory Bot <bot@example.invalid>');
    expect(await commitCount(repo.dir, 'main')).toBe(1);

    const d = await b.export(delta([row(1, { attributes: { replicas: 4 }, version: 2 }), row(2, { version: 3 })], { fromVersion: 1, version: 3, rowCount: 2 }), c);
    expect(d).toMatchObject({ outcome: 'applied', upserts: 2, deletes: 0 });
    expect(await lastChange(repo.dir, 'kollect/snapshots')).toEqual(['M\tsnap/_inventory.json', 'M\tsnap/deployments/default/deployment-web-1.json', 'A\tsnap/deployments/default/deployment-web-2.json']);
    expect(JSON.parse(await bareGit(repo.dir, ['show', 'kollect/snapshots:snap/_inventory.json']))).toMatchObject({ rows: 2, snapshot: { lineage: 'lineage-a', version: 3 } });
    expect(await watermarkOf(repo.dir, 'c1/team-a/apps/_inventory.yaml')).toMatchObject({ lineage: 'lineage-a' }); // main's own summary untouched
    expect(await commitCount(repo.dir, 'main')).toBe(1);
  });

  it('keeps credentials out of errors, logs and the working clone on disk', async () => {
    const repo = await createBareRepo();
    const ep = service('git');
    const wrong = `wrong-${randomUUID()}`;
    logs.length = 0;
    const b = backend();
    const err = await failure(b.export(full([row(1)]), ctx({ url: repo.url }, { credentials: { username: ep.username, password: wrong } })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/Authentication failed|could not read Username|401/i);
    const basic = Buffer.from(`${ep.username}:${wrong}`).toString('base64');
    for (const text of [err.message, err.stack ?? '', JSON.stringify(logs)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(basic);
    }

    // a token (sent as Basic with the given or a default username) works, and nothing secret lands on disk
    const cacheDir = work();
    const ok = new GitBackend({ cacheDir });
    backends.push(ok);
    await ok.export(full([row(1)]), ctx({ url: repo.url }, { credentials: { username: ep.username, token: ep.password } }));
    const onDisk = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
    const secretB64 = Buffer.from(`${ep.username}:${ep.password}`).toString('base64');
    for (const f of onDisk(cacheDir)) {
      const content = readFileSync(f);
      expect(content.includes(ep.password), f).toBe(false);
      expect(content.includes(secretB64), f).toBe(false);
    }
  });

  it('rejects credentials in the URL as a config error without echoing them', async () => {
    const repo = await createBareRepo();
    const err = await failure(backend().export(full([row(1)]), ctx({ url: repo.url.replace('https://', 'https://bob:hunter2secret@') })));
    expect(err).toBeInstanceOf(SinkConfigError);
    expect(err.message).not.toContain('hunter2secret');
    const http = await failure(backend().export(full([row(1)]), ctx({ url: repo.url.replace('https://', 'http://') })));
    expect(http).toBeInstanceOf(SinkConfigError);
  });

  it('fails over HTTPS without the CA (the system trust store is not enough)', async () => {
    const repo = await createBareRepo();
    const err = await failure(backend().export(full([row(1)]), ctx({ url: repo.url }, { caPem: undefined })));
    expect(err).toBeInstanceOf(SinkExportError);
    expect(err.message).toMatch(/certificate/i);
    expect(err.message).not.toContain(service('git').password);
  });

  it('never writes through a symbolic link the remote holds: links inside the path go, a link at the path is refused', async () => {
    const repo = await createBareRepo();
    const outside = mkdtempSync(path.join(endpoints().runDir, 'outside-'));
    const dir = path.join(work(), 'links');
    await gitCli(['init', '--quiet', '--initial-branch', 'main', dir]);
    await mkdir(path.join(dir, 'c1', 'team-a', 'apps'), { recursive: true });
    symlinkSync(outside, path.join(dir, 'c1', 'team-a', 'apps', 'deployments')); // where the rows of target deployments go
    symlinkSync(outside, path.join(dir, 'elsewhere'));
    await gitCli(['add', '-A'], { cwd: dir });
    await gitCli(['commit', '-qm', 'hostile links'], { cwd: dir });
    await gitCli(['push', '-q', repo.url, 'main:main'], { cwd: dir });

    const r = await backend().export(full([row(1), row(2)]), ctx({ url: repo.url }));
    expect(r.outcome).toBe('applied');
    expect(readdirSync(outside)).toEqual([]); // nothing written through the link
    const modes = await bareGit(repo.dir, ['ls-tree', '-r', 'main']);
    expect(modes).not.toMatch(/^120000 .*c1\/team-a\/apps/m);
    expect(modes).toMatch(/^120000 .*\telsewhere$/m); // outside the sink's path: left alone
    expect((await treeOf(repo.dir)).filter((f) => f.startsWith('c1/team-a/apps/deployments/'))).toHaveLength(2);

    const refused = await failure(backend().export(full([row(1)]), ctx({ url: repo.url, path: 'elsewhere/inv' })));
    expect(refused).toBeInstanceOf(SinkConfigError);
    expect(refused.message).toMatch(/^spec\.git\.path: .*elsewhere is a symbolic link in the repository/);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('probes the repository with the real credentials, and the endpoint guard refuses loopback unless allowed', async () => {
    const repo = await createBareRepo();
    const b = backend();
    expect((await b.probe(ctx({ url: repo.url }))).detail).toBe('repository answers; branch main does not exist yet (the first export creates it)');
    await b.export(full([row(1)]), ctx({ url: repo.url }));
    expect((await b.probe(ctx({ url: repo.url }))).detail).toMatch(/^repository answers; branch main at [0-9a-f]{12}$/);
    const before = await stateOf(repo);
    const refused = await failure(backend().export(full([row(2)]), ctx({ url: repo.url }, { guard: new EndpointGuard({ allow: [], clusterCidrs: [] }) })));
    expect(refused).toBeInstanceOf(EndpointRefusedError);
    expect(await stateOf(repo)).toEqual(before);
  });

  it('exports 10k rows (timing printed)', async () => {
    const repo = await createBareRepo();
    const b = backend();
    const c = ctx({ url: repo.url });
    const rows = Array.from({ length: 10_000 }, (_, i) => row(i, { namespace: `ns-${i % 50}` }));
    let t = Date.now();
    const first = await b.export(full(rows, { version: 1 }), c);
    const firstMs = Date.now() - t;
    t = Date.now();
    const noop = await b.export(full(rows, { version: 1 }), c);
    const noopMs = Date.now() - t;
    rows[42] = row(42, { namespace: 'ns-42', attributes: { replicas: 0 }, version: 2 });
    t = Date.now();
    const one = await b.export(delta([rows[42]], { fromVersion: 1, version: 2, snapshot: rows }), c);
    const oneMs = Date.now() - t;
    const oneChange = await lastChange(repo.dir);
    t = Date.now();
    const fullAgain = await b.export(full(rows, { version: 2 }), c);
    const fullMs = Date.now() - t;
    console.log(`[git sink] 10k rows: initial ${firstMs} ms (${first.detail}), unchanged ${noopMs} ms (${noop.detail}), delta of 1 changed ${oneMs} ms (${one.detail}), full of the same ${fullMs} ms (${fullAgain.detail})`);
    expect(first.upserts).toBe(10_000);
    expect(noop.detail).toBe('no change');
    expect(one).toMatchObject({ outcome: 'applied', upserts: 1, deletes: 0 });
    expect(oneChange).toEqual(['M\tc1/team-a/apps/_inventory.yaml', 'M\tc1/team-a/apps/deployments/ns-42/deployment-web-42.yaml']);
    expect(fullAgain.detail, 'the delta left the tree a full reconcile makes').toBe('no change');
  }, 180_000);
});
