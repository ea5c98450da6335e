// docs/install.md documents every key of the chart's values.yaml, and only keys that exist: each
// leaf of values.yaml is named in the table itself or under a documented parent (resources,
// podSecurityContext), and every key the table names is in values.yaml.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { root } from '../support/process.js';

const values = YAML.parse(readFileSync(path.join(root, 'deploy', 'helm', 'kollect', 'values.yaml'), 'utf8')) as Record<string, unknown>;
const documented = [...readFileSync(path.join(root, 'docs', 'install.md'), 'utf8').matchAll(/^\| `([\w.]+)` \|/gm)].map((m) => m[1]!);

function leaves(v: unknown, at: string, out: string[] = []): string[] {
  if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
    for (const [k, x] of Object.entries(v)) leaves(x, at ? `${at}.${k}` : k, out);
  } else {
    out.push(at);
  }
  return out;
}

function exists(key: string): boolean {
  let v: unknown = values;
  for (const part of key.split('.')) {
    if (!v || typeof v !== 'object' || !(part in v)) return false;
    v = (v as Record<string, unknown>)[part];
  }
  return true;
}

describe('docs/install.md values reference', () => {
  it('documents every key of values.yaml', () => {
    const missing = leaves(values, '').filter((k) => !documented.some((d) => k === d || k.startsWith(`${d}.`)));
    expect(missing, 'add these keys to the values table of docs/install.md').toEqual([]);
  });

  it('names no key that values.yaml lacks', () => {
    expect(documented.filter((k) => !exists(k)), 'stale keys in docs/install.md').toEqual([]);
  });
});
