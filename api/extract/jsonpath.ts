// JSONPath attributes on jsonpath-rfc9535 (docs/decisions/0005-jsonpath.md): a parser, no
// script evaluation anywhere. Users may write kubectl's spelling; it is translated once, at
// compile time, into RFC 9535:
//   {.spec.replicas}                               → $.spec.replicas
//   {.metadata.labels.app\.kubernetes\.io/name}    → $.metadata.labels['app.kubernetes.io/name']
//   {.status.conditions[?(@.type=="Ready")].status} → $.status.conditions[?(@.type=="Ready")].status
// A template with text around or between braces, or {range}…{end}, is not one value and is
// rejected. RFC 9535's match()/search() run ECMAScript regexes, whose backtracking a crafted
// pattern (or a document value used as one) can make exponential, so they are rejected too:
// CEL's matches() is the linear-time (RE2) way to test a regex.
// jsonpath-rfc9535 1.3.0 parses `a && b && c` as `a && (b || c)`; chains of three or more terms
// are grouped by us first (docs/decisions/0018-jsonpath-filter-workaround.md). A query selects at
// most maxNodes nodes: `$..*..*..*` would otherwise enumerate millions.
import { exec } from 'jsonpath-rfc9535';
import parseJsonPath from 'jsonpath-rfc9535/parser';
import { compileFast, runFast, TooManyNodes } from './jsonpath-fast.js';
import { DEFAULT_LIMITS, limitEnv } from './limits.js';

/** `limit` is set when the query hit maxNodes: the profile is then disabled, not the value nulled. */
export type JsonPathOutcome = { ok: true; value: unknown } | { ok: false; message: string; limit?: string };

export interface JsonPathProgram {
  /** What the user wrote. */
  readonly source: string;
  /** The RFC 9535 query it became. */
  readonly query: string;
  /** One match → that value, several → an array of them, none → null. */
  eval(doc: unknown): JsonPathOutcome;
}

/** As the CRD's maxLength. */
export const MAX_JSONPATH_LENGTH = 1024;

export function compileJsonPath(source: string, maxNodes = DEFAULT_LIMITS.maxJsonPathNodes): { ok: true; program: JsonPathProgram } | { ok: false; message: string } {
  if (typeof source === 'string' && source.length > MAX_JSONPATH_LENGTH) return { ok: false, message: `longer than ${MAX_JSONPATH_LENGTH} characters` };
  let q: string;
  try {
    q = groupAndChains(toRfc9535(source));
    parseJsonPath(q);
  } catch (e) {
    return { ok: false, message: (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'invalid JSONPath' };
  }
  const fn = findOutsideStrings(q, /\b(match|search)\s*\(/);
  if (fn) return { ok: false, message: `function ${fn}() is not allowed (regular expressions in JSONPath are not linear-time; use a CEL attribute with matches())` };
  const fast = compileFast(q);
  return {
    ok: true,
    program: {
      source,
      query: q,
      eval(doc) {
        try {
          const values = fast ? runFast(doc, fast, maxNodes) : queryCapped(doc, q, maxNodes);
          return { ok: true, value: values.length === 0 ? null : values.length === 1 ? values[0] : values };
        } catch (e) {
          if (e instanceof TooManyNodes) return { ok: false, message: e.message, limit: `${maxNodes} nodes per JSONPath (${limitEnv('maxJsonPathNodes')})` };
          return { ok: false, message: (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error' };
        }
      },
    },
  };
}

/** The library's query, stopped as soon as it has selected more than maxNodes nodes. */
function queryCapped(doc: unknown, q: string, maxNodes: number): unknown[] {
  const values: unknown[] = [];
  exec(doc as Parameters<typeof exec>[0], q, (v) => {
    if (values.length >= maxNodes) throw new TooManyNodes(maxNodes);
    values.push(v);
  });
  return values;
}

/**
 * Regroups every `&&` chain of three or more terms as `(a && b) && c`: two-term conjunctions and
 * parenthesised ones are parsed right by the library. Strings, brackets and parentheses are
 * walked so that only the operators of one expression level are regrouped.
 */
export function groupAndChains(q: string): string {
  if (q.indexOf('&&') === q.lastIndexOf('&&')) return q;
  let i = 0;
  const level = (close: string | undefined): string => {
    let out = '';
    let terms: string[] = [];
    let cur = '';
    const endChain = (sep: string): void => { out += chain([...terms, cur]) + sep; terms = []; cur = ''; };
    while (i < q.length && q[i] !== close) {
      const c = q[i]!;
      if (c === '"' || c === "'") { const end = stringEnd(q, i); cur += q.slice(i, end); i = end; continue; }
      if (c === '(' || c === '[') {
        i++;
        const inner = level(c === '(' ? ')' : ']');
        cur += c + inner + (q[i] ?? '');
        i++;
        continue;
      }
      if (q.startsWith('&&', i)) { terms.push(cur); cur = ''; i += 2; continue; }
      if (q.startsWith('||', i)) { endChain('||'); i += 2; continue; }
      if (c === ',') { endChain(','); i++; continue; }
      cur += c;
      i++;
    }
    endChain('');
    return out;
  };
  return level(undefined);
}

function chain(terms: string[]): string {
  if (terms.length < 3) return terms.join('&&');
  // A filter selector's `?` belongs to the whole chain, not to its first term.
  const lead = /^\s*\?\s*/.exec(terms[0]!)?.[0] ?? '';
  const parts = terms.map((t, k) => (k === 0 ? t.slice(lead.length) : t).trim());
  let acc = parts[0]!;
  for (let k = 1; k < parts.length; k++) acc = k < parts.length - 1 ? `(${acc} && ${parts[k]!})` : `${acc} && ${parts[k]!}`;
  return `${lead.trim()}${acc}`;
}

/** Translates kubectl's JSONPath spelling into an RFC 9535 query; RFC 9535 input passes through. */
export function toRfc9535(source: string): string {
  let s = source.trim();
  if (s === '') throw new Error('empty JSONPath');
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new Error('unterminated {…} template');
    const inner = s.slice(1, -1);
    if (/^\s*(range|end)\b/.test(inner) || hasTopLevelBrace(inner)) {
      throw new Error('a template with text, several {…} or {range}…{end} does not yield one value; write one path');
    }
    s = inner.trim();
  }
  if (s.startsWith('$')) s = s.slice(1);
  else if (s.startsWith('@')) throw new Error("a path starts at the object: '.' or '$', not '@'");
  else if (!s.startsWith('.') && !s.startsWith('[')) s = `.${s}`;
  const [out, end] = translatePath(s, 0, '');
  if (end !== s.length) throw new Error(`unexpected '${s[end] ?? ''}' at offset ${end}`);
  return `$${out}`;
}

/** RFC 9535 member-name-shorthand; anything else becomes a bracketed name. */
const SHORTHAND = /^[A-Za-z_\u0080-\uFFFF][A-Za-z0-9_\u0080-\uFFFF]*$/;
const quoteName = (name: string): string => `['${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;

/**
 * Translates the path segments starting at i (after the root or `@`) until a character in
 * `stop` at nesting depth 0, or the end. Returns the translation and the index it stopped at.
 */
function translatePath(s: string, i: number, stop: string): [string, number] {
  let out = '';
  while (i < s.length && !stop.includes(s[i]!)) {
    const c = s[i]!;
    if (c === '.') {
      if (s[i + 1] === '.') { // descendant segment
        i += 2;
        if (s[i] === '[') { out += '..'; continue; }
        if (s[i] === '*') { out += '..*'; i++; continue; }
        const [name, next] = readName(s, i);
        out += `..${SHORTHAND.test(name) ? name : quoteName(name)}`;
        i = next;
        continue;
      }
      i++;
      if (s[i] === '*') { out += '.*'; i++; continue; }
      if (s[i] === '[') continue; // kubectl tolerates `.[0]`
      const [name, next] = readName(s, i);
      if (name === '') throw new Error(`empty name at offset ${i}`);
      out += SHORTHAND.test(name) ? `.${name}` : quoteName(name);
      i = next;
      continue;
    }
    if (c === '[') {
      const [sel, next] = translateBracket(s, i);
      out += sel;
      i = next;
      continue;
    }
    if (/\s/.test(c)) {
      // RFC 9535 allows blank space before a segment; elsewhere it ends the path.
      let j = i;
      while (j < s.length && /\s/.test(s[j]!)) j++;
      if (s[j] !== '.' && s[j] !== '[') break;
      i = j;
      continue;
    }
    throw new Error(`unexpected '${c}' at offset ${i}`);
  }
  return [out, i];
}

/** A kubectl field name: up to the next `.`, `[`, space or operator; `\.` escapes a dot. */
function readName(s: string, i: number): [string, number] {
  let name = '';
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) { name += s[i + 1]; i += 2; continue; }
    if ('.[]()=!<>&|, \t\n\'"{}@$'.includes(c)) break;
    name += c;
    i++;
  }
  return [name, i];
}

/** Copies a bracketed selection, translating the relative paths inside a filter. */
function translateBracket(s: string, i: number): [string, number] {
  let out = '[';
  i++;
  let depth = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === '"' || c === "'") {
      const end = stringEnd(s, i);
      out += s.slice(i, end);
      i = end;
      continue;
    }
    if (c === '@' || c === '$') {
      const [path, next] = translatePath(s, i + 1, ')=!<>&|,]');
      out += c + path;
      i = next;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ']' && depth <= 0) return [`${out}]`, i + 1];
    out += c;
    i++;
  }
  throw new Error('unterminated [');
}

function stringEnd(s: string, i: number): number {
  const q = s[i]!;
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\') { j++; continue; }
    if (s[j] === q) return j + 1;
  }
  throw new Error('unterminated string literal');
}

function hasTopLevelBrace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"' || s[i] === "'") { i = stringEnd(s, i) - 1; continue; }
    if (s[i] === '{' || s[i] === '}') return true;
  }
  return false;
}

function findOutsideStrings(s: string, re: RegExp): string | undefined {
  let plain = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"' || s[i] === "'") { const end = stringEnd(s, i); plain += ' '.repeat(end - i); i = end - 1; continue; }
    plain += s[i];
  }
  return re.exec(plain)?.[1];
}
