import { describe, it, expect } from 'vitest';
import { REDACTED, SinkExportError, redact, redactError, redactUrl, secretValues } from './redact.js';
import { SinkConfigError } from './types.js';

describe('redactUrl', () => {
  it('strips user and password, keeps the rest', () => {
    expect(redactUrl('postgres://kollect:s3cret@db.example:5432/inv?sslmode=require')).toBe('postgres://db.example:5432/inv?sslmode=require');
    expect(redactUrl('nats://tok@127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(redactUrl('https://x-access-token:ghp_abc@github.com/org/repo.git')).toBe('https://github.com/org/repo.git');
  });
  it('leaves a URL without userinfo untouched', () => {
    expect(redactUrl('https://git.example/org/repo.git')).toBe('https://git.example/org/repo.git');
  });
  it('never echoes a value that does not parse as a URL: only its scheme', () => {
    expect(redactUrl('postgres://u:p@ss@host:notaport/db')).toBe('postgres://…');
    expect(redactUrl('postgres://app:s3cr/et@db/x')).toBe('postgres://…'); // passes the CRD's password rule
    expect(redactUrl('not a url')).toBe('(not a URL)');
  });
});

describe('secretValues', () => {
  it('drops empty values, adds encoded variants and extras, longest first', () => {
    const s = secretValues({ username: 'bob', password: 'p@ss "x"', empty: '' }, ['Ym9iOnA=']);
    expect(s).toContain('p@ss "x"');
    expect(s).toContain(encodeURIComponent('p@ss "x"'));
    expect(s).toContain('p@ss \\"x\\"');
    expect(s).toContain('Ym9iOnA=');
    expect(s).not.toContain('');
    for (let i = 1; i < s.length; i++) expect(s[i - 1]!.length).toBeGreaterThanOrEqual(s[i]!.length);
  });
});

describe('secret encodings', () => {
  it('redacts a value with a trailing newline, its base64, lowercase percent-encoding, but not account names or tiny values', () => {
    const secrets = secretValues({ username: 'git', password: 'hunter2-mu\n', pin: 'ab' });
    const b64 = Buffer.from('hunter2-mu').toString('base64');
    const text = `user git failed: hunter2-mu / ${b64} / ${encodeURIComponent('hunter2-mu/x').toLowerCase()} / ab`;
    const out = redact(text, secretValues({ username: 'git', password: 'hunter2-mu/x\n' }).concat(secrets));
    expect(out).toBe(`user git failed: ${REDACTED} / ${REDACTED} / ${REDACTED} / ab`);
    expect(secrets).not.toContain('git');
    expect(secrets).not.toContain('ab');
  });
});

describe('redact', () => {
  const secrets = secretValues({ password: 'hunter2', token: 'tok-hunter2-long' });
  it('replaces every occurrence of every credential value', () => {
    expect(redact('auth hunter2 failed; retry with hunter2', secrets)).toBe(`auth ${REDACTED} failed; retry with ${REDACTED}`);
  });
  it('replaces the longer secret whole when one contains another', () => {
    expect(redact('token tok-hunter2-long rejected', secrets)).toBe(`token ${REDACTED} rejected`);
  });
  it('replaces URL-encoded and JSON-escaped forms', () => {
    const s = secretValues({ password: 'a b"c' });
    expect(redact(`url has a%20b%22c and json {"p":"a b\\"c"}`, s)).toBe(`url has ${REDACTED} and json {"p":"${REDACTED}"}`);
  });
  it('strips userinfo of URLs inside free text', () => {
    expect(redact('connect postgres://app:zz@10.0.0.1:5432/x failed', [])).toBe('connect postgres://10.0.0.1:5432/x failed');
    // a '/' in the password does not end the userinfo; an '@' in a URL's path is over-redacted (the safe side)
    expect(redact('dial postgres://app:s3cr/et@db/x: refused', [])).toBe('dial postgres://db/x: refused');
    expect(redact('see https://docs.example/a@b', [])).toBe('see https://b');
  });
});

describe('redactError', () => {
  const secrets = secretValues({ password: 'hunter2' });
  it('wraps a plain error into a SinkExportError with context, code and no secret', () => {
    const cause = Object.assign(new Error('password hunter2 rejected'), { code: '28P01' });
    const e = redactError(cause, { sinkType: 'postgres', context: 'postgres postgres://db:5432/x', secrets });
    expect(e).toBeInstanceOf(SinkExportError);
    expect(e.message).toBe(`postgres postgres://db:5432/x: password ${REDACTED} rejected`);
    expect((e as SinkExportError).code).toBe('28P01');
    expect(e.stack).not.toContain('hunter2');
    expect(e.cause).toBeUndefined();
  });
  it('keeps a SinkConfigError a SinkConfigError (non-retryable), redacted', () => {
    const e = redactError(new SinkConfigError('url', 'must not embed hunter2'), { sinkType: 'nats', context: 'nats', secrets });
    expect(e).toBeInstanceOf(SinkConfigError);
    expect((e as SinkConfigError).field).toBe('url');
    expect(e.message).toBe(`url: nats: must not embed ${REDACTED}`);
  });
  it('re-redacts a SinkExportError without prefixing its context twice', () => {
    const e = redactError(new SinkExportError('nats', 'nats x: token hunter2', 'X'), { sinkType: 'nats', context: 'nats x', secrets });
    expect(e).toBeInstanceOf(SinkExportError);
    expect(e.message).toBe(`nats x: token ${REDACTED}`);
    expect((e as SinkExportError).code).toBe('X');
  });
  it('handles non-Error throwables', () => {
    expect(redactError('boom hunter2', { sinkType: 'git', context: 'git', secrets }).message).toBe(`git: boom ${REDACTED}`);
  });
});
