// Temporal connection settings from the environment: TLS and API key files are read and checked
// at start, and every mistake names its variable.
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './config.js';

const base = { KOLLECT_STORE_URL: 'postgres://kollect@db/kollect' };
let dir: string;
const file = (name: string, text: string): string => { const f = path.join(dir, name); writeFileSync(f, text); return f; };
const pem = (label: string) => `-----BEGIN ${label}-----\nAAAA\n-----END ${label}-----\n`;

describe('loadConfig: Temporal TLS and API key', () => {
  beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-config-')); });

  it('is plaintext with no TLS settings', () => {
    expect(loadConfig(base).temporalAuth).toEqual({});
    expect(loadConfig({ ...base, TEMPORAL_TLS: 'false' }).temporalAuth).toEqual({});
  });

  it('turns TLS on with the system CAs for TEMPORAL_TLS=true', () => {
    expect(loadConfig({ ...base, TEMPORAL_TLS: 'true' }).temporalAuth).toEqual({ tls: {} });
  });

  it('reads the CA, the client certificate pair, the server name and the API key', () => {
    const ca = file('ca.crt', pem('CERTIFICATE'));
    const crt = file('tls.crt', pem('CERTIFICATE'));
    const key = file('tls.key', pem('EC PRIVATE KEY'));
    const apiKey = file('api-key', 'secret-key\n');
    const auth = loadConfig({ ...base, TEMPORAL_TLS_CA_FILE: ca, TEMPORAL_TLS_CERT_FILE: crt, TEMPORAL_TLS_KEY_FILE: key, TEMPORAL_TLS_SERVER_NAME: 'temporal.example', TEMPORAL_API_KEY_FILE: apiKey }).temporalAuth;
    expect(auth.tls?.serverRootCACertificate?.toString()).toBe(pem('CERTIFICATE'));
    expect(auth.tls?.clientCertPair?.key.toString()).toBe(pem('EC PRIVATE KEY'));
    expect(auth.tls?.serverNameOverride).toBe('temporal.example');
    expect(auth.apiKey).toBe('secret-key');
  });

  it('sends an API key over TLS only', () => {
    const apiKey = file('api-key-2', 'k');
    expect(loadConfig({ ...base, TEMPORAL_API_KEY_FILE: apiKey }).temporalAuth).toEqual({ tls: {}, apiKey: 'k' });
    expect(() => loadConfig({ ...base, TEMPORAL_TLS: 'false', TEMPORAL_API_KEY_FILE: apiKey })).toThrow(/TEMPORAL_TLS=false contradicts/);
  });

  it.each([
    [{ TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS must be true or false, got "yes"'],
    [{ TEMPORAL_TLS_CERT_FILE: '/x.crt' }, 'got only TEMPORAL_TLS_CERT_FILE'],
    [{ TEMPORAL_TLS_KEY_FILE: '/x.key' }, 'got only TEMPORAL_TLS_KEY_FILE'],
    [{ TEMPORAL_TLS_CA_FILE: '/nonexistent/ca.crt' }, 'TEMPORAL_TLS_CA_FILE: cannot read /nonexistent/ca.crt (ENOENT)'],
    [{ TEMPORAL_API_KEY_FILE: '/nonexistent/key' }, 'TEMPORAL_API_KEY_FILE: cannot read /nonexistent/key (ENOENT)'],
  ])('refuses %o naming the variable', (env, message) => {
    expect(() => loadConfig({ ...base, ...env })).toThrow(message);
  });

  it('refuses files that are not what the variable says', () => {
    const notPem = file('ca.txt', 'hello');
    const cert = file('only.crt', pem('CERTIFICATE'));
    const empty = file('empty-key', '\n');
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_CA_FILE: notPem })).toThrow(`TEMPORAL_TLS_CA_FILE: ${notPem} holds no PEM CERTIFICATE`);
    expect(() => loadConfig({ ...base, TEMPORAL_TLS_CERT_FILE: cert, TEMPORAL_TLS_KEY_FILE: cert })).toThrow('TEMPORAL_TLS_KEY_FILE');
    expect(() => loadConfig({ ...base, TEMPORAL_API_KEY_FILE: empty })).toThrow(`TEMPORAL_API_KEY_FILE: ${empty} is empty`);
  });
});

describe('loadConfig: the cluster name and the endpoint guard', () => {
  it('defaults the cluster name, takes a DNS label, and names the variable when it is not one', () => {
    expect(loadConfig(base).clusterName).toBe('default');
    expect(loadConfig({ ...base, KOLLECT_CLUSTER_NAME: 'prod-eu-1' }).clusterName).toBe('prod-eu-1');
    expect(() => loadConfig({ ...base, KOLLECT_CLUSTER_NAME: 'Prod_EU' })).toThrow('KOLLECT_CLUSTER_NAME must be a DNS label (lower-case letters, digits and -, at most 63), got "Prod_EU"');
  });

  it('refuses an unknown address class or a bad CIDR, naming the variable', () => {
    expect(loadConfig({ ...base, KOLLECT_ENDPOINT_ALLOW: 'loopback,10.1.0.0/16' }).endpoints.allow).toEqual(['loopback', '10.1.0.0/16']);
    expect(() => loadConfig({ ...base, KOLLECT_ENDPOINT_ALLOW: 'private' })).toThrow(/KOLLECT_ENDPOINT_ALLOW: unknown class "private"/);
    expect(() => loadConfig({ ...base, KOLLECT_CLUSTER_CIDRS: '10.96.0.0' })).toThrow(/KOLLECT_CLUSTER_CIDRS: "10.96.0.0" is not a CIDR/);
  });
});

describe('loadConfig: tenancy (docs/tenancy.md)', () => {
  it('tenant mode is on by default; KOLLECT_TENANT_MODE=false restores single-team behaviour', () => {
    expect(loadConfig(base).tenantMode).toBe(true);
    expect(loadConfig({ ...base, KOLLECT_TENANT_MODE: '' }).tenantMode).toBe(true);
    expect(loadConfig({ ...base, KOLLECT_TENANT_MODE: 'false' }).tenantMode).toBe(false);
    expect(() => loadConfig({ ...base, KOLLECT_TENANT_MODE: 'yes' })).toThrow('KOLLECT_TENANT_MODE must be true or false, got "yes"');
  });

  it('serves the cluster kinds by default only when it reads the whole cluster', () => {
    expect(loadConfig(base).clusterKinds).toBe(true);
    expect(loadConfig({ ...base, KOLLECT_WATCH_NAMESPACES: 'a,b' }).clusterKinds).toBe(false);
    expect(loadConfig({ ...base, KOLLECT_WATCH_NAMESPACES: 'a,b', KOLLECT_CLUSTER_KINDS: 'true' }).clusterKinds).toBe(true);
    expect(loadConfig({ ...base, KOLLECT_CLUSTER_KINDS: 'false' }).clusterKinds).toBe(false);
  });
});
