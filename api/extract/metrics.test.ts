import { describe, expect, it } from 'vitest';
import type { KollectProfileSpec, ProfileMetric } from '../types.js';
import { compileProfile, type CompiledProfile } from './index.js';
import { toNumber } from './metrics.js';

const widgets = (metrics: unknown, extra: Partial<KollectProfileSpec> = {}): KollectProfileSpec => ({
  apiVersion: 'example.kollect.dev/v1', kind: 'Widget',
  attributes: [{ name: 'size', jsonPath: '{.spec.size}' }, { name: 'color', cel: "has(object.spec.color) ? object.spec.color : ''" }],
  metrics: metrics as ProfileMetric[], ...extra,
});
const widget = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'example.kollect.dev/v1', kind: 'Widget', metadata: { name, namespace: 'a', uid: name }, spec });
const ctx = { target: 'widgets', cluster: 'c' };

function compiled(spec: KollectProfileSpec): CompiledProfile {
  const r = compileProfile(spec);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.profile;
}
const fields = (spec: KollectProfileSpec): string[] => { const r = compileProfile(spec); return r.ok ? [] : r.errors.map((e) => e.field); };

describe('profile spec.metrics', () => {
  it('compiles and evaluates attribute, CEL, JSONPath and count metrics with labels from attributes', () => {
    const p = compiled(widgets([
      { name: 'kollect_custom_size', value: { attribute: 'size' }, labels: [{ name: 'color', attribute: 'color' }] },
      { name: 'kollect_custom_double', value: { cel: 'object.spec.size * 2' } },
      { name: 'kollect_custom_path', value: { jsonPath: '{.spec.size}' } },
      { name: 'kollect_custom_objects', help: 'Widgets.' },
    ]));
    expect(p.metrics.map((m) => [m.name, m.labelNames])).toEqual([
      ['kollect_custom_size', ['color']], ['kollect_custom_double', []], ['kollect_custom_path', []], ['kollect_custom_objects', []],
    ]);
    const obj = widget('w', { size: 3, color: 'blue' });
    const row = p.toRow(obj, ctx)!;
    expect(p.samples(obj, row)).toEqual([
      { metric: 0, labels: ['blue'], value: 3 }, { metric: 1, labels: [], value: 6 }, { metric: 2, labels: [], value: 3 }, { metric: 3, labels: [], value: 1 },
    ]);
  });

  it('an object without the value adds nothing; a value that is not a number counts as an extraction error', () => {
    const p = compiled(widgets([{ name: 'kollect_custom_size', value: { jsonPath: '{.spec.size}' } }, { name: 'kollect_custom_color', value: { attribute: 'color' } }]));
    const none = widget('n', {});
    expect(p.samples(none, p.toRow(none, ctx)!)).toEqual([]);
    expect(p.stats().errors['spec.metrics[1].value']).toBe(1); // color '' is not a number
  });

  it('names every bad field at compile time', () => {
    expect(fields(widgets([
      { name: 'widgets' },
      { name: 'kollect_custom_x_total' },
      { name: 'kollect_custom_ok', value: { cel: 'object.spec.size +' } },
      { name: 'kollect_custom_two', value: { cel: '1', attribute: 'size' } },
      { name: 'kollect_custom_ok' },
      { name: 'kollect_custom_labels', labels: [{ name: 'target', attribute: 'size' }, { name: '__x', attribute: 'size' }, { name: 'bad-name', attribute: 'size' }, { name: 'c', attribute: 'nope' }] },
      { name: 'kollect_custom_many', labels: Array.from({ length: 9 }, (_, i) => ({ name: `l${i}`, attribute: 'size' })) },
      { name: 'kollect_custom_attr', value: { attribute: 'nope' }, type: 'counter' },
    ]))).toEqual([
      'spec.metrics[0].name', 'spec.metrics[1].name', 'spec.metrics[2].value.cel', 'spec.metrics[3].value', 'spec.metrics[4].name',
      'spec.metrics[5].labels[0].name', 'spec.metrics[5].labels[1].name', 'spec.metrics[5].labels[2].name', 'spec.metrics[5].labels[3].attribute',
      'spec.metrics[6].labels', 'spec.metrics[7].type', 'spec.metrics[7].value.attribute',
    ]);
  });

  it('in Resource mode labels and attribute values have nothing to read', () => {
    expect(fields({ apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource' }, metrics: [{ name: 'kollect_custom_cms', labels: [{ name: 'n', attribute: 'name' }] }] }))
      .toEqual(['spec.metrics[0].labels[0].attribute']);
    expect(fields({ apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource' }, metrics: [{ name: 'kollect_custom_cms' }] })).toEqual([]);
  });

  it('reads numbers the way Prometheus needs them', () => {
    expect([toNumber(2), toNumber(2n), toNumber(true), toNumber(false), toNumber('1.5'), toNumber([4]), toNumber('x'), toNumber({}), toNumber(Infinity)])
      .toEqual([2, 2, 1, 0, 1.5, 4, undefined, undefined, undefined]);
  });
});
