// Go-style durations as the CRDs spell them (`30s`, `1m30s`, `250ms`), in milliseconds.
const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/y;

export function parseDuration(text: string, field = 'duration'): number {
  let total = 0;
  PART.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (!m || !m[1] || !m[2]) throw new RangeError(`${field}: "${text}" is not a duration; use e.g. 30s, 5m, 1h30m`);
    total += Number(m[1]) * (UNIT_MS[m[2]] ?? 0);
    at = PART.lastIndex;
  }
  if (!text) throw new RangeError(`${field}: empty duration; use e.g. 30s`);
  return Math.round(total);
}
