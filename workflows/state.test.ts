import { describe, it, expect } from 'vitest';
import { InventoryState, sinkId, DEFAULT_BREAKER, type SinkConfig } from './state.js';
import type { Row } from '../api/rows.js';

const row = (uid: string, hash = 'h1', target = 't1'): Row => ({
  target, cluster: 'c', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: `cm-${uid}`, uid, attributes: { a: hash }, hash,
});
const sink = (over: Partial<SinkConfig> = {}): SinkConfig => ({ kind: 'KollectDatabaseSink', name: 'pg', type: 'postgres', intervalMs: 30_000, maxAttempts: 3, suspended: false, generation: 1, ...over });

describe('InventoryState', () => {
  it('versions only real changes and keeps a tombstone per delete', () => {
    const s = new InventoryState();
    expect(s.applyDelta({ target: 't1', upserts: [row('a'), row('b')], deletes: [] })).toBe(2);
    expect(s.applyDelta({ target: 't1', upserts: [row('a')], deletes: [] })).toBe(0);
    expect(s.applyDelta({ target: 't1', upserts: [row('a', 'h2')], deletes: [{ target: 't1', uid: 'b' }] })).toBe(2);
    expect(s.version).toBe(4);
    expect([...s.rows.keys()]).toEqual(['t1/a']);
    const ch = s.changesSince(2);
    expect(ch.upserts.map((r) => [r.uid, r.version])).toEqual([['a', 3]]);
    expect(ch.deletes.map((t) => [t.uid, t.version])).toEqual([['b', 4]]);
  });

  it('ignores rows of targets outside the inventory and drops them when a target is removed', () => {
    const s = new InventoryState();
    s.applyDelta({ target: 'x', upserts: [row('a', 'h', 'x')], deletes: [] }, new Set(['t1']));
    expect(s.rows.size).toBe(0);
    s.applyDelta({ target: 't1', upserts: [row('a'), row('b', 'h', 't2')], deletes: [] });
    expect(s.retainTargets(new Set(['t1']))).toBe(1);
    expect([...s.rows.keys()]).toEqual(['t1/a']);
  });

  it('applies a resync only when all its parts arrived, deleting what the relist did not see', () => {
    const s = new InventoryState();
    s.applyDelta({ target: 't1', upserts: [row('a'), row('b'), row('c'), row('d', 'h', 't2')], deletes: [] });
    expect(s.applyResync({ target: 't1', id: 'r1', part: 0, parts: 2, uids: ['a'] })).toBe(0);
    expect(s.rows.size).toBe(4);
    expect(s.applyResync({ target: 't1', id: 'r1', part: 1, parts: 2, uids: ['c'] })).toBe(1);
    expect([...s.rows.keys()].sort()).toEqual(['t1/a', 't1/c', 't2/d']);
    expect(s.changesSince(4).deletes.map((t) => t.uid)).toEqual(['b']);
  });

  it('survives serialization across continue-as-new unchanged', () => {
    const s = new InventoryState();
    s.syncSinks([sink()]);
    s.applyDelta({ target: 't1', upserts: [row('a'), row('b')], deletes: [{ target: 't1', uid: 'a' }] });
    s.applyResync({ target: 't1', id: 'r', part: 0, parts: 2, uids: ['b'] });
    const copy = InventoryState.from(JSON.parse(JSON.stringify(s.serialize())) as ReturnType<InventoryState['serialize']>);
    expect(copy.serialize()).toEqual(s.serialize());
    expect(copy.applyResync({ target: 't1', id: 'r', part: 1, parts: 2, uids: [] })).toBe(0);
  });

  it('debounces to the interval after a success and retries failures, opening the circuit after the threshold', () => {
    const s = new InventoryState();
    const c = sink();
    const id = sinkId(c);
    s.syncSinks([c]);
    s.applyDelta({ target: 't1', upserts: [row('a')], deletes: [] });
    expect(s.nextDueMs(c, 1000)).toBe(1000);
    s.recordAttempt(id, 1000);
    s.recordSuccess(id, { version: s.version, generation: 1, nowMs: 1000, rowsExported: 1, detail: '' });
    expect(s.nextDueMs(c, 2000)).toBeUndefined();
    s.applyDelta({ target: 't1', upserts: [row('a', 'h2')], deletes: [] });
    expect(s.nextDueMs(c, 2000)).toBe(31_000);
    for (let i = 1; i <= DEFAULT_BREAKER.failureThreshold; i++) {
      s.recordAttempt(id, 31_000 * i);
      s.recordFailure(id, { nowMs: 31_000 * i, error: 'down' });
    }
    const st = s.sinks.get(id)!;
    expect(st.circuit).toBe('open');
    expect(s.nextDueMs(c, st.openUntilMs! - 1)).toBe(st.openUntilMs);
    s.recordAttempt(id, st.openUntilMs!);
    expect(s.sinks.get(id)!.circuit).toBe('halfOpen');
    s.recordSuccess(id, { version: s.version, generation: 1, nowMs: st.openUntilMs!, rowsExported: 1, detail: 'ok' });
    expect(s.statusOf(id)).toMatchObject({ circuit: 'closed', lastError: '', consecutiveFailures: 0 });
  });

  it('forgets tombstones once every sink has exported past them', () => {
    const s = new InventoryState();
    const a = sink({ name: 'a' });
    const b = sink({ name: 'b', kind: 'KollectEventSink', type: 'nats' });
    s.syncSinks([a, b]);
    s.applyDelta({ target: 't1', upserts: [row('x')], deletes: [] });
    s.applyDelta({ target: 't1', upserts: [], deletes: [{ target: 't1', uid: 'x' }] });
    s.recordSuccess(sinkId(a), { version: 2, generation: 1, nowMs: 0, rowsExported: 0, detail: '' });
    expect(s.tombstones.size).toBe(1);
    s.recordSuccess(sinkId(b), { version: 2, generation: 1, nowMs: 0, rowsExported: 1, detail: '' });
    expect(s.tombstones.size).toBe(0);
  });
});
