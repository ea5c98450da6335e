import { describe, it, expect } from 'vitest';
import type { Row } from '../api/rows.js';
import { jsonBytes, resyncParts, splitDeltas } from './batching.js';

const row = (uid: string, hash = 'h1', pad = 0): Row => ({
  target: 't', cluster: 'default', apiVersion: 'v1', kind: 'ConfigMap', namespace: 'ns', name: `cm-${uid}`, uid,
  attributes: { v: hash, pad: 'x'.repeat(pad) }, hash,
});

describe('splitDeltas', () => {
  it('keeps a small batch whole and reports its exact JSON size', () => {
    const [b, ...rest] = splitDeltas('t', [row('a'), row('b')], ['c'], 256 * 1024);
    expect(rest).toHaveLength(0);
    expect(b!.batch).toEqual({ target: 't', upserts: [{ uid: 'a', hash: 'h1' }, { uid: 'b', hash: 'h1' }], deletes: [{ target: 't', uid: 'c' }] });
    expect(b!.bodies).toEqual([row('a'), row('b')]);
    expect(b!.bytes).toBe(jsonBytes(b!.batch));
    expect(b!.oversized).toBe(false);
  });

  it('splits a large batch so that every signal stays within the budget, losing nothing and keeping order', () => {
    const rows = Array.from({ length: 2000 }, (_, i) => row(`u${i}`, `h${i}`, 900));
    const deletes = Array.from({ length: 3000 }, (_, i) => `d${i}`);
    const budget = 16 * 1024;
    const batches = splitDeltas('t', rows, deletes, budget);
    expect(batches.length).toBeGreaterThan(5);
    for (const b of batches) {
      expect(jsonBytes(b.batch)).toBe(b.bytes);
      expect(b.bytes).toBeLessThanOrEqual(budget);
      expect(b.batch.target).toBe('t');
    }
    expect(batches.flatMap((b) => b.batch.upserts.map((r) => r.uid))).toEqual(rows.map((r) => r.uid));
    expect(batches.flatMap((b) => b.bodies.map((r) => r.uid))).toEqual(rows.map((r) => r.uid));
    expect(batches.flatMap((b) => b.batch.deletes.map((d) => d.uid))).toEqual(deletes);
    // packed tightly: all but the last are at least 90 % full
    for (const b of batches.slice(0, -1)) expect(b.bytes).toBeGreaterThan(budget * 0.9);
  });

  it('keeps bodies out of the signal: a huge row costs the signal only its reference', () => {
    const batches = splitDeltas('t', [row('small'), row('huge', 'h', 300_000), { uid: 'ref-only', hash: 'h7' }], [], 1024);
    expect(batches.map((b) => b.batch.upserts.map((r) => r.uid))).toEqual([['small', 'huge', 'ref-only']]);
    expect(batches[0]!.bytes).toBeLessThan(200);
    expect(batches[0]!.oversized).toBe(false);
    expect(batches[0]!.bodies.map((r) => r.uid)).toEqual(['small', 'huge']); // a bare reference is already stored
  });

  it('makes no batch when there is nothing to send', () => {
    expect(splitDeltas('t', [], [], 1024)).toEqual([]);
  });
});

describe('resyncParts', () => {
  it('splits the uid set into parts of at most N uids under one id, numbered 0..parts-1', () => {
    const uids = Array.from({ length: 12_001 }, (_, i) => `uid-${String(i).padStart(5, '0')}`);
    const parts = resyncParts('t', uids.slice().reverse(), 'r1', 5000);
    expect(parts.map((p) => [p.part, p.parts, p.uids.length])).toEqual([[0, 3, 5000], [1, 3, 5000], [2, 3, 2001]]);
    expect(new Set(parts.map((p) => p.id))).toEqual(new Set(['r1']));
    expect(parts.flatMap((p) => p.uids)).toEqual(uids); // sorted, complete
    for (const p of parts) expect(jsonBytes(p)).toBeLessThan(512 * 1024);
  });
  it('sends one empty part for a target with no objects (so the workflow drops all its rows)', () => {
    expect(resyncParts('t', [], 'r2', 5000)).toEqual([{ target: 't', id: 'r2', part: 0, parts: 1, uids: [] }]);
  });
});
