// How a Kubernetes object (plain JSON) is seen by CEL. JSON has one number type; Kubernetes
// schemas say `integer` for replicas, ports, counts, so integral numbers become CEL `int`
// (bigint) and the rest `double`, as the apiserver's own CEL does with a schema. Conversion is
// lazy: @bufbuild/cel reads maps through get()/entries(), so only the paths an expression
// touches are converted, and each object is wrapped once for all of a profile's expressions.

/** A JSON object presented to @bufbuild/cel as a Map (its input contract is `instanceof Map`). */
export class JsonObjectMap extends Map<string, unknown> {
  readonly #obj: Readonly<Record<string, unknown>>;
  readonly #cache = new Map<string, unknown>();
  #strings: string[] | undefined;

  constructor(obj: Readonly<Record<string, unknown>>) {
    super();
    this.#obj = obj;
  }

  /** Every string value in the object, longest first (for redacting error messages). */
  stringValues(): readonly string[] {
    if (!this.#strings) {
      const found = new Set<string>();
      const walk = (v: unknown): void => {
        if (typeof v === 'string') found.add(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(this.#obj);
      this.#strings = [...found].sort((a, b) => b.length - a.length);
    }
    return this.#strings;
  }

  override get size(): number {
    return Object.keys(this.#obj).length;
  }

  override get(key: string): unknown {
    if (typeof key !== 'string' || !Object.hasOwn(this.#obj, key)) return undefined;
    if (this.#cache.has(key)) return this.#cache.get(key);
    const v = lift(this.#obj[key]);
    this.#cache.set(key, v);
    return v;
  }

  override has(key: string): boolean {
    return typeof key === 'string' && Object.hasOwn(this.#obj, key) && this.#obj[key] !== undefined;
  }

  override keys(): MapIterator<string> {
    return Object.keys(this.#obj)[Symbol.iterator]();
  }

  override *values(): MapIterator<unknown> {
    for (const k of Object.keys(this.#obj)) yield this.get(k);
  }

  override *entries(): MapIterator<[string, unknown]> {
    for (const k of Object.keys(this.#obj)) yield [k, this.get(k)];
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  override forEach(cb: (value: unknown, key: string, map: Map<string, unknown>) => void, thisArg?: unknown): void {
    for (const k of Object.keys(this.#obj)) cb.call(thisArg, this.get(k), k, this);
  }
}

/** The CEL input for one JSON value (arrays are lifted one level; their objects stay lazy). */
export function lift(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(lift);
  if (v !== null && typeof v === 'object') {
    if (v instanceof Date) return v.toISOString();
    return new JsonObjectMap(v as Record<string, unknown>);
  }
  return v === undefined ? null : v;
}

export const liftObject = (obj: Readonly<Record<string, unknown>>): JsonObjectMap => new JsonObjectMap(obj);
