// One adapter per CEL candidate, so the conformance runner and the Kubernetes benchmark drive
// the three libraries the same way: compile once, evaluate with bindings, and normalise the
// result into one comparable shape. Comparison-only code: nothing here ships.
import * as chromeGG from 'cel-js';
import { Environment, evaluate as marcEvaluate } from '@marcbachmann/cel-js';
import { parse as bufParse, plan, celEnv, celUint, isCelError, isCelList, isCelMap, isCelType, isCelUint } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';

/** A CEL value as the conformance suite's cel.expr.Value describes it, library-neutral. */
export type Norm =
  | { k: 'num'; v: number | bigint; t: 'int' | 'uint' | 'double' | 'js' }
  | { k: 'str'; v: string }
  | { k: 'bytes'; v: string }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'list'; v: Norm[] }
  | { k: 'map'; v: [Norm, Norm][] }
  | { k: 'type'; v: string }
  | { k: 'other'; v: string };

/** Input values in a library-neutral form (what the suite's bindings decode to). */
export type In =
  | { k: 'int' | 'uint'; v: bigint }
  | { k: 'double'; v: number }
  | { k: 'str'; v: string }
  | { k: 'bytes'; v: Uint8Array }
  | { k: 'bool'; v: boolean }
  | { k: 'null' }
  | { k: 'list'; v: In[] }
  | { k: 'map'; v: [In, In][] };

export type Outcome = { ok: true; value: Norm } | { ok: false; error: string };
export type Compiled = (bindings: Record<string, unknown>) => Outcome;

export interface Adapter {
  readonly name: string;
  /** Library-specific representation of a neutral input value. */
  input(v: In): unknown;
  /** Library-specific representation of a plain JSON document (Kubernetes object). */
  json(v: unknown): unknown;
  /** Parse (and, where the library has a checker and `check` is set, check) once; throws on a compile error. */
  compile(expr: string, opts?: { check?: boolean }): Compiled;
}

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';

function attempt(f: () => Norm): Outcome {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, error: msg(e) };
  }
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const str = (v: object): string => (v as { toString(): string }).toString();

/** Normalises the JS values the libraries return; `extra` handles library-specific classes. */
function normalise(v: unknown, extra: (v: object) => Norm | undefined): Norm {
  if (v === null || v === undefined) return { k: 'null' };
  switch (typeof v) {
    case 'bigint': return { k: 'num', v, t: 'int' };
    case 'number': return { k: 'num', v, t: 'js' };
    case 'string': return { k: 'str', v };
    case 'boolean': return { k: 'bool', v };
    case 'object': {
      const x = extra(v);
      if (x) return x;
      if (v instanceof Uint8Array) return { k: 'bytes', v: hex(v) };
      if (Array.isArray(v)) return { k: 'list', v: v.map((e) => normalise(e, extra)) };
      if (v instanceof Map) return { k: 'map', v: [...(v as Map<unknown, unknown>).entries()].map(([a, b]) => [normalise(a, extra), normalise(b, extra)]) };
      if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
        return { k: 'map', v: Object.entries(v).map(([a, b]) => [{ k: 'str', v: a }, normalise(b, extra)]) };
      }
      return { k: 'other', v: `${v.constructor?.name ?? '?'}:${str(v)}` };
    }
    default: return { k: 'other', v: typeof v };
  }
}

/** JSON numbers: integral → int, else double (what a schema'd Kubernetes object would give). */
function jsonWith(intOf: (n: number) => unknown, mapOf: (entries: [string, unknown][]) => unknown) {
  const conv = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isInteger(v) ? intOf(v) : v;
    if (Array.isArray(v)) return v.map(conv);
    if (v !== null && typeof v === 'object') return mapOf(Object.entries(v).map(([k, x]) => [k, conv(x)]));
    return v;
  };
  return conv;
}

// ---------- cel-js (ChromeGG) ----------

const chrome: Adapter = {
  name: 'cel-js',
  input(v: In): unknown {
    switch (v.k) {
      case 'int': case 'uint': return Number(v.v);
      case 'null': return null;
      case 'list': return v.v.map((e) => chrome.input(e));
      case 'map': return Object.fromEntries(v.v.map(([a, b]) => [String(chrome.input(a)), chrome.input(b)]));
      default: return v.v;
    }
  },
  json: (v) => v,
  compile(expr) {
    const parsed = chromeGG.parse(expr);
    if (!parsed.isSuccess) throw new Error(parsed.errors.join('; '));
    return (b) => attempt(() => normalise(chromeGG.evaluate(parsed.cst, b), () => undefined));
  },
};

// ---------- @marcbachmann/cel-js ----------

const marcEnv = new Environment({ unlistedVariablesAreDyn: true, homogeneousAggregateLiterals: false, enableOptionalTypes: true });
const marcExtra = (v: object): Norm | undefined => {
  const ctor = v.constructor?.name;
  if (ctor === 'UnsignedInt') return { k: 'num', v: BigInt(str(v)), t: 'uint' };
  if (ctor === 'Type') return { k: 'type', v: str(v).replace(/^Type<(.*)>$/, '$1').replace(/<.*$/, '') };
  return undefined;
};

const marc: Adapter = {
  name: '@marcbachmann/cel-js',
  input(v: In): unknown {
    switch (v.k) {
      case 'int': return v.v;
      // UnsignedInt is not exported; a uint literal produces one.
      case 'uint': return marcEvaluate(`${v.v}u`) as unknown;
      case 'null': return null;
      case 'list': return v.v.map((e) => marc.input(e));
      case 'map': return v.v.every(([a]) => a.k === 'str')
        ? Object.fromEntries(v.v.map(([a, b]) => [String(marc.input(a)), marc.input(b)]))
        : new Map(v.v.map(([a, b]) => [marc.input(a), marc.input(b)]));
      default: return v.v;
    }
  },
  json: jsonWith((n) => BigInt(n), (e) => Object.fromEntries(e)),
  compile(expr, opts) {
    const fn = marcEnv.parse(expr);
    if (opts?.check !== false) {
      const checked = fn.check();
      if (!checked.valid && checked.error) throw checked.error;
    }
    return (b) => attempt(() => normalise(fn(b), marcExtra));
  },
};

// ---------- @bufbuild/cel ----------

const bufEnv = celEnv({ funcs: strings });
const bufExtra = (v: object): Norm | undefined => {
  if (isCelUint(v)) return { k: 'num', v: v.value, t: 'uint' };
  if (isCelType(v)) return { k: 'type', v: v.name };
  if (isCelList(v)) return { k: 'list', v: [...v].map((e) => normalise(e, bufExtra)) };
  if (isCelMap(v)) return { k: 'map', v: [...v.entries()].map(([a, b]) => [normalise(a, bufExtra), normalise(b, bufExtra)]) };
  return undefined;
};

const buf: Adapter = {
  name: '@bufbuild/cel',
  input(v: In): unknown {
    switch (v.k) {
      case 'int': return v.v;
      case 'uint': return celUint(v.v);
      case 'null': return null;
      case 'list': return v.v.map((e) => buf.input(e));
      case 'map': return new Map(v.v.map(([a, b]) => [buf.input(a), buf.input(b)]));
      default: return v.v;
    }
  },
  json: jsonWith((n) => BigInt(n), (e) => new Map(e)),
  compile(expr) {
    const run = plan(bufEnv, bufParse(expr));
    return (b) => attempt(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument -- bindings are already library-shaped
      const r = run(b as any);
      if (isCelError(r)) throw r;
      return normalise(r, bufExtra);
    });
  },
};

export const ADAPTERS: readonly Adapter[] = [chrome, marc, buf];
