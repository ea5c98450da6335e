// Credential redaction for everything a sink backend lets out: error messages, log fields,
// result details. Invariant 7: no credential value ever reaches status, events, logs or errors.
import { DeleteGuardError, SinkConfigError } from './types.js';
import { EndpointRefusedError } from './endpoints.js';

export const REDACTED = '***';

// scheme://userinfo@ — greedy up to the last '@' before whitespace, so an unencoded '@' or '/'
// in a password does not leave its tail behind (over-redacting a path with an '@' is the safe side).
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s@]*@/gi;

/**
 * The URL without its userinfo (`postgres://u:p@h/db` → `postgres://h/db`). A value that does not
 * parse as a URL is never echoed: only its scheme is kept (`postgres://…`).
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
    return scheme ? `${scheme}://…` : '(not a URL)';
  }
}

/** Keys whose values name an account rather than hold a secret: not redacted (a user `git` would garble every message). */
const IDENTITY_KEYS = new Set(['username', 'user']);
/** Values shorter than this are not redacted: replacing every `ab` in a message hides more than it protects. */
export const MIN_SECRET_LENGTH = 4;

/** The forms in which a value may be echoed: as is, trimmed (Secrets made with --from-file end in a newline), URL-encoded in either hex case, JSON-escaped, base64. */
function encodings(v: string): string[] {
  const out: string[] = [];
  for (const x of new Set([v, v.trim()])) {
    if (x.length < MIN_SECRET_LENGTH) continue;
    const pct = encodeURIComponent(x);
    const b64 = Buffer.from(x, 'utf8').toString('base64');
    out.push(x, pct, pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()), JSON.stringify(x).slice(1, -1), b64, b64.replace(/=+$/, ''), Buffer.from(x, 'utf8').toString('base64url'));
  }
  return out;
}

/**
 * The strings to scrub for a set of credentials: every secret value (not account names) in every
 * encoding a library might echo it in, plus `extra` derived secrets (e.g. a Basic auth token).
 * Longest first, so a value containing another is replaced whole.
 */
export function secretValues(credentials: Readonly<Record<string, string>>, extra: readonly string[] = []): string[] {
  const out = new Set<string>();
  const values = Object.entries(credentials).filter(([k, v]) => typeof v === 'string' && !IDENTITY_KEYS.has(k)).map(([, v]) => v);
  for (const v of [...values, ...extra]) for (const e of encodings(v)) if (e.length >= MIN_SECRET_LENGTH) out.add(e);
  return [...out].sort((a, b) => b.length - a.length);
}

/** `text` with URL userinfo stripped and every secret replaced by `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text.replace(URL_USERINFO, '$1');
  for (const s of secrets) if (s) out = out.split(s).join(REDACTED);
  return out;
}

/**
 * A sink export failed for a reason a retry may fix (server down, conflict, timeout). Its message
 * is already redacted; `code` is a stable short reason (errno, SQLSTATE, NATS code) for metrics.
 */
export class SinkExportError extends Error {
  override readonly name = 'SinkExportError';
  constructor(readonly sinkType: string, message: string, readonly code?: string) { super(message); }
}

/** The sink could not be connected to (refused, timed out, unresolvable, reset, no server selectable). */
export class SinkUnreachableError extends SinkExportError {}

/** Error codes and names, anywhere in an error's cause chain, that mean the sink could not be reached. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'DISCONNECT', 'CONNECTION_REFUSED',
  'MongoServerSelectionError', 'MongoNetworkError', 'MongoNetworkTimeoutError',
]);

/** True when `err` (or a cause of it) says the sink could not be connected to. */
export function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SinkUnreachableError) return true;
    const { code, name } = e as { code?: unknown; name?: unknown };
    if ((typeof code === 'string' && UNREACHABLE.has(code)) || (typeof name === 'string' && UNREACHABLE.has(name))) return true;
    const errors = (e as { errors?: unknown }).errors; // AggregateError (happy eyeballs: every address refused)
    if (Array.isArray(errors) && errors.some((x) => isUnreachable(x))) return true;
  }
  return false;
}

function codeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' && /^[A-Za-z0-9_.-]{1,40}$/.test(c) ? c : undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof SinkConfigError) return err.message.slice(err.field.length + 2);
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Converts anything thrown inside a backend into an error safe to surface: the message is redacted,
 * prefixed with `context` (built by the caller from non-secret values), and the original error
 * (whose stack, cause or fields may hold secrets) is dropped. A SinkConfigError stays one and a
 * DeleteGuardError is passed through, so the activity layer can still make them non-retryable.
 */
export function redactError(err: unknown, opts: { sinkType: string; context: string; secrets: readonly string[] }): Error {
  if (err instanceof DeleteGuardError) return err; // counts only, and it must stay non-retryable
  if (err instanceof EndpointRefusedError) return err; // host and address only; its class says why
  const msg = redact(messageOf(err), opts.secrets);
  if (err instanceof SinkUnreachableError) return new SinkUnreachableError(err.sinkType, msg, err.code);
  if (err instanceof SinkExportError) return new SinkExportError(err.sinkType, msg, err.code); // already has its context
  if (err instanceof SinkConfigError) return new SinkConfigError(err.field, `${opts.context}: ${msg}`);
  const Kind = isUnreachable(err) ? SinkUnreachableError : SinkExportError;
  return new Kind(opts.sinkType, `${opts.context}: ${msg}`, codeOf(err));
}
