// CEL values → plain JSON, the only shape a Row's attributes may hold: ints become numbers while
// exact (else decimal strings), timestamps RFC 3339 strings, durations Go duration strings
// (`1h30m0s`, as Kubernetes writes them), bytes base64, maps objects, types their names.
import { isCelList, isCelMap, isCelType, isCelUint } from '@bufbuild/cel';

interface WellKnown { desc: { typeName: string }; message: { seconds: bigint; nanos: number } }

const isWellKnown = (v: object, typeName: string): v is WellKnown =>
  typeof (v as Partial<WellKnown>).desc?.typeName === 'string' && (v as WellKnown).desc.typeName === typeName && typeof (v as WellKnown).message === 'object';

export function celToJson(v: unknown): unknown {
  switch (typeof v) {
    case 'bigint': return bigintToJson(v);
    case 'number': return Number.isFinite(v) ? v : String(v);
    case 'string': case 'boolean': return v;
    case 'undefined': return null;
    case 'object': break;
    default: return String(v);
  }
  if (v === null) return null;
  if (v instanceof Uint8Array) return base64(v);
  if (isCelUint(v)) return bigintToJson(v.value);
  if (isCelType(v)) return v.name;
  if (isCelList(v)) return Array.from(v, celToJson);
  if (isCelMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v.entries()) out[isCelUint(k) ? String(k.value) : String(k)] = celToJson(x);
    return out;
  }
  if (Array.isArray(v)) return v.map(celToJson);
  if (v instanceof Map) return celToJson(Object.fromEntries(v));
  if (isWellKnown(v, 'google.protobuf.Timestamp')) return rfc3339(v.message.seconds, v.message.nanos);
  if (isWellKnown(v, 'google.protobuf.Duration')) return goDuration(v.message.seconds * 1_000_000_000n + BigInt(v.message.nanos));
  if (Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, celToJson(x)]));
  }
  return `<${(v as { constructor?: { name?: string } }).constructor?.name ?? 'object'}>`;
}

const bigintToJson = (n: bigint): number | string =>
  n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n.toString();

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** RFC 3339 in UTC, fractional seconds only when present (3, 6 or 9 digits, as protobuf JSON). */
export function rfc3339(seconds: bigint, nanos: number): string {
  const base = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '');
  if (!nanos) return `${base}Z`;
  let frac = String(nanos).padStart(9, '0');
  while (frac.endsWith('000')) frac = frac.slice(0, -3);
  return `${base}.${frac}Z`;
}

/** Go's time.Duration.String(): `1h30m0s`, `1.5s`, `250ms`, `0s`. */
export function goDuration(totalNanos: bigint): string {
  if (totalNanos === 0n) return '0s';
  const sign = totalNanos < 0n ? '-' : '';
  const u = totalNanos < 0n ? -totalNanos : totalNanos;
  if (u < 1_000n) return `${sign}${u}ns`;
  if (u < 1_000_000n) return `${sign}${frac(u, 1_000n, 3)}µs`;
  if (u < 1_000_000_000n) return `${sign}${frac(u, 1_000_000n, 6)}ms`;
  const h = u / 3_600_000_000_000n;
  const m = (u / 60_000_000_000n) % 60n;
  const s = frac(u % 60_000_000_000n, 1_000_000_000n, 9);
  return `${sign}${h > 0n ? `${h}h` : ''}${h > 0n || m > 0n ? `${m}m` : ''}${s}s`;
}

function frac(n: bigint, unit: bigint, digits: number): string {
  const whole = n / unit;
  const rest = (n % unit).toString().padStart(digits, '0').replace(/0+$/, '');
  return rest ? `${whole}.${rest}` : String(whole);
}
