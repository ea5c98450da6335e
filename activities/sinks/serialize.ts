// Deterministic serialization of rows for file-based sinks: the same row always yields the same
// bytes (stable key order, no aliases, no timestamps), so an unchanged snapshot makes no diff.
import type { Row } from '../../api/rows.js';

export type Format = 'yaml' | 'json';

/** `value` with object keys sorted recursively (arrays keep their order). */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/** Serializes a JSON-compatible document in its own key order. Output ends with a newline. */
export function serialize(doc: unknown, format: Format): string {
  if (format === 'json') return `${JSON.stringify(doc, null, 2)}\n`;
  return toYaml(doc);
}

/**
 * A row as a document: identity first in a fixed order, then the attributes with sorted keys.
 * The hash and version are left out on purpose: they are bookkeeping, not content, and would
 * only add noise to a reviewer's diff.
 */
export function rowDocument(row: Row): Record<string, unknown> {
  const doc: Record<string, unknown> = { apiVersion: row.apiVersion, kind: row.kind };
  if (row.namespace) doc.namespace = row.namespace;
  doc.name = row.name;
  doc.uid = row.uid;
  doc.cluster = row.cluster;
  doc.target = row.target;
  doc.attributes = canonical(row.attributes ?? {});
  return doc;
}

// ---------- YAML ----------
// A small block-style emitter for JSON data. The `yaml` package builds a full document AST per
// call (~0.5 ms a row), which made a 10k-row export spend seconds serializing; this is ~20x
// faster. Scalars are plain only when every YAML 1.1 and 1.2 reader takes them as the same
// string (so `yes`, `on`, `0755`, `1.20`, `2024-01-01` are quoted for sigs.k8s.io/yaml and
// PyYAML alike); everything else is a JSON string, which is valid YAML double-quoted.

const AMBIGUOUS_WORD = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|~|=|<<)$/;
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+=:() -]*$/;
// Characters YAML does not allow raw (C0 except tab/LF, DEL, C1 incl. NEL), BOM, and the
// U+2028/2029 that YAML 1.1 treats as line breaks.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE_G = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff]/g;

function isPlain(s: string): boolean {
  return PLAIN.test(s) && !AMBIGUOUS_WORD.test(s) && !s.endsWith(' ') && !s.endsWith(':')
    && !s.includes(': ') && !s.includes(' #') && !/^[-+]?\.?[0-9]/.test(s);
}

function quoted(s: string): string {
  const j = JSON.stringify(s);
  return NEEDS_ESCAPE.test(j) ? j.replace(NEEDS_ESCAPE_G, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : j;
}

/** A scalar that fits on the line after `key: ` or `- `. */
function scalar(s: string): string {
  return isPlain(s) ? s : quoted(s);
}

/** Multi-line text as a literal block (`|` or `|-`), or undefined when only quoting is safe. */
function literalBlock(s: string, indent: string): string | undefined {
  if (!s.includes('\n') || s.includes('\r') || s.includes('\t') || NEEDS_ESCAPE.test(s) || /^[ \n]/.test(s) || s.endsWith('\n\n')) return undefined;
  const clip = s.endsWith('\n');
  const body = clip ? s.slice(0, -1) : s;
  const lines = body.split('\n').map((l) => (l === '' ? '' : `${indent}${l}`));
  return `${clip ? '|' : '|-'}\n${lines.join('\n')}`;
}

function inline(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') return scalar(v);
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && Object.keys(v).length === 0) return '{}';
  return undefined;
}

/** Appends the lines of a non-empty mapping or sequence at `indent` to `out`. */
function block(v: object, indent: string, out: string[]): void {
  const deeper = `${indent}  `;
  if (Array.isArray(v)) {
    for (const item of v as unknown[]) {
      const s = inline(item);
      if (s !== undefined) {
        out.push(`${indent}- ${typeof item === 'string' ? literalBlock(item, deeper) ?? s : s}`);
        continue;
      }
      // A nested collection: its first line shares the `- ` line.
      const sub: string[] = [];
      block(item as object, deeper, sub);
      out.push(`${indent}- ${sub[0]!.slice(deeper.length)}`, ...sub.slice(1));
    }
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    if (val === undefined) continue;
    const key = isPlain(k) && !k.includes(':') ? k : quoted(k);
    const s = inline(val);
    if (s !== undefined) {
      out.push(`${indent}${key}: ${typeof val === 'string' ? literalBlock(val, deeper) ?? s : s}`);
    } else {
      out.push(`${indent}${key}:`);
      block(val as object, deeper, out);
    }
  }
}

/** YAML for JSON-compatible data, block style, 2-space indent, in the document's key order. */
export function toYaml(doc: unknown): string {
  const s = inline(doc);
  if (s !== undefined) return `${typeof doc === 'string' ? literalBlock(doc, '  ') ?? s : s}\n`;
  const out: string[] = [];
  block(doc as object, '', out);
  return `${out.join('\n')}\n`;
}
