// Smoke test of the bigquery service: the bqemulator REST API reached through `@google-cloud/bigquery`.
import { randomBytes } from 'node:crypto';
import { BigQuery, type Dataset, type TableMetadata } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

interface Row { uid: string; kind: string; name: string; replicas: number; labels: string }

describe('bigquery service', () => {
  const datasetId = `kollect_smoke_${randomBytes(4).toString('hex')}`;
  let bq: BigQuery;
  let dataset: Dataset | undefined;

  beforeAll(() => {
    const { apiEndpoint, projectId } = service('bigquery');
    // The emulator does no auth. PassThroughClient is google-auth-library's documented client for
    // local emulators: no credential discovery (no metadata-server probe), no Authorization header.
    bq = new BigQuery({ projectId, apiEndpoint, authClient: new PassThroughClient(), maxRetries: 1 });
  });

  afterAll(async () => {
    if (dataset) await dataset.delete({ force: true });
  });

  it('creates a dataset and table, streams rows in, queries them back with SQL, and deletes the dataset', async () => {
    [dataset] = await bq.createDataset(datasetId);
    expect(dataset.id).toBe(datasetId);

    const [table] = await dataset.createTable('resources', {
      schema: {
        fields: [
          { name: 'uid', type: 'STRING', mode: 'REQUIRED' },
          { name: 'kind', type: 'STRING', mode: 'REQUIRED' },
          { name: 'name', type: 'STRING' },
          { name: 'replicas', type: 'INTEGER' },
          { name: 'labels', type: 'STRING' },
        ],
      },
    });
    const [meta] = await table.getMetadata() as [TableMetadata, ...unknown[]];
    expect((meta.schema?.fields ?? []).map((f) => f.name)).toEqual(['uid', 'kind', 'name', 'replicas', 'labels']);

    await table.insert([
      { uid: 'u-1', kind: 'Deployment', name: 'web', replicas: 3, labels: JSON.stringify({ app: 'web' }) },
      { uid: 'u-2', kind: 'Deployment', name: 'api', replicas: 1, labels: JSON.stringify({ app: 'api' }) },
      { uid: 'u-3', kind: 'Service', name: 'web', replicas: null, labels: '{}' },
    ]);

    const [rows] = await bq.query({
      query: `SELECT uid, kind, name, replicas, labels FROM \`${service('bigquery').projectId}.${datasetId}.resources\` WHERE kind = @kind ORDER BY uid`,
      params: { kind: 'Deployment' },
    }) as [Row[], ...unknown[]];
    expect(rows).toEqual([
      { uid: 'u-1', kind: 'Deployment', name: 'web', replicas: 3, labels: '{"app":"web"}' },
      { uid: 'u-2', kind: 'Deployment', name: 'api', replicas: 1, labels: '{"app":"api"}' },
    ]);

    const [[total]] = await bq.query(`SELECT COUNT(*) AS n, SUM(replicas) AS r FROM \`${datasetId}.resources\``) as [Array<{ n: number; r: number }>, ...unknown[]];
    expect(total).toEqual({ n: 3, r: 4 });

    await dataset.delete({ force: true });
    dataset = undefined;
    const [exists] = await bq.dataset(datasetId).exists();
    expect(exists).toBe(false);
  });
});
