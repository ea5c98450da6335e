// The codec's settings and its decoding of what needs no store (KOLLECT_SERVICES=none). The
// endpoint itself, with the store and a real history, is tested in test/e2e/codec.test.ts.
import { describe, it, expect } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codecConfig, decodePayloads, DEFAULT_CODEC_MAX_BODY_BYTES } from './codec.js';
import { GzipCodec } from './payloads.js';

const enc = new TextEncoder();

describe('codecConfig', () => {
  it('serves nothing unless KOLLECT_CODEC_PORT is set, and takes origins, token and limit', () => {
    expect(codecConfig({})).toEqual({ host: '0.0.0.0', corsOrigins: [], maxBodyBytes: DEFAULT_CODEC_MAX_BODY_BYTES });
    expect(codecConfig({ KOLLECT_CODEC_PORT: 'off' }).port).toBeUndefined();
    const token = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-codec-')), 'token');
    writeFileSync(token, 's3cret\n');
    expect(codecConfig({
      KOLLECT_CODEC_PORT: '8082', KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_CODEC_CORS_ORIGINS: 'http://127.0.0.1:8233, https://ui.example.com',
      KOLLECT_CODEC_TOKEN_FILE: token, KOLLECT_CODEC_MAX_BODY_BYTES: '65536',
    })).toEqual({ port: 8082, host: '127.0.0.1', corsOrigins: ['http://127.0.0.1:8233', 'https://ui.example.com'], token: 's3cret', maxBodyBytes: 65536 });
  });

  it.each([
    [{ KOLLECT_CODEC_PORT: 'eighty' }, 'KOLLECT_CODEC_PORT must be a port number 0-65535 (or off), got "eighty"'],
    [{ KOLLECT_CODEC_CORS_ORIGINS: '*' }, 'KOLLECT_CODEC_CORS_ORIGINS must list origins'],
    [{ KOLLECT_CODEC_CORS_ORIGINS: 'https://ui.example.com/' }, 'no path, no *), got "https://ui.example.com/"'],
    [{ KOLLECT_CODEC_CORS_ORIGINS: 'ui.example.com' }, 'got "ui.example.com"'],
    [{ KOLLECT_CODEC_TOKEN_FILE: '/nonexistent/token' }, 'KOLLECT_CODEC_TOKEN_FILE: cannot read /nonexistent/token (ENOENT)'],
    [{ KOLLECT_CODEC_MAX_BODY_BYTES: '10' }, 'KOLLECT_CODEC_MAX_BODY_BYTES must be a whole number of bytes, at least 1024, got "10"'],
  ])('refuses %j by name', (env, message) => {
    expect(() => codecConfig(env)).toThrow(message);
  });

  it('refuses an empty token file', () => {
    const token = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-codec-')), 'token');
    writeFileSync(token, '\n');
    expect(() => codecConfig({ KOLLECT_CODEC_TOKEN_FILE: token })).toThrow(`KOLLECT_CODEC_TOKEN_FILE: ${token} is empty`);
  });
});

describe('decodePayloads', () => {
  const json = { metadata: { encoding: enc.encode('json/plain') }, data: enc.encode(JSON.stringify({ rows: 'x'.repeat(20_000) })) };
  const small = { metadata: { encoding: enc.encode('json/plain') }, data: enc.encode('"small"') };
  const claim = {
    metadata: { encoding: enc.encode('json/protobuf'), messageType: enc.encode('temporal.api.sdk.v1.ExternalStorageReference') },
    data: enc.encode(JSON.stringify({ driverName: 'kollect-postgres', claimData: { id: 'abc' } })),
  };

  it('gunzips what GzipCodec wrote and leaves the rest as it is', async () => {
    const encoded = await new GzipCodec().encode([json, small]);
    expect(new TextDecoder().decode(encoded[0]!.metadata!.encoding)).toBe('binary/kollect-gzip');
    const decoded = await decodePayloads(encoded, undefined);
    expect(Buffer.from(decoded[0]!.data!).toString()).toBe(Buffer.from(json.data).toString());
    expect(decoded[1]).toBe(small);
  });

  it('keeps claims with preserveStorageRefs, and names the missing store otherwise', async () => {
    const encoded = await new GzipCodec().encode([json]);
    const kept = await decodePayloads([claim, encoded[0]!], undefined, { preserveStorageRefs: true });
    expect(kept[0]).toBe(claim);
    expect(Buffer.from(kept[1]!.data!).toString()).toBe(Buffer.from(json.data).toString());
    await expect(decodePayloads([small, claim], undefined)).rejects.toThrow('payloads[1] is a claim of storage driver "kollect-postgres", which this codec does not have (no KOLLECT_STORE_URL)');
  });
});
