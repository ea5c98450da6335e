import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { canonical, rowDocument, serialize, toYaml } from './serialize.js';

const tricky = [
  '', ' ', 'a', 'yes', 'Yes', 'NO', 'on', 'Off', 'y', 'n', 'true', 'False', 'null', 'Null', '~', '=', '<<',
  '0755', '0x1F', '1e3', '1.20', '+1', '-1', '.5', '.inf', '-.inf', '.nan', 'NaN', '1_000', '190:20:30', '2024-01-01', '2024-01-01T00:00:00Z',
  '- item', '-', '?', ':', 'a: b', 'a:b', 'http://x.example/a?b=c#d', 'a #b', 'a#b', '#c', '&anchor', '*alias', '!tag', '|', '>', '%x', '@x', '`x`',
  '[a]', '{a: 1}', 'a, b', '"q"', "'s'", 'back\\slash', 'tab\there', 'trailing ', ' leading', 'colon end:',
  'multi\nline', 'multi\nline\n', 'multi\n\nblank\n', 'ends\n\n', '\nstarts with newline', ' indented\nfirst', 'crlf\r\nline', 'tab\n\tline',
  'nul\u0000x', 'del\u007fx', 'nel\u0085x', 'ls\u2028x', 'bom\ufeffx', 'émoji 🎉', '---', '...', 'key: value\n- list\n# comment',
  'app.kubernetes.io/name', 'nginx:1.25', 'registry.example/app@sha256:abc', 'cpu=500m', '(paren)',
];

describe('toYaml', () => {
  it('round-trips tricky strings as values and keys, for YAML 1.2 and 1.1 readers', () => {
    for (const s of tricky) {
      const doc = { v: s, list: [s, { k: s }], [s || 'empty-key']: 1 };
      const text = toYaml(doc);
      for (const version of ['1.2', '1.1'] as const) {
        expect(parse(text, { version }), `${JSON.stringify(s)} as YAML ${version}:\n${text}`).toEqual(doc);
      }
    }
  });

  it('round-trips numbers, booleans, null, empty and nested collections', () => {
    const doc = { n: 0, neg: -1.5, big: 1e21, small: 1e-7, t: true, f: false, z: null, ea: [], eo: {}, nested: [[1, [2, []]], [{ a: { b: [{}] } }]], deep: { a: { b: { c: 'd' } } } };
    const text = toYaml(doc);
    expect(parse(text, { version: '1.1' })).toEqual(doc);
    expect(parse(text)).toEqual(doc);
  });

  it('writes readable block YAML: plain strings, literal blocks for text, nested lists', () => {
    expect(toYaml({ name: 'web', image: 'nginx:1.25', replicas: 3, version: '1.20', enabled: 'yes', script: 'echo hi\necho bye\n', ports: [80, { name: 'https', port: 443 }] })).toBe(
      'name: web\nimage: nginx:1.25\nreplicas: 3\nversion: "1.20"\nenabled: "yes"\nscript: |\n  echo hi\n  echo bye\nports:\n  - 80\n  - name: https\n    port: 443\n');
  });
});

describe('serialize and rowDocument', () => {
  const row = { target: 't', cluster: 'c', apiVersion: 'v1', kind: 'ConfigMap', namespace: '', name: 'cm', uid: 'u', attributes: { z: 1, a: { y: 2, b: 3 } }, hash: 'h' };
  it('puts identity first in a fixed order, omits an empty namespace, sorts attributes', () => {
    const doc = rowDocument(row);
    expect(Object.keys(doc)).toEqual(['apiVersion', 'kind', 'name', 'uid', 'cluster', 'target', 'attributes']);
    expect(serialize(doc, 'yaml')).toBe('apiVersion: v1\nkind: ConfigMap\nname: cm\nuid: u\ncluster: c\ntarget: t\nattributes:\n  a:\n    b: 3\n    "y": 2\n  z: 1\n');
    expect(serialize(doc, 'json')).toBe(`${JSON.stringify(doc, null, 2)}\n`);
  });
  it('is independent of attribute key insertion order', () => {
    expect(canonical({ b: 1, a: [{ d: 1, c: 2 }] })).toEqual({ a: [{ c: 2, d: 1 }], b: 1 });
    expect(JSON.stringify(canonical({ b: 1, a: 2 }))).toBe('{"a":2,"b":1}');
  });
});
