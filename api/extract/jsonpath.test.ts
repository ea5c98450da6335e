import { describe, expect, it } from 'vitest';
import { compileJsonPath, toRfc9535 } from './jsonpath.js';
import { configMap, deployment, node, pod } from './testdata/objects.js';

function jp(path: string, obj: unknown = deployment()): unknown {
  const c = compileJsonPath(path);
  if (!c.ok) throw new Error(`compile ${path}: ${c.message}`);
  const r = c.program.eval(obj);
  if (!r.ok) throw new Error(`eval ${path}: ${r.message}`);
  return r.value;
}

const rejected = (path: string): string => {
  const c = compileJsonPath(path);
  return c.ok ? `compiled to ${c.program.query}` : c.message;
};

describe('kubectl spelling → RFC 9535', () => {
  it.each([
    ['{.spec.replicas}', '$.spec.replicas'],
    ['.spec.replicas', '$.spec.replicas'],
    ['spec.replicas', '$.spec.replicas'],
    ['$.spec.replicas', '$.spec.replicas'],
    ['{$.spec.replicas}', '$.spec.replicas'],
    ['{.metadata.labels.app\\.kubernetes\\.io/name}', "$.metadata.labels['app.kubernetes.io/name']"],
    ["{.metadata.labels['app.kubernetes.io/name']}", "$.metadata.labels['app.kubernetes.io/name']"],
    ['{.data.tls-cert}', "$.data['tls-cert']"],
    ['{.status.conditions[?(@.type=="Ready")].status}', '$.status.conditions[?(@.type=="Ready")].status'],
    ["{.status.conditions[?(@.type=='Ready')].status}", "$.status.conditions[?(@.type=='Ready')].status"],
    ['{.spec.containers[*].image}', '$.spec.containers[*].image'],
    ['{.spec.containers[0].ports[-1].containerPort}', '$.spec.containers[0].ports[-1].containerPort'],
    ['{..image}', '$..image'],
    ['{.items[0:2].name}', '$.items[0:2].name'],
    ['{.metadata.*}', '$.metadata.*'],
    ['{.a[?(@.labels.app\\.kubernetes\\.io/name=="web")].b}', "$.a[?(@.labels['app.kubernetes.io/name']==\"web\")].b"],
  ])('%s → %s', (kubectl, rfc) => {
    expect(toRfc9535(kubectl)).toBe(rfc);
  });
});

describe('JSONPath attributes', () => {
  it('one match is a scalar, several an array, none null', () => {
    expect(jp('{.spec.replicas}')).toBe(3);
    expect(jp('{.spec.template.spec.containers[*].image}')).toEqual(['registry.example.com/shop/web:1.42.0', 'envoyproxy/envoy:latest']);
    expect(jp('{.spec.template.spec.containers[?(@.name=="app")].image}')).toBe('registry.example.com/shop/web:1.42.0');
    expect(jp('{.spec.paused}')).toBeNull();
    expect(jp('{.spec.template.spec.containers[?(@.name=="none")].image}')).toBeNull();
  });

  it('reads label keys with dots and slashes in kubectl and bracket spelling', () => {
    expect(jp('{.metadata.labels.app\\.kubernetes\\.io/name}')).toBe('web');
    expect(jp("{.metadata.labels['app.kubernetes.io/name']}")).toBe('web');
    expect(jp('{.metadata.labels.node-role\\.kubernetes\\.io/worker}', node())).toBe('');
    expect(jp("{.data['config.yaml']}", configMap())).toBe('listen: :8080\nlog: info\n');
  });

  it('filters conditions the way kubectl users do', () => {
    expect(jp('{.status.conditions[?(@.type=="Ready")].status}', node())).toBe('True');
    expect(jp('{.status.conditions[?(@.status=="False")].type}', node())).toEqual(['MemoryPressure', 'DiskPressure']);
    expect(jp('{.status.containerStatuses[?(@.restartCount > 3)].name}', pod())).toBe('sidecar');
    expect(jp('{.status.addresses[?(@.type=="InternalIP")].address}', node())).toBe('10.0.12.7');
    expect(jp('{.spec.template.spec.containers[?(@.securityContext)].name}')).toBe('app');
    expect(jp('{.status.conditions[?(@.type=="Ready" && @.status=="True")].reason}', node())).toBe('KubeletReady');
  });

  it('objects and arrays come back whole, descendants included', () => {
    expect(jp('{.spec.strategy}')).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
    expect(jp('{..containerPort}')).toEqual([8080, 9901]);
    expect(jp('{.spec.template.spec.containers[-1].name}')).toBe('sidecar');
  });

  it('rejects templates that are not one value', () => {
    expect(rejected('{range .items[*]}{.metadata.name}{end}')).toMatch(/range|one path/);
    expect(rejected('name: {.metadata.name}')).toMatch(/unexpected|one path/);
    expect(rejected('{.metadata.name} {.metadata.namespace}')).toMatch(/one path/);
    expect(rejected('{.metadata.name')).toMatch(/unterminated/);
  });

  it('has no script evaluation: JavaScript in a filter is a syntax error, not code', () => {
    for (const p of [
      '{.a[?(@.constructor.constructor("return process")().exit())]}',
      '{.a[?(process.exit(1))]}',
      '{.a[(@.length-1)]}',
      '{.a[?(@.b.__proto__)]}',
    ]) {
      const c = compileJsonPath(p);
      // Either refused at compile time, or a plain (data-only) query that matches nothing.
      if (c.ok) expect(c.program.eval({ a: [{ b: 1 }] })).toEqual({ ok: true, value: null });
    }
    expect(rejected('{.a[?(process.exit(1))]}')).not.toMatch(/^compiled/);
  });

  it('rejects regex functions (backtracking ECMAScript regexes)', () => {
    expect(rejected('$.items[?match(@.name, "(a+)+$")]')).toMatch(/match\(\) is not allowed/);
    expect(rejected('$.items[?search(@.name, "a")]')).toMatch(/search\(\) is not allowed/);
    expect(compileJsonPath('$.items[?@.name=="match(x)"]').ok).toBe(true);
  });

  it('reports syntax errors and never throws at evaluation', () => {
    expect(rejected('{.spec[?(@.a==]}')).not.toMatch(/^compiled/);
    expect(rejected('')).toMatch(/empty/);
    expect(rejected(`.${'a'.repeat(2000)}`)).toMatch(/longer than/);
    const c = compileJsonPath('{.spec.replicas}');
    expect(c.ok && c.program.eval(undefined)).toEqual({ ok: true, value: null });
    expect(c.ok && c.program.eval('not an object')).toEqual({ ok: true, value: null });
  });
});
