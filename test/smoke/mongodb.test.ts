// Smoke test of the mongodb service: FerretDB (MongoDB wire protocol) reached through the `mongodb` driver.
import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection, type Db } from 'mongodb';
import { describe, it, expect, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

interface Resource { _id: string; kind: string; name: string; attrs: { replicas: number; labels: Record<string, string> }; version: number }

describe('mongodb service (FerretDB)', () => {
  const suffix = randomBytes(4).toString('hex');
  let client: MongoClient | undefined;
  let db: Db | undefined;

  // Connecting inside the test (not in beforeAll) makes an unreachable server a failed test, not a skipped one.
  afterAll(async () => {
    if (!client) return;
    try { if (db) await db.dropDatabase(); } finally { await client.close(); }
  });

  it('inserts, finds, upserts, updates and deletes documents', async () => {
    client = new MongoClient(service('mongodb').url, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000 });
    await client.connect();
    db = client.db(`kollect_smoke_${suffix}`);
    const resources: Collection<Resource> = db.collection<Resource>('resources');
    expect((await db.command({ ping: 1 })).ok).toBe(1);

    const ins = await resources.insertOne({ _id: 'u-1', kind: 'Deployment', name: 'web', attrs: { replicas: 2, labels: { app: 'web' } }, version: 1 });
    expect(ins.acknowledged).toBe(true);
    expect(ins.insertedId).toBe('u-1');
    expect(await resources.findOne({ _id: 'u-1' })).toEqual({ _id: 'u-1', kind: 'Deployment', name: 'web', attrs: { replicas: 2, labels: { app: 'web' } }, version: 1 });
    // nested-field query, as the sink's lookups would use
    expect(await resources.countDocuments({ 'attrs.labels.app': 'web' })).toBe(1);

    // upsert of a new document inserts it
    const up1 = await resources.updateOne(
      { _id: 'u-2' },
      { $set: { kind: 'Service', name: 'web', attrs: { replicas: 0, labels: {} }, version: 1 } },
      { upsert: true },
    );
    expect(up1).toMatchObject({ acknowledged: true, matchedCount: 0, upsertedCount: 1, upsertedId: 'u-2' });
    expect(await resources.countDocuments()).toBe(2);

    // upsert of an existing document updates it in place, guarded by version
    const up2 = await resources.updateOne(
      { _id: 'u-1', version: { $lt: 2 } },
      { $set: { 'attrs.replicas': 5, version: 2 } },
      { upsert: false },
    );
    expect(up2).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    const stale = await resources.updateOne({ _id: 'u-1', version: { $lt: 1 } }, { $set: { 'attrs.replicas': 1, version: 1 } });
    expect(stale.matchedCount).toBe(0);
    expect((await resources.findOne({ _id: 'u-1' }))?.attrs).toEqual({ replicas: 5, labels: { app: 'web' } });

    const found = await resources.find({ name: 'web' }).sort({ _id: 1 }).toArray();
    expect(found.map((d) => [d._id, d.kind, d.version])).toEqual([['u-1', 'Deployment', 2], ['u-2', 'Service', 1]]);

    const del = await resources.deleteOne({ _id: 'u-1' });
    expect(del.deletedCount).toBe(1);
    expect(await resources.countDocuments()).toBe(1);
    expect(await resources.findOne({ _id: 'u-1' })).toBeNull();
    expect((await resources.deleteOne({ _id: 'u-1' })).deletedCount).toBe(0);
  });
});
