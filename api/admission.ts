// The validating webhook's checks that need nothing but the object (no I/O): the AdmissionReview
// shapes of admission.k8s.io/v1, and per kind the refusals, each naming its field. The server,
// the apiserver reads and the checks between objects (overlapping Git paths) are in
// worker/webhook.ts; what is checked, and why, in docs/admission.md.
//
// The profile checks call the compiler the watcher runs (extract/profile.ts) and the sensitive-kind
// policy the watcher enforces (extract/sensitive.ts): admission refuses exactly what the watcher
// would mark Ready=False, only earlier, at `kubectl apply`.
import type { KollectInventory, KollectProfile } from './types.js';
import type { KollectKind } from './constants.js';
import { compileProfile } from './extract/profile.js';
import { sensitiveRefusal, type SensitivePolicy } from './extract/sensitive.js';
import type { ExtractionLimits } from './extract/limits.js';
import { checkInventory, checkProfile, checkTarget, type ProfileLike, type Refusal as TenancyRefusal, type ScopeLike, type SinkLike, type TenancyOptions } from './tenancy.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';

/** The parts of an admission.k8s.io/v1 AdmissionRequest the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  namespace?: string;
  name?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  userInfo?: { username?: string; uid?: string; groups?: string[] };
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** An admission.k8s.io/v1 AdmissionResponse; status is a metav1.Status. */
export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    code: number;
    reason: 'Invalid' | 'Forbidden' | 'BadRequest';
    message: string;
    details?: { name?: string; kind?: string; group?: string; causes: { reason: string; message: string; field: string }[] };
  };
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/**
 * Why an object is refused. `invalid` (HTTP 422, reason Invalid): the object is wrong in itself
 * (an expression that does not compile). `forbidden` (HTTP 403, reason Forbidden): the object is
 * well-formed but the operator's policy does not allow it (a sensitive kind, a reference outside
 * the namespace, a size above the operator's cap, a Git path another inventory owns).
 */
export interface Refusal {
  field: string;
  message: string;
  kind: 'invalid' | 'forbidden';
}

/** What a check returns: refusals (the object is denied when there is one) and warnings. */
export interface Verdict {
  refusals: Refusal[];
  warnings: string[];
}

const MAX_WARNING = 256; // the apiserver truncates longer warnings; keep each one readable

/**
 * `<input>:1:22: found + …` (the CEL parser's position, line and column counted from 1) as
 * `line 1, column 22: found + …`; any other compiler message unchanged (the JSONPath parser says
 * `at offset N` itself).
 */
export function withPosition(message: string): string {
  const m = /^<input>:(\d+):(\d+):\s*(.*)$/s.exec(message);
  return m ? `line ${m[1]}, column ${m[2]}: ${m[3]}` : message;
}

export interface ProfileContext {
  /** The operator's sensitive-kind policy (KOLLECT_SENSITIVE_KINDS, KOLLECT_ALLOW_SENSITIVE_PROFILES). */
  sensitive: SensitivePolicy;
  /** The operator's extraction limits (KOLLECT_EXTRACT_*), as the watcher compiles with them. */
  limits?: Partial<ExtractionLimits>;
}

/** A KollectProfile: every CEL expression and JSONPath compiles, and its kind is not sensitive. */
export function profileVerdict(obj: KollectProfile, ctx: ProfileContext): Verdict {
  const spec = obj.spec;
  const result = compileProfile(spec, ctx.limits);
  const refusals: Refusal[] = result.ok ? [] : result.errors.map((e) => ({ field: e.field, message: withPosition(e.message), kind: 'invalid' as const }));
  const warnings = result.ok ? result.profile.warnings.map((w) => `${w.field}: ${w.message}`) : [];
  if (spec && typeof spec.apiVersion === 'string' && typeof spec.kind === 'string') {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const refusal = sensitiveRefusal(key, spec.apiVersion, spec.kind, ctx.sensitive);
    if (refusal) refusals.push({ field: 'spec.kind', message: refusal, kind: 'forbidden' });
  }
  return { refusals, warnings };
}

/**
 * Hook for the operator's cap on spec.maxExportBytes: the cap is given here when the operator has
 * one (KOLLECT_MAX_EXPORT_BYTES, read by worker/config.ts); without it no cap is checked.
 */
export interface InventoryContext {
  maxExportBytes?: number;
}

const REF_LISTS = ['targetRefs', 'snapshotSinkRefs', 'databaseSinkRefs', 'eventSinkRefs'] as const;

/**
 * A KollectInventory: references stay in its namespace, and spec.maxExportBytes is within the
 * operator's cap. References have no namespace field (api/types.ts: LocalObjectReference,
 * SinkRef): the CRD schema prunes or, with strict field validation, refuses one, so this check
 * refuses a `namespace` that reaches the webhook anyway (an older or hand-edited CRD), unless it
 * names the inventory's own namespace.
 */
export function inventoryVerdict(obj: KollectInventory, ctx: InventoryContext): Verdict {
  const refusals: Refusal[] = [];
  const namespace = obj.metadata?.namespace ?? '';
  const spec = (obj.spec ?? {}) as unknown as Record<string, unknown>;
  for (const list of REF_LISTS) {
    const refs = spec[list];
    if (!Array.isArray(refs)) continue;
    refs.forEach((r: unknown, i) => {
      const ns = r !== null && typeof r === 'object' ? (r as { namespace?: unknown }).namespace : undefined;
      if (ns !== undefined && ns !== namespace) {
        refusals.push({ field: `spec.${list}[${i}].namespace`, message: `references namespace ${JSON.stringify(ns)}: an inventory references objects of its own namespace (${namespace}) only; remove the namespace and create the object in ${namespace}`, kind: 'forbidden' });
      }
    });
  }
  const max = obj.spec?.maxExportBytes;
  if (ctx.maxExportBytes !== undefined && typeof max === 'number' && max > ctx.maxExportBytes) {
    refusals.push({ field: 'spec.maxExportBytes', message: `${max} is above the operator's cap of ${ctx.maxExportBytes} bytes (KOLLECT_MAX_EXPORT_BYTES): lower it to at most ${ctx.maxExportBytes}, or ask an administrator to raise the cap`, kind: 'forbidden' });
  }
  return { refusals, warnings: [] };
}

/** Who is asking, for the tenancy checks. */
export interface ScopeContext {
  namespace: string;
  /** The operator's tenancy settings (KOLLECT_TENANT_MODE, KOLLECT_WATCH_NAMESPACES). */
  tenancy: TenancyOptions;
  /** The KollectScope of the object's namespace, if there is one (read by the webhook). */
  scopes: readonly ScopeLike[];
  /** A target's KollectProfile, when it resolves. */
  profile?: ProfileLike;
  /** An inventory's sinks that resolve. */
  sinks?: readonly SinkLike[];
}

/**
 * Tenancy at admission (api/tenancy.ts, the same checks the watcher makes at reconcile time): a
 * profile's kind, a target's namespaces and a namespaced inventory's sink types, against the
 * namespace's KollectScope. Whether a target's kind is cluster-scoped is not known here (no
 * discovery): that rule is left to reconcile time.
 */
export function scopeRefusals(kind: KollectKind, obj: unknown, ctx: ScopeContext): Refusal[] {
  const o = obj as { metadata?: { name?: string }; spec?: Record<string, unknown> };
  const metadata = { name: o.metadata?.name ?? '', namespace: ctx.namespace || undefined };
  const spec = o.spec ?? {};
  let found: TenancyRefusal[] = [];
  if (kind === 'KollectProfile' && metadata.namespace) found = checkProfile({ metadata, spec: spec as ProfileLike['spec'] }, ctx.scopes, ctx.tenancy);
  if (kind === 'KollectTarget') found = checkTarget({ metadata, spec: spec }, ctx.profile, ctx.scopes, ctx.tenancy);
  if (kind === 'KollectInventory') found = checkInventory({ metadata }, ctx.sinks ?? [], ctx.scopes, ctx.tenancy);
  return found.map((r) => ({ kind: 'forbidden', field: r.field, message: r.message }));
}

/**
 * The response for `refusals`: allowed without any; otherwise denied with every refusal in the
 * message (`<Kind> <ns>/<name>: <field>: <message>; …`) and in status.details.causes, code 403
 * when one is a policy refusal, else 422.
 */
export function reviewResponse(req: Pick<AdmissionRequest, 'uid' | 'kind' | 'name' | 'namespace'>, verdict: Verdict): AdmissionResponse {
  const warnings = verdict.warnings.map((w) => (w.length > MAX_WARNING ? `${w.slice(0, MAX_WARNING - 1)}…` : w));
  const out: AdmissionResponse = { uid: req.uid, allowed: verdict.refusals.length === 0 };
  if (warnings.length > 0) out.warnings = warnings;
  if (out.allowed) return out;
  const forbidden = verdict.refusals.some((r) => r.kind === 'forbidden');
  const what = `${req.kind.kind} ${req.namespace ? `${req.namespace}/` : ''}${req.name ?? ''}`;
  out.status = {
    code: forbidden ? 403 : 422,
    reason: forbidden ? 'Forbidden' : 'Invalid',
    message: `${what}: ${verdict.refusals.map((r) => `${r.field}: ${r.message}`).join('; ')}`,
    details: {
      name: req.name, kind: req.kind.kind, group: req.kind.group,
      causes: verdict.refusals.map((r) => ({ reason: r.kind === 'forbidden' ? 'FieldValueForbidden' : 'FieldValueInvalid', message: r.message, field: r.field })),
    },
  };
  return out;
}
