import { afterEach, describe, expect, it, vi } from 'vitest';
import type { KollectConnectionTest } from '../api/types.js';
import type { ConnectionTestRef } from '../workflows/definitions.js';
import { ConnectionTests } from './connection-tests.js';

const test = (over: Partial<KollectConnectionTest['status']> = {}, ttl?: number): KollectConnectionTest => ({
  apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectConnectionTest', metadata: { name: 't', namespace: 'ns', uid: 'u1' },
  spec: { sinkRef: { kind: 'KollectDatabaseSink', name: 'pg' }, ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}) }, status: over,
});

describe('connection tests in the watcher', () => {
  afterEach(() => { vi.useRealTimers(); });

  it('starts one probe per test uid, retries a failed start, and deletes a finished test after its TTL', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-29T12:00:00Z') });
    const started: ConnectionTestRef[] = [];
    const removed: ConnectionTestRef[] = [];
    let fail = true;
    const ct = new ConnectionTests({
      start: (ref) => { started.push(ref); if (fail) { fail = false; return Promise.reject(new Error('temporal down')); } return Promise.resolve(); },
      remove: (ref) => { removed.push(ref); return Promise.resolve(); },
    }, () => undefined, 1_000);
    ct.onEvent('ns/t', test());
    ct.onEvent('ns/t', test({ phase: 'Running' }));
    await vi.advanceTimersByTimeAsync(0);
    expect(started).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(started).toEqual([{ namespace: 'ns', name: 't', uid: 'u1' }, { namespace: 'ns', name: 't', uid: 'u1' }]);

    ct.onEvent('ns/t', test({ phase: 'Succeeded', completionTime: '2026-11-29T12:00:01Z' }, 60));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(removed).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(removed).toEqual([{ namespace: 'ns', name: 't', uid: 'u1' }]);
    ct.stop();
  });

  it('forgets the expiry of a test deleted before its TTL', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-11-29T12:00:00Z') });
    const removed: ConnectionTestRef[] = [];
    const ct = new ConnectionTests({ start: () => Promise.resolve(), remove: (ref) => { removed.push(ref); return Promise.resolve(); } }, () => undefined);
    ct.onEvent('ns/t', test({ phase: 'Failed', completionTime: '2026-11-29T12:00:00Z' }));
    ct.onEvent('ns/t', undefined);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(removed).toHaveLength(0);
  });
});
