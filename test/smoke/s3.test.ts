// Smoke test of the s3 service: versitygw reached through `@aws-sdk/client-s3` (path-style, SigV4).
import { randomBytes } from 'node:crypto';
import {
  S3Client, CreateBucketCommand, PutObjectCommand, ListObjectsV2Command, GetObjectCommand, HeadObjectCommand,
  DeleteObjectCommand, DeleteBucketCommand, HeadBucketCommand, ListBucketsCommand,
} from '@aws-sdk/client-s3';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

describe('s3 service', () => {
  const Bucket = `kollect-smoke-${randomBytes(4).toString('hex')}`;
  let s3: S3Client;
  const created = { bucket: false, keys: new Set<string>() };

  beforeAll(() => {
    const { endpoint, region, accessKeyId, secretAccessKey, forcePathStyle } = service('s3');
    s3 = new S3Client({ endpoint, region, forcePathStyle, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 2 });
  });

  afterAll(async () => {
    if (!s3) return;
    try {
      for (const Key of created.keys) await s3.send(new DeleteObjectCommand({ Bucket, Key }));
      if (created.bucket) await s3.send(new DeleteBucketCommand({ Bucket }));
    } finally { s3.destroy(); }
  });

  it('creates a bucket, puts, lists, gets and deletes an object, and deletes the bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket }));
    created.bucket = true;
    await s3.send(new HeadBucketCommand({ Bucket }));
    expect((await s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name)).toContain(Bucket);

    const Key = 'inventory/apps/web.json';
    const Body = JSON.stringify({ kind: 'Deployment', name: 'web', replicas: 3 });
    const put = await s3.send(new PutObjectCommand({ Bucket, Key, Body, ContentType: 'application/json', Metadata: { 'kollect-uid': 'u-1' } }));
    created.keys.add(Key);
    expect(put.ETag).toMatch(/^"[0-9a-f]{32}"$/);

    const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'inventory/' }));
    expect(list.KeyCount).toBe(1);
    expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([[Key, Buffer.byteLength(Body)]]);

    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect(await got.Body?.transformToString('utf8')).toBe(Body);
    expect(got.ContentType).toBe('application/json');
    expect(got.ETag).toBe(put.ETag);
    expect(got.Metadata?.['kollect-uid']).toBe('u-1');

    await s3.send(new DeleteObjectCommand({ Bucket, Key }));
    created.keys.delete(Key);
    await expect(s3.send(new HeadObjectCommand({ Bucket, Key }))).rejects.toMatchObject({ name: 'NotFound' });
    expect((await s3.send(new ListObjectsV2Command({ Bucket }))).KeyCount).toBe(0);

    await s3.send(new DeleteBucketCommand({ Bucket }));
    created.bucket = false;
    await expect(s3.send(new HeadBucketCommand({ Bucket }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
  });
});
