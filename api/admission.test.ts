import { describe, expect, it } from 'vitest';
import { inventoryVerdict, profileVerdict, reviewResponse, withPosition } from './admission.js';
import { sensitivePolicyFromEnv } from './extract/sensitive.js';
import type { KollectInventory, KollectProfile } from './types.js';

const sensitive = sensitivePolicyFromEnv({});
const profile = (spec: Partial<KollectProfile['spec']>, name = 'p'): KollectProfile => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectProfile', metadata: { name, namespace: 'team-a' },
  spec: { apiVersion: 'apps/v1', kind: 'Deployment', attributes: [{ name: 'replicas', cel: 'object.spec.replicas' }], ...spec },
});
const inventory = (spec: Record<string, unknown>): KollectInventory => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name: 'inv', namespace: 'team-a' },
  spec: { targetRefs: [{ name: 't' }], ...spec },
});
const req = { uid: 'u-1', kind: { group: 'kollect.dev', version: 'v1alpha1', kind: 'KollectProfile' }, namespace: 'team-a', name: 'p' };

describe('profile checks', () => {
  it('refuses a CEL expression that does not compile with the field, the position and the parser message', () => {
    const v = profileVerdict(profile({ attributes: [{ name: 'ok', cel: 'object.metadata.name' }, { name: 'bad', cel: 'object.spec.replicas +' }] }), { sensitive });
    expect(v.refusals).toEqual([{ field: 'spec.attributes[1].cel', message: 'line 1, column 22: found + but expecting end of input', kind: 'invalid' }]);
    const r = reviewResponse(req, v);
    expect(r).toMatchObject({ uid: 'u-1', allowed: false, status: { code: 422, reason: 'Invalid', message: 'KollectProfile team-a/p: spec.attributes[1].cel: line 1, column 22: found + but expecting end of input' } });
    expect(r.status?.details?.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.attributes[1].cel', message: 'line 1, column 22: found + but expecting end of input' }]);
  });

  it('reports every bad expression: JSONPath, filter, and a multi-line CEL position', () => {
    const v = profileVerdict(profile({ attributes: [{ name: 'a', jsonPath: '{.spec.replicas' }, { name: 'b', cel: 'object.spec ==\n  1 +' }], filter: 'object.(' }), { sensitive });
    expect(v.refusals.map((r) => [r.field, r.message])).toEqual([
      ['spec.attributes[0].jsonPath', 'unterminated {…} template'],
      ['spec.attributes[1].cel', 'line 2, column 5: found + but expecting end of input'],
      ['spec.filter', 'line 1, column 7: found . but expecting end of input'],
    ]);
  });

  it('refuses a sensitive kind in every export mode with 403, unless the operator allows the profile', () => {
    for (const spec of [{ apiVersion: 'v1', kind: 'Secret' }, { apiVersion: 'v1', kind: 'Secret', attributes: [], export: { mode: 'Resource' as const } }]) {
      const v = profileVerdict(profile(spec, 'secrets'), { sensitive });
      expect(v.refusals).toHaveLength(1);
      expect(v.refusals[0]).toMatchObject({ field: 'spec.kind', kind: 'forbidden' });
      expect(v.refusals[0]!.message).toMatch(/^v1\/Secret is a sensitive kind .*KOLLECT_ALLOW_SENSITIVE_PROFILES=team-a\/secrets$/);
      expect(reviewResponse({ ...req, name: 'secrets' }, v).status).toMatchObject({ code: 403, reason: 'Forbidden' });
    }
    const allowed = sensitivePolicyFromEnv({ KOLLECT_ALLOW_SENSITIVE_PROFILES: 'team-a/secrets' });
    expect(profileVerdict(profile({ apiVersion: 'v1', kind: 'Secret' }, 'secrets'), { sensitive: allowed }).refusals).toEqual([]);
  });

  it('allows a valid profile, passing the compiler\'s warnings on', () => {
    const v = profileVerdict(profile({ scrubKeys: ['replicas'] }), { sensitive });
    expect(v.refusals).toEqual([]);
    expect(v.warnings).toEqual(["spec.attributes[0].name: 'replicas' is also in scrubKeys: this attribute is removed from every row"]);
    expect(reviewResponse(req, v)).toEqual({ uid: 'u-1', allowed: true, warnings: v.warnings });
  });
});

describe('inventory checks', () => {
  it('refuses a reference with another namespace, naming the list and index', () => {
    const v = inventoryVerdict(inventory({ targetRefs: [{ name: 't' }, { name: 'u', namespace: 'team-b' }], snapshotSinkRefs: [{ name: 's', namespace: 'team-a' }] }), {});
    expect(v.refusals).toHaveLength(1);
    expect(v.refusals[0]).toMatchObject({ field: 'spec.targetRefs[1].namespace', kind: 'forbidden' });
    expect(v.refusals[0]!.message).toMatch(/references namespace "team-b": an inventory references objects of its own namespace \(team-a\) only/);
  });

  it('refuses spec.maxExportBytes above the operator\'s cap, naming the cap; no cap, no check', () => {
    expect(inventoryVerdict(inventory({ maxExportBytes: 2_000_000 }), { maxExportBytes: 1_000_000 }).refusals).toEqual([{
      field: 'spec.maxExportBytes', kind: 'forbidden',
      message: '2000000 is above the operator\'s cap of 1000000 bytes (KOLLECT_MAX_EXPORT_BYTES): lower it to at most 1000000, or ask an administrator to raise the cap',
    }]);
    expect(inventoryVerdict(inventory({ maxExportBytes: 1_000_000 }), { maxExportBytes: 1_000_000 }).refusals).toEqual([]);
    expect(inventoryVerdict(inventory({ maxExportBytes: 2_000_000 }), {}).refusals).toEqual([]);
  });
});

describe('responses', () => {
  it('keeps CEL positions and leaves other messages alone', () => {
    expect(withPosition('<input>:3:14: Syntax error')).toBe('line 3, column 14: Syntax error');
    expect(withPosition("unexpected ']' at offset 7")).toBe("unexpected ']' at offset 7");
  });
});
