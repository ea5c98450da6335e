// A KollectProfile compiled once (every CEL expression and JSONPath parsed and checked), then
// applied to each watched object: filter → attributes or pruned resource → scrub → Row.
// Nothing here throws on user input: bad specs come back as field-named errors, bad objects
// and failing expressions as attributes left out of the row, reported per row (toRow's `issues`)
// and counted. Two exceptions (limits.ts): an attribute over its size cap, or a JSONPath selecting
// too many nodes, throws ExtractionLimitError, because the profile, not the object, must change;
// an object whose row is over the row size cap or nested too deeply throws RowQuarantinedError,
// because that object alone cannot be exported (docs/extraction.md#row-limits-and-quarantine).
import { EXPORT_MODES, type ExportMode, type KollectProfileSpec } from '../types.js';
import type { Row } from '../rows.js';
import { compileCel, evalBool, type CelProgram } from './cel.js';
import { liftObject, type JsonObjectMap } from './cel-input.js';
import { contentHash } from './hash.js';
import { compileJsonPath, type JsonPathProgram } from './jsonpath.js';
import { DEFAULT_LIMITS, ExtractionLimitError, RowQuarantinedError, deeperThan, kib, limitEnv, type ExtractionLimits } from './limits.js';
import { parsePointer, pruneResource, scrub, toPlainJson, type Json, type ResourcePruning } from './prune.js';
import { compileMetrics, type CompiledMetrics, type MetricSample, type MetricShape } from './metrics.js';

export interface FieldError {
  /** Path in the profile, e.g. `spec.attributes[2].cel`. */
  field: string;
  message: string;
}

export type CompileResult = { ok: true; profile: CompiledProfile } | { ok: false; errors: FieldError[] };

export interface RowContext {
  /** The KollectTarget collecting the object. */
  target: string;
  cluster: string;
}

export interface ExtractionStats {
  /** Objects given to toRow. */
  objects: number;
  /** Rows produced. */
  rows: number;
  /** Objects the filter excluded. */
  filtered: number;
  /** Evaluation errors by field (`spec.filter`, `spec.attributes[1].cel`, `object`). */
  errors: Record<string, number>;
  /** The most recent error, its message redacted of quoted values. */
  lastError?: FieldError;
}

export interface CompiledProfile {
  readonly apiVersion: string;
  readonly kind: string;
  readonly mode: ExportMode;
  /** Attribute names, in declaration order (empty in Resource mode). */
  readonly attributeNames: readonly string[];
  /** What compiles but is probably not meant (an attribute its own scrubKeys remove). */
  readonly warnings: readonly FieldError[];
  /**
   * The row for one watched object, or null when the filter excludes it (or it has no name).
   * Throws ExtractionLimitError when an expression's cap is exceeded, RowQuarantinedError when
   * this object's row is over the row size cap or the object nests deeper than maxDepth.
   * `onStep` is told which expression runs next (FILTER_STEP, then each attribute's index), so
   * that whoever stops a run that takes too long can name it (fieldOfStep). `issues` receives
   * this object's evaluation errors (the filter, an attribute: left out of the row), redacted.
   */
  toRow(obj: unknown, ctx: RowContext, onStep?: (step: number) => void, issues?: FieldError[]): Row | null;
  /** The profile field evaluated at a step given to toRow's onStep. */
  fieldOfStep(step: number): string;
  /** Custom resource metrics (spec.metrics), in declaration order; empty when none. */
  readonly metrics: readonly MetricShape[];
  /** What `obj`, whose row toRow made, contributes to the custom metrics (failures count in stats). */
  samples(obj: unknown, row: Row): MetricSample[];
  /** Counters since compile (or the last reset). */
  stats(): ExtractionStats;
  resetStats(): void;
}

export const FILTER_STEP = -1;

type Extractor =
  | { name: string; field: string; kind: 'cel'; program: CelProgram }
  | { name: string; field: string; kind: 'jsonPath'; program: JsonPathProgram };

// ---------- compile ----------

/** Attribute names become SQL columns and document fields: the CRD's pattern, checked here too. */
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A scrubKeys entry: a key name, `\.` for a literal dot; an unescaped dot reads as a path. */
const UNESCAPED_DOT = /(^|[^\\])\./;

export function compileProfile(spec: KollectProfileSpec, limits: Partial<ExtractionLimits> = {}): CompileResult {
  const lim: ExtractionLimits = { ...DEFAULT_LIMITS, ...limits };
  const errors: FieldError[] = [];
  const err = (field: string, message: string): void => { errors.push({ field, message }); };
  if (spec === null || typeof spec !== 'object') return { ok: false, errors: [{ field: 'spec', message: 'must be an object' }] };

  if (typeof spec.apiVersion !== 'string' || spec.apiVersion === '') err('spec.apiVersion', 'required, e.g. apps/v1 or v1');
  if (typeof spec.kind !== 'string' || spec.kind === '') err('spec.kind', 'required, e.g. Deployment');

  const mode = spec.export?.mode ?? 'Attributes';
  if (!EXPORT_MODES.includes(mode)) err('spec.export.mode', `must be one of ${EXPORT_MODES.join(', ')}`);

  const attributes = spec.attributes ?? [];
  if (!Array.isArray(attributes)) err('spec.attributes', 'must be a list');
  else if (mode === 'Resource' && attributes.length > 0) err('spec.attributes', 'not used when export.mode is Resource: the whole object is exported; remove them or use mode Attributes');
  else if (mode === 'Attributes' && attributes.length === 0) err('spec.attributes', 'list at least one attribute, or set export.mode to Resource');

  const extractors: Extractor[] = [];
  const seen = new Set<string>();
  (Array.isArray(attributes) ? attributes : []).forEach((a, i) => {
    const at = `spec.attributes[${i}]`;
    if (a === null || typeof a !== 'object') { err(at, 'must be an object with name and cel or jsonPath'); return; }
    if (typeof a.name !== 'string' || a.name === '') err(`${at}.name`, 'required');
    else if (!ATTRIBUTE_NAME.test(a.name)) err(`${at}.name`, 'letters, digits and _ only, not starting with a digit, at most 63 characters');
    else if (seen.has(a.name)) err(`${at}.name`, `duplicate attribute name '${a.name}'`);
    else seen.add(a.name);
    const hasCel = a.cel !== undefined && a.cel !== null;
    const hasPath = a.jsonPath !== undefined && a.jsonPath !== null;
    if (hasCel === hasPath) { err(at, 'exactly one of cel, jsonPath is required'); return; }
    if (hasCel) {
      const c = compileCel(a.cel!);
      if (!c.ok) err(`${at}.cel`, c.message);
      else extractors.push({ name: a.name, field: `${at}.cel`, kind: 'cel', program: c.program });
    } else {
      const c = compileJsonPath(a.jsonPath!, lim.maxJsonPathNodes);
      if (!c.ok) err(`${at}.jsonPath`, c.message);
      else extractors.push({ name: a.name, field: `${at}.jsonPath`, kind: 'jsonPath', program: c.program });
    }
  });

  let filter: CelProgram | undefined;
  if (spec.filter !== undefined && spec.filter !== null) {
    const c = compileCel(spec.filter);
    if (!c.ok) err('spec.filter', c.message);
    else filter = c.program;
  }

  const scrubKeys = new Set<string>();
  const addKeys = (list: unknown, field: string): void => {
    if (list === undefined || list === null) return;
    if (!Array.isArray(list)) { err(field, 'must be a list of keys'); return; }
    list.forEach((k, i) => {
      if (typeof k !== 'string' || k === '') err(`${field}[${i}]`, 'must be a non-empty string');
      else if (UNESCAPED_DOT.test(k)) err(`${field}[${i}]`, `'${k}' is not a key name: scrubKeys remove keys of that name at any depth, not paths; to remove a path use spec.export.prune.jsonPointers (Resource mode) or leave it out of the attribute, and write a key that contains a dot with \\. (app\\.kubernetes\\.io/name)`);
      else scrubKeys.add(k.replace(/\\\./g, '.'));
    });
  };
  addKeys(spec.scrubKeys, 'spec.scrubKeys');
  const prune = spec.export?.prune;
  addKeys(prune?.scrubKeys, 'spec.export.prune.scrubKeys');

  const pointers: string[][] = [];
  if (prune?.jsonPointers !== undefined && prune.jsonPointers !== null) {
    if (!Array.isArray(prune.jsonPointers)) err('spec.export.prune.jsonPointers', 'must be a list of RFC 6901 pointers');
    else prune.jsonPointers.forEach((p, i) => {
      const tokens = parsePointer(p);
      if (typeof tokens === 'string') err(`spec.export.prune.jsonPointers[${i}]`, tokens);
      else pointers.push(tokens);
    });
  }

  const metrics = compileMetrics(spec.metrics, mode === 'Attributes' ? seen : new Set(), lim.maxJsonPathNodes, errors);

  if (errors.length > 0) return { ok: false, errors };
  const warnings = extractors.flatMap((e, i): FieldError[] => (scrubKeys.has(e.name)
    ? [{ field: `spec.attributes[${i}].name`, message: `'${e.name}' is also in scrubKeys: this attribute is removed from every row` }]
    : []));
  const pruning: ResourcePruning = { defaults: prune?.defaults !== false, pointers, scrubKeys };
  return { ok: true, profile: new Profile(spec.apiVersion, spec.kind, mode, extractors, filter, scrubKeys, pruning, lim, warnings, metrics) };
}

// ---------- apply ----------

class Profile implements CompiledProfile {
  #stats: ExtractionStats = emptyStats();
  readonly attributeNames: readonly string[];

  constructor(
    readonly apiVersion: string,
    readonly kind: string,
    readonly mode: ExportMode,
    private readonly extractors: readonly Extractor[],
    private readonly filter: CelProgram | undefined,
    private readonly scrubKeys: ReadonlySet<string>,
    private readonly pruning: ResourcePruning,
    private readonly limits: ExtractionLimits,
    readonly warnings: readonly FieldError[],
    private readonly compiledMetrics: CompiledMetrics,
  ) {
    this.attributeNames = extractors.map((e) => e.name);
    this.metrics = compiledMetrics.shapes;
  }

  readonly metrics: readonly MetricShape[];

  samples(obj: unknown, row: Row): MetricSample[] {
    if (this.metrics.length === 0) return [];
    const plain = toPlainJson(obj);
    if (!isObject(plain)) return [];
    let lifted: JsonObjectMap | undefined;
    return this.compiledMetrics.samples(plain, () => (lifted ??= liftObject(plain)), row.attributes, (field, message) => this.fail(field, message));
  }

  fieldOfStep(step: number): string {
    return step === FILTER_STEP ? 'spec.filter' : this.extractors[step]?.field ?? 'spec';
  }

  toRow(obj: unknown, ctx: RowContext, onStep?: (step: number) => void, issues?: FieldError[]): Row | null {
    this.#stats.objects++;
    // Before anything recursive runs over it: a 3,000-level object would overflow a stack (the
    // YAML writer's, or ours) and must not reach a sink.
    if (deeperThan(obj, this.limits.maxDepth)) {
      const m = (obj as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
      const name = `${typeof m?.namespace === 'string' && m.namespace ? `${m.namespace}/` : ''}${typeof m?.name === 'string' ? m.name : '<unnamed>'}`;
      throw new RowQuarantinedError('object', `${this.limits.maxDepth} levels (${limitEnv('maxDepth')})`, `${name} nests deeper than ${this.limits.maxDepth} levels`);
    }
    const plain = toPlainJson(obj);
    const meta = isObject(plain) && isObject(plain.metadata) ? plain.metadata : undefined;
    if (!isObject(plain) || !meta || typeof meta.name !== 'string' || meta.name === '') {
      this.fail('object', 'not a Kubernetes object (metadata.name missing)');
      return null;
    }
    let lifted: JsonObjectMap | undefined;
    const cel = (): JsonObjectMap => (lifted ??= liftObject(plain));

    if (this.filter) {
      onStep?.(FILTER_STEP);
      const r = evalBool(this.filter, cel());
      if (!r.ok) { this.fail('spec.filter', r.message, issues); this.#stats.filtered++; return null; }
      if (r.value !== true) { this.#stats.filtered++; return null; }
    }

    const identity = {
      apiVersion: typeof plain.apiVersion === 'string' ? plain.apiVersion : this.apiVersion,
      kind: typeof plain.kind === 'string' ? plain.kind : this.kind,
      namespace: typeof meta.namespace === 'string' ? meta.namespace : '',
      name: meta.name,
    };
    let attributes: Record<string, unknown>;
    if (this.mode === 'Resource') {
      attributes = pruneResource(plain, this.pruning) as Record<string, unknown>;
      const n = JSON.stringify(attributes).length;
      if (n > this.limits.maxRowBytes) {
        throw new RowQuarantinedError('spec.export', `${kib(this.limits.maxRowBytes)} per row (${limitEnv('maxRowBytes')})`, `${identity.namespace ? `${identity.namespace}/` : ''}${identity.name} is ${n} bytes of JSON`);
      }
    } else {
      const values: { [k: string]: Json } = {};
      let total = 0;
      for (const [i, e] of this.extractors.entries()) {
        onStep?.(i);
        const r = e.kind === 'cel' ? e.program.eval(cel()) : e.program.eval(plain);
        if (r.ok) total += this.checkSize(e.field, (values[e.name] = r.value as Json), this.limits.maxAttributeBytes, 'maxAttributeBytes', `attribute '${e.name}'`);
        else if (typeof (r as { limit?: string }).limit === 'string') throw new ExtractionLimitError(e.field, (r as unknown as { limit: string }).limit, `attribute '${e.name}' ${r.message}`);
        // Left out, not null: a real null stays distinguishable from a failed evaluation.
        else this.fail(e.field, `attribute '${e.name}': ${r.message}`, issues);
      }
      if (total > this.limits.maxRowBytes) {
        throw new RowQuarantinedError('spec.attributes', `${kib(this.limits.maxRowBytes)} per row (${limitEnv('maxRowBytes')})`, `the attributes of ${identity.namespace ? `${identity.namespace}/` : ''}${identity.name} are ${total} bytes of JSON`);
      }
      attributes = scrub(values, this.scrubKeys) as Record<string, unknown>;
    }
    this.#stats.rows++;
    const body = { target: ctx.target, cluster: ctx.cluster, ...identity, uid: typeof meta.uid === 'string' ? meta.uid : '', attributes };
    // The store key covers the whole body: the same object collected for two clusters or by two
    // Targets is two bodies (docs/decisions/0026).
    return { ...body, hash: contentHash(body) };
  }

  /** The JSON size of a value (UTF-16 code units, as the text is held), checked against a cap. */
  private checkSize(field: string, value: unknown, max: number, key: keyof ExtractionLimits, what: string): number {
    const n = JSON.stringify(value)?.length ?? 0;
    if (n > max) throw new ExtractionLimitError(field, `${kib(max)} (${limitEnv(key)})`, `${what} is ${n} bytes of JSON`);
    return n;
  }

  stats(): ExtractionStats {
    return { ...this.#stats, errors: { ...this.#stats.errors } };
  }

  resetStats(): void {
    this.#stats = emptyStats();
  }

  private fail(field: string, message: string, issues?: FieldError[]): void {
    this.#stats.errors[field] = (this.#stats.errors[field] ?? 0) + 1;
    this.#stats.lastError = { field, message };
    issues?.push({ field, message });
  }
}

const emptyStats = (): ExtractionStats => ({ objects: 0, rows: 0, filtered: 0, errors: {} });

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v);
}
