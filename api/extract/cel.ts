// CEL over Kubernetes objects, on @bufbuild/cel (docs/decisions/0004-cel-library.md).
// Compile once (parse + plan + a static check of names), evaluate many times; evaluation never
// throws. The watched object is bound as `object`.
import { celEnv, isCelError, parse, plan, type CelEnv, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { celToJson } from './cel-json.js';
import type { JsonObjectMap } from './cel-input.js';

export type CelOutcome = { ok: true; value: unknown } | { ok: false; message: string };

export interface CelProgram {
  readonly source: string;
  /** Evaluates against `object` (a JsonObjectMap from liftObject); the result is plain JSON. */
  eval(object: JsonObjectMap): CelOutcome;
}

/** One environment for every profile: CEL's standard library plus the strings extension. */
const ENV: CelEnv = celEnv({ funcs: strings });

/** Upper bound on an expression's length, as the CRD's maxLength: configuration, not a program. */
export const MAX_CEL_LENGTH = 4096;

export function compileCel(source: string): { ok: true; program: CelProgram } | { ok: false; message: string } {
  if (typeof source !== 'string' || source.trim() === '') return { ok: false, message: 'empty expression' };
  if (source.length > MAX_CEL_LENGTH) return { ok: false, message: `expression longer than ${MAX_CEL_LENGTH} characters` };
  let run: ReturnType<typeof plan>;
  try {
    const parsed = parse(source);
    const problem = checkNames(parsed.expr);
    if (problem) return { ok: false, message: problem };
    run = plan(ENV, parsed);
  } catch (e) {
    return { ok: false, message: errorMessage(e) };
  }
  return {
    ok: true,
    program: {
      source,
      eval(object) {
        try {
          // JsonObjectMap is a Map whose values are lifted lazily; the input type cannot say so.
          const r = run({ object: object as unknown as CelInput });
          if (isCelError(r)) return { ok: false, message: redact(r.message, object) };
          return { ok: true, value: celToJson(r) };
        } catch (e) {
          return { ok: false, message: redact(errorMessage(e), object) };
        }
      },
    },
  };
}

/** Evaluates a compiled filter: anything but `true` (including an error) excludes the object. */
export function evalBool(p: CelProgram, object: JsonObjectMap): CelOutcome {
  const r = p.eval(object);
  if (r.ok && typeof r.value !== 'boolean') return { ok: false, message: `filter must evaluate to a bool, got ${typeName(r.value)}` };
  return r;
}

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'map' : typeof v === 'number' ? 'number' : typeof v);

function errorMessage(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error';
}

/**
 * Runtime messages may contain values taken from the object (`Cannot convert <a Secret's
 * token> to a BigInt`, `no such key: <value>`); they end up in status and logs, so every string
 * value of the object (4 characters or more) found in a message is replaced by `…`.
 */
export function redact(message: string, object: JsonObjectMap): string {
  let out = message.length > 1000 ? message.slice(0, 1000) : message;
  for (const v of object.stringValues()) {
    if (v.length < 4) break;
    if (out.includes(v)) out = out.split(v).join('…');
  }
  return out.slice(0, 300);
}

// ---------- static check of names ----------
// @bufbuild/cel resolves functions and variables only at evaluation; a typo would then fail on
// every object. Checking the parsed AST here turns that into a compile error naming the field.

interface AstExpr {
  exprKind: { case: string | undefined; value?: unknown };
}
interface CallExpr { target?: AstExpr; function: string; args: AstExpr[] }
interface Comprehension { iterVar: string; iterVar2?: string; iterRange?: AstExpr; accuVar: string; accuInit?: AstExpr; loopCondition?: AstExpr; loopStep?: AstExpr; result?: AstExpr }

/**
 * @bufbuild/cel has no cost limit and evaluation runs on the watcher's event loop; nesting is
 * what makes a CEL expression expensive (each level multiplies by a list's size), so it is capped.
 */
export const MAX_COMPREHENSION_DEPTH = 3;

/** Identifiers an expression may use besides `object` and comprehension variables. */
const TYPE_IDENTS = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'list', 'map', 'null_type', 'type', 'dyn', 'google']);

function checkNames(root: AstExpr): string | undefined {
  const walk = (e: AstExpr | undefined, scope: ReadonlySet<string>, depth: number): string | undefined => {
    if (!e) return undefined;
    const { case: kind, value } = e.exprKind;
    switch (kind) {
      case 'identExpr': {
        const name = (value as { name: string }).name;
        if (name === 'object' || scope.has(name) || TYPE_IDENTS.has(name)) return undefined;
        return `undeclared reference to '${name}' (the watched object is 'object')`;
      }
      case 'selectExpr':
        return walk((value as { operand?: AstExpr }).operand, scope, depth);
      case 'callExpr': {
        const call = value as CallExpr;
        // `strings.quote(x)` parses as a call of quote on the identifier `strings`.
        const ns = qualifiedName(call.target);
        if (ns && ENV.funcs.find(`${ns}.${call.function}`)) return first(call.args, (x) => walk(x, scope, depth));
        const bad = checkFunction(call);
        if (bad) return bad;
        for (const a of [call.target, ...call.args]) {
          const r = walk(a, scope, depth);
          if (r) return r;
        }
        return undefined;
      }
      case 'listExpr':
        return first((value as { elements: AstExpr[] }).elements, (x) => walk(x, scope, depth));
      case 'structExpr':
        return first((value as { entries: { mapKey?: AstExpr; keyKind?: { case: string; value: unknown }; value?: AstExpr }[] }).entries, (en) =>
          walk(en.keyKind?.case === 'mapKey' ? (en.keyKind.value as AstExpr) : undefined, scope, depth) ?? walk(en.value, scope, depth));
      case 'comprehensionExpr': {
        const c = value as Comprehension;
        const inner = new Set(scope);
        for (const v of [c.iterVar, c.iterVar2, c.accuVar]) if (v) inner.add(v);
        if (depth >= MAX_COMPREHENSION_DEPTH) return `macros (map, filter, exists, all …) nested deeper than ${MAX_COMPREHENSION_DEPTH}: evaluation cost would grow as size^${MAX_COMPREHENSION_DEPTH + 1}`;
        return walk(c.iterRange, scope, depth) ?? walk(c.accuInit, scope, depth) ?? walk(c.loopCondition, inner, depth + 1) ?? walk(c.loopStep, inner, depth + 1) ?? walk(c.result, inner, depth + 1);
      }
      default:
        return undefined;
    }
  };
  return walk(root, new Set(), 0);
}

function qualifiedName(e: AstExpr | undefined): string | undefined {
  if (e?.exprKind.case === 'identExpr') return (e.exprKind.value as { name: string }).name;
  if (e?.exprKind.case === 'selectExpr') {
    const sel = e.exprKind.value as { operand?: AstExpr; field: string; testOnly: boolean };
    const base = sel.testOnly ? undefined : qualifiedName(sel.operand);
    return base ? `${base}.${sel.field}` : undefined;
  }
  return undefined;
}

function first<T>(list: readonly T[], f: (x: T) => string | undefined): string | undefined {
  for (const x of list) {
    const r = f(x);
    if (r) return r;
  }
  return undefined;
}

function checkFunction(call: CallExpr): string | undefined {
  const name = call.function;
  // Operators (_+_, !_, @in, _?_:_ …) are planned specially; only named functions are checked.
  if (!/^[A-Za-z]/.test(name)) return undefined;
  const group = ENV.funcs.find(name);
  if (!group) return `undeclared function '${name}'`;
  const receiver = call.target !== undefined;
  for (const f of group) {
    if ((f.target !== undefined) === receiver && f.arguments.length === call.args.length) return undefined;
  }
  const shape = receiver ? `<receiver>.${name}(${call.args.length} argument(s))` : `${name}(${call.args.length} argument(s))`;
  return `no overload of '${name}' for ${shape}`;
}
