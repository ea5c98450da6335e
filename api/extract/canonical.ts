// Canonical JSON: object keys sorted (by UTF-16 code units, recursively), no whitespace, array
// order kept, undefined members dropped. Two objects that differ only in key order serialise
// identically, which makes a content hash of it stable.

export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'number': return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'string': case 'boolean': return JSON.stringify(v);
    case 'bigint': return v.toString();
    case 'object': break;
    default: return 'null';
  }
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  const obj = v instanceof Date ? null : (v as Record<string, unknown>);
  if (!obj) return JSON.stringify(v);
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}
