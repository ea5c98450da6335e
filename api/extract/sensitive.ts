// Kinds whose objects are credentials (v1/Secret, and whatever an administrator adds): no
// profile may watch them, in any export mode, unless an administrator names that profile. The
// allowlist lives in the operator's environment, which a namespace tenant cannot edit; a label
// or annotation on the profile would be set by the very tenant it is meant to stop.

export interface SensitivePolicy {
  /** `apiVersion/Kind`, e.g. `v1/Secret`, `external-secrets.io/v1/ExternalSecret`. */
  kinds: ReadonlySet<string>;
  /** `namespace/name` of the profiles allowed to watch a sensitive kind. */
  allowed: ReadonlySet<string>;
}

export const SENSITIVE_KINDS_ENV = 'KOLLECT_SENSITIVE_KINDS';
export const ALLOW_SENSITIVE_ENV = 'KOLLECT_ALLOW_SENSITIVE_PROFILES';
export const DEFAULT_SENSITIVE_KINDS = ['v1/Secret'];

const list = (raw: string | undefined): string[] => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

/** KOLLECT_SENSITIVE_KINDS (default v1/Secret) and KOLLECT_ALLOW_SENSITIVE_PROFILES; throws a TypeError naming a bad entry. */
export function sensitivePolicyFromEnv(env: Readonly<Record<string, string | undefined>>): SensitivePolicy {
  const kinds = env[SENSITIVE_KINDS_ENV] === undefined ? DEFAULT_SENSITIVE_KINDS : list(env[SENSITIVE_KINDS_ENV]);
  for (const k of kinds) {
    if (!/^([a-z0-9.-]+\/)?v[0-9][a-z0-9]*\/[A-Za-z][A-Za-z0-9]*$/.test(k)) throw new TypeError(`${SENSITIVE_KINDS_ENV}: "${k}" is not apiVersion/Kind (e.g. v1/Secret)`);
  }
  // v1/Secret stays sensitive even when the list is set without it.
  const allowed = list(env[ALLOW_SENSITIVE_ENV]);
  for (const a of allowed) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(a)) throw new TypeError(`${ALLOW_SENSITIVE_ENV}: "${a}" is not namespace/name`);
  }
  return { kinds: new Set([...DEFAULT_SENSITIVE_KINDS, ...kinds]), allowed: new Set(allowed) };
}

/** Why the profile `namespace/name` may not watch `apiVersion/kind`, or undefined when it may. */
export function sensitiveRefusal(key: string, apiVersion: string, kind: string, policy: SensitivePolicy): string | undefined {
  const gvk = `${apiVersion}/${kind}`;
  if (!policy.kinds.has(gvk) || policy.allowed.has(key)) return undefined;
  return `${gvk} is a sensitive kind (${SENSITIVE_KINDS_ENV}): no profile may watch it in any export mode unless an administrator lists it in the operator's ${ALLOW_SENSITIVE_ENV} (namespace/name, comma-separated), e.g. ${ALLOW_SENSITIVE_ENV}=${key}`;
}
