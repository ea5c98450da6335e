// Generates the CRDs under deploy/crds and the field tables of docs/crds.md from api/types.ts,
// the one source of truth of the API. `npm run gen:crds` writes them; test/crds/schema-sync
// regenerates in memory and fails when the committed files differ.
//
// ts-json-schema-generator turns each kind's interface into JSON Schema (JSDoc text becomes
// descriptions, JSDoc tags become keywords); this script then makes the schema structural, as
// the apiserver requires: $refs inlined, no additionalProperties:false, integers instead of
// numbers, and adds what belongs to the CRD rather than to the types (names, printer columns,
// the rule that a sink's backend block goes with its type).
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGenerator, type Definition } from 'ts-json-schema-generator';
import { stringify } from 'yaml';
import { GROUP, VERSION } from '../api/constants.js';
import { sinkDescriptors } from '../activities/sinks/registry.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TYPES_FILE = path.join(root, 'api', 'types.ts');
export const CRD_DIR = path.join(root, 'deploy', 'crds');
/** The Helm chart's copy: Helm installs crds/ of a chart (and never upgrades it: docs/install.md#upgrading). */
export const CHART_CRD_DIR = path.join(root, 'deploy', 'helm', 'kollect', 'crds');
export const DOCS_FILE = path.join(root, 'docs', 'crds.md');
export const SAMPLES_DIR = path.join(root, 'deploy', 'samples');

export type Schema = Definition & {
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
};
export interface ValidationRule { rule: string; message: string; fieldPath?: string; reason?: string }
interface PrinterColumn { name: string; type: string; jsonPath: string; description: string; priority?: number }

export interface KindDef {
  kind: string;
  plural: string;
  shortNames: string[];
  /** Sink kinds: spec.type chooses the backend block named after it. */
  sinkFamily?: boolean;
  /** Cluster-scoped kinds (KollectClusterTarget, KollectClusterInventory); namespaced otherwise. */
  clusterScoped?: boolean;
  /** CEL rules on the whole object (e.g. its metadata.name). */
  rules?: ValidationRule[];
  columns: PrinterColumn[];
}

const condition = (type: string, description: string): PrinterColumn =>
  ({ name: type, type: 'string', jsonPath: `.status.conditions[?(@.type=="${type}")].status`, description });
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since creation.' };
// The endpoint column reads status.preview, which the operator resolves through each type's
// descriptor: one column whatever the type's block calls its address.
const sinkColumns: PrinterColumn[] = [
  { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Backend type.' },
  condition('Ready', 'Whether the sink is usable.'),
  { name: 'Endpoint', type: 'string', jsonPath: '.status.preview.endpoint', description: 'What the sink connects to (never holds a credential).', priority: 1 },
  age,
];

export const KINDS: KindDef[] = [
  { kind: 'KollectProfile', plural: 'kollectprofiles', shortNames: ['kprof'], columns: [
    { name: 'API Version', type: 'string', jsonPath: '.spec.apiVersion', description: 'Watched API version.', priority: 1 },
    { name: 'Kind', type: 'string', jsonPath: '.spec.kind', description: 'Watched kind.' },
    { name: 'Mode', type: 'string', jsonPath: '.spec.export.mode', description: 'Export mode.' },
    condition('Ready', 'Whether the profile is valid and its kind served.'), age] },
  { kind: 'KollectTarget', plural: 'kollecttargets', shortNames: ['ktgt'], columns: [
    { name: 'Profile', type: 'string', jsonPath: '.spec.profileRef.name', description: 'The KollectProfile.' },
    { name: 'Objects', type: 'integer', jsonPath: '.status.objects', description: 'Objects selected.' },
    condition('Ready', 'Whether the target is collecting.'), age] },
  { kind: 'KollectInventory', plural: 'kollectinventories', shortNames: ['kinv'], columns: [
    condition('Ready', 'Whether targets and sinks resolve and the workflow runs.'),
    condition('Synced', 'Whether every sink holds the current snapshot.'),
    { name: 'Rows', type: 'integer', jsonPath: '.status.rows', description: 'Rows in the current snapshot.' },
    { name: 'Interval', type: 'string', jsonPath: '.spec.exportMinInterval', description: 'Minimum time between exports.', priority: 1 },
    { name: 'Workflow', type: 'string', jsonPath: '.status.workflowId', description: 'Temporal workflow ID.', priority: 1 },
    age] },
  { kind: 'KollectSnapshotSink', plural: 'kollectsnapshotsinks', shortNames: ['ksnap'], sinkFamily: true, columns: sinkColumns },
  { kind: 'KollectDatabaseSink', plural: 'kollectdatabasesinks', shortNames: ['kdb'], sinkFamily: true, columns: sinkColumns },
  { kind: 'KollectEventSink', plural: 'kollecteventsinks', shortNames: ['kevt'], sinkFamily: true, columns: sinkColumns },
  { kind: 'KollectConnectionTest', plural: 'kollectconnectiontests', shortNames: ['kct'], columns: [
    { name: 'Sink', type: 'string', jsonPath: '.spec.sinkRef.name', description: 'The sink probed.' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Running, Succeeded or Failed.' },
    { name: 'Latency', type: 'integer', jsonPath: '.status.latencyMs', description: 'Probe time in milliseconds.' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'What the probe found.', priority: 1 },
    age] },
  { kind: 'KollectScope', plural: 'kollectscopes', shortNames: ['kscope'], rules: [
    { rule: "self.metadata.name == 'default'", message: 'a KollectScope must be named default: one per namespace', reason: 'FieldValueInvalid' }], columns: [
    { name: 'Namespaces', type: 'string', jsonPath: '.spec.namespaces', description: 'Namespaces granted besides its own.' },
    { name: 'Sink Types', type: 'string', jsonPath: '.spec.sinkTypes', description: 'Sink types allowed (unset: any).', priority: 1 },
    condition('Ready', 'Whether the operator enforces it.'), age] },
  { kind: 'KollectClusterTarget', plural: 'kollectclustertargets', shortNames: ['kctgt'], clusterScoped: true, columns: [
    { name: 'Profile Namespace', type: 'string', jsonPath: '.spec.profileRef.namespace', description: 'Namespace of the KollectProfile.' },
    { name: 'Profile', type: 'string', jsonPath: '.spec.profileRef.name', description: 'The KollectProfile.' },
    { name: 'Objects', type: 'integer', jsonPath: '.status.objects', description: 'Objects selected.' },
    condition('Ready', 'Whether the target is collecting.'), age] },
  { kind: 'KollectClusterInventory', plural: 'kollectclusterinventories', shortNames: ['kcinv'], clusterScoped: true, columns: [
    condition('Ready', 'Whether targets and sinks resolve and the workflow runs.'),
    condition('Synced', 'Whether every sink holds the current snapshot.'),
    { name: 'Rows', type: 'integer', jsonPath: '.status.rows', description: 'Rows in the current snapshot.' },
    { name: 'Workflow', type: 'string', jsonPath: '.status.workflowId', description: 'Temporal workflow ID.', priority: 1 },
    age] },
];

// ---------- types → structural schema ----------

/** JSDoc tags read from api/types.ts besides the standard JSON Schema ones. */
const EXTRA_TAGS = ['x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'eachItem'];
const KEY_ORDER = ['description', 'type', 'format', 'enum', 'default', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'maxProperties', 'required', 'properties', 'additionalProperties', 'items',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-validations'];

/** Schema keys allowed in the output; anything else means the types use a construct we do not map. */
const ALLOWED = new Set(KEY_ORDER);

/** Inlines $refs, merging a property's own annotations over the referenced definition's. */
function inline(s: Definition, defs: Record<string, Definition>, at: string): Schema {
  let out: Schema = { ...s };
  if (typeof s.$ref === 'string') {
    const name = decodeURIComponent(s.$ref.replace('#/definitions/', ''));
    const def = defs[name];
    if (!def) throw new Error(`${at}: unresolved $ref ${s.$ref}`);
    const { $ref: _ref, ...own } = out;
    const base = inline(def, defs, at);
    const rules = [...(base['x-kubernetes-validations'] ?? []), ...(own['x-kubernetes-validations'] ?? [])];
    out = { ...base, ...own };
    if (rules.length) out['x-kubernetes-validations'] = rules;
  }
  // kubectl explain does not print defaults: say them in the description.
  if (out.description && out.default !== undefined && typeof out.default !== 'object' && !/default/i.test(out.description)) {
    out.description = `${out.description} Default: \`${String(out.default)}\`.`;
  }
  if (out.additionalProperties === false) delete out.additionalProperties;
  // A one-member union (a family with one sink type) comes out as const: CRDs take an enum.
  if ('const' in out) { out.enum = [out.const as string]; delete out.const; }
  if (out.type === 'number') out.type = 'integer'; // Kubernetes API conventions: no floats.
  if (out.properties) {
    out.properties = Object.fromEntries(Object.entries(out.properties).map(([k, v]) => [k, inline(v as Definition, defs, `${at}.${k}`)]));
  }
  if (out.items) {
    const items = inline(out.items as Definition, defs, `${at}[]`);
    const each = (out as Record<string, unknown>).eachItem as Schema | undefined;
    delete (out as Record<string, unknown>).eachItem;
    out.items = each ? { ...items, ...each } : items;
  }
  if (typeof out.additionalProperties === 'object') out.additionalProperties = inline(out.additionalProperties, defs, `${at}{}`);
  for (const k of Object.keys(out)) if (!ALLOWED.has(k)) throw new Error(`${at}: schema keyword "${k}" is not supported in a CRD schema (from ${JSON.stringify(s)})`);
  return sortKeys(out);
}

function sortKeys(s: Schema): Schema {
  const entries = Object.entries(s).sort(([a], [b]) => KEY_ORDER.indexOf(a) - KEY_ORDER.indexOf(b));
  return Object.fromEntries(entries);
}

const kindRoot = (at: string): string => at.split('.')[0]!;

/** Every property of every object must say what it is: `kubectl explain` is the API's manual. */
function missingDescriptions(s: Schema, at: string, out: string[] = []): string[] {
  for (const [k, v] of Object.entries(s.properties ?? {})) {
    const p = v as Schema;
    if (!p.description && !(at === kindRoot(at) && k === 'metadata')) out.push(`${at}.${k}`);
    missingDescriptions(p, `${at}.${k}`, out);
  }
  if (s.items) missingDescriptions(s.items as Schema, `${at}[]`, out);
  return out;
}

/** spec.type selects the backend; its settings are the block named after it (spec.git for git). */
export function sinkBlockRules(spec: Schema): ValidationRule[] {
  const types = ((spec.properties?.type as Schema | undefined)?.enum ?? []) as string[];
  const blocks = types.filter((t) => spec.properties?.[t]).flatMap((t): ValidationRule[] => [
    { rule: `self.type != '${t}' || has(self.${t})`, message: `spec.${t} is required when spec.type is ${t}`, fieldPath: `.${t}`, reason: 'FieldValueRequired' },
    { rule: `!has(self.${t}) || self.type == '${t}'`, message: `spec.${t} is only allowed when spec.type is ${t}`, fieldPath: `.${t}`, reason: 'FieldValueForbidden' },
  ]);
  // spec.format: each type accepts the formats its descriptor writes.
  const formats = spec.properties?.format ? types.map((t) => sinkDescriptors[t]).filter((d) => d !== undefined).map((d): ValidationRule => (d.formats.length
    ? { rule: `self.type != '${d.type}' || !has(self.format) || self.format in [${d.formats.map((f) => `'${f}'`).join(', ')}]`, message: `sink type ${d.type} writes ${d.formats.join(' or ')}`, fieldPath: '.format', reason: 'FieldValueInvalid' }
    : { rule: `self.type != '${d.type}' || !has(self.format)`, message: `sink type ${d.type} has no spec.format`, fieldPath: '.format', reason: 'FieldValueForbidden' })) : [];
  return [...blocks, ...formats];
}

const META = {
  apiVersion: 'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
  kind: 'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
};

/** The openAPIV3Schema of each kind, keyed by kind. */
export function generateSchemas(typesFile = TYPES_FILE): Map<string, Schema> {
  const gen = createGenerator({ path: typesFile, skipTypeCheck: true, extraTags: EXTRA_TAGS, jsDoc: 'extended', sortProps: false, topRef: false, expose: 'all' });
  const out = new Map<string, Schema>();
  for (const k of KINDS) {
    const raw = gen.createSchema(k.kind);
    const defs = (raw.definitions ?? {}) as Record<string, Definition>;
    const props = raw.properties ?? {};
    const spec = inline(props.spec as Definition, defs, `${k.kind}.spec`);
    const status = inline(props.status as Definition, defs, `${k.kind}.status`);
    if (k.sinkFamily) {
      // The type first: it says which of the blocks below applies.
      const { type, ...rest } = spec.properties ?? {};
      spec.properties = { type: type!, ...rest };
      const rules = [...(spec['x-kubernetes-validations'] ?? []), ...sinkBlockRules(spec)];
      if (rules.length) spec['x-kubernetes-validations'] = rules;
    }
    const schema: Schema = {
      description: raw.description,
      type: 'object',
      required: ['spec'],
      properties: {
        apiVersion: { description: META.apiVersion, type: 'string' },
        kind: { description: META.kind, type: 'string' },
        // The apiserver owns metadata's schema: a CRD may not even describe it.
        metadata: { type: 'object' },
        spec: sortKeys(spec),
        status: sortKeys(status),
      },
      ...(k.rules ? { 'x-kubernetes-validations': k.rules } : {}),
    };
    const missing = missingDescriptions(schema, k.kind);
    if (!raw.description) missing.unshift(k.kind);
    if (missing.length) throw new Error(`add a JSDoc description in api/types.ts for: ${missing.join(', ')}`);
    out.set(k.kind, schema);
  }
  return out;
}

// ---------- CRD manifests ----------

export const crdFileName = (k: KindDef): string => `${GROUP}_${k.plural}.yaml`;

const HEADER = '# Generated by scripts/gen-crds.ts from api/types.ts: do not edit, run `npm run gen:crds`.\n';

export function crdObject(k: KindDef, schema: Schema): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}`, labels: { 'app.kubernetes.io/name': 'kollect', 'app.kubernetes.io/part-of': 'kollect' } },
    spec: {
      group: GROUP,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.kind.toLowerCase(), shortNames: k.shortNames, categories: ['kollect'] },
      scope: k.clusterScoped ? 'Cluster' : 'Namespaced',
      versions: [{
        name: VERSION, served: true, storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: k.columns,
        schema: { openAPIV3Schema: schema },
      }],
    },
  };
}

/** The generated files: CRD manifests (in deploy/crds and the chart) and docs/crds.md, keyed by absolute path. */
export function generate(): Map<string, string> {
  const schemas = generateSchemas();
  const files = new Map<string, string>();
  for (const k of KINDS) {
    const text = HEADER + stringify(crdObject(k, schemas.get(k.kind)!), { lineWidth: 0 });
    for (const dir of [CRD_DIR, CHART_CRD_DIR]) files.set(path.join(dir, crdFileName(k)), text);
  }
  files.set(DOCS_FILE, renderDocs(readFileSync(DOCS_FILE, 'utf8'), schemas));
  return files;
}

// ---------- docs/crds.md ----------

const code = (v: unknown): string => `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeName(s: Schema): string {
  if (s.type === 'array') return `[]${typeName(s.items as Schema)}`;
  if (s.type === 'object' && typeof s.additionalProperties === 'object') return `map[string]${typeName(s.additionalProperties)}`;
  return String(s.type);
}

function constraints(s: Schema): string[] {
  const c: string[] = [];
  if (s.enum) c.push(`one of ${s.enum.map(code).join(', ')}`);
  if (s.format) c.push(`format ${s.format}`);
  if (s.minimum !== undefined) c.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) c.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined && s.minLength > 0) c.push(`non-empty`);
  if (s.maxLength !== undefined) c.push(`≤ ${s.maxLength} chars`);
  if (s.pattern) c.push(`matches ${code(s.pattern)}`);
  if (s.minItems !== undefined) c.push(`≥ ${s.minItems} items`);
  if (s.maxItems !== undefined) c.push(`≤ ${s.maxItems} items`);
  if (s.maxProperties !== undefined) c.push(`≤ ${s.maxProperties} entries`);
  if (s['x-kubernetes-list-type'] === 'map') c.push(`unique ${(s['x-kubernetes-list-map-keys'] ?? []).join(' + ')}`);
  if (s['x-kubernetes-list-type'] === 'set') c.push('unique items');
  for (const r of s['x-kubernetes-validations'] ?? []) c.push(`${r.message} (${code(r.rule)})`);
  return c;
}

function rows(s: Schema, at: string, required: boolean, out: string[]): void {
  if (at) {
    const item = s.items as Schema | undefined;
    const checks = [...constraints(s), ...(item && item.type !== 'object' ? constraints(item).map((c) => `each item: ${c}`) : [])];
    out.push(`| ${code(at)} | ${typeName(s)} | ${required ? 'yes' : ''} | ${s.default !== undefined ? code(s.default) : ''} | ${cell(s.description ?? '')} | ${cell(checks.join('; '))} |`);
  }
  const obj = s.type === 'array' ? (s.items as Schema) : s;
  const prefix = s.type === 'array' ? `${at}[]` : at;
  for (const [k, v] of Object.entries(obj.properties ?? {})) rows(v as Schema, prefix ? `${prefix}.${k}` : k, (obj.required ?? []).includes(k), out);
}

/** The field table of one kind: spec and status, every field, its default and its validation. */
export function fieldTable(schema: Schema): string {
  const out = ['| field | type | required | default | description | validation |', '| --- | --- | --- | --- | --- | --- |'];
  for (const part of ['spec', 'status']) rows(schema.properties![part] as Schema, part, part === 'spec', out);
  return out.join('\n');
}

/** Backend types of a sink kind, with their settings block, formats and docs page (from the descriptors). */
export function sinkTypeTable(schema: Schema): string {
  const spec = schema.properties!.spec as Schema;
  const types = ((spec.properties!.type as Schema).enum ?? []) as string[];
  const out = ['| `spec.type` | settings | formats | docs |', '| --- | --- | --- | --- |'];
  for (const t of types) {
    const d = sinkDescriptors[t];
    if (!d) throw new Error(`sink type ${t} has a spec block (api/sinks/index.ts) but no descriptor in activities/sinks/registry.ts`);
    out.push(`| \`${t}\` | \`spec.${t}\` (required) | ${d.formats.length ? d.formats.map((f, i) => `\`${f}\`${i === 0 ? ' (default)' : ''}`).join(', ') : '—'} | [sinks/${d.docs}](sinks/${d.docs}) |`);
  }
  return out.join('\n');
}

const GENERATED = '<!-- generated by npm run gen:crds: do not edit -->';

/**
 * Fills the generated regions of docs/crds.md: `<!-- fields: Kind -->` (field table),
 * `<!-- types: Kind -->` (sink types) and `<!-- sample: file.yaml -->` (a file of deploy/samples),
 * each closed by `<!-- /generated -->`.
 */
export function renderDocs(doc: string, schemas: Map<string, Schema>, samplesDir = SAMPLES_DIR): string {
  return doc.replace(/<!-- (fields|types|sample): ([\w.-]+) -->[\s\S]*?<!-- \/generated -->/g, (_m, what: string, arg: string) => {
    let body: string;
    if (what === 'sample') {
      body = `\`\`\`yaml\n${readFileSync(path.join(samplesDir, arg), 'utf8').trimEnd()}\n\`\`\``;
    } else {
      const schema = schemas.get(arg);
      if (!schema) throw new Error(`docs/crds.md: unknown kind ${arg}`);
      body = what === 'fields' ? fieldTable(schema) : sinkTypeTable(schema);
    }
    return `<!-- ${what}: ${arg} -->\n${GENERATED}\n\n${body}\n\n<!-- /generated -->`;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const dir of [CRD_DIR, CHART_CRD_DIR]) mkdirSync(dir, { recursive: true });
  for (const [file, text] of generate()) {
    writeFileSync(file, text);
    console.log(`wrote ${path.relative(root, file)}`);
  }
}
