// The mongodb sink against the harness's FerretDB: a database of its own per spec(unique),
// credentials sent with authMechanism PLAIN (which FerretDB's SQLite backend accepts).
import { MongoClient } from 'mongodb';
import type { MongodbSinkSpec } from '../../../api/types.js';
import { decodeKeys, type RowDocument } from '../../../activities/sinks/mongodb.js';
import type { InventoryIdentity } from '../../../activities/sinks/types.js';
import { endpoints, service } from '../../harness/endpoints.js';
import { testGuard, type HeldRow, type SinkFixture } from './fixture.js';

/** A short-lived client on the harness server (no credentials: it accepts any). */
export async function withMongo<T>(fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(service('mongodb').url, { serverSelectionTimeoutMS: 5_000 });
  try { return await fn(client); } finally { await client.close(); }
}

export const mongodbFixture: SinkFixture<MongodbSinkSpec> = {
  type: 'mongodb',
  service: 'mongodb',
  spec: (unique) => ({
    url: `${service('mongodb').url}?authMechanism=PLAIN`, authSource: '$external',
    database: `kt_${unique.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 63), collection: 'kollect_rows',
  }),
  secret: () => ({ username: 'kollect', password: `${endpoints().canary}mongo` }),
  context: (spec, log) => ({ spec, credentials: mongodbFixture.secret(), guard: testGuard, log: log ?? (() => undefined) }),
  async read(spec: MongodbSinkSpec, inv: InventoryIdentity): Promise<Map<string, HeldRow>> {
    return withMongo(async (client) => {
      const docs = await client.db(spec.database ?? 'kollect').collection<RowDocument>(spec.collection ?? 'kollect_rows')
        .find({ inventory_namespace: inv.namespace, inventory_name: inv.name, cluster: inv.cluster }).toArray();
      return new Map(docs.map((d) => [`${d.target_name}/${d.source_uid}`, { attributes: decodeKeys(d.attributes) as Record<string, unknown>, hash: d.content_hash }]));
    });
  },
  cleanup: (spec) => withMongo(async (client) => { await client.db(spec.database ?? 'kollect').dropDatabase(); }),
};
