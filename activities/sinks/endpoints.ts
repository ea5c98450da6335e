// The endpoint guard: sink endpoints may not point the operator at itself, at the cluster's own
// services or at a cloud metadata server unless the operator's configuration allows it. The check
// runs where the socket is opened (a `lookup` for clients that take one, a checked address to
// connect to for the rest), so a name that resolved to a public address at admission and to
// 169.254.169.254 later (DNS rebinding) is still refused. See docs/sinks.md#endpoint-guard.
import dns from 'node:dns';
import type http from 'node:http';
import type https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { SinkConfigError } from './types.js';

/** Address classes refused by default, each with the ranges it covers. */
export const DENIED_CLASSES = {
  loopback: ['127.0.0.0/8', '::1/128'],
  'link-local': ['169.254.0.0/16', 'fe80::/10'],
  // Metadata servers outside link-local: Alibaba Cloud, AWS's IPv6 endpoint.
  metadata: ['100.100.100.200/32', 'fd00:ec2::254/128'],
  unspecified: ['0.0.0.0/8', '::/128'],
} as const;
export type AddressClass = keyof typeof DENIED_CLASSES | 'cluster';

export interface EndpointPolicy {
  /** Classes (loopback, link-local, metadata, unspecified, cluster) or CIDRs that are let through. */
  allow: readonly string[];
  /** The cluster's own service and pod ranges (CIDRs), refused as class `cluster`. */
  clusterCidrs: readonly string[];
}

/** An endpoint resolved to an address the policy refuses. Retrying does not help: non-retryable. */
export class EndpointRefusedError extends SinkConfigError {
  constructor(field: string, readonly host: string, readonly address: string, readonly addressClass: AddressClass) {
    super(field, `${host} resolves to ${address} (${addressClass}), which sinks may not reach; an administrator can allow it with KOLLECT_ENDPOINT_ALLOW=${addressClass}`);
  }
}

type Family = 'ipv4' | 'ipv6';
const familyOf = (ip: string): Family => (net.isIPv6(ip) ? 'ipv6' : 'ipv4');

function parseCidr(cidr: string, where: string): [string, number, Family] {
  const [addr, bits] = cidr.trim().split('/');
  const family = net.isIP(addr ?? '');
  const prefix = Number(bits);
  if (!family || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
    throw new Error(`${where}: "${cidr}" is not a CIDR such as 10.96.0.0/12 or fd00::/8`);
  }
  return [addr!, prefix, family === 4 ? 'ipv4' : 'ipv6'];
}

function blockList(cidrs: readonly string[], where: string): net.BlockList {
  const list = new net.BlockList();
  for (const c of cidrs) { const [a, p, f] = parseCidr(c, where); list.addSubnet(a, p, f); }
  return list;
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is checked as the IPv4 address it carries. */
const unmap = (ip: string): string => ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

export class EndpointGuard {
  private readonly denied: [AddressClass, net.BlockList][];
  private readonly allowed: net.BlockList;

  constructor(readonly policy: EndpointPolicy) {
    const allowClasses = new Set(policy.allow.filter((a) => !a.includes('/')));
    const known = [...Object.keys(DENIED_CLASSES), 'cluster'];
    for (const a of allowClasses) if (!known.includes(a)) throw new Error(`KOLLECT_ENDPOINT_ALLOW: unknown class "${a}" (known: ${known.join(', ')}, or a CIDR)`);
    const classes: [AddressClass, readonly string[]][] = [...Object.entries(DENIED_CLASSES) as [AddressClass, readonly string[]][], ['cluster', policy.clusterCidrs]];
    this.denied = classes.filter(([c, cidrs]) => !allowClasses.has(c) && cidrs.length > 0).map(([c, cidrs]) => [c, blockList(cidrs, c === 'cluster' ? 'KOLLECT_CLUSTER_CIDRS' : c)]);
    this.allowed = blockList(policy.allow.filter((a) => a.includes('/')), 'KOLLECT_ENDPOINT_ALLOW');
  }

  /** The class that refuses `ip`, or undefined when it may be reached. */
  classify(ip: string): AddressClass | undefined {
    const addr = unmap(ip);
    const family = familyOf(addr);
    if (this.allowed.check(addr, family)) return undefined;
    return this.denied.find(([, list]) => list.check(addr, family))?.[0];
  }

  /** Throws EndpointRefusedError when `address` may not be reached. */
  assert(field: string, host: string, address: string): void {
    const cls = this.classify(address);
    if (cls) throw new EndpointRefusedError(field, host, address, cls);
  }

  /**
   * Resolves `host` (every address) and returns them when all may be reached; a literal IP is
   * checked as is. For clients that cannot take a lookup: connect to the returned address.
   */
  async resolve(field: string, host: string): Promise<dns.LookupAddress[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const addrs = net.isIP(bare) ? [{ address: bare, family: net.isIP(bare) }] : await dns.promises.lookup(bare, { all: true, verbatim: true });
    for (const a of addrs) this.assert(field, host, a.address);
    return addrs;
  }

  /**
   * Options for net.connect / tls.connect to `host`: a guarded lookup, and for a literal IP
   * (which Node connects to without any lookup) the check itself, throwing when refused.
   */
  connectOptions(field: string, host: string): { lookup: typeof dns.lookup } {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (net.isIP(bare)) this.assert(field, host, bare);
    return { lookup: this.lookupFor(field) };
  }

  /** An http(s) Agent whose every connection goes through the guard (names and literal IPs alike). */
  agent<A extends typeof http.Agent | typeof https.Agent>(Base: A, field: string, options: ConstructorParameters<A>[0] = {}): InstanceType<A> {
    const guard = this; // eslint-disable-line @typescript-eslint/no-this-alias -- the agent's createConnection needs the guard
    const AgentClass: typeof http.Agent = Base;
    const Guarded = class extends AgentClass {
      override createConnection(opts: http.ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
        try {
          Object.assign(opts, guard.connectOptions(field, opts.host ?? opts.hostname ?? 'localhost'));
        } catch (err) {
          // Fail this request only: the agent reports it as a connection error.
          const s = new net.Socket();
          process.nextTick(() => s.destroy(err as Error));
          return s;
        }
        return (Base.prototype as unknown as { createConnection: (o: unknown, c?: unknown) => Duplex }).createConnection.call(this, opts, cb);
      }
    };
    return new Guarded(options) as InstanceType<A>;
  }

  /** A `lookup` for net/tls/http agents: resolves as dns.lookup does, refusing forbidden addresses. Literal IPs bypass lookups: use connectOptions or agent. */
  lookupFor(field: string): typeof dns.lookup {
    const guarded = (hostname: string, options: dns.LookupOptions | number | ((...a: unknown[]) => void), cb?: (...a: unknown[]) => void): void => {
      const callback = (typeof options === 'function' ? options : cb)!;
      const opts: dns.LookupOptions = typeof options === 'object' ? options : typeof options === 'number' ? { family: options } : {};
      dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
        if (err) return callback(err);
        for (const a of addresses) {
          const cls = this.classify(a.address);
          if (cls) return callback(new EndpointRefusedError(field, hostname, a.address, cls));
        }
        if (opts.all) return callback(null, addresses);
        const first = addresses[0];
        if (!first) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
        return callback(null, first.address, first.family);
      });
    };
    return guarded as unknown as typeof dns.lookup;
  }
}

/** The policy from the operator's environment: KOLLECT_ENDPOINT_ALLOW and KOLLECT_CLUSTER_CIDRS (comma-separated). */
export function endpointPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): EndpointPolicy {
  const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return { allow: list(env.KOLLECT_ENDPOINT_ALLOW), clusterCidrs: list(env.KOLLECT_CLUSTER_CIDRS) };
}

let processGuard: EndpointGuard | undefined;
/** The guard of this process, from its environment (built once). */
export function defaultEndpointGuard(): EndpointGuard {
  processGuard ??= new EndpointGuard(endpointPolicyFromEnv());
  return processGuard;
}
