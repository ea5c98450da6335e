// The gitlab sink against the harness's GitLab fake (projects backed by the git service's bare
// repos). A project per spec, with an initial commit on main, written through merge requests;
// read() reads the files from the branch Kollect writes (the inventory's branch, or main once its
// merge request was merged and the branch removed).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { GitLabSinkSpec } from '../../../api/types.js';
import { settingsOf } from '../../../activities/sinks/gitlab.js';
import { summaryFile } from '../../../activities/sinks/git-layout.js';
import type { InventoryIdentity } from '../../../activities/sinks/types.js';
import { service } from '../../harness/endpoints.js';
import { bareGit, createBareRepo, gitEnv } from '../git.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

/** The empty tree: every git knows its id without storing it. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** The bare repo behind a project path. */
export const repoDirOf = (project: string): string => path.join(service('git').reposDir, `${project}.git`);

/** A project `gl-<unique>/inventory` whose main branch has one (empty) commit, as a new GitLab project with a README would. */
export async function createProject(unique: string): Promise<string> {
  const repo = await createBareRepo(`gl-${unique}/inventory`);
  const commit = (await bareGit(repo.dir, ['commit-tree', EMPTY_TREE, '-m', 'Initial commit'])).trim();
  await bareGit(repo.dir, ['update-ref', 'refs/heads/main', commit]);
  return repo.name;
}

/** The branch's tip, or '' when the branch does not exist. */
export const tipOf = async (project: string, branch: string): Promise<string> =>
  (await bareGit(repoDirOf(project), ['for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`])).trim();

/** git on the project's bare repo, `input` on stdin, output of any size. */
function gitOn(project: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const child = execFile('git', ['--git-dir', repoDirOf(project), ...args], { encoding: 'buffer', maxBuffer: 1 << 30, env: gitEnv(process.env, { ca: false, auth: false }) },
      (err, stdout) => (err ? reject(new Error(`git ${args.join(' ')}: ${err.message}`)) : resolve(stdout)));
    // git may exit before reading its input (e.g. an unknown branch): its error is reported above, not as EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(input ?? '');
  });
}

/** `path → content` of every file under `dir` on `branch` (one cat-file for all blobs). */
export async function filesOn(project: string, branch: string, dir: string): Promise<Map<string, string>> {
  const entries = (await gitOn(project, ['ls-tree', '-r', '-z', branch, '--', `${dir}/`])).toString('utf8').split('\0').filter(Boolean)
    .map((e) => { const tab = e.indexOf('\t'); return { blob: e.slice(0, tab).split(' ')[2]!, path: e.slice(tab + 1) }; });
  if (entries.length === 0) return new Map();
  const out = await gitOn(project, ['cat-file', '--batch'], entries.map((e) => e.blob).join('\n') + '\n');
  const files = new Map<string, string>();
  let at = 0;
  for (const e of entries) { // <blob> blob <size>\n<content>\n
    const nl = out.indexOf(0x0a, at);
    const size = Number(out.subarray(at, nl).toString().split(' ')[2]);
    files.set(e.path, out.subarray(nl + 1, nl + 1 + size).toString('utf8'));
    at = nl + 1 + size + 1;
  }
  return files;
}

/** The branch Kollect writes for the inventory: its own branch while it exists, else the target (main). */
export async function writtenBranch(spec: GitLabSinkSpec, inventory: InventoryIdentity): Promise<string> {
  const s = settingsOf(spec, inventory);
  const target = s.targetBranch ?? 'main';
  return s.mode === 'merge_request' && await tipOf(spec.project, s.branch) ? s.branch : target;
}

export const gitlabFixture: SinkFixture<GitLabSinkSpec> = {
  type: 'gitlab',
  service: 'gitlab',
  async spec(unique) {
    return { url: service('gitlab').url, project: await createProject(unique), mergeRequest: { mode: 'merge_request' } };
  },
  secret: () => ({ token: service('gitlab').token }),
  context: (spec, log = () => undefined) => ({
    spec, credentials: gitlabFixture.secret(), caPem: readFileSync(service('gitlab').caFile, 'utf8'), log, guard: testGuard,
  }),
  async read(spec, inventory) {
    const s = settingsOf(spec, inventory);
    const held = new Map<string, HeldRow>();
    for (const [p, content] of await filesOn(spec.project, await writtenBranch(spec, inventory), s.base)) {
      if (p === `${s.base}/${summaryFile('yaml')}` || p === `${s.base}/${summaryFile('json')}`) continue;
      const doc = (p.endsWith('.json') ? JSON.parse(content) : parse(content)) as { target: string; uid: string; attributes: Record<string, unknown> };
      held.set(`${doc.target}/${doc.uid}`, { attributes: doc.attributes });
    }
    return held;
  },
};
