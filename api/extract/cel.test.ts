import { describe, expect, it } from 'vitest';
import { tests as conformance } from '@bufbuild/cel-spec/testdata/conformance.js';
import { isCelError, run } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { compileCel, redact } from './cel.js';
import { liftObject } from './cel-input.js';
import { goDuration, rfc3339 } from './cel-json.js';
import { configMap, deployment, node, pod } from './testdata/objects.js';

/** Compiles (must succeed) and evaluates against obj. */
function cel(expr: string, obj: Record<string, unknown> = deployment()): unknown {
  const c = compileCel(expr);
  if (!c.ok) throw new Error(`compile ${expr}: ${c.message}`);
  const r = c.program.eval(liftObject(obj));
  if (!r.ok) throw new Error(`eval ${expr}: ${r.message}`);
  return r.value;
}

function evalError(expr: string, obj: Record<string, unknown> = deployment()): string {
  const c = compileCel(expr);
  if (!c.ok) throw new Error(`compile ${expr}: ${c.message}`);
  const r = c.program.eval(liftObject(obj));
  if (r.ok) throw new Error(`expected an error from ${expr}, got ${JSON.stringify(r.value)}`);
  return r.message;
}

const containers = 'object.spec.template.spec.containers';

describe('CEL over Kubernetes objects', () => {
  it('reads fields, label keys with dots and slashes, and map membership', () => {
    expect(cel('object.metadata.name')).toBe('web-frontend');
    expect(cel("object.metadata.labels['app.kubernetes.io/name']")).toBe('web');
    expect(cel("'kubectl.kubernetes.io/last-applied-configuration' in object.metadata.annotations")).toBe(true);
    expect(cel("object.metadata.labels['node-role.kubernetes.io/worker']", node())).toBe('');
    expect(cel("object.data['config.yaml'].startsWith('listen')", configMap())).toBe(true);
  });

  it('has() guards optional fields at any depth', () => {
    expect(cel('has(object.spec.paused)')).toBe(false);
    expect(cel('has(object.status.readyReplicas) ? object.status.readyReplicas : 0')).toBe(2);
    expect(cel(`${containers}.map(c, has(c.securityContext) && has(c.securityContext.runAsNonRoot))`)).toEqual([true, false]);
    expect(cel('has(object.metadata.annotations)', node())).toBe(false);
  });

  it('map, filter, exists, all, exists_one over containers and conditions', () => {
    expect(cel(`${containers}.map(c, c.image)`)).toEqual(['registry.example.com/shop/web:1.42.0', 'envoyproxy/envoy:latest']);
    expect(cel(`${containers}.filter(c, c.image.endsWith(':latest')).map(c, c.name)`)).toEqual(['sidecar']);
    expect(cel(`${containers}.exists(c, c.ports.exists(p, p.containerPort == 9901))`)).toBe(true);
    expect(cel(`${containers}.all(c, has(c.resources.requests))`)).toBe(true);
    expect(cel("object.status.conditions.exists_one(c, c.status == 'True')", pod())).toBe(true);
    expect(cel("object.status.conditions.filter(c, c.type == 'Ready')[0].status == 'True'", node())).toBe(true);
    expect(cel('object.status.containerStatuses.map(s, s.restartCount)', pod())).toEqual([0, 5]);
    expect(cel("object.data.filter(k, k.endsWith('.json'))", configMap())).toEqual(['feature-flags.json']);
    expect(cel('object.metadata.labels.map(k, k)', configMap())).toEqual(['app.kubernetes.io/name']);
  });

  it('string functions, with the strings extension', () => {
    expect(cel("object.metadata.name.startsWith('web-')")).toBe(true);
    expect(cel(`${containers}[0].image.split(':')`)).toEqual(['registry.example.com/shop/web', '1.42.0']);
    expect(cel('object.kind.lowerAscii() + "/" + object.kind.upperAscii()')).toBe('deployment/DEPLOYMENT');
    expect(cel(`${containers}.map(c, c.name).join(', ')`)).toBe('app, sidecar');
    expect(cel("object.status.nodeInfo.kubeletVersion.matches('^v1\\\\.3[0-9]\\\\.')", node())).toBe(true);
    expect(cel("object.metadata.name.replace('-', '_')")).toBe('web_frontend');
    expect(cel("object.status.nodeInfo.osImage.substring(0, 6).trim()", node())).toBe('Ubuntu');
    expect(cel("object.metadata.name.indexOf('front')")).toBe(4);
    expect(cel('size(object.metadata.name)')).toBe(12);
  });

  it('numbers: integral JSON numbers are CEL ints, others doubles', () => {
    expect(cel('object.spec.replicas + 1')).toBe(4);
    expect(cel('type(object.spec.replicas) == int')).toBe(true);
    expect(cel('object.spec.replicas - object.status.readyReplicas')).toBe(1);
    expect(cel('double(object.status.readyReplicas) / double(object.spec.replicas)')).toBeCloseTo(0.6667, 4);
    expect(cel('int(object.status.capacity.cpu) * 1000', node())).toBe(4000);
    expect(cel('string(object.spec.replicas) + " replicas"')).toBe('3 replicas');
    expect(cel('uint(object.spec.replicas)')).toBe(3);
    expect(cel('object.spec.replicas == 3.0')).toBe(true);
    expect(cel('9007199254740993')).toBe('9007199254740993'); // beyond 2^53: exact, as a string
    expect(cel('-9007199254740991')).toBe(-9007199254740991);
    expect(cel('-9007199254740992')).toBe('-9007199254740992');
    expect(cel('1.0 / 0.0')).toBe('Infinity');
  });

  it('timestamps and durations come out as RFC 3339 and Go duration strings', () => {
    expect(cel('timestamp(object.metadata.creationTimestamp)')).toBe('2024-03-05T10:15:30Z');
    expect(cel("timestamp('2024-03-05T10:15:30.120Z')")).toBe('2024-03-05T10:15:30.120Z');
    expect(cel('timestamp(object.metadata.creationTimestamp).getFullYear()')).toBe(2024);
    expect(cel('int(timestamp(object.metadata.creationTimestamp))')).toBe(1709633730);
    expect(cel('timestamp(object.status.conditions[0].lastTransitionTime) - timestamp(object.metadata.creationTimestamp)')).toBe('2h0m32s');
    expect(cel("timestamp(object.status.conditions[0].lastTransitionTime) - timestamp(object.metadata.creationTimestamp) > duration('1h')")).toBe(true);
    expect(cel("duration('90m')")).toBe('1h30m0s');
    expect(cel("timestamp(object.metadata.creationTimestamp) + duration('24h')")).toBe('2024-03-06T10:15:30Z');
  });

  it('maps, lists, bytes and types become plain JSON', () => {
    expect(cel('object.metadata.labels', configMap())).toEqual({ 'app.kubernetes.io/name': 'web' });
    expect(cel('{"replicas": object.spec.replicas, "ready": object.status.readyReplicas}')).toEqual({ replicas: 3, ready: 2 });
    expect(cel('{1: "one", true: "yes"}')).toEqual({ 1: 'one', true: 'yes' });
    expect(cel(`${containers}[0].resources`)).toEqual({ requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    expect(cel('b"kollect"')).toBe('a29sbGVjdA==');
    expect(cel('type(object.metadata)')).toBe('map');
    expect(cel('null')).toBeNull();
  });

  it('objects from a typed client (Date fields) read as RFC 3339 strings', () => {
    const typed = { ...deployment(), metadata: { name: 'x', creationTimestamp: new Date('2024-03-05T10:15:30Z') } };
    expect(cel('timestamp(object.metadata.creationTimestamp).getHours()', typed)).toBe(10);
  });

  it('runtime errors are values, never exceptions', () => {
    expect(evalError('object.spec.nope')).toMatch(/nope/);
    expect(evalError("object.metadata.labels['missing']")).toMatch(/missing|key/);
    expect(evalError('object.spec.replicas / 0')).toMatch(/divi/);
    expect(evalError("int('abc')")).toBeTruthy();
    expect(evalError('timestamp(object.metadata.name)')).toBeTruthy();
    expect(evalError('object.spec.replicas + "x"')).toMatch(/overload/);
    expect(evalError('9223372036854775807 + object.spec.replicas')).toMatch(/overflow/);
  });

  it('error messages never carry values of the object', () => {
    const secretish = { metadata: { name: 's' }, data: { token: 'c3VwZXItc2VjcmV0', key: 'password' } };
    const msg = evalError('int(object.data.token)', secretish);
    expect(msg).toMatch(/convert/);
    expect(msg).not.toContain('c3VwZXItc2VjcmV0');
    expect(evalError('object.data[object.data.token]', secretish)).not.toContain('c3VwZXItc2VjcmV0');
    expect(redact('value hunter2 and abc', liftObject({ a: ['hunter2'], b: 'abc' }))).toBe('value … and abc');
  });

  it('regex matching is linear-time (RE2): a catastrophic pattern returns at once', () => {
    const start = performance.now();
    expect(cel("object.metadata.name.matches('^(a+)+$')", { metadata: { name: `${'a'.repeat(5000)}!` } })).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('compileCel', () => {
  it('reports syntax errors with their position', () => {
    const c = compileCel('object.spec.replicas +');
    expect(c.ok).toBe(false);
    expect(!c.ok && c.message).toMatch(/1:\d+/);
  });

  it('rejects unknown variables, functions and arities before any object is seen', () => {
    const msg = (e: string): string => { const c = compileCel(e); return c.ok ? 'compiled' : c.message; };
    expect(msg('obj.spec.replicas')).toMatch(/undeclared reference to 'obj'/);
    expect(msg('object.metadata.name.toUpper()')).toMatch(/undeclared function 'toUpper'/);
    expect(msg("object.metadata.name.split(':', 1, 2)")).toMatch(/no overload of 'split'/);
    expect(msg('sizee(object.spec)')).toMatch(/sizee/);
    expect(msg('')).toMatch(/empty/);
    expect(msg('1 + '.repeat(2000) + '1')).toMatch(/longer than/);
  });

  it('caps macro nesting at three levels', () => {
    expect(compileCel('object.a.all(x, x.b.all(y, y.c.exists(z, z > 0)))').ok).toBe(true);
    const deep = compileCel('object.a.all(x, x.b.all(y, y.c.exists(z, z.d.exists(w, w > 0))))');
    expect(!deep.ok && deep.message).toMatch(/nested deeper than 3/);
  });

  it('accepts comprehension variables, type names and namespaced extension functions', () => {
    for (const e of [`${containers}.map(c, c.ports.map(p, p.containerPort))`, 'type(object.spec) == map', 'strings.quote(object.metadata.name)', 'dyn(object.spec.replicas) > 1', '[1, 2].exists(x, x > 1) && {"a": 1}.all(k, k == "a")']) {
      expect(compileCel(e).ok, e).toBe(true);
    }
  });

  it('the name check accepts every conformance expression the library evaluates without free variables', () => {
    // Guards the static check against the library's function set (e.g. after an upgrade).
    const rejected: string[] = [];
    const walk = (s: { tests?: { original: Record<string, unknown> }[]; suites?: unknown[] }): void => {
      for (const { original: o } of s.tests ?? []) {
        const expr = o.expr as string;
        if (o.bindings || o.typeEnv || o.container || o.evalError || /TestAllTypes|google\.protobuf|proto/.test(expr)) continue;
        if (isCelError(run(expr, {}, { funcs: strings }))) continue;
        const c = compileCel(expr);
        // The only rejections: names that are undeclared and merely short-circuited away.
        if (!c.ok && !/^(x|f_unknown\(17\)|a\.\w+\(\)) \|\| true$/.test(expr)) rejected.push(`${expr}: ${c.message}`);
      }
      for (const c of s.suites ?? []) walk(c as typeof s);
    };
    walk(conformance);
    expect(rejected).toEqual([]);
  });
});

describe('CEL → JSON helpers', () => {
  it('formats durations like Go', () => {
    expect(goDuration(0n)).toBe('0s');
    expect(goDuration(1n)).toBe('1ns');
    expect(goDuration(1_500n)).toBe('1.5µs');
    expect(goDuration(250_000_000n)).toBe('250ms');
    expect(goDuration(1_500_000_000n)).toBe('1.5s');
    expect(goDuration(90n * 1_000_000_000n)).toBe('1m30s');
    expect(goDuration(5400n * 1_000_000_000n)).toBe('1h30m0s');
    expect(goDuration(-3661_001_000_000n)).toBe('-1h1m1.001s');
  });

  it('formats timestamps as RFC 3339 UTC with 0, 3, 6 or 9 fraction digits', () => {
    expect(rfc3339(0n, 0)).toBe('1970-01-01T00:00:00Z');
    expect(rfc3339(1709633730n, 120_000_000)).toBe('2024-03-05T10:15:30.120Z');
    expect(rfc3339(1709633730n, 1_000)).toBe('2024-03-05T10:15:30.000001Z');
    expect(rfc3339(1709633730n, 1)).toBe('2024-03-05T10:15:30.000000001Z');
  });
});
