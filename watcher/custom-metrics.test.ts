import { describe, expect, it } from 'vitest';
import { CustomMetrics, type CustomSeriesCount } from './custom-metrics.js';
import { parsePromText } from '../test/support/prom-text.js';

describe('custom resource metrics exposition', () => {
  const shapes = [{ name: 'kollect_custom_size', help: 'Size "per" color\\.', labelNames: ['color'] }, { name: 'kollect_custom_objects', help: 'Objects.', labelNames: [] }];

  it('sums per target and label tuple, escapes label values, and forgets a target that unregisters', () => {
    const counts = new Map<string, CustomSeriesCount | undefined>();
    const m = new CustomMetrics((t, c) => counts.set(t, c));
    const samples = [
      [{ metric: 0, labels: ['blue'], value: 3 }, { metric: 1, labels: [], value: 1 }],
      [{ metric: 0, labels: ['blue'], value: 5 }, { metric: 1, labels: [], value: 1 }],
      [{ metric: 0, labels: ['say "hi"\n'], value: 2 }, { metric: 1, labels: [], value: 1 }],
    ];
    const off = m.register('a/widgets', { shapes, samples: () => samples });
    const text = m.render();
    expect(text).toContain('# TYPE kollect_custom_size gauge\n');
    const p = parsePromText(text);
    expect(p.samples).toEqual([
      { name: 'kollect_custom_size', labels: { target: 'a/widgets', color: 'blue' }, value: 8 },
      { name: 'kollect_custom_size', labels: { target: 'a/widgets', color: 'say "hi"\n' }, value: 2 },
      { name: 'kollect_custom_objects', labels: { target: 'a/widgets' }, value: 3 },
    ]);
    expect(counts.get('a/widgets')).toEqual({ series: 3, dropped: 0 });
    off();
    expect(m.render()).toBe('');
    expect(counts.get('a/widgets')).toBeUndefined();
  });

  it('caps the series of a target and counts the rest', () => {
    const counts = new Map<string, CustomSeriesCount | undefined>();
    const m = new CustomMetrics((t, c) => counts.set(t, c), 2);
    m.register('a/t', { shapes, samples: () => [['x', 'y', 'z', 'x'].map((c) => ({ metric: 0, labels: [c], value: 1 }))] });
    expect(parsePromText(m.render()).samples.map((s) => [s.labels.color, s.value])).toEqual([['x', 2], ['y', 1]]);
    expect(counts.get('a/t')).toEqual({ series: 2, dropped: 1 });
  });

  it('a newer registration of the same target survives the older one withdrawing', () => {
    const m = new CustomMetrics();
    const old = m.register('a/t', { shapes, samples: () => [[{ metric: 1, labels: [], value: 1 }]] });
    m.register('a/t', { shapes, samples: () => [[{ metric: 1, labels: [], value: 7 }]] });
    old();
    expect(parsePromText(m.render()).samples).toEqual([{ name: 'kollect_custom_objects', labels: { target: 'a/t' }, value: 7 }]);
  });
});
