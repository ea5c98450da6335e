// The git sink against the harness's git server (a bare repo per spec, per-run CA and user).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { GitSinkSpec } from '../../../api/types.js';
import { resolveBasePath, summaryFile } from '../../../activities/sinks/git-layout.js';
import { service } from '../../harness/endpoints.js';
import { bareGit, createBareRepo } from '../git.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

const repoDir = (url: string): string => path.join(service('git').reposDir, url.slice(service('git').baseUrl.length + 1));

export const gitFixture: SinkFixture<GitSinkSpec> = {
  type: 'git',
  service: 'git',
  spec: async (unique) => ({ url: (await createBareRepo(`git-${unique}`)).url }),
  secret: () => ({ username: service('git').username, password: service('git').password }),
  context: (spec, log = () => undefined) => ({ spec, credentials: gitFixture.secret(), caPem: readFileSync(service('git').caFile, 'utf8'), guard: testGuard, log }),
  async read(spec, inventory) {
    const dir = repoDir(spec.url);
    const branch = spec.branch ?? 'main';
    const base = resolveBasePath(spec.path, inventory);
    const held = new Map<string, HeldRow>();
    const has = (await bareGit(dir, ['for-each-ref', '--format=%(objectname)', `refs/heads/${branch}`])).trim();
    if (!has) return held;
    const files = (await bareGit(dir, ['ls-tree', '-r', '--name-only', branch, '--', `${base}/`])).split('\n').filter(Boolean);
    for (const f of files) {
      if (f === `${base}/${summaryFile('yaml')}` || f === `${base}/${summaryFile('json')}`) continue;
      const content = await bareGit(dir, ['show', `${branch}:${f}`]);
      const doc = (f.endsWith('.json') ? JSON.parse(content) : parse(content)) as { target: string; uid: string; attributes: Record<string, unknown> };
      held.set(`${doc.target}/${doc.uid}`, { attributes: doc.attributes });
    }
    return held;
  },
};
