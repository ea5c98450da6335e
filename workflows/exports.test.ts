import { describe, it, expect } from 'vitest';
import { InventoryState, type SinkConfig } from './state.js';
import { ExportRounds, SETTLE_MS, EXPORT_HEARTBEAT_TIMEOUT, inventoryDetails } from './exports.js';
import type { InventoryConfig } from './config.js';

const sink = (over: Partial<SinkConfig> = {}): SinkConfig => ({ kind: 'KollectDatabaseSink', name: 'pg', type: 'postgres', intervalMs: 5_000, maxAttempts: 3, suspended: false, generation: 1, maxDeletePercent: 50, ...over });
const cfg = (sinks: SinkConfig[]): InventoryConfig => ({ generation: 1, cluster: 'c1', intervalMs: 5_000, suspend: false, targets: ['t'], problems: [], sinks, fullReconcileIntervalMs: 86_400_000, maxRunAgeMs: 86_400_000 });
const ref = { namespace: 'ns', name: 'inv' };

function complete(): InventoryState {
  const s = new InventoryState('L');
  s.applyDelta({ target: 't', upserts: [{ uid: 'a', hash: 'h1' }], deletes: [] });
  s.applyResync({ target: 't', id: 'r', part: 0, parts: 1, uids: ['a'] });
  s.checkComplete(['t']);
  return s;
}

describe('ExportRounds', () => {
  it('waits SETTLE_MS after the first pending change, then starts the due sinks with heartbeating activity options', () => {
    const state = complete();
    const c = cfg([sink(), sink({ kind: 'KollectEventSink', name: 'nats', type: 'nats' })]);
    state.syncSinks(c.sinks);
    const r = new ExportRounds(state);
    r.markPending(1_000);
    expect(r.due(c, 1_500)).toEqual({ now: [], nextMs: 1_000 + SETTLE_MS });
    const { now } = r.due(c, 2_000);
    expect(now.map((s) => s.name)).toEqual(['pg', 'nats']);
    const e = r.begin(ref, now[0]!, c, 2_000);
    expect(e.options).toMatchObject({ heartbeatTimeout: EXPORT_HEARTBEAT_TIMEOUT, retry: { maximumAttempts: 3, nonRetryableErrorTypes: ['SinkConfigError', 'SecretNotAllowed', 'ExportTooLarge', 'DeleteGuard'] } });
    expect(e.request).toMatchObject({ inventory: { namespace: 'ns', name: 'inv', cluster: 'c1' }, plan: { mode: 'full', lineage: 'L' }, exportId: 'L/KollectDatabaseSink/pg/1' });
    expect(e.options.summary).toBe('inventory ns/inv → KollectDatabaseSink ns/pg (postgres): full v0..v1');
    expect(r.due(c, 2_000).now.map((s) => s.name)).toEqual(['nats']); // pg is in flight
    expect(r.liveHashes()).toEqual(['h1']);
  });

  it('records a success (the sink is current, next change waits for the interval) and a failure (retried, DeleteGuard shown as DeleteHeld)', () => {
    const state = complete();
    const c = cfg([sink()]);
    state.syncSinks(c.sinks);
    const r = new ExportRounds(state);
    const e = r.begin(ref, c.sinks[0]!, c, 0);
    expect(r.succeeded(e, { outcome: 'applied', rowsExported: 1, upserts: 1, deletes: 0, detail: '' }, 100)).toBe(false);
    expect(r.completions).toBe(1);
    expect(r.inFlight.size).toBe(0);
    expect(r.due(c, 200)).toEqual({ now: [], nextMs: 86_400_100 }); // nothing behind: the scheduled full reconcile
    state.applyDelta({ target: 't', upserts: [{ uid: 'b', hash: 'h2' }], deletes: [] });
    r.markPending(300);
    expect(r.due(c, 1_400).nextMs).toBe(5_100); // interval after the last success
    const d = r.begin(ref, c.sinks[0]!, c, 5_100);
    expect(d.plan.mode).toBe('delta');
    expect(d.options.summary).toBe('inventory ns/inv → KollectDatabaseSink ns/pg (postgres): delta v1→v2');
    r.failed(d, { message: 'delete guard: …', type: 'DeleteGuard' }, 5_200);
    expect(state.statusOf('KollectDatabaseSink/pg')).toMatchObject({ reason: 'DeleteHeld', consecutiveFailures: 1 });
    expect(r.due(c, 5_300).nextMs).toBe(10_100); // FAILED_EXPORT_RETRY_MS after the attempt
    const details = inventoryDetails(ref, { rows: 2, version: 2, lineage: 'L', awaitingResync: [], missingRows: {}, suspended: false, sinks: [state.statusOf('KollectDatabaseSink/pg')!] });
    expect(details).toBe('**Inventory ns/inv**: snapshot v2, 2 rows\n\n'
      + '- KollectDatabaseSink ns/pg (postgres): holds v1 (last success 1970-01-01T00:00:00.100Z); **DeleteHeld** (1 failed in a row, circuit closed): delete guard: …');
  });

  it('a needsFull reply makes the next export of that sink a full reconcile, at once', () => {
    const state = complete();
    const c = cfg([sink()]);
    state.syncSinks(c.sinks);
    const r = new ExportRounds(state);
    r.succeeded(r.begin(ref, c.sinks[0]!, c, 0), { outcome: 'applied', rowsExported: 1, upserts: 1, deletes: 0, detail: '' }, 0);
    state.applyDelta({ target: 't', upserts: [{ uid: 'a', hash: 'h3' }], deletes: [] });
    const d = r.begin(ref, c.sinks[0]!, c, 6_000);
    expect(d.plan.mode).toBe('delta');
    r.succeeded(d, { outcome: 'needsFull', rowsExported: 0, upserts: 0, deletes: 0, detail: 'watermark absent' }, 6_100);
    expect(r.begin(ref, c.sinks[0]!, c, 12_000).plan.mode).toBe('full');
  });
});
