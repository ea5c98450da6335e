import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { webhookConfigFromEnv } from './webhook.js';

const PEM = (label: string): string => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;

describe('webhook settings', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-webhook-config-'));
  writeFileSync(path.join(dir, 'tls.crt'), PEM('CERTIFICATE'));
  writeFileSync(path.join(dir, 'tls.key'), PEM('EC PRIVATE KEY'));

  it('is off without KOLLECT_WEBHOOK_PORT, and on with a port and a directory holding tls.crt and tls.key', () => {
    expect(webhookConfigFromEnv({})).toBeUndefined();
    expect(webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: '9443', KOLLECT_WEBHOOK_CERT_DIR: dir })).toEqual({ port: 9443, host: '0.0.0.0', certDir: dir });
    expect(webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: '0', KOLLECT_WEBHOOK_CERT_DIR: dir, KOLLECT_WEBHOOK_HOST: '127.0.0.1' })).toEqual({ port: 0, host: '127.0.0.1', certDir: dir });
  });

  it('names the variable and the fix for every bad setting', () => {
    expect(() => webhookConfigFromEnv({ KOLLECT_WEBHOOK_CERT_DIR: dir })).toThrow('KOLLECT_WEBHOOK_CERT_DIR is set but KOLLECT_WEBHOOK_PORT is not');
    expect(() => webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: 'https' })).toThrow('KOLLECT_WEBHOOK_PORT must be a port number 0-65535, got "https"');
    expect(() => webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: '70000', KOLLECT_WEBHOOK_CERT_DIR: dir })).toThrow(/KOLLECT_WEBHOOK_PORT must be a port number/);
    expect(() => webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: '9443' })).toThrow(/KOLLECT_WEBHOOK_CERT_DIR is required with KOLLECT_WEBHOOK_PORT: a directory holding the serving certificate as tls.crt and tls.key/);
    const empty = mkdtempSync(path.join(os.tmpdir(), 'kollect-webhook-config-'));
    expect(() => webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: '9443', KOLLECT_WEBHOOK_CERT_DIR: empty })).toThrow(`KOLLECT_WEBHOOK_CERT_DIR: cannot read ${path.join(empty, 'tls.crt')} (ENOENT)`);
    writeFileSync(path.join(empty, 'tls.crt'), PEM('CERTIFICATE'));
    writeFileSync(path.join(empty, 'tls.key'), 'not a key');
    expect(() => webhookConfigFromEnv({ KOLLECT_WEBHOOK_PORT: '9443', KOLLECT_WEBHOOK_CERT_DIR: empty })).toThrow(`KOLLECT_WEBHOOK_CERT_DIR: ${path.join(empty, 'tls.key')} holds no PEM PRIVATE KEY`);
  });
});
