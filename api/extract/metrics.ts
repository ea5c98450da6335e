// Custom resource metrics of a KollectProfile (spec.metrics, kube-state-metrics style): compiled
// with the profile, evaluated on each object next to its row, and summed per target and label
// tuple by the watcher (watcher/custom-metrics.ts). The samples never travel to Temporal.
import type { ProfileMetric } from '../types.js';
import { compileCel, type CelProgram } from './cel.js';
import type { JsonObjectMap } from './cel-input.js';
import { compileJsonPath, type JsonPathProgram } from './jsonpath.js';

export interface FieldProblem { field: string; message: string }

/** At most this many labels per metric (the CRD says the same). */
export const MAX_METRIC_LABELS = 8;
/** Label values longer than this are cut (a label is a dimension, not a payload). */
export const MAX_LABEL_VALUE = 256;
/** The label every series carries: namespace/name of the KollectTarget. */
export const TARGET_LABEL = 'target';

const METRIC_NAME = /^kollect_custom_[a-zA-Z0-9_]+$/;
const RESERVED_SUFFIX = /_(total|count|sum|bucket)$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A compiled metric, as the exposition needs it. */
export interface MetricShape { name: string; help: string; labelNames: readonly string[] }

interface CompiledMetric extends MetricShape {
  field: string;
  value: { kind: 'one' } | { kind: 'attribute'; name: string } | { kind: 'cel'; program: CelProgram } | { kind: 'jsonPath'; program: JsonPathProgram };
  labelAttributes: readonly string[];
}

/** What one object contributes: `metric` indexes the profile's metrics, `labels` follow its labelNames. */
export interface MetricSample { metric: number; labels: string[]; value: number }

export interface CompiledMetrics {
  readonly shapes: readonly MetricShape[];
  readonly usesCel: boolean;
  /** The samples of one object whose row has `attributes`; failures are reported to `fail` (field, message). */
  samples(plain: unknown, cel: () => JsonObjectMap, attributes: Record<string, unknown>, fail: (field: string, message: string) => void): MetricSample[];
}

export function compileMetrics(list: unknown, attributeNames: ReadonlySet<string>, maxJsonPathNodes: number, problems: FieldProblem[]): CompiledMetrics {
  const err = (field: string, message: string): void => { problems.push({ field, message }); };
  const out: CompiledMetric[] = [];
  if (list === undefined || list === null) return build(out);
  if (!Array.isArray(list)) { err('spec.metrics', 'must be a list'); return build(out); }
  const names = new Set<string>();
  list.forEach((raw: ProfileMetric, i) => {
    const at = `spec.metrics[${i}]`;
    if (raw === null || typeof raw !== 'object') { err(at, 'must be an object with name'); return; }
    const before = problems.length;
    if (typeof raw.name !== 'string' || !METRIC_NAME.test(raw.name)) err(`${at}.name`, 'must start with kollect_custom_ followed by letters, digits and _ (Prometheus metric name rules)');
    else if (RESERVED_SUFFIX.test(raw.name)) err(`${at}.name`, `'${raw.name}' ends in a suffix Prometheus reserves for counters and histograms (_total, _count, _sum, _bucket); these metrics are gauges`);
    else if (names.has(raw.name)) err(`${at}.name`, `duplicate metric name '${raw.name}'`);
    else names.add(raw.name);
    if (raw.help !== undefined && (typeof raw.help !== 'string' || /[\n\r]/.test(raw.help) || raw.help.length > 256)) err(`${at}.help`, 'one line of at most 256 characters');
    if (raw.type !== undefined && raw.type !== 'gauge') err(`${at}.type`, 'only gauge is supported');

    let value: CompiledMetric['value'] = { kind: 'one' };
    const v = raw.value;
    if (v !== undefined && v !== null) {
      const set = (['cel', 'jsonPath', 'attribute'] as const).filter((k) => v[k] !== undefined && v[k] !== null);
      if (set.length > 1) err(`${at}.value`, 'at most one of cel, jsonPath, attribute');
      else if (set[0] === 'cel') {
        const c = compileCel(String(v.cel));
        if (!c.ok) err(`${at}.value.cel`, c.message); else value = { kind: 'cel', program: c.program };
      } else if (set[0] === 'jsonPath') {
        const c = compileJsonPath(String(v.jsonPath), maxJsonPathNodes);
        if (!c.ok) err(`${at}.value.jsonPath`, c.message); else value = { kind: 'jsonPath', program: c.program };
      } else if (set[0] === 'attribute') {
        if (!attributeNames.has(String(v.attribute))) err(`${at}.value.attribute`, `no attribute named '${String(v.attribute)}' in spec.attributes`);
        else value = { kind: 'attribute', name: String(v.attribute) };
      }
    }

    const labels = raw.labels ?? [];
    const labelNames: string[] = [];
    const labelAttributes: string[] = [];
    if (!Array.isArray(labels)) err(`${at}.labels`, 'must be a list');
    else if (labels.length > MAX_METRIC_LABELS) err(`${at}.labels`, `at most ${MAX_METRIC_LABELS} labels (each multiplies the series)`);
    else labels.forEach((l, j) => {
      const lf = `${at}.labels[${j}]`;
      if (l === null || typeof l !== 'object') { err(lf, 'must be an object with name and attribute'); return; }
      if (typeof l.name !== 'string' || !LABEL_NAME.test(l.name) || l.name.startsWith('__')) err(`${lf}.name`, 'letters, digits and _, not starting with a digit or __ (Prometheus label name rules)');
      else if (l.name === TARGET_LABEL) err(`${lf}.name`, `'${TARGET_LABEL}' is set on every series (namespace/name of the target); choose another name`);
      else if (labelNames.includes(l.name)) err(`${lf}.name`, `duplicate label name '${l.name}'`);
      if (typeof l.attribute !== 'string' || !attributeNames.has(l.attribute)) err(`${lf}.attribute`, `no attribute named '${String(l.attribute)}' in spec.attributes (labels come from attributes; export.mode Resource has none)`);
      labelNames.push(String(l.name));
      labelAttributes.push(String(l.attribute));
    });
    if (problems.length > before) return;
    out.push({ name: raw.name, help: raw.help ?? `Custom resource metric ${raw.name}`, labelNames, labelAttributes, value, field: `${at}.value` });
  });
  return build(out);
}

function build(metrics: readonly CompiledMetric[]): CompiledMetrics {
  return {
    shapes: metrics.map(({ name, help, labelNames }) => ({ name, help, labelNames })),
    usesCel: metrics.some((m) => m.value.kind === 'cel'),
    samples(plain, cel, attributes, fail) {
      const out: MetricSample[] = [];
      metrics.forEach((m, i) => {
        let raw: unknown = 1;
        if (m.value.kind === 'attribute') raw = attributes[m.value.name];
        else if (m.value.kind === 'cel') {
          const r = m.value.program.eval(cel());
          if (!r.ok) { fail(`${m.field}.cel`, r.message); return; }
          raw = r.value;
        } else if (m.value.kind === 'jsonPath') {
          const r = m.value.program.eval(plain);
          if (!r.ok) { fail(`${m.field}.jsonPath`, r.message); return; }
          raw = r.value;
        }
        if (raw === null || raw === undefined) return; // absent here: the object adds nothing (as kube-state-metrics)
        const value = toNumber(raw);
        if (value === undefined) { fail(m.field, `not a number: ${describe(raw)}`); return; }
        out.push({ metric: i, labels: m.labelAttributes.map((a) => labelValue(attributes[a])), value });
      });
      return out;
    },
  };
}

/** Numbers, booleans (1/0), numeric text and bigint; a one-element list is its element (JSONPath). */
export function toNumber(v: unknown): number | undefined {
  if (Array.isArray(v) && v.length === 1) return toNumber(v[0]);
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') { const n = Number(v); return Number.isFinite(n) ? n : undefined; }
  return undefined;
}

function labelValue(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > MAX_LABEL_VALUE ? s.slice(0, MAX_LABEL_VALUE) : s;
}

const describe = (v: unknown): string => (Array.isArray(v) ? `a list of ${v.length}` : typeof v === 'object' ? 'an object' : typeof v);

/** Series one target may expose across its profile's metrics; the rest are left out and counted (kollect_custom_metric_series_dropped). */
export const MAX_CUSTOM_SERIES_PER_TARGET = 1_000;
