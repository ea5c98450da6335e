// A Target's label and field selectors, evaluated client-side against the shared informer's
// cache (the informer is shared across Targets, so the apiserver cannot filter for one of them).
// Field selectors use the apiserver's syntax (`a=b`, `a==b`, `a!=b`, comma = AND, `\` escapes)
// over any dotted field path; the apiserver itself supports only a few fields per kind, so
// everything it accepts behaves the same here, and more works.
import type { LabelSelector } from '../api/types.js';
import type { KubeObject } from './kube.js';

export type Matcher = (obj: KubeObject) => boolean;

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  constructor(readonly field: string, message: string) { super(`${field}: ${message}`); }
}

const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export function compileLabelSelector(sel: LabelSelector | undefined, field = 'spec.labelSelector'): Matcher {
  if (!sel) return () => true;
  const checks: ((labels: Record<string, string>) => boolean)[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) checks.push((l) => l[k] === v);
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const at = `${field}.matchExpressions[${i}]`;
    if (!req || typeof req.key !== 'string' || !req.key) throw new SelectorError(`${at}.key`, 'required');
    if (!OPERATORS.includes(req.operator)) throw new SelectorError(`${at}.operator`, `must be one of ${OPERATORS.join(', ')}, got "${String(req.operator)}"`);
    const values = req.values ?? [];
    const { key } = req;
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0) throw new SelectorError(`${at}.values`, `must not be empty for ${req.operator}`);
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0) throw new SelectorError(`${at}.values`, `must be empty for ${req.operator}`);
    switch (req.operator) {
      case 'In': checks.push((l) => key in l && values.includes(l[key]!)); break;
      case 'NotIn': checks.push((l) => !(key in l) || !values.includes(l[key]!)); break;
      case 'Exists': checks.push((l) => key in l); break;
      case 'DoesNotExist': checks.push((l) => !(key in l)); break;
    }
  });
  return (obj) => {
    const labels = obj.metadata?.labels ?? {};
    return checks.every((c) => c(labels));
  };
}

/** Splits on unescaped `sep`, keeping escapes for the next step. */
function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) { cur += c + s[i + 1]!; i++; continue; }
    if (c === sep) { out.push(cur); cur = ''; continue; }
    cur += c;
  }
  out.push(cur);
  return out;
}
const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

function fieldValue(obj: KubeObject, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : JSON.stringify(cur);
}

export function compileFieldSelector(sel: string | undefined, field = 'spec.fieldSelector'): Matcher {
  if (!sel || !sel.trim()) return () => true;
  const reqs = splitUnescaped(sel, ',').map((term) => {
    const t = term.trim();
    const m = /^([A-Za-z0-9_.\-/]+)\s*(!=|==|=)\s*(.*)$/s.exec(t);
    if (!m) throw new SelectorError(field, `"${t}" is not a field requirement; use e.g. metadata.name=foo or status.phase!=Running`);
    const [, path, op, raw] = m as unknown as [string, string, string, string];
    const value = unescape(raw.trim());
    return op === '!=' ? (o: KubeObject) => fieldValue(o, path) !== value : (o: KubeObject) => fieldValue(o, path) === value;
  });
  return (obj) => reqs.every((r) => r(obj));
}

export function compileNamespaces(namespaces: string[] | undefined): Matcher {
  if (!namespaces || namespaces.length === 0) return () => true;
  const set = new Set(namespaces);
  return (obj) => set.has(obj.metadata?.namespace ?? '');
}
