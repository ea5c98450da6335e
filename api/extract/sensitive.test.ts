import { describe, expect, it } from 'vitest';
import { sensitivePolicyFromEnv, sensitiveRefusal } from './sensitive.js';

describe('sensitive kinds', () => {
  it('refuses v1/Secret by default, naming the rule and how an administrator allows it', () => {
    const policy = sensitivePolicyFromEnv({});
    const why = sensitiveRefusal('team-a/secrets', 'v1', 'Secret', policy);
    expect(why).toBe('v1/Secret is a sensitive kind (KOLLECT_SENSITIVE_KINDS): no profile may watch it in any export mode unless an administrator lists it in the operator\'s KOLLECT_ALLOW_SENSITIVE_PROFILES (namespace/name, comma-separated), e.g. KOLLECT_ALLOW_SENSITIVE_PROFILES=team-a/secrets');
    expect(sensitiveRefusal('team-a/cms', 'v1', 'ConfigMap', policy)).toBeUndefined();
  });

  it('adds the kinds an administrator lists (v1/Secret always stays) and allows the listed profiles only', () => {
    const policy = sensitivePolicyFromEnv({ KOLLECT_SENSITIVE_KINDS: 'external-secrets.io/v1beta1/ExternalSecret', KOLLECT_ALLOW_SENSITIVE_PROFILES: 'ops/audit, ops/es' });
    expect(sensitiveRefusal('ops/x', 'v1', 'Secret', policy)).toMatch(/sensitive kind/);
    expect(sensitiveRefusal('ops/x', 'external-secrets.io/v1beta1', 'ExternalSecret', policy)).toMatch(/sensitive kind/);
    expect(sensitiveRefusal('ops/audit', 'v1', 'Secret', policy)).toBeUndefined();
    expect(sensitiveRefusal('ops/es', 'external-secrets.io/v1beta1', 'ExternalSecret', policy)).toBeUndefined();
    expect(sensitiveRefusal('other/audit', 'v1', 'Secret', policy)).toMatch(/sensitive kind/);
  });

  it('a malformed entry is a TypeError naming the variable', () => {
    expect(() => sensitivePolicyFromEnv({ KOLLECT_SENSITIVE_KINDS: 'Secret' })).toThrow(/KOLLECT_SENSITIVE_KINDS: "Secret"/);
    expect(() => sensitivePolicyFromEnv({ KOLLECT_ALLOW_SENSITIVE_PROFILES: 'just-a-name' })).toThrow(/KOLLECT_ALLOW_SENSITIVE_PROFILES/);
  });
});
