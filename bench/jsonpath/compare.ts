// JSONPath candidates side by side: the RFC 9535 compliance suite (cts.json, shipped inside the
// jsonpath-rfc9535 npm package), kubectl spellings users paste into profiles, script
// evaluation (is JavaScript reachable from a path?), and speed.
//   npx tsx bench/jsonpath/compare.ts   → tables on stdout, bench/jsonpath/results.json
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { JSONPath } from 'jsonpath-plus';
import { query } from 'jsonpath-rfc9535';
import { compileJsonPath, toRfc9535 } from '../../api/extract/jsonpath.js';
import { deployment, node, pod } from '../../api/extract/testdata/objects.js';

interface Candidate { name: string; run(path: string, doc: unknown): unknown[] }

const plus = (evalMode: false | 'safe'): Candidate => ({
  name: `jsonpath-plus (eval: ${String(evalMode)})`,
  run: (path, doc) => JSONPath<unknown[]>({ path, json: doc as object, eval: evalMode, wrap: true, ignoreEvalErrors: false }),
});
const CANDIDATES: Candidate[] = [
  { name: 'jsonpath-rfc9535', run: (path, doc) => query(doc as never, path) },
  plus(false),
  plus('safe'),
];

// ---------- (a) RFC 9535 compliance suite ----------

interface CtsTest { name: string; selector: string; document?: unknown; result?: unknown[]; results?: unknown[][]; invalid_selector?: boolean }

function cts(): { version: string; tests: CtsTest[] } {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('jsonpath-rfc9535/package.json');
  const file = join(dirname(pkg), 'src/__tests__/jsonpath-compliance-test-suite/cts.json');
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  return { version, tests: (JSON.parse(readFileSync(file, 'utf8')) as { tests: CtsTest[] }).tests };
}

/** Strict: an invalid selector must be refused (an empty result does not count). */
function verdict(c: Candidate, t: CtsTest): boolean {
  let got: unknown[];
  try {
    got = c.run(t.selector, t.document);
  } catch {
    return t.invalid_selector === true;
  }
  if (t.invalid_selector) return false;
  if (t.result) return isDeepStrictEqual(got, t.result);
  return (t.results ?? []).some((r) => isDeepStrictEqual(got, r));
}

function compliance(): { suite: string; total: number; byCategory: Record<string, Record<string, [number, number]>>; totals: Record<string, [number, number]> } {
  const { version, tests } = cts();
  const byCategory: Record<string, Record<string, [number, number]>> = {};
  const totals: Record<string, [number, number]> = {};
  for (const t of tests) {
    const cat = t.invalid_selector ? 'invalid selectors (must be refused)' : (t.name.split(',')[0] ?? 'other');
    for (const c of CANDIDATES) {
      const ok = verdict(c, t);
      const row = (byCategory[cat] ??= {});
      const cell = (row[c.name] ??= [0, 0]);
      cell[1]++;
      if (ok) cell[0]++;
      const tot = (totals[c.name] ??= [0, 0]);
      tot[1]++;
      if (ok) tot[0]++;
    }
  }
  return { suite: `cts.json from jsonpath-rfc9535@${version}`, total: tests.length, byCategory, totals };
}

// ---------- (b) kubectl spellings ----------

interface KCase { path: string; doc: () => unknown; want: unknown }
const KUBECTL: KCase[] = [
  { path: '{.spec.replicas}', doc: deployment, want: 3 },
  { path: '{.metadata.labels.app\\.kubernetes\\.io/name}', doc: deployment, want: 'web' },
  { path: "{.metadata.labels['app.kubernetes.io/name']}", doc: deployment, want: 'web' },
  { path: '{.status.conditions[?(@.type=="Ready")].status}', doc: node, want: 'True' },
  { path: "{.status.conditions[?(@.type=='Ready')].status}", doc: node, want: 'True' },
  { path: '{.spec.template.spec.containers[*].image}', doc: deployment, want: ['registry.example.com/shop/web:1.42.0', 'envoyproxy/envoy:latest'] },
  { path: '{.spec.template.spec.containers[-1].name}', doc: deployment, want: 'sidecar' },
  { path: '{.status.containerStatuses[?(@.restartCount>3)].name}', doc: pod, want: 'sidecar' },
  { path: '{.status.addresses[?(@.type=="InternalIP")].address}', doc: node, want: '10.0.12.7' },
  { path: '{..containerPort}', doc: deployment, want: [8080, 9901] },
  { path: '{.status.capacity.ephemeral-storage}', doc: node, want: '101445540Ki' },
  { path: '{.metadata.labels.node-role\\.kubernetes\\.io/worker}', doc: node, want: '' },
  { path: '{.spec.template.spec.containers[?(@.ports[0].containerPort==8080)].name}', doc: deployment, want: 'app' },
];

const single = (vs: unknown[]): unknown => (vs.length === 0 ? null : vs.length === 1 ? vs[0] : vs);

function kubectl(): { cases: { path: string; results: Record<string, string> }[]; totals: Record<string, number> } {
  const runners: Record<string, (p: string, d: unknown) => unknown> = {
    'kollect (api/extract)': (p, d) => {
      const c = compileJsonPath(p);
      if (!c.ok) throw new Error(c.message);
      const r = c.program.eval(d);
      if (!r.ok) throw new Error(r.message);
      return r.value;
    },
    ...Object.fromEntries(CANDIDATES.map((c) => [`${c.name}, path as written`, (p: string, d: unknown) => single(c.run(p, d))])),
    // The engines behind kollect's kubectl → RFC 9535 translation, without its direct evaluator.
    ...Object.fromEntries(CANDIDATES.map((c) => [`${c.name}, translated`, (p: string, d: unknown) => single(c.run(toRfc9535(p), d))])),
  };
  const totals: Record<string, number> = Object.fromEntries(Object.keys(runners).map((k) => [k, 0]));
  const cases = KUBECTL.map((k) => {
    const results: Record<string, string> = {};
    for (const [name, run] of Object.entries(runners)) {
      try {
        const got = run(k.path, k.doc());
        const ok = isDeepStrictEqual(got, k.want);
        if (ok) totals[name]!++;
        results[name] = ok ? 'ok' : `wrong: ${JSON.stringify(got)?.slice(0, 60)}`;
      } catch (e) {
        results[name] = `error: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 60)}`;
      }
    }
    return { path: k.path, results };
  });
  return { cases, totals };
}

// ---------- (c) is JavaScript reachable from a path? ----------
// Harmless probes: a JavaScript method call and a global lookup inside a filter. A library that
// answers them is evaluating JavaScript written by whoever writes the profile.

const PROBES = [
  { name: 'method call on data', path: "$.items[?(@.name.toUpperCase() == 'WEB')].name" },
  { name: 'global lookup', path: "$.items[?(typeof globalThis === 'object')].name" },
  { name: 'constructor access', path: '$.items[?(@.constructor)].name' },
];

function probes(): Record<string, Record<string, string>> {
  const doc = { items: [{ name: 'web' }] };
  const out: Record<string, Record<string, string>> = {};
  for (const p of PROBES) {
    out[p.name] = {};
    for (const c of CANDIDATES) {
      try {
        const r = c.run(p.path, doc);
        out[p.name]![c.name] = r.length > 0 ? `EVALUATED → ${JSON.stringify(r)}` : 'no match (not evaluated as JS)';
      } catch (e) {
        out[p.name]![c.name] = `refused: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 50)}`;
      }
    }
  }
  return out;
}

// ---------- (d) speed ----------

function perSec(f: () => unknown, ms = 300): number {
  for (let i = 0; i < 200; i++) f();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) { for (let i = 0; i < 50; i++) f(); n += 50; }
  return Math.round((n * 1000) / (performance.now() - start));
}

function speed(): Record<string, Record<string, number>> {
  const d = deployment();
  const paths = {
    simple: '$.spec.template.spec.containers[0].image',
    filter: '$.status.conditions[?(@.type=="Available")].status',
  };
  const out: Record<string, Record<string, number>> = {};
  for (const [label, p] of Object.entries(paths)) {
    const c = compileJsonPath(p);
    if (!c.ok) throw new Error(c.message);
    const row: Record<string, number> = { 'kollect (api/extract)': perSec(() => c.program.eval(d)) };
    for (const cand of CANDIDATES) {
      if (label === 'filter' && cand.name.includes('eval: false')) continue; // filters need eval there
      row[cand.name] = perSec(() => cand.run(p, d));
    }
    out[label] = row;
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const c = compliance();
  const names = CANDIDATES.map((x) => x.name);
  const fmt = ([p, t]: [number, number]): string => `${p}/${t} (${Math.round((100 * p) / t)}%)`;
  console.log(`## RFC 9535 compliance (${c.suite}, ${c.total} tests, strict)\n`);
  console.log(`| category | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|`);
  for (const [cat, row] of Object.entries(c.byCategory).sort()) console.log(`| ${cat} | ${names.map((n) => fmt(row[n]!)).join(' | ')} |`);
  console.log(`| **total** | ${names.map((n) => `**${fmt(c.totals[n]!)}**`).join(' | ')} |`);

  const k = kubectl();
  console.log(`\n## kubectl spellings (${KUBECTL.length} cases)\n`);
  for (const kc of k.cases) {
    console.log(`- \`${kc.path}\``);
    for (const [n, r] of Object.entries(kc.results)) console.log(`    ${n.padEnd(44)} ${r}`);
  }
  console.log(`\n| runner | correct |\n|---|---|\n${Object.entries(k.totals).map(([n, t]) => `| ${n} | ${t}/${KUBECTL.length} |`).join('\n')}`);

  const p = probes();
  console.log('\n## JavaScript reachable from a path?\n');
  console.log(`| probe | ${names.join(' | ')} |\n|---|${names.map(() => '---').join('|')}|`);
  for (const [probe, row] of Object.entries(p)) console.log(`| ${probe} | ${names.map((n) => row[n]).join(' | ')} |`);

  const s = speed();
  console.log('\n## evaluations per second (one Deployment)\n');
  for (const [label, row] of Object.entries(s)) console.log(`- ${label}: ${Object.entries(row).map(([n, v]) => `${n} ${Intl.NumberFormat('en').format(v)}/s`).join('; ')}`);

  const out = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(out, `${JSON.stringify({ node: process.version, compliance: c, kubectl: k, probes: p, speed: s }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}
