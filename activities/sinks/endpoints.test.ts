import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EndpointGuard, EndpointRefusedError, endpointPolicyFromEnv } from './endpoints.js';
import { SinkConfigError } from './types.js';

const strict = new EndpointGuard({ allow: [], clusterCidrs: ['10.96.0.0/12', 'fd00:10:96::/112'] });

describe('endpoint guard', () => {
  it.each([
    ['127.0.0.1', 'loopback'], ['127.8.9.10', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['100.100.100.200', 'metadata'], ['fd00:ec2::254', 'metadata'],
    ['0.0.0.0', 'unspecified'], ['::', 'unspecified'], ['10.96.0.1', 'cluster'], ['10.111.255.254', 'cluster'], ['fd00:10:96::a', 'cluster'],
  ])('refuses %s (%s) by default', (ip, cls) => {
    expect(strict.classify(ip)).toBe(cls);
    const err = (() => { try { strict.assert('spec.x.url', 'db.example', ip); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(EndpointRefusedError);
    expect(err).toBeInstanceOf(SinkConfigError); // non-retryable: retrying cannot change the policy
    expect((err as Error).message).toContain(`KOLLECT_ENDPOINT_ALLOW=${cls}`);
    expect((err as Error).message).toMatch(/^spec\.x\.url: db\.example resolves to/);
  });

  it.each(['10.0.0.5', '10.112.0.1', '192.168.1.10', '172.16.0.4', '8.8.8.8', '2001:db8::1'])('lets %s through', (ip) => {
    expect(strict.classify(ip)).toBeUndefined();
  });

  it('allows a class or a CIDR when configured, and rejects unknown settings', () => {
    const g = new EndpointGuard(endpointPolicyFromEnv({ KOLLECT_ENDPOINT_ALLOW: 'loopback, 169.254.10.0/24', KOLLECT_CLUSTER_CIDRS: '10.96.0.0/12' }));
    expect(g.classify('127.0.0.1')).toBeUndefined();
    expect(g.classify('169.254.10.7')).toBeUndefined();
    expect(g.classify('169.254.169.254')).toBe('link-local');
    expect(g.classify('10.96.0.10')).toBe('cluster');
    expect(() => new EndpointGuard({ allow: ['localhost'], clusterCidrs: [] })).toThrow(/unknown class "localhost"/);
    expect(() => new EndpointGuard({ allow: [], clusterCidrs: ['10.96.0.0/99'] })).toThrow(/KOLLECT_CLUSTER_CIDRS: "10.96.0.0\/99" is not a CIDR/);
  });

  it('checks at connect time: an http request through the guarded lookup never reaches a refused address', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => { hits++; res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const get = (guard: EndpointGuard) => new Promise<string>((resolve, reject) => {
        http.get({ host: 'localhost', port, lookup: guard.lookupFor('spec.x.url'), family: 4 }, (res) => { res.resume(); res.on('end', () => resolve('ok')); }).on('error', reject);
      });
      await expect(get(strict)).rejects.toBeInstanceOf(EndpointRefusedError);
      expect(hits).toBe(0);
      await expect(get(new EndpointGuard({ allow: ['loopback'], clusterCidrs: [] }))).resolves.toBe('ok');
      expect(hits).toBe(1);
    } finally { server.close(); }
  });

  it('an agent from the guard checks literal IPs too (Node skips the lookup for them)', async () => {
    let hits = 0;
    const server = http.createServer((_req, res) => { hits++; res.end('ok'); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const get = (guard: EndpointGuard) => new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, agent: guard.agent(http.Agent, 'spec.x.endpoint') }, (res) => { res.resume(); res.on('end', () => resolve('ok')); }).on('error', reject);
      });
      const err = await get(strict).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EndpointRefusedError);
      expect((err as Error).message).toBe('spec.x.endpoint: 127.0.0.1 resolves to 127.0.0.1 (loopback), which sinks may not reach; an administrator can allow it with KOLLECT_ENDPOINT_ALLOW=loopback');
      expect(hits).toBe(0);
      await expect(get(new EndpointGuard({ allow: ['loopback'], clusterCidrs: [] }))).resolves.toBe('ok');
      expect(hits).toBe(1);
      expect(() => strict.connectOptions('spec.x.url', '[::1]')).toThrow(EndpointRefusedError);
    } finally { server.close(); }
  });

  it('resolve() checks every address of a name, and literal addresses as given', async () => {
    await expect(strict.resolve('spec.x.url', 'localhost')).rejects.toBeInstanceOf(EndpointRefusedError);
    await expect(strict.resolve('spec.x.url', '[::1]')).rejects.toThrow(/\(loopback\)/);
    const open = new EndpointGuard({ allow: ['loopback'], clusterCidrs: [] });
    expect((await open.resolve('spec.x.url', '127.0.0.1'))[0]!.address).toBe('127.0.0.1');
  });
});
