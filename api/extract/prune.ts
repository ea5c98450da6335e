// Pruning for export.mode Resource (docs/crds.md#kollectprofile) and key scrubbing for every mode. Everything
// works on a private plain-JSON copy of the informer's object (toPlainJson), never on the
// object itself, which the informer's cache still holds.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Deep copy as plain JSON: Dates become RFC 3339 strings, undefined members disappear. */
export function toPlainJson(v: unknown): Json {
  switch (typeof v) {
    case 'string': case 'boolean': return v;
    case 'number': return Number.isFinite(v) ? v : null;
    case 'bigint': return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    case 'object': break;
    default: return null;
  }
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => toPlainJson(x));
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, 'Z');
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) {
    if (x !== undefined && typeof x !== 'function') out[k] = toPlainJson(x);
  }
  return out;
}

/** A copy of v without any member whose key is in `keys`, at any depth. */
export function scrub(v: Json, keys: ReadonlySet<string>): Json {
  if (keys.size === 0 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => scrub(x, keys));
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) if (!keys.has(k)) out[k] = scrub(x, keys);
  return out;
}

// ---------- RFC 6901 JSON Pointer ----------

/** The reference tokens of a pointer, or an error message. `''` (the whole document) is refused. */
export function parsePointer(pointer: string): string[] | string {
  if (typeof pointer !== 'string' || pointer === '') return 'a pointer to the whole object cannot be pruned';
  if (!pointer.startsWith('/')) return "a JSON pointer starts with '/'";
  if (/~[^01]|~$/.test(pointer)) return "'~' must be followed by 0 or 1 (~0 is '~', ~1 is '/')";
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Removes what the pointer designates, if it exists (a missing path is not an error). */
export function removeAt(doc: Json, tokens: readonly string[]): void {
  let cur: Json = doc;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const last = i === tokens.length - 1;
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(t)) return;
      const idx = Number(t);
      if (idx >= cur.length) return;
      if (last) { cur.splice(idx, 1); return; }
      cur = cur[idx]!;
    } else if (cur !== null && typeof cur === 'object') {
      if (!Object.hasOwn(cur, t)) return;
      if (last) { delete cur[t]; return; }
      cur = cur[t]!;
    } else {
      return;
    }
  }
}

// ---------- Resource export ----------

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const ALLOW_FULL_EXPORT = 'kollect.dev/allow-full-resource-export';

/** What prune.defaults removes: bookkeeping that changes without the object changing. */
export const DEFAULT_PRUNE: readonly (readonly string[])[] = [
  ['metadata', 'managedFields'],
  ['metadata', 'resourceVersion'],
  ['metadata', 'generation'],
];

/**
 * Removed whatever prune says: kubectl's copy of the last applied manifest repeats the object as
 * it was written, a Secret's stringData in plain text included.
 */
export const ALWAYS_PRUNE: readonly (readonly string[])[] = [['metadata', 'annotations', LAST_APPLIED]];

export interface ResourcePruning {
  defaults: boolean;
  pointers: readonly (readonly string[])[];
  scrubKeys: ReadonlySet<string>;
}

/** Secret (v1) keeps data/stringData only when the object itself opts in. */
export function isGuardedSecret(obj: Json): boolean {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return false;
  if (obj.kind !== 'Secret' || obj.apiVersion !== 'v1') return false;
  const meta = obj.metadata;
  const ann = meta && typeof meta === 'object' && !Array.isArray(meta) ? meta.annotations : undefined;
  const allowed = ann && typeof ann === 'object' && !Array.isArray(ann) ? ann[ALLOW_FULL_EXPORT] : undefined;
  return allowed !== 'true';
}

/** The object to export in Resource mode: `plain` (a private copy) pruned in place, then scrubbed. */
export function pruneResource(plain: Json, p: ResourcePruning): Json {
  const guarded = isGuardedSecret(plain); // decided on the object as it came, before any pruning
  for (const ptr of ALWAYS_PRUNE) removeAt(plain, ptr);
  if (p.defaults) for (const ptr of DEFAULT_PRUNE) removeAt(plain, ptr);
  for (const ptr of p.pointers) removeAt(plain, ptr);
  if (p.defaults) dropIfEmpty(plain, ['metadata', 'annotations']);
  if (guarded) {
    removeAt(plain, ['data']);
    removeAt(plain, ['stringData']);
  }
  return scrub(plain, p.scrubKeys);
}

function dropIfEmpty(doc: Json, path: readonly string[]): void {
  let cur: Json = doc;
  for (const t of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return;
    cur = cur[t] ?? null;
  }
  if (cur !== null && typeof cur === 'object' && !Array.isArray(cur) && Object.keys(cur).length === 0) removeAt(doc, path);
}
