// A direct evaluator for the JSONPath shapes profiles are made of. jsonpath-rfc9535 parses its
// query on every call (a Peggy parser: about 0.2–0.5 ms a call here), which at 100k objects per
// attribute adds up; most kubectl paths are member/index chains, wildcards and one-comparison
// filters (`[?(@.type=="Ready")]`), evaluated here with RFC 9535's semantics. Anything else
// (slices, descendants, unions, functions, logical operators, string ordering) goes to the
// library. jsonpath.test.ts checks the two agree.

type Scalar = string | number | boolean | null;
type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Segment =
  | { k: 'name'; name: string }
  | { k: 'index'; i: number }
  | { k: 'wild' }
  | { k: 'filter'; path: (string | number)[]; op?: Op; lit?: Scalar };

const NAME = '([A-Za-z_\\u0080-\\uFFFF][A-Za-z0-9_\\u0080-\\uFFFF]*)';
const QUOTED = "\\['((?:[^'\\\\])*)'\\]";
const INDEX = '\\[(-?(?:0|[1-9][0-9]*))\\]';
const REL = `@((?:\\.${NAME.replace('(', '(?:')}|\\['[^'\\\\]*'\\]|\\[-?(?:0|[1-9][0-9]*)\\])*)`;
const LIT = `("[^"\\\\]*"|'[^'\\\\]*'|-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|true|false|null)`;
const FILTER = `\\[\\?\\s*(\\()?\\s*${REL}\\s*(?:(==|!=|<=|>=|<|>)\\s*${LIT})?\\s*(\\))?\\s*\\]`;
const SEGMENT = new RegExp(`\\.${NAME}|${QUOTED}|${INDEX}|(\\.\\*|\\[\\*\\])|${FILTER}`, 'y');
const REL_PART = new RegExp(`\\.${NAME}|${QUOTED}|${INDEX}`, 'y');

/** The segments of an RFC 9535 query (already validated by the library), or undefined if not covered. */
export function compileFast(q: string): Segment[] | undefined {
  const out: Segment[] = [];
  SEGMENT.lastIndex = 1;
  while (SEGMENT.lastIndex < q.length) {
    const m = SEGMENT.exec(q);
    if (!m) return undefined;
    if (m[1] !== undefined) out.push({ k: 'name', name: m[1] });
    else if (m[2] !== undefined) out.push({ k: 'name', name: m[2] });
    else if (m[3] !== undefined) out.push({ k: 'index', i: Number(m[3]) });
    else if (m[4] !== undefined) out.push({ k: 'wild' });
    else {
      const [, , , , , open, rel, op, lit, close] = m;
      if ((open === undefined) !== (close === undefined)) return undefined;
      const path = relPath(rel ?? '');
      if (!path) return undefined;
      if (op === undefined) { out.push({ k: 'filter', path }); continue; }
      const value = literal(lit!);
      // Ordering of strings is by Unicode scalar value; leave it to the library.
      if (op !== '==' && op !== '!=' && typeof value !== 'number') return undefined;
      out.push({ k: 'filter', path, op: op as Op, lit: value });
    }
  }
  return out;
}

function relPath(s: string): (string | number)[] | undefined {
  const out: (string | number)[] = [];
  REL_PART.lastIndex = 0;
  while (REL_PART.lastIndex < s.length) {
    const m = REL_PART.exec(s);
    if (!m) return undefined;
    out.push(m[1] ?? m[2] ?? Number(m[3]));
  }
  return out;
}

const literal = (s: string): Scalar => (s.startsWith('"') || s.startsWith("'") ? s.slice(1, -1) : (JSON.parse(s) as Scalar));

/** A query selected more nodes than allowed (limits.ts maxJsonPathNodes). */
export class TooManyNodes extends Error {
  constructor(max: number) { super(`selects more than ${max} nodes`); }
}

/** The nodelist the query selects, in document order; throws TooManyNodes past maxNodes. */
export function runFast(doc: unknown, segments: readonly Segment[], maxNodes = Infinity): unknown[] {
  let nodes: unknown[] = [doc];
  for (const seg of segments) {
    const next: unknown[] = [];
    for (const n of nodes) {
      switch (seg.k) {
        case 'name': { const v = member(n, seg.name); if (v !== NOTHING) next.push(v); break; }
        case 'index': { const v = element(n, seg.i); if (v !== NOTHING) next.push(v); break; }
        case 'wild': next.push(...children(n)); break;
        case 'filter': for (const c of children(n)) if (test(c, seg)) next.push(c); break;
      }
    }
    if (next.length > maxNodes) throw new TooManyNodes(maxNodes);
    nodes = next;
  }
  return nodes;
}

const NOTHING = Symbol('nothing');

function member(n: unknown, name: string): unknown {
  if (n === null || typeof n !== 'object' || Array.isArray(n) || !Object.hasOwn(n, name)) return NOTHING;
  const v = (n as Record<string, unknown>)[name];
  return v === undefined ? NOTHING : v;
}

function element(n: unknown, i: number): unknown {
  if (!Array.isArray(n)) return NOTHING;
  const j = i < 0 ? n.length + i : i;
  return j >= 0 && j < n.length ? (n[j] as unknown) : NOTHING;
}

function children(n: unknown): unknown[] {
  if (Array.isArray(n)) return n;
  if (n !== null && typeof n === 'object') return Object.values(n).filter((v) => v !== undefined);
  return [];
}

function test(node: unknown, f: Extract<Segment, { k: 'filter' }>): boolean {
  let v: unknown = node;
  for (const p of f.path) {
    v = typeof p === 'number' ? element(v, p) : member(v, p);
    if (v === NOTHING) break;
  }
  if (f.op === undefined) return v !== NOTHING;
  const eq = v !== NOTHING && (v === f.lit || (typeof v === 'number' && typeof f.lit === 'number' && v === f.lit));
  switch (f.op) {
    case '==': return eq;
    case '!=': return !eq;
    default: {
      if (typeof v !== 'number' || typeof f.lit !== 'number') return false;
      const lit = f.lit;
      return f.op === '<' ? v < lit : f.op === '<=' ? v <= lit : f.op === '>' ? v > lit : v >= lit;
    }
  }
}
