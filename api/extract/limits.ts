// Bounds on extraction, so that no profile can stall the operator (docs/extraction.md): a
// deadline per object (enforced by the worker pool in sandbox.ts), caps on what an attribute,
// a row and a JSONPath may produce. A profile that hits an expression's limit (time, attribute
// size, JSONPath nodes) is disabled, naming the expression; an object whose row is too large or
// too deeply nested is quarantined alone (RowQuarantinedError): the rest keeps flowing.

export interface ExtractionLimits {
  /** Deadline for one object through one profile (filter and every attribute), ms. */
  timeoutMs: number;
  /** JSON size of one attribute's value, bytes. */
  maxAttributeBytes: number;
  /** JSON size of one row's attributes (the whole object in Resource mode), bytes; a larger row is quarantined. */
  maxRowBytes: number;
  /** Nesting depth of a watched object (objects and arrays); a deeper object's row is quarantined. */
  maxDepth: number;
  /** Nodes one JSONPath may select. */
  maxJsonPathNodes: number;
  /** Worker threads evaluating profiles. */
  workers: number;
  /** Batches waiting for a worker before callers wait too. */
  queue: number;
}

export const DEFAULT_LIMITS: Readonly<ExtractionLimits> = {
  timeoutMs: 250,
  maxAttributeBytes: 64 * 1024,
  maxRowBytes: 1024 * 1024,
  maxJsonPathNodes: 10_000,
  maxDepth: 200,
  workers: 2,
  queue: 64,
};

const ENV: Record<keyof ExtractionLimits, string> = {
  timeoutMs: 'KOLLECT_EXTRACT_TIMEOUT',
  maxAttributeBytes: 'KOLLECT_EXTRACT_MAX_ATTRIBUTE_BYTES',
  maxRowBytes: 'KOLLECT_EXTRACT_MAX_ROW_BYTES',
  maxJsonPathNodes: 'KOLLECT_EXTRACT_MAX_JSONPATH_NODES',
  maxDepth: 'KOLLECT_EXTRACT_MAX_DEPTH',
  workers: 'KOLLECT_EXTRACT_WORKERS',
  queue: 'KOLLECT_EXTRACT_QUEUE',
};

/** The limits set by KOLLECT_EXTRACT_* (positive integers); throws a TypeError naming a bad one. */
export function extractionLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): ExtractionLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const [key, name] of Object.entries(ENV) as [keyof ExtractionLimits, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0) throw new TypeError(`${name} must be a positive integer, got "${raw}"`);
    out[key] = n;
  }
  return out;
}

/** A profile exceeded a limit: the watcher disables it (Ready=False, reason ExtractionLimit). */
export class ExtractionLimitError extends Error {
  override readonly name = 'ExtractionLimitError';
  constructor(
    /** The expression's field in the profile, e.g. `spec.attributes[1].cel`. */
    readonly field: string,
    /** What was exceeded, e.g. `250 ms per object (KOLLECT_EXTRACT_TIMEOUT)`. */
    readonly limit: string,
    /** What happened, e.g. `attribute 'x' is 70000 bytes of JSON`. */
    readonly detail: string,
  ) {
    super(`${field}: ${detail}; limit ${limit}`);
  }
}

export const kib = (n: number): string => (n % (1024 * 1024) === 0 ? `${n / (1024 * 1024)} MiB` : n % 1024 === 0 ? `${n / 1024} KiB` : `${n} bytes`);
export const limitEnv = (key: keyof ExtractionLimits): string => ENV[key];

/**
 * One object cannot be made into a row within the row limits (size, nesting depth): its row is
 * quarantined (not exported, reported in the Target's status) and every other object keeps
 * flowing. The profile is not at fault, so it stays enabled.
 */
export class RowQuarantinedError extends Error {
  override readonly name = 'RowQuarantinedError';
  constructor(
    /** What was measured, e.g. `spec.export` or `object`. */
    readonly field: string,
    /** The limit and its variable, e.g. `1 MiB (KOLLECT_EXTRACT_MAX_ROW_BYTES)`. */
    readonly limit: string,
    /** What happened, e.g. `shop/big is 2097300 bytes of JSON`. */
    readonly detail: string,
  ) {
    super(`${detail}; limit ${limit}`);
  }
}

/** Whether `v` nests objects/arrays deeper than `max` (iterative: a 10,000-deep object cannot overflow the stack). */
export function deeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, d + 1]);
  }
  return false;
}
