// The CRDs are generated from api/types.ts; this test keeps the two from drifting. It regenerates
// everything in memory and compares with the committed files, then walks the types with the
// TypeScript checker (independently of the generator) and compares every property name,
// optionality and scalar type with the CRD schema.
import { sinkTypesOf } from '../../activities/sinks/registry.js';
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { generate, KINDS, crdFileName, CRD_DIR, CHART_CRD_DIR, TYPES_FILE, sinkBlockRules, type Schema } from '../../scripts/gen-crds.js';
import * as api from '../../api/types.js';
import { GROUP, VERSION } from '../../api/constants.js';

interface Crd { spec: { group: string; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } }
const crds = new Map(KINDS.map((k) => {
  const file = path.join(CRD_DIR, crdFileName(k));
  return [k.kind, existsSync(file) ? parse(readFileSync(file, 'utf8')) as Crd : undefined] as const;
}));
const schemaOf = (kind: string): Schema => crds.get(kind)!.spec.versions[0]!.schema.openAPIV3Schema;
const prop = (s: Schema, ...names: string[]): Schema => names.reduce((acc, n) => acc.properties![n] as Schema, s);

describe('deploy/crds and docs/crds.md are generated from api/types.ts', () => {
  const generated = generate();

  const root = path.resolve(CRD_DIR, '../..');
  it.each([...generated.keys()].map((f) => [path.relative(root, f)]))('%s is up to date', (rel) => {
    const file = path.join(root, rel);
    const onDisk = existsSync(file) ? readFileSync(file, 'utf8') : '';
    expect(onDisk === generated.get(file), `${rel} differs from api/types.ts: run npm run gen:crds`).toBe(true);
  });

  it('deploy/crds and the Helm chart\'s crds/ hold the Kollect kinds and nothing else', () => {
    const expected = KINDS.map(crdFileName).sort();
    expect(readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).sort(), 'stale CRD file in deploy/crds: run npm run gen:crds').toEqual(expected);
    expect(readdirSync(CHART_CRD_DIR).sort(), 'stale file in deploy/helm/kollect/crds: run npm run gen:crds').toEqual(expected);
    for (const k of KINDS) expect(crds.get(k.kind)?.spec.group).toBe(GROUP);
    for (const k of KINDS) expect(crds.get(k.kind)?.spec.versions.map((v) => v.name)).toEqual([VERSION]);
  });
});

// ---------- the types, read with the TypeScript checker ----------

type Shape = { kind: 'object'; props: Map<string, { optional: boolean; shape: Shape }> }
  | { kind: 'array'; items: Shape } | { kind: 'map'; values: Shape }
  | { kind: 'string' | 'integer' | 'boolean' };

const program = ts.createProgram([TYPES_FILE], { strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true });
const checker = program.getTypeChecker();
const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(TYPES_FILE)!)!;
const exported = new Map(checker.getExportsOfModule(moduleSymbol).map((s) => [s.name, s]));

function shapeOf(t: ts.Type, at: string): Shape {
  t = checker.getNonNullableType(t);
  if (t.isUnion()) {
    const kinds = new Set(t.types.map((u) => shapeOf(u, at).kind));
    if (kinds.size !== 1) throw new Error(`${at}: union of ${[...kinds].join(', ')}`);
    return shapeOf(t.types[0]!, at);
  }
  if (t.flags & (ts.TypeFlags.StringLike)) return { kind: 'string' };
  if (t.flags & (ts.TypeFlags.NumberLike)) return { kind: 'integer' };
  if (t.flags & (ts.TypeFlags.BooleanLike)) return { kind: 'boolean' };
  if (checker.isArrayType(t)) return { kind: 'array', items: shapeOf(checker.getTypeArguments(t as ts.TypeReference)[0]!, `${at}[]`) };
  const index = checker.getIndexInfosOfType(t);
  if (index.length) return { kind: 'map', values: shapeOf(index[0]!.type, `${at}{}`) };
  const props = new Map<string, { optional: boolean; shape: Shape }>();
  for (const p of checker.getPropertiesOfType(t)) {
    props.set(p.name, { optional: (p.flags & ts.SymbolFlags.Optional) !== 0, shape: shapeOf(checker.getTypeOfSymbol(p), `${at}.${p.name}`) });
  }
  return { kind: 'object', props };
}

/** Differences between a type's shape and a CRD schema, as readable lines. */
function diff(shape: Shape, s: Schema, at: string, out: string[] = []): string[] {
  const type = shape.kind === 'map' ? 'object' : shape.kind;
  if (s.type !== type) { out.push(`${at}: type ${type} in api/types.ts, ${String(s.type)} in the CRD`); return out; }
  if (shape.kind === 'array') diff(shape.items, s.items as Schema, `${at}[]`, out);
  if (shape.kind === 'map') diff(shape.values, s.additionalProperties as Schema, `${at}{}`, out);
  if (shape.kind === 'object') {
    const crdProps = s.properties ?? {};
    const required = new Set(s.required ?? []);
    for (const [name, p] of shape.props) {
      const sub = crdProps[name] as Schema | undefined;
      if (!sub) { out.push(`${at}.${name}: in api/types.ts, missing from the CRD`); continue; }
      if (p.optional === required.has(name)) out.push(`${at}.${name}: ${p.optional ? 'optional' : 'required'} in api/types.ts, not in the CRD`);
      diff(p.shape, sub, `${at}.${name}`, out);
    }
    for (const name of Object.keys(crdProps)) if (!shape.props.has(name)) out.push(`${at}.${name}: in the CRD, missing from api/types.ts`);
  }
  return out;
}

function walk(s: Schema, at: string, visit: (s: Schema, at: string) => void): void {
  visit(s, at);
  for (const [k, v] of Object.entries(s.properties ?? {})) walk(v as Schema, `${at}.${k}`, visit);
  if (s.items) walk(s.items as Schema, `${at}[]`, visit);
  if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}{}`, visit);
}

describe.each(KINDS.map((k) => [k.kind]))('%s: types and CRD agree', (kind) => {
  const kindType = checker.getDeclaredTypeOfSymbol(exported.get(kind)!);
  const member = (name: string) => checker.getTypeOfSymbol(kindType.getProperty(name)!);

  it('spec and status have the same property names, optionality and types as api/types.ts', () => {
    const schema = schemaOf(kind);
    expect(diff(shapeOf(member('spec'), 'spec'), prop(schema, 'spec'), 'spec')).toEqual([]);
    expect(diff(shapeOf(member('status'), 'status'), prop(schema, 'status'), 'status')).toEqual([]);
    expect(Object.keys(schema.properties!).sort()).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'status']);
  });

  it('is structural and self-describing: every field has a description, no refs, no floats', () => {
    const problems: string[] = [];
    walk(schemaOf(kind), kind, (s, at) => {
      if (!s.type) problems.push(`${at}: no type`);
      if (s.type === 'number') problems.push(`${at}: number (use integers)`);
      for (const k of ['$ref', 'anyOf', 'oneOf', 'allOf', 'not', 'const', 'definitions']) if (k in s) problems.push(`${at}: ${k}`);
      const isItem = at.endsWith('[]') || at.endsWith('{}');
      if (!s.description && !isItem && at !== `${kind}.metadata`) problems.push(`${at}: no description`);
    });
    expect(problems).toEqual([]);
  });
});

describe('enums in the CRDs are the constants of api/types.ts', () => {
  const spec = (kind: string): Schema => prop(schemaOf(kind), 'spec');
  it.each([
    ['KollectProfile spec.export.mode', () => prop(spec('KollectProfile'), 'export', 'mode').enum, api.EXPORT_MODES],
    // The spec blocks (api/sinks/index.ts) and the backends (activities/sinks/registry.ts) name the same types.
    ['KollectSnapshotSink spec.type', () => [...prop(spec('KollectSnapshotSink'), 'type').enum!].sort(), sinkTypesOf('KollectSnapshotSink').sort()],
    ['KollectDatabaseSink spec.type', () => [...prop(spec('KollectDatabaseSink'), 'type').enum!].sort(), sinkTypesOf('KollectDatabaseSink').sort()],
    ['KollectEventSink spec.type', () => [...prop(spec('KollectEventSink'), 'type').enum!].sort(), sinkTypesOf('KollectEventSink').sort()],
    ['KollectSnapshotSink spec.format', () => prop(spec('KollectSnapshotSink'), 'format').enum, api.SERIALIZATION_FORMATS],
    ['KollectInventory status.sinkExports[].kind', () => (prop(schemaOf('KollectInventory'), 'status', 'sinkExports').items as Schema).properties!.kind!, api.SINK_KINDS],
  ] as const)('%s', (_name, get, constants) => {
    const got = get();
    expect(Array.isArray(got) ? got : (got as Schema).enum).toEqual([...constants]);
  });

  it('each sink block named after a type is required for that type and refused for the others', () => {
    for (const k of KINDS.filter((x) => x.sinkFamily)) {
      const s = spec(k.kind);
      const blocks = (prop(s, 'type').enum as string[]).filter((t) => s.properties![t]);
      expect(blocks.length, `${k.kind} has no backend block`).toBeGreaterThan(0);
      expect(s['x-kubernetes-validations']).toEqual(expect.arrayContaining(sinkBlockRules(s)));
    }
  });
});
