// The docs stay honest about the code: every sink type in the registry has its page and its
// sample, the sinks index links every page, and no doc or code comment points at a docs file or
// heading that does not exist. Pure: KOLLECT_SERVICES=none.
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { SINKS } from '../../activities/sinks/registry.js';
import { root } from '../support/process.js';
import { brokenLinks, filesUnder, markdownLinks, slug } from './links.js';

const read = (rel: string): string => readFileSync(path.join(root, rel), 'utf8');
const linksOf = (rel: string): string[] => markdownLinks(read(rel)).map((l) => l.target.split('#')[0]!);

describe('sink docs', () => {
  it.each(SINKS.map((d) => [d.type, d]))('%s has its page under docs/sinks/ and its sample under deploy/samples/', (_t, d) => {
    expect(existsSync(path.join(root, 'docs', 'sinks', d.docs)), `docs/sinks/${d.docs}`).toBe(true);
    const sample = path.join(root, 'deploy', 'samples', d.sample);
    expect(existsSync(sample), `deploy/samples/${d.sample}`).toBe(true);
    const docs = parseAllDocuments(readFileSync(sample, 'utf8')).map((x) => x.toJS() as { kind?: string; spec?: { type?: string } });
    expect(docs.filter((x) => x.kind === d.kind && x.spec?.type === d.type), `a ${d.kind} of type ${d.type} in ${d.sample}`).toHaveLength(1);
  });

  it('docs/sinks.md links every sink page, and every page under docs/sinks/ is a sink type\'s', () => {
    const linked = new Set(linksOf('docs/sinks.md'));
    const pages = filesUnder(root, 'docs/sinks', ['.md']).map((f) => path.relative('docs', f));
    expect(SINKS.map((d) => `sinks/${d.docs}`).filter((p) => !linked.has(p))).toEqual([]);
    expect(pages.filter((p) => !linked.has(p))).toEqual([]);
    expect(pages.filter((p) => !SINKS.some((d) => `sinks/${d.docs}` === p))).toEqual([]);
  });

  it('README.md names every sink type and links docs/sinks.md', () => {
    const readme = read('README.md');
    expect(SINKS.map((d) => d.type).filter((t) => !readme.includes(`\`${t}\``))).toEqual([]);
    expect(linksOf('README.md')).toContain('docs/sinks.md');
  });

  it('has no broken links: markdown links between files and to headings, and docs/ paths named in code', () => {
    const markdown = ['README.md', ...['docs', 'deploy', 'test'].flatMap((d) => filesUnder(root, d, ['.md']))];
    const code = [
      ...['api', 'activities', 'workflows', 'watcher', 'worker', 'store', 'scripts', 'bench', 'test', 'deploy'].flatMap((d) => filesUnder(root, d, ['.ts', '.js', '.yaml', '.sh'])),
      'vitest.config.ts', 'eslint.config.js', 'package.json', 'docker-compose.yml',
    ];
    const broken = brokenLinks(root, markdown, [...markdown, ...code]).map((b) => `${b.file}:${b.line} ${b.target}: ${b.reason}`);
    expect(broken).toEqual([]);
  });

  it('the link checker finds what is broken (a checker that cannot fail checks nothing)', () => {
    expect(slug('git — `KollectSnapshotSink`, `spec.type: git`')).toBe('git--kollectsnapshotsink-spectype-git');
    expect(slug('Sink status: Ready and preview')).toBe('sink-status-ready-and-preview');
    const d = 'docs'; // spelled apart, so that this file's own check does not take the fixture for links
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-links-'));
    mkdirSync(path.join(dir, 'docs', 'decisions'), { recursive: true });
    writeFileSync(path.join(dir, 'docs', 'decisions', '0001-first.md'), '# First\n');
    writeFileSync(path.join(dir, 'docs', 'a.md'), [
      '# A', '## Twice', '## Twice', '```', '# not a heading', '[in a fence](missing.md)', '```',
      '[ok](a.md#twice-1) [self](#a) [adr](decisions/0001-first.md#first) `[in code](missing.md)` [web](https://example.com/x.md)',
      '[gone](b.md) [bad anchor](a.md#not-a-heading) [fenced heading](#not-a-heading) [dup](#twice-2)',
      `see ${d}/decisions/0001 and ${d}/a.md#twice, not ${d}/decisions/0002 or ${d}/a.md#nope.`,
    ].join('\n'));
    writeFileSync(path.join(dir, 'code.ts'), `// ${d}/a.md#a, ${d}/sinks.md#endpoint-guard\n`);
    const a = path.join(d, 'a.md');
    const found = brokenLinks(dir, [a], [a, 'code.ts']).map((b) => `${b.file}:${b.line} ${b.target}`);
    expect(found).toEqual([
      `${a}:9 b.md`, `${a}:9 a.md#not-a-heading`, `${a}:9 #not-a-heading`, `${a}:9 #twice-2`,
      `${a}:10 ${d}/decisions/0002`, `${a}:10 ${d}/a.md#nope`, `code.ts:1 ${d}/sinks.md#endpoint-guard`,
    ]);
  });
});
