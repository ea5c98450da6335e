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
import { query } from 'jsonpath-rfc9535';
import parseJsonPath from 'jsonpath-rfc9535/parser';
import { compileFast, runFast } from './jsonpath-fast.js';

export type JsonPathOutcome = { ok: true; value: unknown } | { ok: false; message: string };

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

export function compileJsonPath(source: string): { ok: true; program: JsonPathProgram } | { ok: false; message: string } {
  if (typeof source === 'string' && source.length > MAX_JSONPATH_LENGTH) return { ok: false, message: `longer than ${MAX_JSONPATH_LENGTH} characters` };
  let q: string;
  try {
    q = toRfc9535(source);
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
          const values = fast ? runFast(doc, fast) : query(doc as Parameters<typeof query>[0], q);
          return { ok: true, value: values.length === 0 ? null : values.length === 1 ? values[0] : values };
        } catch (e) {
          return { ok: false, message: (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? 'error' };
        }
      },
    },
  };
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
    if (/\s/.test(c)) break;
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
      const [path, next] = translatePath(s, i + 1, ' \t\n)=!<>&|,]');
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
