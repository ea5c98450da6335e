import { describe, expect, it } from 'vitest';
import type { KollectProfileSpec } from '../types.js';
import { compileProfile, type CompiledProfile } from './index.js';
import { FILTER_STEP } from './profile.js';
import { contentHash } from './hash.js';
import { ExtractionLimitError, RowQuarantinedError } from './limits.js';
import { configMap, deployment, node, pod, secret } from './testdata/objects.js';

const ctx = { target: 'deployments', cluster: 'prod-eu' };

function compiled(spec: KollectProfileSpec): CompiledProfile {
  const r = compileProfile(spec);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.profile;
}

const deployments: KollectProfileSpec = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  attributes: [
    { name: 'replicas', cel: 'object.spec.replicas' },
    { name: 'ready', cel: 'has(object.status.readyReplicas) ? object.status.readyReplicas : 0' },
    { name: 'images', cel: 'object.spec.template.spec.containers.map(c, c.image)' },
    { name: 'app', cel: "object.metadata.labels['app.kubernetes.io/name']" },
    { name: 'available', jsonPath: '{.status.conditions[?(@.type=="Available")].status}' },
    { name: 'part_of', jsonPath: '{.metadata.labels.app\\.kubernetes\\.io/part-of}' },
    { name: 'created', cel: 'timestamp(object.metadata.creationTimestamp)' },
    { name: 'env', cel: 'object.spec.template.spec.containers[0].env' },
  ],
  filter: "object.metadata.namespace == 'shop'",
  scrubKeys: ['valueFrom'],
};

describe('compileProfile', () => {
  it('names every bad field and carries the compiler message', () => {
    const r = compileProfile({
      apiVersion: '',
      kind: 'Deployment',
      attributes: [
        { name: 'ok', cel: 'object.spec.replicas' },
        { name: 'typo', cel: 'object.spec.replicas +' },
        { name: 'fn', cel: 'object.metadata.name.reverse()' },
        { name: 'path', jsonPath: '{.status.conditions[?(@.type=="Ready"].status}' },
        { name: 'both', cel: 'object.kind', jsonPath: '{.kind}' },
        { name: 'ok' , cel: 'object.kind' },
        { name: 'bad-name', cel: 'object.kind' },
      ],
      filter: 'object.metadata.namespace ==',
      export: { prune: { jsonPointers: ['/ok', 'metadata/name', ''] } },
    });
    expect(r.ok).toBe(false);
    const errors = r.ok ? [] : r.errors;
    const fields = errors.map((e) => e.field);
    expect(fields).toEqual([
      'spec.apiVersion',
      'spec.attributes[1].cel',
      'spec.attributes[2].cel',
      'spec.attributes[3].jsonPath',
      'spec.attributes[4]',
      'spec.attributes[5].name',
      'spec.attributes[6].name',
      'spec.filter',
      'spec.export.prune.jsonPointers[1]',
      'spec.export.prune.jsonPointers[2]',
    ]);
    expect(errors[1]!.message).toMatch(/1:\d+/);
    expect(errors[2]!.message).toMatch(/reverse/);
    expect(errors[4]!.message).toMatch(/exactly one of cel, jsonPath/);
    expect(errors[5]!.message).toMatch(/duplicate/);
  });

  it('requires attributes in Attributes mode and refuses them in Resource mode', () => {
    const none = compileProfile({ apiVersion: 'v1', kind: 'Pod' });
    expect(!none.ok && none.errors[0]!.field).toBe('spec.attributes');
    const both = compileProfile({ apiVersion: 'v1', kind: 'Pod', attributes: [{ name: 'a', cel: 'object.kind' }], export: { mode: 'Resource' } });
    expect(!both.ok && both.errors[0]!.message).toMatch(/Resource/);
    const mode = compileProfile({ apiVersion: 'v1', kind: 'Pod', export: { mode: 'Everything' as never } });
    expect(!mode.ok && mode.errors.map((e) => e.field)).toContain('spec.export.mode');
  });

  it('never throws, whatever it is given', () => {
    for (const bad of [null, 42, 'x', {}, { attributes: 'nope' }, { apiVersion: 'v1', kind: 'Pod', attributes: [null, { name: 1 }] }, { apiVersion: 'v1', kind: 'Pod', scrubKeys: [''], attributes: [{ name: 'a', cel: 5 }] }]) {
      expect(() => compileProfile(bad as unknown as KollectProfileSpec)).not.toThrow();
      expect(compileProfile(bad as unknown as KollectProfileSpec).ok).toBe(false);
    }
  });
});

describe('toRow in Attributes mode', () => {
  it('extracts CEL and JSONPath attributes into a row with identity and hash', () => {
    const row = compiled(deployments).toRow(deployment(), ctx);
    expect(row?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect({ ...row, hash: undefined }).toEqual({
      target: 'deployments',
      cluster: 'prod-eu',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      namespace: 'shop',
      name: 'web-frontend',
      uid: '5f1c2b8e-7a41-4a0e-9c1d-0b6f2f7c9a10',
      attributes: {
        replicas: 3,
        ready: 2,
        images: ['registry.example.com/shop/web:1.42.0', 'envoyproxy/envoy:latest'],
        app: 'web',
        available: 'True',
        part_of: 'shop',
        created: '2024-03-05T10:15:30Z',
        env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'API_TOKEN' }],
      },
      hash: undefined,
    });
    expect(Object.keys(row!.attributes)).toEqual(['replicas', 'ready', 'images', 'app', 'available', 'part_of', 'created', 'env']);
  });

  it('returns null when the filter is false, and counts it', () => {
    const p = compiled(deployments);
    expect(p.toRow({ ...deployment(), metadata: { ...(deployment().metadata as object), namespace: 'other' } }, ctx)).toBeNull();
    expect(p.stats()).toMatchObject({ objects: 1, rows: 0, filtered: 1, errors: {} });
  });

  it('a filter that errors or is not a bool excludes the object and records the error', () => {
    const p = compiled({ apiVersion: 'v1', kind: 'Node', attributes: [{ name: 'n', cel: 'object.metadata.name' }], filter: "object.metadata.labels['team'] == 'a'" });
    expect(p.toRow(node(), ctx)).toBeNull();
    expect(p.stats().errors).toEqual({ 'spec.filter': 1 });
    const q = compiled({ apiVersion: 'v1', kind: 'Node', attributes: [{ name: 'n', cel: 'object.metadata.name' }], filter: 'object.metadata.name' });
    expect(q.toRow(node(), ctx)).toBeNull();
    expect(q.stats().lastError?.message).toMatch(/bool/);
  });

  it('a failing attribute is left out of the row (not null), reported per row and counted; the others and the row survive', () => {
    const p = compiled({
      apiVersion: 'v1',
      kind: 'Pod',
      attributes: [
        { name: 'node', cel: 'object.spec.nodeName' },
        { name: 'missing', cel: 'object.status.nope' },
        { name: 'restarts', cel: 'object.status.containerStatuses.map(s, s.restartCount)' },
        { name: 'cpu', cel: "int(object.spec.containers[0].resources.limits.memory)" },
      ],
    });
    for (let i = 0; i < 3; i++) {
      const issues: { field: string; message: string }[] = [];
      const row = p.toRow(pod(), ctx, undefined, issues);
      expect(row?.attributes).toEqual({ node: 'worker-2', restarts: [0, 5] });
      expect(Object.hasOwn(row!.attributes, 'missing')).toBe(false);
      expect(issues.map((e) => e.field)).toEqual(['spec.attributes[1].cel', 'spec.attributes[3].cel']);
      expect(issues[0]!.message).toMatch(/^attribute 'missing': /);
      expect(issues[1]!.message).not.toContain('512Mi');
    }
    const stats = p.stats();
    expect(stats.errors).toEqual({ 'spec.attributes[1].cel': 3, 'spec.attributes[3].cel': 3 });
    expect(stats.lastError?.field).toBe('spec.attributes[3].cel');
    expect(stats.lastError?.message).not.toContain('512Mi');
    p.resetStats();
    expect(p.stats()).toEqual({ objects: 0, rows: 0, filtered: 0, errors: {} });
  });

  it('never throws on objects that are not Kubernetes objects', () => {
    const p = compiled(deployments);
    for (const o of [null, undefined, 42, 'x', [], {}, { metadata: {} }, { metadata: { name: 7 } }]) {
      expect(p.toRow(o, ctx)).toBeNull();
    }
    expect(p.stats().errors.object).toBe(8);
    // Odd but valid objects: fields of unexpected types only fail their attribute.
    const odd = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'odd', namespace: 'shop' }, spec: 'weird' };
    expect(p.toRow(odd, ctx)?.attributes).not.toHaveProperty('replicas');
  });

  it('scrubKeys remove keys anywhere in attribute values, attribute names included', () => {
    const p = compiled({
      apiVersion: 'v1',
      kind: 'Pod',
      attributes: [{ name: 'token', cel: '"x"' }, { name: 'statuses', jsonPath: '{.status.containerStatuses}' }],
      scrubKeys: ['token', 'lastState', 'image'],
    });
    const row = p.toRow(pod(), ctx)!;
    expect(row.attributes.token).toBeUndefined();
    expect(row.attributes.statuses).toEqual([
      { name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: '2024-03-05T10:15:50Z' } } },
      { name: 'sidecar', ready: false, restartCount: 5, state: { waiting: { reason: 'CrashLoopBackOff' } } },
    ]);
  });

  it('does not modify the object it is given (the informer cache holds it)', () => {
    const obj = pod();
    const before = JSON.stringify(obj);
    compiled({ apiVersion: 'v1', kind: 'Pod', attributes: [{ name: 's', jsonPath: '{.status}' }], scrubKeys: ['podIP'] }).toRow(obj, ctx);
    compiled({ apiVersion: 'v1', kind: 'Pod', export: { mode: 'Resource', prune: { jsonPointers: ['/spec'], scrubKeys: ['image'] } } }).toRow(obj, ctx);
    expect(JSON.stringify(obj)).toBe(before);
  });

  it('cluster-scoped objects get namespace "" and objects without uid get uid ""', () => {
    const p = compiled({ apiVersion: 'v1', kind: 'Node', attributes: [{ name: 'ready', jsonPath: '{.status.conditions[?(@.type=="Ready")].status}' }, { name: 'cpu', cel: 'int(object.status.capacity.cpu)' }] });
    const row = p.toRow(node(), ctx)!;
    expect([row.namespace, row.name, row.attributes]).toEqual(['', 'worker-2', { ready: 'True', cpu: 4 }]);
    const n = node();
    delete (n.metadata as Record<string, unknown>).uid;
    expect(p.toRow(n, ctx)?.uid).toBe('');
  });
});

describe('row hash', () => {
  const p = compiled({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'data', cel: 'object.data' }, { name: 'labels', jsonPath: '{.metadata.labels}' }] });

  it('is the same for the same object whatever its key order, and covers the whole body (target and cluster too)', () => {
    const a = configMap();
    const reordered = { metadata: a.metadata, data: Object.fromEntries(Object.entries(a.data as object).reverse()), kind: a.kind, apiVersion: a.apiVersion };
    const h = p.toRow(a, ctx)!.hash;
    expect(p.toRow(reordered, ctx)!.hash).toBe(h);
    // The hash is the body's key in the store: two bodies that differ anywhere must not share it.
    expect(p.toRow(a, { ...ctx, cluster: 'other' })!.hash).not.toBe(h);
    expect(p.toRow(a, { ...ctx, target: 'other' })!.hash).not.toBe(h);
    expect(p.toRow({ ...a, metadata: { ...(a.metadata as object), uid: 'recreated' } }, ctx)!.hash).not.toBe(h);
    const { hash, ...body } = p.toRow(a, ctx)!;
    expect(hash).toBe(contentHash(body));
  });

  it('ignores fields that no attribute reads, and changes when an attribute changes', () => {
    const a = configMap();
    const h = p.toRow(a, ctx)!.hash;
    expect(p.toRow({ ...a, metadata: { ...(a.metadata as object), resourceVersion: '9999' } }, ctx)!.hash).toBe(h);
    expect(p.toRow({ ...a, data: { ...(a.data as object), LOG_LEVEL: 'debug' } }, ctx)!.hash).not.toBe(h);
    expect(p.toRow({ ...a, metadata: { ...(a.metadata as object), name: 'renamed' } }, ctx)!.hash).not.toBe(h);
  });

  it('typed-client objects (Dates) hash like their JSON', () => {
    const q = compiled({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'created', jsonPath: '{.metadata.creationTimestamp}' }] });
    const json = configMap();
    const typed = { ...json, metadata: { ...(json.metadata as object), creationTimestamp: new Date('2024-01-10T09:00:00Z') } };
    expect(q.toRow(typed, ctx)!.hash).toBe(q.toRow(json, ctx)!.hash);
  });
});

describe('toRow in Resource mode', () => {
  it('exports the whole object minus default pruning and pointers', () => {
    const p = compiled({ apiVersion: 'apps/v1', kind: 'Deployment', export: { mode: 'Resource', prune: { jsonPointers: ['/status', '/metadata/annotations/deployment.kubernetes.io~1revision'] } } });
    expect(p.attributeNames).toEqual([]);
    const row = p.toRow(deployment(), ctx)!;
    const meta = row.attributes.metadata as Record<string, unknown>;
    expect(Object.keys(meta).sort()).toEqual(['creationTimestamp', 'labels', 'name', 'namespace', 'uid']);
    expect(row.attributes.status).toBeUndefined();
    expect(row.attributes.spec).toEqual(deployment().spec);
  });

  it('status updates that only touch resourceVersion/managedFields do not change the hash', () => {
    const p = compiled({ apiVersion: 'apps/v1', kind: 'Deployment', export: { mode: 'Resource', prune: { jsonPointers: ['/status'] } } });
    const a = deployment();
    const b = deployment();
    (b.metadata as Record<string, unknown>).resourceVersion = '918999';
    (b.metadata as Record<string, unknown>).managedFields = [];
    (b.status as Record<string, unknown>).readyReplicas = 3;
    expect(p.toRow(b, ctx)!.hash).toBe(p.toRow(a, ctx)!.hash);
  });

  it('merges spec.scrubKeys with prune.scrubKeys', () => {
    const p = compiled({ apiVersion: 'apps/v1', kind: 'Deployment', scrubKeys: ['env'], export: { mode: 'Resource', prune: { scrubKeys: ['readinessProbe'] } } });
    const text = JSON.stringify(p.toRow(deployment(), ctx)!.attributes);
    expect(text).not.toMatch(/"env"|readinessProbe|API_TOKEN/);
  });

  it('guards Secrets: no data/stringData unless the object opts in', () => {
    const p = compiled({ apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } });
    const guarded = p.toRow(secret(), ctx)!;
    expect(guarded.attributes.data).toBeUndefined();
    expect(guarded.attributes.stringData).toBeUndefined();
    expect(JSON.stringify(guarded)).not.toMatch(/c3VwZXItc2VjcmV0|aHVudGVyMg|plain-secret/);
    const allowed = p.toRow(secret({ 'kollect.dev/allow-full-resource-export': 'true' }), ctx)!;
    expect(allowed.attributes.data).toEqual({ token: 'c3VwZXItc2VjcmV0', password: 'aHVudGVyMg==' });
    expect(allowed.hash).not.toBe(guarded.hash);
  });

  it('prune.defaults false keeps the bookkeeping fields', () => {
    const p = compiled({ apiVersion: 'apps/v1', kind: 'Deployment', export: { mode: 'Resource', prune: { defaults: false } } });
    expect((p.toRow(deployment(), ctx)!.attributes.metadata as Record<string, unknown>).managedFields).toHaveLength(2);
  });
});

describe('issue 9: scrubKeys spelling and output limits', () => {
  it('refuses a scrubKeys entry with a dot, naming the field; \\. is a literal dot', () => {
    const r = compileProfile({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'd', cel: 'object.data' }], scrubKeys: ['ok', 'data.password'], export: { prune: { scrubKeys: ['a.b'] } } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.field)).toEqual(['spec.scrubKeys[1]', 'spec.export.prune.scrubKeys[0]']);
    expect(!r.ok && r.errors[0]!.message).toMatch(/not paths.*jsonPointers/);
    const p = compiled({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'd', cel: 'object.data' }], scrubKeys: ['config\\.yaml'] });
    expect(Object.keys(p.toRow(configMap(), ctx)!.attributes.d as object)).not.toContain('config.yaml');
  });

  it('warns when an attribute name is itself scrubbed', () => {
    const p = compiled({ apiVersion: 'v1', kind: 'Pod', attributes: [{ name: 'token', cel: '"x"' }, { name: 'ip', jsonPath: '{.status.podIP}' }], scrubKeys: ['token'] });
    expect(p.warnings).toEqual([{ field: 'spec.attributes[0].name', message: "'token' is also in scrubKeys: this attribute is removed from every row" }]);
    expect(compiled(deployments).warnings).toEqual([]);
  });

  it('an attribute over maxAttributeBytes throws ExtractionLimitError naming the expression; a row over maxRowBytes or maxDepth is quarantined (RowQuarantinedError)', () => {
    const big = compileProfile({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'ok', cel: '"x"' }, { name: 'blob', cel: '"ab" + object.data.blob' }] }, { maxAttributeBytes: 1000 });
    if (!big.ok) throw new Error(JSON.stringify(big.errors));
    const cm = { ...configMap(), data: { blob: 'x'.repeat(2000) } };
    expect(() => big.profile.toRow(cm, ctx)).toThrow(ExtractionLimitError);
    try { big.profile.toRow(cm, ctx); } catch (e) {
      expect(e).toMatchObject({ field: 'spec.attributes[1].cel', limit: '1000 bytes (KOLLECT_EXTRACT_MAX_ATTRIBUTE_BYTES)' });
      expect((e as Error).message).toMatch(/^spec\.attributes\[1\]\.cel: attribute 'blob' is 20\d\d bytes of JSON; limit 1000 bytes/);
    }
    const row = compileProfile({ apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource' } }, { maxRowBytes: 1024 });
    if (!row.ok) throw new Error('compile');
    expect(() => row.profile.toRow(cm, ctx)).toThrow(RowQuarantinedError);
    expect(() => row.profile.toRow(cm, ctx)).toThrow(/^shop\/[a-z-]+ is \d+ bytes of JSON; limit 1 KiB per row \(KOLLECT_EXTRACT_MAX_ROW_BYTES\)$/);
    const many = compileProfile({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'a', jsonPath: '{.data.blob}' }, { name: 'b', jsonPath: '{.data.blob}' }] }, { maxRowBytes: 3000 });
    if (!many.ok) throw new Error('compile');
    expect(() => many.profile.toRow(cm, ctx)).toThrow(/^the attributes of .* are 40\d\d bytes of JSON; limit 3000 bytes per row/);
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 3000; i++) deep = { d: deep };
    const shallow = compileProfile({ apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'n', cel: 'object.metadata.name' }] }, { maxDepth: 100 });
    if (!shallow.ok) throw new Error('compile');
    expect(() => shallow.profile.toRow({ ...configMap(), data: deep }, ctx)).toThrow(/^shop\/[a-z-]+ nests deeper than 100 levels; limit 100 levels \(KOLLECT_EXTRACT_MAX_DEPTH\)$/);
    expect(shallow.profile.toRow(configMap(), ctx)?.attributes.n).toBeTruthy();
    expect(() => many.profile.toRow(configMap(), ctx)).not.toThrow();
  });

  it('names the expression at each step for whoever stops a slow run', () => {
    const p = compiled(deployments);
    const steps: number[] = [];
    p.toRow(deployment(), ctx, (s) => steps.push(s));
    expect(steps).toEqual([FILTER_STEP, 0, 1, 2, 3, 4, 5, 6, 7]);
    expect([p.fieldOfStep(FILTER_STEP), p.fieldOfStep(4)]).toEqual(['spec.filter', 'spec.attributes[4].jsonPath']);
  });
});
