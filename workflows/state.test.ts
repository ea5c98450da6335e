import { describe, it, expect } from 'vitest';
import { InventoryState, sinkId, DEFAULT_BREAKER, type SinkConfig, type ExportPlan } from './state.js';
import type { RowRef } from '../api/rows.js';

const ref = (uid: string, hash = 'h1'): RowRef => ({ uid, hash });
const sink = (over: Partial<SinkConfig> = {}): SinkConfig => ({ kind: 'KollectDatabaseSink', name: 'pg', type: 'postgres', intervalMs: 30_000, maxAttempts: 3, suspended: false, generation: 1, maxDeletePercent: 50, ...over });
const DAY = 24 * 3600_000;
const applied = (rows = 0) => ({ outcome: 'applied' as const, rowsExported: rows, detail: '', generation: 1 });

/** A state whose targets all resynced, holding rows a, b of t1. */
function synced(): InventoryState {
  const s = new InventoryState('L1');
  s.applyDelta({ target: 't1', upserts: [ref('a'), ref('b')], deletes: [] });
  s.applyResync({ target: 't1', id: 'r0', part: 0, parts: 1, uids: ['a', 'b'] });
  expect(s.checkComplete(['t1'])).toBe(true);
  return s;
}

describe('InventoryState', () => {
  it('versions only real changes and keeps a tombstone (with the last body hash) per delete', () => {
    const s = new InventoryState('L1');
    expect(s.applyDelta({ target: 't1', upserts: [ref('a'), ref('b')], deletes: [] })).toBe(2);
    expect(s.applyDelta({ target: 't1', upserts: [ref('a')], deletes: [] })).toBe(0);
    expect(s.applyDelta({ target: 't1', upserts: [ref('a', 'h2')], deletes: [{ target: 't1', uid: 'b' }] })).toBe(2);
    expect(s.version).toBe(4);
    expect([...s.rows.keys()]).toEqual(['t1/a']);
    const ch = s.changesSince(2);
    expect(ch.upserts.map((r) => [r.uid, r.hash, r.version])).toEqual([['a', 'h2', 3]]);
    expect(ch.deletes.map((t) => [t.uid, t.hash, t.version])).toEqual([['b', 'h1', 4]]);
  });

  it('drops rows of a target the inventory no longer references', () => {
    const s = new InventoryState('L1');
    s.applyDelta({ target: 't1', upserts: [ref('a')], deletes: [] });
    s.applyDelta({ target: 't2', upserts: [ref('b')], deletes: [] });
    expect(s.retainTargets(new Set(['t1']))).toBe(1);
    expect([...s.rows.keys()]).toEqual(['t1/a']);
  });

  it('applies a resync only when all its parts arrived, deleting what the relist did not see', () => {
    const s = new InventoryState('L1');
    s.applyDelta({ target: 't1', upserts: [ref('a'), ref('b'), ref('c')], deletes: [] });
    s.applyDelta({ target: 't2', upserts: [ref('d')], deletes: [] });
    expect(s.applyResync({ target: 't1', id: 'r1', part: 0, parts: 2, uids: ['a'] })).toBe(0);
    expect(s.rows.size).toBe(4);
    expect(s.applyResync({ target: 't1', id: 'r1', part: 1, parts: 2, uids: ['c'] })).toBe(1);
    expect([...s.rows.keys()].sort()).toEqual(['t1/a', 't1/c', 't2/d']);
    expect(s.changesSince(4).deletes.map((t) => t.uid)).toEqual(['b']);
  });

  it('forgets a partial resync abandoned for a newer one of the same target (carried state stays bounded)', () => {
    const s = new InventoryState('L1');
    s.applyDelta({ target: 't1', upserts: [ref('a'), ref('b')], deletes: [] });
    s.applyResync({ target: 't1', id: 'old', part: 0, parts: 3, uids: ['a'] });
    s.applyResync({ target: 't2', id: 'other', part: 0, parts: 2, uids: [] });
    expect(s.applyResync({ target: 't1', id: 'new', part: 0, parts: 1, uids: ['a', 'b'] })).toBe(0);
    expect(s.serialize().resyncs.map((r) => r.id)).toEqual(['other']);
    expect(s.applyResync({ target: 't1', id: 'old', part: 1, parts: 3, uids: [] })).toBe(0); // a late part starts over, deletes nothing
    expect(s.rows.size).toBe(2);
  });

  it('a new lineage holds every state sink until each target resynced with all its rows present', () => {
    const s = new InventoryState('L2');
    const pg = sink();
    const nats = sink({ kind: 'KollectEventSink', name: 'nats', type: 'nats' });
    s.syncSinks([pg, nats]);
    // the run starts from one changed object: state sinks wait, the event sink may publish it
    s.applyDelta({ target: 't1', upserts: [ref('a', 'h9')], deletes: [] });
    expect(s.nextDueMs(pg, 1000, DAY)).toBeUndefined();
    expect(s.nextDueMs(nats, 1000, DAY)).toBe(1000);
    expect(s.statusOf(sinkId(pg))!.reason).toBe('AwaitingResync');
    // a resync listing rows the run does not hold yet deletes nothing and does not complete
    expect(s.applyResync({ target: 't1', id: 'r', part: 0, parts: 1, uids: ['a', 'b', 'c'] })).toBe(0);
    expect(s.checkComplete(['t1'])).toBe(false);
    expect(s.missing.get('t1')).toBe(2);
    expect(s.awaitingResync(['t1'])).toEqual(['t1']);
    // the watcher's resend brings the rest, then the next resync completes the lineage
    s.applyDelta({ target: 't1', upserts: [ref('b'), ref('c')], deletes: [] });
    s.applyResync({ target: 't1', id: 'r2', part: 0, parts: 1, uids: ['a', 'b', 'c'] });
    expect(s.checkComplete(['t1'])).toBe(true);
    expect(s.nextDueMs(pg, 2000, DAY)).toBe(2000);
    const { plan, entries } = s.plan(pg, 2000, DAY);
    expect(plan).toMatchObject({ mode: 'full', lineage: 'L2', version: 3, rowCount: 3, resyncComplete: true, targetCounts: { t1: 3 } });
    expect(entries.upserts.map((e) => e.uid)).toEqual(['a', 'b', 'c']);
    expect(entries.deletes).toEqual([]);
  });

  it('plans deltas after a full reconcile, and a full one again on a new generation, the schedule or a watermark mismatch', () => {
    const s = synced();
    const c = sink();
    const id = sinkId(c);
    s.syncSinks([c]);
    const first = s.plan(c, 0, DAY);
    expect(first.plan.mode).toBe('full');
    s.recordSuccess(id, first.plan, { ...applied(2), nowMs: 0 });
    s.applyDelta({ target: 't1', upserts: [ref('a', 'h2')], deletes: [{ target: 't1', uid: 'b' }] });
    const delta = s.plan(c, 1000, DAY);
    expect(delta.plan).toMatchObject({ mode: 'delta', fromVersion: 2, version: 4 });
    expect(delta.entries.upserts.map((e) => e.uid)).toEqual(['a']);
    expect(delta.entries.deletes.map((e) => e.uid)).toEqual(['b']);
    s.recordSuccess(id, delta.plan, { ...applied(1), nowMs: 1000 });
    expect(s.tombstones.size).toBe(0); // every sink is past the delete
    expect(s.nextDueMs(c, 2000, DAY)).toBe(DAY); // nothing behind: the scheduled full reconcile
    expect(s.plan(c, DAY, DAY).plan.mode).toBe('full');
    expect(s.plan(sink({ generation: 2 }), 2000, DAY).plan.mode).toBe('full');
    s.recordSuccess(id, delta.plan, { outcome: 'needsFull', rowsExported: 0, detail: 'watermark absent', generation: 1, nowMs: 3000 });
    expect(s.plan(c, 3000, DAY).plan.mode).toBe('full');
  });

  it('counts the rows a sink refused since its last full reconcile, with a sample, in status only', () => {
    const s = synced();
    const c = sink();
    const id = sinkId(c);
    s.syncSinks([c]);
    const refused = (n: number) => ({ count: n, samples: [{ key: 't1/a', object: 'shop/a', reason: 'attributes.x contains a NUL character' }] });
    const full = s.plan(c, 0, DAY);
    s.recordSuccess(id, full.plan, { ...applied(2), rejected: refused(1), nowMs: 0 });
    expect(s.statusOf(id)!.quarantine).toEqual({ rows: 1, sample: 't1/a (shop/a): attributes.x contains a NUL character', lastTime: new Date(0).toISOString() });
    s.applyDelta({ target: 't1', upserts: [ref('a', 'h2')], deletes: [] });
    const delta = s.plan(c, 1000, DAY);
    s.recordSuccess(id, delta.plan, { ...applied(2), rejected: refused(2), nowMs: 1000 });
    expect(s.statusOf(id)!.quarantine!.rows).toBe(3); // a delta adds
    s.applyDelta({ target: 't1', upserts: [ref('a', 'h3')], deletes: [] });
    s.recordSuccess(id, s.plan(c, 2000, DAY).plan, { ...applied(2), nowMs: 2000 });
    expect(s.statusOf(id)!.quarantine!.rows).toBe(3); // a delta cannot know an earlier refusal was fixed
    s.recordSuccess(id, s.plan(c, DAY, DAY).plan, { ...applied(2), nowMs: DAY }); // a full reconcile refusing none
    expect(s.statusOf(id)!.quarantine).toBeUndefined();
  });

  it('a sink ahead of this lineage (a reset replayed older history) asks for a new lineage', () => {
    const s = synced();
    const c = sink();
    s.syncSinks([c]);
    const { plan } = s.plan(c, 0, DAY);
    expect(s.recordSuccess(sinkId(c), plan, { outcome: 'noop', aheadVersion: 99, rowsExported: 0, detail: '', generation: 1, nowMs: 0 })).toBe(true);
    s.rotateLineage('L3');
    expect(s.nextDueMs(c, 0, DAY)).toBeUndefined(); // waits for a complete resync again
    expect(s.rows.size).toBe(2);
  });

  it('survives serialization across continue-as-new unchanged', () => {
    const s = synced();
    s.syncSinks([sink()]);
    s.applyDelta({ target: 't1', upserts: [ref('c')], deletes: [{ target: 't1', uid: 'a' }] });
    s.applyResync({ target: 't1', id: 'r', part: 0, parts: 2, uids: ['b'] });
    const copy = InventoryState.from(JSON.parse(JSON.stringify(s.serialize())) as ReturnType<InventoryState['serialize']>, 'unused');
    expect(copy.serialize()).toEqual(s.serialize());
    expect(copy.lineage).toBe('L1');
    expect(copy.complete).toBe(true);
    expect(copy.applyResync({ target: 't1', id: 'r', part: 1, parts: 2, uids: [] })).toBe(1);
  });

  it('debounces to the interval after a success and retries failures, opening the circuit after the threshold', () => {
    const s = synced();
    const c = sink();
    const id = sinkId(c);
    s.syncSinks([c]);
    expect(s.nextDueMs(c, 1000, DAY)).toBe(1000);
    s.recordAttempt(id, 1000);
    s.recordSuccess(id, s.plan(c, 1000, DAY).plan, { ...applied(2), nowMs: 1000 });
    s.applyDelta({ target: 't1', upserts: [ref('a', 'h2')], deletes: [] });
    expect(s.nextDueMs(c, 2000, DAY)).toBe(31_000);
    for (let i = 0; i < DEFAULT_BREAKER.failureThreshold; i++) {
      s.recordAttempt(id, 40_000 + i);
      s.recordFailure(id, { nowMs: 40_000 + i, error: 'down' });
    }
    const st = s.statusOf(id)!;
    expect(st).toMatchObject({ circuit: 'open', consecutiveFailures: 3, lastError: 'down', reason: 'ExportFailed' });
    expect(s.nextDueMs(c, 40_010, DAY)).toBe(40_002 + DEFAULT_BREAKER.baseCooldownMs);
    s.recordFailure(id, { nowMs: 50_000, error: 'held', reason: 'DeleteHeld' });
    expect(s.statusOf(id)!.reason).toBe('DeleteHeld');
  });

  it('event sinks get every change since their version, from 0 again in a new lineage', () => {
    const s = synced();
    const c = sink({ kind: 'KollectEventSink', name: 'nats', type: 'nats' });
    s.syncSinks([c]);
    const p1 = s.plan(c, 0, DAY);
    expect(p1.plan.mode).toBe('delta');
    expect(p1.entries.upserts).toHaveLength(2);
    s.recordSuccess(sinkId(c), p1.plan, { ...applied(2), nowMs: 0 });
    const moved = InventoryState.from({ ...s.serialize(), lineage: 'L9' }, 'x');
    expect(moved.plan(c, 0, DAY).plan).toMatchObject({ fromVersion: 0, lineage: 'L9' });
    const plan: ExportPlan = moved.plan(c, 0, DAY).plan;
    expect(plan.mode).toBe('delta');
  });
});
