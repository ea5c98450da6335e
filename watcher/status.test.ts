import { describe, it, expect } from 'vitest';
import { withReady } from './status.js';
import type { KubeObject } from './kube.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-02T00:00:00Z');

describe('withReady', () => {
  const obj = (conditions: unknown[] = [], generation = 3, observedGeneration?: number): KubeObject =>
    ({ metadata: { name: 'p', namespace: 'ns', generation }, status: { conditions, observedGeneration } });

  it('sets Ready, keeping other conditions, with observedGeneration', () => {
    const other = { type: 'Synced', status: 'True', reason: 'Ok', message: '', lastTransitionTime: t0.toISOString() };
    const s = withReady(obj([other]), { status: 'False', reason: 'CompileError', message: 'spec.filter: bad' }, () => t1);
    expect(s).toEqual({
      observedGeneration: 3,
      conditions: [other, { type: 'Ready', status: 'False', reason: 'CompileError', message: 'spec.filter: bad', lastTransitionTime: t1.toISOString(), observedGeneration: 3 }],
    });
  });

  it('writes nothing when Ready already says so (our own write coming back must not loop)', () => {
    const ready = { type: 'Ready', status: 'True', reason: 'Compiled', message: 'ok', lastTransitionTime: t0.toISOString(), observedGeneration: 3 };
    expect(withReady(obj([ready], 3, 3), { status: 'True', reason: 'Compiled', message: 'ok' })).toBeUndefined();
  });

  it('keeps lastTransitionTime when only the reason or message changes, and for a new generation', () => {
    const ready = { type: 'Ready', status: 'False', reason: 'ProfileNotFound', message: 'x', lastTransitionTime: t0.toISOString(), observedGeneration: 2 };
    const s = withReady(obj([ready], 3, 2), { status: 'False', reason: 'ProfileError', message: 'y' }, () => t1);
    expect(s?.conditions[0]).toMatchObject({ reason: 'ProfileError', lastTransitionTime: t0.toISOString(), observedGeneration: 3 });
  });

  it('caps a long message', () => {
    const s = withReady(obj(), { status: 'False', reason: 'CompileError', message: 'e'.repeat(10_000) });
    expect(s!.conditions[0]!.message.length).toBe(4096);
  });
});
