// The catalog is the one list of metric names: docs/metrics.md's table lists exactly it, and the
// Grafana dashboard shipped with the chart queries no name outside it.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CATALOG, entryOfSample } from './metrics-catalog.js';

const file = (rel: string): string => readFileSync(fileURLToPath(new URL(`../${rel}`, import.meta.url)), 'utf8');

interface Panel { title?: string; targets?: { expr?: string }[]; panels?: Panel[] }

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, label names or durations. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // string literals
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  const names: string[] = [];
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || keywords.has(m[1]!.toLowerCase())) continue; // a function call or a keyword
    names.push(m[1]!);
  }
  return names;
}

describe('metrics catalog', () => {
  it('names each metric once, with Prometheus names and prefixes', () => {
    const names = CATALOG.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const e of CATALOG) {
      expect(e.name).toMatch(e.source === 'temporal' ? /^temporal_[a-z0-9_]+$/ : /^kollect_[a-z0-9_]+$/);
      expect(e.name.endsWith('_total')).toBe(e.type === 'counter');
      for (const l of e.labels) expect(l).toMatch(/^[a-z_][a-z0-9_]*$/);
    }
  });

  it('docs/metrics.md lists exactly the catalog, with each type and label', () => {
    const rows = [...file('docs/metrics.md').matchAll(/^\| `([a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)].map((m) => ({
      name: m[1]!, type: m[2]!, labels: [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((l) => l[1]!),
    }));
    expect(rows.map((r) => r.name).sort()).toEqual(CATALOG.map((e) => e.name).sort());
    for (const e of CATALOG) expect(rows.find((r) => r.name === e.name), e.name).toEqual({ name: e.name, type: e.type, labels: [...e.labels] });
  });

  it('the Grafana dashboard queries only catalog metrics', () => {
    const dash = JSON.parse(file('deploy/helm/kollect/dashboards/kollect.json')) as { panels: Panel[] };
    const exprs = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));
    expect(exprs.length).toBeGreaterThan(10);
    const unknown = exprs.flatMap(({ panel, expr }) => metricNames(expr).filter((n) => !entryOfSample(n)).map((n) => `${panel}: ${n}`));
    expect(unknown).toEqual([]);
    // Every expression reads at least one metric, and the parser finds them.
    for (const { expr } of exprs) expect(metricNames(expr).length, expr).toBeGreaterThan(0);
    expect(metricNames('histogram_quantile(0.95, sum by (le, x) (rate(a_bucket{r="1"}[5m]))) or vector(0)')).toEqual(['a_bucket']);
  });
});
