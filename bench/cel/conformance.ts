// Runs the official cel-spec conformance suite (as shipped by @bufbuild/cel-spec, in its
// protobuf-JSON form) against every candidate CEL library and prints pass/fail per section.
//   npx tsx bench/cel/conformance.ts            → table on stdout, bench/cel/results.json
//   npx tsx bench/cel/conformance.ts --failures → also lists each library's failing tests
//
// Scope: tests whose inputs and outputs are plain CEL values. Tests that need protobuf
// messages (TestAllTypes, enums, google.protobuf.* objects, a message container) are counted as
// n/a for every library: Kollect evaluates CEL over JSON objects, never over protobuf messages.
// Tests marked disableCheck run without the type checker (only @marcbachmann/cel-js has one).
// Numbers compare by value across int/uint/double, since cel-js has no int/double distinction;
// everything else compares strictly (maps ignore entry order).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tests as suite } from '@bufbuild/cel-spec/testdata/conformance.js';
import { ADAPTERS, type Adapter, type In, type Norm } from './adapters.js';

interface JsonValue { [k: string]: unknown }
interface SimpleTest {
  name: string;
  expr: string;
  value?: JsonValue;
  evalError?: unknown;
  typedResult?: { result?: JsonValue };
  bindings?: Record<string, { value?: JsonValue }>;
  container?: string;
  checkOnly?: boolean;
  disableCheck?: boolean;
}
interface Suite { name: string; suites?: Suite[]; tests?: { original: SimpleTest }[] }

class NotApplicable extends Error {}

// ---------- decoding the suite's cel.expr.Value JSON ----------

function expected(v: JsonValue): Norm {
  if ('int64Value' in v) return { k: 'num', v: BigInt(v.int64Value as string), t: 'int' };
  if ('uint64Value' in v) return { k: 'num', v: BigInt(v.uint64Value as string), t: 'uint' };
  if ('doubleValue' in v) return { k: 'num', v: Number(v.doubleValue), t: 'double' };
  if ('stringValue' in v) return { k: 'str', v: v.stringValue as string };
  if ('bytesValue' in v) return { k: 'bytes', v: Buffer.from(v.bytesValue as string, 'base64').toString('hex') };
  if ('boolValue' in v) return { k: 'bool', v: v.boolValue as boolean };
  if ('nullValue' in v) return { k: 'null' };
  if ('typeValue' in v) return { k: 'type', v: v.typeValue as string };
  if ('listValue' in v) return { k: 'list', v: ((v.listValue as { values?: JsonValue[] }).values ?? []).map(expected) };
  if ('mapValue' in v) {
    const entries = (v.mapValue as { entries?: { key: JsonValue; value: JsonValue }[] }).entries ?? [];
    return { k: 'map', v: entries.map((e) => [expected(e.key), expected(e.value)]) };
  }
  throw new NotApplicable(Object.keys(v).join(','));
}

function input(v: JsonValue): In {
  if ('int64Value' in v) return { k: 'int', v: BigInt(v.int64Value as string) };
  if ('uint64Value' in v) return { k: 'uint', v: BigInt(v.uint64Value as string) };
  if ('doubleValue' in v) return { k: 'double', v: Number(v.doubleValue) };
  if ('stringValue' in v) return { k: 'str', v: v.stringValue as string };
  if ('bytesValue' in v) return { k: 'bytes', v: new Uint8Array(Buffer.from(v.bytesValue as string, 'base64')) };
  if ('boolValue' in v) return { k: 'bool', v: v.boolValue as boolean };
  if ('nullValue' in v) return { k: 'null' };
  if ('listValue' in v) return { k: 'list', v: ((v.listValue as { values?: JsonValue[] }).values ?? []).map(input) };
  if ('mapValue' in v) {
    const entries = (v.mapValue as { entries?: { key: JsonValue; value: JsonValue }[] }).entries ?? [];
    return { k: 'map', v: entries.map((e) => [input(e.key), input(e.value)]) };
  }
  throw new NotApplicable(Object.keys(v).join(','));
}

function equal(a: Norm, b: Norm): boolean {
  if (a.k === 'num' && b.k === 'num') {
    if (typeof a.v === 'number' && Number.isNaN(a.v)) return typeof b.v === 'number' && Number.isNaN(b.v);
    return typeof a.v === typeof b.v ? a.v === b.v : Number(a.v) === Number(b.v);
  }
  if (a.k !== b.k) return false;
  switch (a.k) {
    case 'null': return true;
    case 'list': {
      const bl = (b as typeof a).v;
      return a.v.length === bl.length && a.v.every((x, i) => equal(x, bl[i]!));
    }
    case 'map': {
      const bm = (b as typeof a).v;
      return a.v.length === bm.length && a.v.every(([k, v]) => bm.some(([k2, v2]) => equal(k, k2) && equal(v, v2)));
    }
    default: return (a as { v: unknown }).v === (b as { v: unknown }).v;
  }
}

// ---------- running ----------

export type Verdict = 'pass' | 'fail' | 'n/a';
interface Case { section: string; path: string; test: SimpleTest }

function cases(): Case[] {
  const out: Case[] = [];
  const walk = (s: Suite, section: string, path: string): void => {
    for (const t of s.tests ?? []) out.push({ section, path: `${path}/${t.original.name}`, test: t.original });
    for (const c of s.suites ?? []) walk(c, section, `${path}/${c.name}`);
  };
  for (const s of (suite as Suite).suites ?? []) walk(s, s.name, s.name);
  return out;
}

const PROTO = /TestAllTypes|NestedTestAllTypes|google\.protobuf|cel\.expr\.conformance|\bproto[23]\b|GlobalEnum|NestedEnum/;

function runCase(a: Adapter, c: Case): { verdict: Verdict; detail?: string } {
  const t = c.test;
  if (t.checkOnly || t.container || PROTO.test(t.expr) || PROTO.test(JSON.stringify(t.bindings ?? {}))) return { verdict: 'n/a' };
  let want: Norm | 'error';
  let bindings: Record<string, unknown>;
  try {
    want = t.evalError ? 'error' : expected(t.value ?? t.typedResult?.result ?? { boolValue: true });
    bindings = Object.fromEntries(Object.entries(t.bindings ?? {}).map(([k, b]) => [k, a.input(input(b.value ?? {}))]));
  } catch (e) {
    if (e instanceof NotApplicable) return { verdict: 'n/a' };
    throw e;
  }
  let outcome;
  try {
    outcome = a.compile(t.expr, { check: !t.disableCheck })(bindings);
  } catch (e) {
    outcome = { ok: false as const, error: `compile: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
  }
  if (want === 'error') return outcome.ok ? { verdict: 'fail', detail: `want error, got ${show(outcome.value)}` } : { verdict: 'pass' };
  if (!outcome.ok) return { verdict: 'fail', detail: `want ${show(want)}, got error ${outcome.error}` };
  return equal(want, outcome.value) ? { verdict: 'pass' } : { verdict: 'fail', detail: `want ${show(want)}, got ${show(outcome.value)}` };
}

const show = (n: Norm): string => JSON.stringify(n, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)).slice(0, 160);

export interface SectionResult { section: string; total: number; applicable: number; pass: Record<string, number> }

export function runConformance(): { sections: SectionResult[]; failures: Record<string, string[]> } {
  const all = cases();
  const sections = new Map<string, SectionResult>();
  const failures: Record<string, string[]> = Object.fromEntries(ADAPTERS.map((a) => [a.name, []]));
  for (const c of all) {
    const s = sections.get(c.section) ?? { section: c.section, total: 0, applicable: 0, pass: Object.fromEntries(ADAPTERS.map((a) => [a.name, 0])) };
    sections.set(c.section, s);
    s.total++;
    let applicable = false;
    for (const a of ADAPTERS) {
      const r = runCase(a, c);
      if (r.verdict === 'n/a') continue;
      applicable = true;
      if (r.verdict === 'pass') s.pass[a.name]!++;
      else failures[a.name]!.push(`${c.path}: ${c.test.expr} → ${r.detail ?? ''}`);
    }
    if (applicable) s.applicable++;
  }
  return { sections: [...sections.values()], failures };
}

// The sections the brief and the ADR call "core": plain values, no extensions, no protobuf.
export const CORE = ['basic', 'comparisons', 'conversions', 'fields', 'fp_math', 'integer_math', 'lists', 'logic', 'macros', 'parse', 'plumbing', 'string', 'timestamps'];

function table(sections: SectionResult[]): string {
  const names = ADAPTERS.map((a) => a.name);
  const pct = (n: number, d: number): string => (d ? `${n}/${d} (${Math.round((100 * n) / d)}%)` : '—');
  const rows = sections.map((s) => [s.section, String(s.total), String(s.applicable), ...names.map((n) => pct(s.pass[n]!, s.applicable))]);
  const sum = (list: SectionResult[], label: string): string[] => {
    const app = list.reduce((x, s) => x + s.applicable, 0);
    return [label, String(list.reduce((x, s) => x + s.total, 0)), String(app), ...names.map((n) => pct(list.reduce((x, s) => x + s.pass[n]!, 0), app))];
  };
  rows.push(sum(sections.filter((s) => CORE.includes(s.section)), 'TOTAL core'), sum(sections, 'TOTAL all'));
  const head = ['section', 'tests', 'applicable', ...names];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { sections, failures } = runConformance();
  console.log(table(sections));
  if (process.argv.includes('--failures')) {
    for (const [lib, list] of Object.entries(failures)) console.log(`\n## ${lib}: ${list.length} failures\n${list.join('\n')}`);
  }
  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(out, `${JSON.stringify({ suite: '@bufbuild/cel-spec 0.6.1 (cel-spec v0.25.1)', node: process.version, core: CORE, sections }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}
