// CEL expressions Kubernetes users actually write (ValidatingAdmissionPolicy, CRD validation
// rules, kube-state-metrics/Kyverno style extraction), against real-shaped objects: is each
// library's answer right, and how fast does it evaluate a compiled expression?
//   npx tsx bench/cel/k8s.ts   → table on stdout, bench/cel/k8s-results.json
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configMap, deployment, node, pod } from '../../api/extract/testdata/objects.js';
import { compileCel } from '../../api/extract/cel.js';
import { liftObject } from '../../api/extract/cel-input.js';
import { compileProfile } from '../../api/extract/index.js';
import { ADAPTERS, type Adapter, type Compiled, type Norm } from './adapters.js';

type Obj = Record<string, unknown>;
interface Case { expr: string; on: () => Obj; want: unknown }

const D = deployment, P = pod, N = node, C = configMap;
const containers = 'object.spec.template.spec.containers';

export const CASES: Case[] = [
  { on: D, expr: 'object.metadata.name', want: 'web-frontend' },
  { on: D, expr: 'object.spec.replicas', want: 3 },
  { on: D, expr: 'has(object.spec.paused) ? object.spec.paused : false', want: false },
  { on: D, expr: 'object.status.readyReplicas == object.spec.replicas', want: false },
  { on: D, expr: 'object.spec.replicas - object.status.readyReplicas', want: 1 },
  { on: D, expr: `${containers}.map(c, c.image)`, want: ['registry.example.com/shop/web:1.42.0', 'envoyproxy/envoy:latest'] },
  { on: D, expr: `${containers}.all(c, has(c.resources.limits) && has(c.resources.limits.memory))`, want: false },
  { on: D, expr: `${containers}.exists(c, c.image.endsWith(':latest'))`, want: true },
  { on: D, expr: "object.status.conditions.exists(c, c.type == 'Available' && c.status == 'True')", want: true },
  { on: D, expr: "object.status.conditions.filter(c, c.type == 'Progressing')[0].reason", want: 'NewReplicaSetAvailable' },
  { on: D, expr: "object.metadata.labels['app.kubernetes.io/name']", want: 'web' },
  { on: D, expr: "'kubectl.kubernetes.io/last-applied-configuration' in object.metadata.annotations", want: true },
  { on: D, expr: "object.metadata.name.startsWith('web-')", want: true },
  { on: D, expr: `${containers}[0].image.split(':')[1]`, want: '1.42.0' },
  { on: D, expr: 'object.kind.lowerAscii()', want: 'deployment' },
  { on: D, expr: `size(${containers})`, want: 2 },
  { on: D, expr: `${containers}.exists(c, has(c.ports) && c.ports.exists(p, p.containerPort == 8080))`, want: true },
  { on: D, expr: `${containers}[0].ports[0].containerPort + 1`, want: 8081 },
  { on: D, expr: 'double(object.status.readyReplicas) / double(object.spec.replicas) >= 0.5', want: true },
  { on: D, expr: "timestamp(object.metadata.creationTimestamp) < timestamp('2025-01-01T00:00:00Z')", want: true },
  { on: D, expr: "timestamp(object.status.conditions[0].lastTransitionTime) - timestamp(object.metadata.creationTimestamp) > duration('1h')", want: true },
  { on: D, expr: 'timestamp(object.metadata.creationTimestamp).getFullYear()', want: 2024 },
  { on: D, expr: `${containers}.filter(c, !has(c.securityContext) || !has(c.securityContext.runAsNonRoot) || !c.securityContext.runAsNonRoot).map(c, c.name)`, want: ['sidecar'] },
  { on: D, expr: "object.spec.strategy.type == 'RollingUpdate' ? object.spec.strategy.rollingUpdate.maxSurge : 'n/a'", want: '25%' },
  { on: D, expr: 'string(object.spec.replicas) + " replicas"', want: '3 replicas' },
  { on: D, expr: `${containers}.map(c, c.name).join(',')`, want: 'app,sidecar' },
  { on: P, expr: 'object.status.containerStatuses.exists(s, s.restartCount > 3)', want: true },
  { on: P, expr: "object.status.phase == 'Running' && object.status.containerStatuses.all(s, s.ready)", want: false },
  { on: P, expr: 'object.metadata.ownerReferences.filter(o, o.controller).map(o, o.kind + "/" + o.name)[0]', want: 'ReplicaSet/web-frontend-6d9c7b' },
  { on: N, expr: "object.status.conditions.filter(c, c.type == 'Ready')[0].status == 'True'", want: true },
  { on: N, expr: 'int(object.status.capacity.cpu) >= 4', want: true },
  { on: N, expr: "object.metadata.labels.exists(k, k.startsWith('node-role.kubernetes.io/'))", want: true },
  { on: N, expr: "object.status.nodeInfo.kubeletVersion.matches('^v1\\\\.3[0-9]\\\\.')", want: true },
  { on: C, expr: "object.data.exists(k, k.endsWith('.yaml'))", want: true },
  { on: C, expr: 'size(object.data)', want: 3 },
];

function expectedNorm(v: unknown): Norm {
  if (v === null) return { k: 'null' };
  if (typeof v === 'number') return { k: 'num', v, t: 'js' };
  if (typeof v === 'string') return { k: 'str', v };
  if (typeof v === 'boolean') return { k: 'bool', v };
  if (Array.isArray(v)) return { k: 'list', v: v.map(expectedNorm) };
  return { k: 'map', v: Object.entries(v as Obj).map(([k, x]) => [{ k: 'str', v: k }, expectedNorm(x)]) };
}

const same = (a: Norm, b: Norm): boolean => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const canon = (n: Norm): unknown => {
  if (n.k === 'num') return Number(n.v);
  if (n.k === 'list') return n.v.map(canon);
  if (n.k === 'map') return n.v.map(([k, v]) => [canon(k), canon(v)]).sort((x, y) => String(x[0]).localeCompare(String(y[0])));
  return n.k === 'null' ? null : n.v;
};

/** Evaluations per second of one compiled expression, over ~budgetMs after a warm-up. */
function opsPerSec(run: Compiled, bindings: Record<string, unknown>, budgetMs = 150): number {
  for (let i = 0; i < 200; i++) run(bindings);
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs) {
    for (let i = 0; i < 100; i++) run(bindings);
    n += 100;
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

/** Kollect's own path (api/extract): @bufbuild/cel behind the lazy JSON binding, JSON out. */
const KOLLECT: Adapter = {
  name: 'kollect (api/extract)',
  input: () => { throw new Error('not used'); },
  json: (v) => liftObject(v as Obj),
  compile(expr) {
    const c = compileCel(expr);
    if (!c.ok) throw new Error(c.message);
    return (b) => {
      const r = c.program.eval(b.object as ReturnType<typeof liftObject>);
      return r.ok ? { ok: true, value: expectedNorm(r.value) } : { ok: false, error: r.message };
    };
  },
};
const ALL: readonly Adapter[] = [...ADAPTERS, KOLLECT];

interface CaseResult { expr: string; results: Record<string, { ok: boolean; detail?: string; opsPerSec?: number }> }

export function runK8s(): { cases: CaseResult[]; summary: Record<string, { correct: number; total: number; geomeanOpsPerSec: number; inputConversionPerSec: number }> } {
  const cases: CaseResult[] = [];
  for (const c of CASES) {
    const results: CaseResult['results'] = {};
    for (const a of ALL) results[a.name] = measure(a, c);
    cases.push({ expr: c.expr, results });
  }
  const summary: ReturnType<typeof runK8s>['summary'] = {};
  for (const a of ALL) {
    const rs = cases.map((c) => c.results[a.name]!);
    const ok = rs.filter((r) => r.ok);
    const geo = Math.exp(ok.reduce((s, r) => s + Math.log(r.opsPerSec ?? 1), 0) / Math.max(ok.length, 1));
    // Converting one Deployment from JSON into the library's input form, done once per object.
    const obj = deployment();
    const conv = convPerSec(a, obj);
    summary[a.name] = { correct: ok.length, total: rs.length, geomeanOpsPerSec: Math.round(geo), inputConversionPerSec: Math.round(conv) };
  }
  return { cases, summary };
}

/** End to end: rows per second through compileProfile(...).toRow on fresh Deployment objects. */
function rowsPerSec(): { attributes: number; resource: number } {
  const attrs = compileProfile({
    apiVersion: 'apps/v1', kind: 'Deployment', filter: "object.metadata.namespace == 'shop'", scrubKeys: ['valueFrom'],
    attributes: [
      { name: 'replicas', cel: 'object.spec.replicas' },
      { name: 'ready', cel: 'has(object.status.readyReplicas) ? object.status.readyReplicas : 0' },
      { name: 'images', cel: `${containers}.map(c, c.image)` },
      { name: 'app', cel: "object.metadata.labels['app.kubernetes.io/name']" },
      { name: 'latest', cel: `${containers}.exists(c, c.image.endsWith(':latest'))` },
      { name: 'created', cel: 'timestamp(object.metadata.creationTimestamp)' },
      { name: 'available', jsonPath: '{.status.conditions[?(@.type=="Available")].status}' },
      { name: 'part_of', jsonPath: '{.metadata.labels.app\\.kubernetes\\.io/part-of}' },
    ],
  });
  const resource = compileProfile({ apiVersion: 'apps/v1', kind: 'Deployment', export: { mode: 'Resource', prune: { jsonPointers: ['/status'] } } });
  if (!attrs.ok || !resource.ok) throw new Error('bench profiles do not compile');
  const objs = Array.from({ length: 200 }, () => deployment());
  const rate = (p: typeof attrs.profile): number => {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < 1000) for (const o of objs) { p.toRow(o, { target: 't', cluster: 'c' }); n++; }
    return Math.round((n * 1000) / (performance.now() - start));
  };
  return { attributes: rate(attrs.profile), resource: rate(resource.profile) };
}

function convPerSec(a: Adapter, obj: Obj): number {
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < 150) { a.json(obj); n++; }
  return (n * 1000) / (performance.now() - start);
}

function measure(a: Adapter, c: Case): CaseResult['results'][string] {
  let run: Compiled;
  try {
    run = a.compile(c.expr);
  } catch (e) {
    return { ok: false, detail: `compile: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}` };
  }
  const bindings = { object: a.json(c.on()) };
  const out = run(bindings);
  if (!out.ok) return { ok: false, detail: `error: ${out.error.slice(0, 120)}` };
  if (!same(out.value, expectedNorm(c.want))) return { ok: false, detail: `got ${JSON.stringify(canon(out.value))}` };
  return { ok: true, opsPerSec: Math.round(opsPerSec(run, bindings)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { cases, summary } = runK8s();
  const names = ALL.map((a) => a.name);
  const fmt = (r: CaseResult['results'][string]): string => (r.ok ? `ok ${Intl.NumberFormat('en').format(r.opsPerSec ?? 0)}/s` : `FAIL ${r.detail ?? ''}`);
  cases.forEach((c, i) => {
    console.log(`${String(i + 1).padStart(2)}. ${c.expr}`);
    for (const n of names) console.log(`      ${n.padEnd(22)} ${fmt(c.results[n]!)}`);
  });
  console.log('\n| library | correct | geomean evals/s (correct ones) | JSON→input conversions/s (Deployment) |\n|---|---|---|---|');
  for (const n of names) {
    const s = summary[n]!;
    console.log(`| ${n} | ${s.correct}/${s.total} | ${Intl.NumberFormat('en').format(s.geomeanOpsPerSec)} | ${Intl.NumberFormat('en').format(s.inputConversionPerSec)} |`);
  }
  const rows = rowsPerSec();
  console.log(`\ntoRow, 8-attribute Deployment profile (CEL + JSONPath, filter, scrub, hash): ${Intl.NumberFormat('en').format(rows.attributes)} rows/s`);
  console.log(`toRow, Resource mode (prune defaults + pointer + hash): ${Intl.NumberFormat('en').format(rows.resource)} rows/s`);
  const out = fileURLToPath(new URL('./k8s-results.json', import.meta.url));
  writeFileSync(out, `${JSON.stringify({ node: process.version, summary, toRowPerSec: rows, cases }, null, 2)}\n`);
  console.log(`\nwrote ${out}`);
}
