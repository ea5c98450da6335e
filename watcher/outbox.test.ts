import { describe, it, expect } from 'vitest';
import type { Row } from '../api/rows.js';
import { Outbox, OutboxState, compileDeliveryConfig, type OutSignal, type SignalSender } from './outbox.js';
import { noopMetrics } from './metrics.js';

const row = (uid: string, hash: string, target = 't'): Row => ({
  target, cluster: 'default', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: `cm-${uid}`, uid, attributes: { v: hash }, hash,
});
const cfg = { maxSignalBytes: 256 * 1024, resyncPartUids: 5000 };
let n = 0;
const id = (): string => `id${n++}`;

const summary = (signals: OutSignal[]): string[] => signals.map((s) => {
  if (s.kind === 'delta') return `delta ${s.batch.target} +${s.batch.upserts.map((r) => `${r.uid}@${r.hash}`).join(',')} -${s.batch.deletes.map((d) => d.uid).join(',')}`;
  if (s.kind === 'resync') return `resync ${s.part.target} [${s.part.uids.join(',')}] ${s.part.part + 1}/${s.part.parts}`;
  return s.kind;
});

describe('OutboxState (coalescing)', () => {
  it('signals references and hands the bodies to the sender; after forgetSent every row goes again, with its body', () => {
    const s = new OutboxState();
    s.upsert(row('a', 'h1'));
    const [first] = s.take(cfg, id);
    expect(first).toMatchObject({ kind: 'delta', batch: { target: 't', upserts: [{ uid: 'a', hash: 'h1' }] } });
    expect(first!.kind === 'delta' && first!.bodies.map((b) => b.hash)).toEqual(['h1']);
    expect(JSON.stringify(first!.kind === 'delta' && first!.batch)).not.toContain('attributes');
    expect(s.upsert(row('a', 'h1'))).toBe(false);
    s.forgetSent(); // the workflow started a new lineage
    expect(s.upsert(row('a', 'h1'))).toBe(true);
    const [again] = s.take(cfg, id);
    expect(again!.kind === 'delta' && again!.bodies.map((b) => b.uid)).toEqual(['a']);
  });

  it('sends only the last row of an object that changed many times within one window', () => {
    const s = new OutboxState();
    for (let i = 1; i <= 10; i++) s.upsert(row('a', `h${i}`));
    expect(summary(s.take(cfg, id))).toEqual(['delta t +a@h10 -']);
  });

  it('an upsert then a delete in one window sends only the delete', () => {
    const s = new OutboxState();
    s.upsert(row('a', 'h1'));
    s.delete('t', 'a');
    expect(summary(s.take(cfg, id))).toEqual(['delta t + -a']);
  });

  it('does not resend a row whose hash did not change since it was last sent', () => {
    const s = new OutboxState();
    expect(s.upsert(row('a', 'h1'))).toBe(true);
    s.take(cfg, id);
    expect(s.upsert(row('a', 'h1'))).toBe(false);
    expect(s.empty).toBe(true);
    expect(s.upsert(row('a', 'h2'))).toBe(true);
    expect(summary(s.take(cfg, id))).toEqual(['delta t +a@h2 -']);
  });

  it('always sends deletes, even of rows it never sent (the workflow may hold them from before a restart)', () => {
    const s = new OutboxState();
    s.delete('t', 'ghost');
    expect(summary(s.take(cfg, id))).toEqual(['delta t + -ghost']);
  });

  it('orders configChanged, then deltas per target, then resyncs computed at flush time', () => {
    const s = new OutboxState();
    s.upsert(row('a', 'h1'));
    s.resync('t');
    s.upsert(row('b', 'h1')); // after the resync request: still part of the resync set
    s.upsert(row('x', 'h1', 'other'));
    s.configChanged();
    expect(summary(s.take(cfg, id))).toEqual([
      'configChanged', 'delta t +a@h1,b@h1 -', 'delta other +x@h1 -', 'resync t [a,b] 1/1',
    ]);
    expect(s.empty).toBe(true);
  });

  it('resyncs a forgotten target to the empty set and drops its pending changes', () => {
    const s = new OutboxState();
    s.upsert(row('a', 'h1'));
    s.take(cfg, id);
    s.upsert(row('b', 'h1'));
    s.forgetTarget('t');
    expect(summary(s.take(cfg, id))).toEqual(['resync t [] 1/1']);
    expect(s.uids('t')).toEqual([]);
  });

  it('restores undelivered signals under newer changes', () => {
    const s = new OutboxState();
    s.upsert(row('a', 'h1'));
    s.upsert(row('b', 'h1'));
    s.resync('t');
    const taken = s.take(cfg, id);
    s.upsert(row('a', 'h2')); // newer than the undelivered h1
    s.restore(taken);
    expect(summary(s.take(cfg, id))).toEqual(['delta t +a@h2,b@h1 -', 'resync t [a,b] 1/1']);
  });

  it('forgets rows of a refused batch so that a resync leaves them out', () => {
    const s = new OutboxState();
    s.upsert(row('a', 'h1'));
    s.upsert(row('b', 'h1'));
    const [delta] = s.take(cfg, id);
    s.dropped(delta!);
    s.resync('t');
    expect(summary(s.take(cfg, id))).toEqual(['resync t [] 1/1']);
  });

  it('splits a big initial load into signals under the budget and resync parts under the uid cap', () => {
    const s = new OutboxState();
    for (let i = 0; i < 12_000; i++) s.upsert({ ...row(`u${i}`, 'h'), attributes: { pad: 'x'.repeat(100) } });
    s.resync('t');
    const out = s.take({ maxSignalBytes: 64 * 1024, resyncPartUids: 5000 }, () => 'same');
    const deltas = out.filter((x) => x.kind === 'delta');
    const resyncs = out.filter((x) => x.kind === 'resync');
    expect(deltas.length).toBeGreaterThanOrEqual(5); // 12,000 references of ~30 bytes
    for (const d of deltas) expect(d.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(resyncs.map((r) => r.kind === 'resync' && [r.part.part, r.part.parts, r.part.uids.length, r.part.id])).toEqual([[0, 3, 5000, 'same'], [1, 3, 5000, 'same'], [2, 3, 2000, 'same']]);
  });
});

class RecordingSender implements SignalSender {
  readonly sent: { at: number; s: OutSignal }[] = [];
  failNext = 0;
  refuseNext = 0;
  send(_ref: { namespace: string; name: string }, s: OutSignal): Promise<void> {
    if (this.refuseNext > 0) { this.refuseNext--; return Promise.reject(Object.assign(new Error('blob too large'), { permanent: true })); }
    if (this.failNext > 0) { this.failNext--; return Promise.reject(new Error('UNAVAILABLE')); }
    this.sent.push({ at: Date.now(), s });
    return Promise.resolve();
  }
  isPermanent(err: unknown): boolean { return (err as { permanent?: boolean }).permanent === true; }
}

describe('Outbox (timing, retry)', () => {
  const ref = { namespace: 'ns', name: 'inv' };
  const log = (): void => undefined;

  it('flushes at most once per interval, coalescing what arrives in between', async () => {
    const sender = new RecordingSender();
    const box = new Outbox(ref, sender, compileDeliveryConfig({ flushIntervalMs: 300 }), noopMetrics, log);
    box.upsert(row('a', 'h1'));
    await box.idle();
    for (let i = 2; i <= 10; i++) box.upsert(row('a', `h${i}`));
    box.upsert(row('b', 'h1'));
    await box.idle();
    expect(summary(sender.sent.map((x) => x.s))).toEqual(['delta t +a@h1 -', 'delta t +a@h10,b@h1 -']);
    // Unthrottled, the second flush would follow the first at once; the margin absorbs the
    // process being descheduled between two clock reads on a loaded machine.
    expect(sender.sent[1]!.at - sender.sent[0]!.at).toBeGreaterThanOrEqual(200);
  });

  it('retries a failed flush with backoff, without losing or reordering changes', async () => {
    const sender = new RecordingSender();
    sender.failNext = 2;
    const box = new Outbox(ref, sender, compileDeliveryConfig({ flushIntervalMs: 0, retry: { initialMs: 5, maxMs: 20 } }), noopMetrics, log);
    box.upsert(row('a', 'h1'));
    box.resync('t');
    await new Promise((r) => setTimeout(r, 1));
    box.delete('t', 'a');
    await box.idle();
    expect(summary(sender.sent.map((x) => x.s))).toEqual(['delta t + -a', 'resync t [] 1/1']);
  });

  it('drops a refused payload and carries on with the rest', async () => {
    const sender = new RecordingSender();
    sender.refuseNext = 1;
    const box = new Outbox(ref, sender, compileDeliveryConfig({ flushIntervalMs: 0 }), noopMetrics, log);
    box.upsert(row('a', 'h1'));
    box.upsert(row('b', 'h1', 'other'));
    await box.idle();
    expect(summary(sender.sent.map((x) => x.s))).toEqual(['delta other +b@h1 -']);
  });

  it('on deletion sends only inventoryDeleted and then nothing more', async () => {
    const sender = new RecordingSender();
    const box = new Outbox(ref, sender, compileDeliveryConfig({ flushIntervalMs: 50 }), noopMetrics, log);
    box.upsert(row('a', 'h1'));
    box.inventoryDeleted();
    box.upsert(row('b', 'h1'));
    await box.idle();
    expect(summary(sender.sent.map((x) => x.s))).toEqual(['inventoryDeleted']);
  });

  it('observes the lag from the oldest change of a flush, kept across a failed attempt', async () => {
    const sender = new RecordingSender();
    sender.failNext = 1;
    const lags: number[] = [];
    const box = new Outbox(ref, sender, compileDeliveryConfig({ flushIntervalMs: 0, retry: { initialMs: 5, maxMs: 5 } }), { ...noopMetrics, signalLag: (s) => lags.push(s) }, log);
    box.upsert(row('a', 'h1'), Date.now() - 4_000);
    box.upsert(row('b', 'h1'), Date.now() - 1_000);
    await box.idle();
    expect(lags).toHaveLength(1);
    expect(lags[0]).toBeGreaterThanOrEqual(4);
    expect(lags[0]).toBeLessThan(30);
  });

  it('names a bad delivery option', () => {
    expect(() => compileDeliveryConfig({ maxSignalBytes: 4 * 1024 * 1024 })).toThrow(/maxSignalBytes must be a number in \[1024, 524288\]/);
  });
});
