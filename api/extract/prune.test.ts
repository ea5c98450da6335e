import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';
import { contentHash } from './hash.js';
import { isGuardedSecret, LAST_APPLIED, parsePointer, pruneResource, removeAt, scrub, toPlainJson, type Json } from './prune.js';
import { deployment, secret } from './testdata/objects.js';

const noPrune = { defaults: false, pointers: [], scrubKeys: new Set<string>() };

describe('toPlainJson', () => {
  it('copies deeply, turns Dates into RFC 3339 and drops undefined members', () => {
    const src = { a: { b: [1, { c: undefined, d: new Date('2024-03-05T10:15:30Z') }] }, e: undefined, f: 1.5, g: Number.NaN };
    const out = toPlainJson(src);
    expect(out).toEqual({ a: { b: [1, { d: '2024-03-05T10:15:30Z' }] }, f: 1.5, g: null });
    (out as { a: { b: unknown[] } }).a.b.push(2);
    expect(src.a.b).toHaveLength(2);
    expect(toPlainJson(new Date('2024-03-05T10:15:30.250Z'))).toBe('2024-03-05T10:15:30.250Z');
  });
});

describe('scrub', () => {
  it('removes keys at any depth, in objects inside arrays too, without touching the input', () => {
    const v = toPlainJson({ password: 'x', a: { token: 't', keep: 1, list: [{ token: 'u', n: 2 }] } });
    const before = canonicalJson(v);
    expect(scrub(v, new Set(['password', 'token']))).toEqual({ a: { keep: 1, list: [{ n: 2 }] } });
    expect(canonicalJson(v)).toBe(before);
  });
});

describe('JSON pointers (RFC 6901)', () => {
  it('parses escapes and refuses malformed pointers', () => {
    expect(parsePointer('/metadata/annotations/example.com~1token')).toEqual(['metadata', 'annotations', 'example.com/token']);
    expect(parsePointer('/a~0b')).toEqual(['a~b']);
    expect(parsePointer('/')).toEqual(['']);
    expect(parsePointer('')).toMatch(/whole object/);
    expect(parsePointer('metadata')).toMatch(/starts with/);
    expect(parsePointer('/a~2')).toMatch(/~/);
  });

  it('removes object members and array elements; missing paths are no-ops', () => {
    const doc = toPlainJson({ a: { b: 1, c: [10, 11, 12] }, '': { x: 1 } });
    removeAt(doc, ['a', 'c', '1']);
    removeAt(doc, ['a', 'b']);
    removeAt(doc, ['a', 'zzz', 'q']);
    removeAt(doc, ['a', 'c', '7']);
    removeAt(doc, ['a', 'c', '-']);
    removeAt(doc, ['', 'x']);
    expect(doc).toEqual({ a: { c: [10, 12] }, '': {} });
  });
});

describe('pruneResource', () => {
  it('defaults drop managedFields, resourceVersion, generation and last-applied; uid and creationTimestamp stay', () => {
    const out = pruneResource(toPlainJson(deployment()), { ...noPrune, defaults: true }) as { metadata: Record<string, unknown> };
    expect(out.metadata.managedFields).toBeUndefined();
    expect(out.metadata.resourceVersion).toBeUndefined();
    expect(out.metadata.generation).toBeUndefined();
    expect(out.metadata.annotations).toEqual({ 'deployment.kubernetes.io/revision': '7' });
    expect(out.metadata.uid).toBe('5f1c2b8e-7a41-4a0e-9c1d-0b6f2f7c9a10');
    expect(out.metadata.creationTimestamp).toBe('2024-03-05T10:15:30Z');
    expect((out as Record<string, unknown>).status).toBeDefined();
  });

  it('an annotations map emptied by the defaults disappears', () => {
    const d = toPlainJson({ metadata: { name: 'x', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } } });
    expect(pruneResource(d, { ...noPrune, defaults: true })).toEqual({ metadata: { name: 'x' } });
  });

  it('defaults: false keeps everything but the last-applied-configuration annotation', () => {
    const expected = toPlainJson(deployment()) as { metadata: { annotations: Record<string, string> } };
    delete expected.metadata.annotations[LAST_APPLIED];
    expect(pruneResource(toPlainJson(deployment()), noPrune)).toEqual(expected);
  });

  it('drops last-applied-configuration (a Secret\'s stringData in plain text) even with defaults: false', () => {
    const s = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { [LAST_APPLIED]: '{"stringData":{"password":"hunter2"}}', keep: 'me' } }, type: 'Opaque' };
    const out = pruneResource(toPlainJson(s), noPrune);
    expect(JSON.stringify(out)).not.toContain('hunter2');
    expect(out).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', annotations: { keep: 'me' } }, type: 'Opaque' });
  });

  it('applies pointers and scrub keys', () => {
    const out = pruneResource(toPlainJson(deployment()), {
      defaults: true,
      pointers: [['status'], ['spec', 'template', 'spec', 'containers', '1']],
      scrubKeys: new Set(['env', 'readinessProbe']),
    }) as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } } & Record<string, unknown>;
    expect(out.status).toBeUndefined();
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['app']);
    expect(out.spec.template.spec.containers[0]!.env).toBeUndefined();
    expect(out.spec.template.spec.containers[0]!.readinessProbe).toBeUndefined();
  });
});

describe('Secret guard', () => {
  it('drops data and stringData of a v1 Secret unless it carries the allow annotation', () => {
    const out = pruneResource(toPlainJson(secret()), { ...noPrune, defaults: true }) as Record<string, unknown>;
    expect(out.data).toBeUndefined();
    expect(out.stringData).toBeUndefined();
    expect(out.type).toBe('Opaque');
    expect(JSON.stringify(out)).not.toMatch(/c3VwZXItc2VjcmV0|plain-secret/);
  });

  it('keeps data when kollect.dev/allow-full-resource-export is "true", and only then', () => {
    const allowed = pruneResource(toPlainJson(secret({ 'kollect.dev/allow-full-resource-export': 'true' })), noPrune) as Record<string, unknown>;
    expect(allowed.data).toEqual({ token: 'c3VwZXItc2VjcmV0', password: 'aHVudGVyMg==' });
    for (const v of ['True', 'yes', '1', '']) {
      expect(isGuardedSecret(toPlainJson(secret({ 'kollect.dev/allow-full-resource-export': v })))).toBe(true);
    }
  });

  it('decides on the object as it came, so pruning the annotation cannot unlock it', () => {
    const s = toPlainJson(secret({ 'kollect.dev/allow-full-resource-export': 'true' }));
    const out = pruneResource(s, { ...noPrune, pointers: [['metadata', 'annotations']] }) as Record<string, unknown>;
    expect(out.data).toBeDefined();
    expect((out.metadata as Record<string, unknown>).annotations).toBeUndefined();
  });

  it('applies only to core v1 Secrets', () => {
    const other = { ...secret(), apiVersion: 'example.com/v1' } as Json;
    expect(isGuardedSecret(other)).toBe(false);
  });
});

describe('canonical JSON and content hash', () => {
  it('sorts keys at every depth, keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });

  it('same content → same hash regardless of key order; any change → another hash', () => {
    const a = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: 'n', attributes: { x: 1, y: { p: 'q', r: [1, 2] } } };
    const b = { attributes: { y: { r: [1, 2], p: 'q' }, x: 1 }, name: 'n', namespace: 'ns', kind: 'ConfigMap', apiVersion: 'v1' };
    expect(contentHash(a)).toBe(contentHash(b));
    expect(contentHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(contentHash({ ...a, attributes: { ...a.attributes, x: 2 } })).not.toBe(contentHash(a));
    expect(contentHash({ ...a, attributes: { x: 1, y: { p: 'q', r: [2, 1] } } })).not.toBe(contentHash(a));
  });
});
