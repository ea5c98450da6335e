// Smoke test of the gcs service: fake-gcs-server reached through `@google-cloud/storage`.
import { randomBytes } from 'node:crypto';
import { Storage, type Bucket } from '@google-cloud/storage';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

describe('gcs service', () => {
  const suffix = randomBytes(4).toString('hex');
  const bucketName = `kollect-smoke-${suffix}`;
  let storage: Storage;
  let bucket: Bucket | undefined;

  beforeAll(() => {
    const { apiEndpoint, projectId } = service('gcs');
    // A custom apiEndpoint makes the client skip authentication (useAuthWithCustomEndpoint defaults
    // to false), so the emulator needs no credentials.
    storage = new Storage({ apiEndpoint, projectId, retryOptions: { maxRetries: 1 } });
  });

  afterAll(async () => {
    if (bucket) await bucket.deleteFiles({ force: true }).then(() => bucket?.delete({ ignoreNotFound: true }));
  });

  it('creates a bucket, uploads, lists, downloads and deletes objects', async () => {
    [bucket] = await storage.createBucket(bucketName);
    expect(bucket.name).toBe(bucketName);
    const [exists] = await storage.bucket(bucketName).exists();
    expect(exists).toBe(true);

    const body = JSON.stringify({ kind: 'Deployment', name: 'web', replicas: 3 });
    // simple (multipart) upload and resumable upload: the product may use either
    await bucket.file('inventory/apps/web.json').save(body, { resumable: false, contentType: 'application/json', metadata: { metadata: { 'kollect-uid': 'u-1' } } });
    await bucket.file('inventory/apps/api.json').save('{"name":"api"}', { resumable: true, contentType: 'application/json' });

    const [files] = await bucket.getFiles({ prefix: 'inventory/' });
    expect(files.map((f) => f.name).sort()).toEqual(['inventory/apps/api.json', 'inventory/apps/web.json']);

    const [content] = await bucket.file('inventory/apps/web.json').download();
    expect(content.toString('utf8')).toBe(body);
    const [meta] = await bucket.file('inventory/apps/web.json').getMetadata();
    expect(meta.contentType).toBe('application/json');
    expect(Number(meta.size)).toBe(Buffer.byteLength(body));
    expect(meta.metadata?.['kollect-uid']).toBe('u-1');
    expect((await bucket.file('inventory/apps/api.json').download())[0].toString()).toBe('{"name":"api"}');

    await bucket.file('inventory/apps/web.json').delete();
    expect((await bucket.file('inventory/apps/web.json').exists())[0]).toBe(false);
    await bucket.file('inventory/apps/api.json').delete();
    expect((await bucket.getFiles())[0]).toEqual([]);

    await bucket.delete();
    bucket = undefined;
    expect((await storage.bucket(bucketName).exists())[0]).toBe(false);
  });
});
