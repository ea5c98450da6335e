// The leak scan's matching, on planted values: it must find a credential however Kollect could
// have written it (plain, base64 in a Basic header, percent-encoded in a URL, inside a gzipped
// Temporal payload), and never print the credential itself.
import { describe, it, expect } from 'vitest';
import { gzipSync } from 'node:zlib';
import proto from '@temporalio/proto';
import { needles, find, bytesTexts } from './leak-scan.js';

const ProtoPayload = proto.temporal.api.common.v1.Payload;
const canary = 'kcanary0123456789';
const gitPassword = `${canary}git+/=AbCdEf`;
const e = {
  canary,
  postgres: { host: 'h', port: 1, user: 'postgres', password: `${canary}pgXYZ`, database: 'd', url: 'postgres://x' },
  git: { baseUrl: 'https://g', caFile: 'ca', username: 'kollect-ab12', password: gitPassword, reposDir: '/r' },
};
const found = (text: string) => find('planted', text, needles(e)).map((f) => f.needle);

describe('leak scan matching', () => {
  it('finds the canary in plain text and masks it in the excerpt', () => {
    const f = find('log', `{"error":"auth failed for ${gitPassword}"}`, needles(e));
    expect(f.map((x) => x.needle)).toEqual(['canary']);
    expect(f[0]!.excerpt).toContain('[canary]');
    expect(f[0]!.excerpt).not.toContain(canary);
  });

  it('finds a Basic header, base64 and lowercase percent-encoding of a credential', () => {
    expect(found(`authorization: Basic ${Buffer.from(`kollect-ab12:${gitPassword}`).toString('base64')}`)).toContain('git basic credentials base64');
    expect(found(Buffer.from(gitPassword).toString('base64'))).toContain('git password base64');
    expect(found(`https://u:${encodeURIComponent(gitPassword).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}@h/`)).toContain('git password percent-encoded');
  });

  it('finds a credential inside a gzipped, encoded Temporal payload', () => {
    const inner = ProtoPayload.encode({ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify({ url: `postgres://app:${e.postgres.password}@db/x` })) }).finish();
    const outer = ProtoPayload.encode({ metadata: { encoding: Buffer.from('binary/kollect-gzip') }, data: gzipSync(inner) }).finish();
    expect(bytesTexts(outer).flatMap((t) => found(t))).toContain('canary');
  });

  it('finds nothing in text without a credential', () => {
    expect(found('kcanary is a word; kollect-ab12 is a username, not a secret')).toEqual([]);
  });
});
