// S3 snapshot sink (KollectSnapshotSink, type s3): the object-store snapshot (object-store.ts)
// in an S3 bucket, AWS or S3-compatible. See docs/sinks/s3.md.
//
// Every request goes through http/https Agents whose `lookup` is the endpoint guard's, so the
// address the socket connects to is checked, not the one admission saw.
import http from 'node:http';
import https from 'node:https';
import {
  CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { S3SinkSpec } from '../../api/types.js';
import { defaultEndpointGuard, type EndpointGuard } from './endpoints.js';
import {
  ObjectStoreBackend, PreconditionFailedError, fingerprint, locateSnapshot, renderRow, OBJECT_FORMATS,
  type ObjectStore, type ObjectStoreDriver, type PutOptions, type StoredObject,
} from './object-store.js';
import { redactUrl } from './redact.js';
import { SinkConfigError, type SinkContext } from './types.js';
import type { SinkDescriptor } from './descriptor.js';

const DEFAULT_REGION = 'us-east-1';
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3 errors no retry can fix: wrong keys, missing permission. */
const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken']);

interface Compiled { endpoint?: string; region: string; bucket: string; forcePathStyle: boolean }

function compile(spec: S3SinkSpec): Compiled {
  if (!spec || typeof spec.bucket !== 'string' || !BUCKET.test(spec.bucket)) {
    throw new SinkConfigError('spec.s3.bucket', 'is required: 3-63 lower-case letters, digits, dots and hyphens');
  }
  let endpoint: string | undefined;
  if (spec.endpoint !== undefined) {
    let u: URL;
    try { u = new URL(spec.endpoint); } catch { throw new SinkConfigError('spec.s3.endpoint', `not a URL: ${redactUrl(spec.endpoint)}`); }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new SinkConfigError('spec.s3.endpoint', `must be http:// or https:// (got ${u.protocol}//)`);
    if (u.username || u.password) throw new SinkConfigError('spec.s3.endpoint', 'must not contain credentials: put them in the Secret of spec.secretRef (accessKeyId, secretAccessKey)');
    endpoint = u.toString().replace(/\/$/, '');
  }
  const region = spec.region ?? DEFAULT_REGION;
  if (!/^[a-z0-9-]+$/.test(region)) throw new SinkConfigError('spec.s3.region', `"${region}" is not a region name`);
  return { endpoint, region, bucket: spec.bucket, forcePathStyle: spec.forcePathStyle ?? endpoint !== undefined };
}

function credentialsOf(ctx: SinkContext<S3SinkSpec>): S3ClientConfig['credentials'] {
  const { accessKeyId, secretAccessKey, sessionToken } = ctx.credentials;
  if (!accessKeyId && !secretAccessKey) return undefined; // the SDK's default chain (IRSA, instance profile)
  if (!accessKeyId || !secretAccessKey) throw new SinkConfigError('spec.secretRef', 'needs both keys accessKeyId and secretAccessKey (sessionToken optional)');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

const describe = (spec: S3SinkSpec): string => `${spec.endpoint ? redactUrl(spec.endpoint).replace(/\/$/, '') : 's3'}/${spec.bucket}`;

/** Turns what the SDK throws into what the sink contract wants: config errors named, the rest retryable. */
function mapError(err: unknown, c: Compiled): unknown {
  if (!(err instanceof S3ServiceException)) return err;
  if (err.name === 'PreconditionFailed' || err.$metadata.httpStatusCode === 412) return new PreconditionFailedError(`${err.name}: the object changed since it was read (a concurrent export); will retry`);
  if (CREDENTIAL_ERRORS.has(err.name) || err.$metadata.httpStatusCode === 403) {
    return new SinkConfigError('spec.secretRef', `${err.name}: the credentials may not use bucket ${c.bucket} (check accessKeyId/secretAccessKey and the bucket policy)`);
  }
  if (err.name === 'NoSuchBucket') return new SinkConfigError('spec.s3.bucket', `bucket ${c.bucket} does not exist`);
  return Object.assign(new Error(`${err.name}: ${err.message}`), { code: err.name });
}

class S3Store implements ObjectStore {
  constructor(private readonly client: S3Client, private readonly c: Compiled) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try { return await fn(); } catch (err) { throw mapError(err, this.c); }
  }

  async ensureBucket(create: boolean): Promise<string> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.c.bucket }));
      return `bucket ${this.c.bucket} reachable`;
    } catch (err) {
      const status = err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
      if (status !== 404) throw mapError(err, this.c);
    }
    if (!create) throw new SinkConfigError('spec.s3.bucket', `bucket ${this.c.bucket} does not exist and spec.create is false: create it, or allow the sink to`);
    await this.call(() => this.client.send(new CreateBucketCommand({
      Bucket: this.c.bucket, ...(this.c.region !== DEFAULT_REGION ? { CreateBucketConfiguration: { LocationConstraint: this.c.region as never } } : {}),
    }))).catch((err: unknown) => {
      // Another worker created it meanwhile.
      if (!(err instanceof Error && /BucketAlreadyOwnedByYou/.test(err.message))) throw err;
    });
    return `bucket ${this.c.bucket} created`;
  }

  async get(key: string): Promise<{ body: Buffer; tag: string } | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.c.bucket, Key: key }));
      return { body: Buffer.from(await r.Body!.transformToByteArray()), tag: r.ETag ?? '' };
    } catch (err) {
      if (err instanceof S3ServiceException && (err.name === 'NoSuchKey' || err.$metadata.httpStatusCode === 404)) return undefined;
      throw mapError(err, this.c);
    }
  }

  async put(key: string, body: Uint8Array | string, opts: PutOptions): Promise<string> {
    const cond = opts.ifTag === null ? { IfNoneMatch: '*' } : opts.ifTag !== undefined ? { IfMatch: opts.ifTag } : {};
    const r = await this.call(() => this.client.send(new PutObjectCommand({ Bucket: this.c.bucket, Key: key, Body: body, ContentType: opts.contentType, ...cond })));
    return r.ETag ?? '';
  }

  async *list(prefix: string): AsyncIterable<StoredObject[]> {
    let token: string | undefined;
    do {
      const r = await this.call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.c.bucket, Prefix: prefix, ContinuationToken: token })));
      yield (r.Contents ?? []).map((o) => ({ key: o.Key!, tag: o.ETag ?? '' }));
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const r = await this.call(() => this.client.send(new DeleteObjectsCommand({
        Bucket: this.c.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
      })));
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw Object.assign(new Error(`could not delete ${failed.length} objects (first: ${failed[0]!.Code})`), { code: failed[0]!.Code });
    }
  }
}

interface ClientEntry { fingerprint: string; guard: EndpointGuard; client: S3Client }

export class S3Driver implements ObjectStoreDriver<S3SinkSpec> {
  readonly type = 's3';
  private readonly clients = new Map<string, ClientEntry>();

  describe(spec: S3SinkSpec): string { return describe(spec); }

  /** A client per (endpoint, region, path style); replaced when the keys or the CA change (Secret rotated). */
  open(ctx: SinkContext<S3SinkSpec>): ObjectStore {
    const c = compile(ctx.spec);
    const credentials = credentialsOf(ctx);
    const key = `${c.endpoint ?? 'aws'}|${c.region}|${c.forcePathStyle}`;
    const fp = fingerprint(ctx.credentials.accessKeyId, ctx.credentials.secretAccessKey, ctx.credentials.sessionToken, ctx.caPem);
    const guard = ctx.guard ?? defaultEndpointGuard();
    let entry = this.clients.get(key);
    if (entry?.fingerprint !== fp || entry.guard !== guard) {
      entry?.client.destroy();
      const agent = { keepAlive: true, maxSockets: 64 };
      entry = {
        fingerprint: fp, guard,
        client: new S3Client({
          region: c.region, forcePathStyle: c.forcePathStyle, ...(c.endpoint ? { endpoint: c.endpoint } : {}), ...(credentials ? { credentials } : {}),
          // S3-compatible stores often lack the streaming checksums newer SDKs send by default.
          requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
          maxAttempts: 3,
          requestHandler: {
            httpAgent: guard.agent(http.Agent, 'spec.s3.endpoint', agent), httpsAgent: guard.agent(https.Agent, 'spec.s3.endpoint', { ...agent, ...(ctx.caPem ? { ca: ctx.caPem } : {}) }),
            connectionTimeout: 5_000, requestTimeout: 60_000, throwOnRequestTimeout: true,
          },
        }),
      };
      this.clients.set(key, entry);
    }
    return new S3Store(entry.client, c);
  }

  close(): Promise<void> {
    for (const e of this.clients.values()) e.client.destroy();
    this.clients.clear();
    return Promise.resolve();
  }
}

export const s3Backend = new ObjectStoreBackend(new S3Driver());

export const s3Sink: SinkDescriptor<S3SinkSpec> = {
  type: 's3', kind: 'KollectSnapshotSink', backend: s3Backend, formats: OBJECT_FORMATS,
  locate: (spec, inv) => locateSnapshot('s3', describe(spec), spec.pathTemplate, inv),
  render: (row, _spec, format) => renderRow(row, format),
  sample: 'sink-s3.yaml', docs: 's3.md',
};
