// Validates docker-compose.yml (repo root) without Docker: against the Compose Specification's
// JSON schema (vendored here, see README.md), plus the promises its header makes to README
// readers: exact image pins, the published ports, the credentials.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { parse } from 'yaml';
import { Ajv, type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { fullFormats } from 'ajv-formats/dist/formats.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const composeFile = path.join(here, '..', '..', 'docker-compose.yml');
const schemaFile = path.join(here, 'compose-spec.schema.json');

// ---- schema loading -------------------------------------------------------------------------

type Compose = {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  [key: string]: unknown;
};
type Service = {
  image?: string;
  ports?: unknown[];
  volumes?: unknown[];
  environment?: Record<string, unknown> | string[];
  healthcheck?: { test?: unknown; disable?: boolean };
  depends_on?: string[] | Record<string, { condition: string }>;
  [key: string]: unknown;
};

const ipv4 = fullFormats.ipv4 as RegExp;
const ipv6 = fullFormats.ipv6 as RegExp;
const portNumber = (s: string): boolean => /^\d{1,5}$/.test(s) && Number(s) <= 65535;
const portRange = (s: string): boolean => {
  const [a, b, ...rest] = s.split('-');
  return rest.length === 0 && a !== undefined && portNumber(a) && (b === undefined || (portNumber(b) && Number(b) >= Number(a)));
};

/**
 * The schema's custom formats, checked the way Compose checks them rather than waived:
 * - duration: a Go duration (time.ParseDuration), e.g. 5s, 1m30s, 500ms. Not ajv-formats'
 *   ISO 8601 "duration" (P1D), which would reject every Compose healthcheck interval.
 * - ports / expose: Docker's port spec, [[ip:][hostPort]:]containerPort[/protocol], ranges allowed.
 * - subnet_ip_address: CIDR, the address part checked with ajv-formats' ipv4/ipv6.
 */
const composeFormats = {
  duration: /^[-+]?(?:0|(?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/,
  ports: (s: string): boolean => {
    const m = /^(?:(?:(\[[0-9A-Fa-f:.]+\]|[0-9.]+):)?([0-9-]*):)?([0-9-]+)(?:\/(?:tcp|udp|sctp))?$/.exec(s);
    if (!m) return false;
    const [, ip, host, container] = m;
    if (ip !== undefined && !(ip.startsWith('[') ? ipv6.test(ip.slice(1, -1)) : ipv4.test(ip))) return false;
    if (host !== undefined && host !== '' && !portRange(host)) return false;
    return container !== undefined && portRange(container);
  },
  expose: (s: string): boolean => {
    const m = /^([0-9-]+)(?:\/(?:tcp|udp|sctp))?$/.exec(s);
    return m?.[1] !== undefined && portRange(m[1]);
  },
  subnet_ip_address: (s: string): boolean => {
    const [ip, bits, ...rest] = s.split('/');
    if (rest.length > 0 || ip === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
    if (ipv4.test(ip)) return Number(bits) <= 32;
    return ipv6.test(ip) && Number(bits) <= 128;
  },
};

/**
 * Compiles the vendored schema with the Ajv class for the draft it declares (draft-07 → Ajv,
 * 2019-09 → Ajv2019), in strict mode, so swapping in a newer compose-spec.json keeps working.
 * Two adjustments, neither of which turns validation off:
 * - `$schema` is dropped from the in-memory copy: the spec spells the meta-schema URI with
 *   http/https and a trailing '#' differently from Ajv's built-in ids; the instance's own default
 *   meta-schema (the same draft) is used to check the schema instead.
 * - the 2019-09-era schema still carries draft-04 style `id` annotations on some definitions;
 *   Ajv reserves `id` (it throws "use $id"), so it is re-registered as an annotation that checks
 *   nothing; the schema's refs are plain JSON pointers from the root, so ids change no resolution.
 */
function compileSchema(schema: AnySchemaObject): ValidateFunction {
  const declared = String(schema.$schema ?? '');
  const { $schema: _ignored, ...body } = schema;
  // allowUnionTypes: the spec uses type arrays such as ["string", "number"], which are plain JSON Schema.
  const options = { strict: true, allowUnionTypes: true, allErrors: true, formats: composeFormats };
  const ajv = /draft\/2019-09/.test(declared) ? new Ajv2019(options) : /draft-07/.test(declared) ? new Ajv(options) : undefined;
  if (!ajv) throw new Error(`compose-spec.schema.json declares an unsupported $schema: ${declared}`);
  if (JSON.stringify(body).includes('"id":')) {
    // Ajv reserves `id` to throw "use $id"; here it is only an annotation.
    ajv.removeKeyword('id');
    ajv.addKeyword({ keyword: 'id', schemaType: 'string' });
  }
  return ajv.compile(body);
}

const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as AnySchemaObject;
const validate = compileSchema(schema);
const composeText = readFileSync(composeFile, 'utf8');
const compose = parse(composeText) as Compose;
const services = Object.entries(compose.services);

function errorsOf(doc: unknown): ErrorObject[] {
  return validate(doc) ? [] : [...(validate.errors ?? [])];
}
function describeErrors(errors: ErrorObject[]): string {
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('\n');
}
/** A deep copy of docker-compose.yml with one change applied. */
function mutated(change: (c: Compose) => void): Compose {
  const copy = structuredClone(compose);
  change(copy);
  return copy;
}
function env(service: Service): Record<string, string> {
  const e = service.environment ?? {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.split('=')[0] ?? '', kv.split('=').slice(1).join('=')]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
}

// ---- tests ----------------------------------------------------------------------------------

describe('docker-compose.yml against the Compose Specification schema', () => {
  it('is valid', () => {
    const errors = errorsOf(compose);
    if (errors.length > 0) console.error(`docker-compose.yml is not valid:\n${describeErrors(errors)}`);
    expect(describeErrors(errors)).toBe('');
  });

  it('rejects a copy whose ports are not a list (the validator can fail)', () => {
    const errors = errorsOf(mutated((c) => { c.services.postgres!.ports = 'notalist' as unknown as unknown[]; }));
    expect(errors.some((e) => e.instancePath === '/services/postgres/ports' && e.keyword === 'type')).toBe(true);
  });

  it('rejects an unknown top-level key and an unknown service key', () => {
    expect(errorsOf(mutated((c) => { c.servicez = {}; })).some((e) => e.keyword === 'additionalProperties')).toBe(true);
    expect(errorsOf(mutated((c) => { c.services.nats!.imagee = 'nats'; }))
      .some((e) => e.instancePath === '/services/nats' && e.keyword === 'additionalProperties')).toBe(true);
  });

  it('enforces the formats: a bad port spec and a non-Go duration are rejected', () => {
    expect(errorsOf(mutated((c) => { c.services.kafka!.ports = ['127.0.0.1:9092:kafka']; }))
      .some((e) => e.keyword === 'format')).toBe(true);
    expect(errorsOf(mutated((c) => { c.services.kafka!.healthcheck = { ...c.services.kafka!.healthcheck, interval: '10 seconds' } as Service['healthcheck']; }))
      .some((e) => e.keyword === 'format' && e.instancePath === '/services/kafka/healthcheck/interval')).toBe(true);
    expect(errorsOf(mutated((c) => { c.services.kafka!.healthcheck = { ...c.services.kafka!.healthcheck, interval: '1m30s' } as Service['healthcheck']; }))
      .filter((e) => e.instancePath.startsWith('/services/kafka/'))).toEqual([]);
  });
});

describe('docker-compose.yml images', () => {
  // name[:tag][@sha256:digest]; the tag must name an exact version (at least major.minor), never a
  // moving tag such as latest, a bare major ("15", "15-alpine") or a channel name.
  const reference = /^(?<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?<digest>@sha256:[0-9a-f]{64})?$/;
  const floating = /^(?:latest|stable|edge|main|master|nightly|dev)$/i;

  it.each(services)('%s has an image pinned to an exact version', (_name, service) => {
    expect(service.image, 'every service runs a published image (no build:)').toBeTypeOf('string');
    const m = reference.exec(service.image!);
    expect(m, `not an image reference: ${service.image}`).not.toBeNull();
    const { tag, digest } = m!.groups!;
    if (digest) return;
    expect(tag, `${service.image} has no tag or digest`).toBeDefined();
    expect(tag).not.toMatch(floating);
    expect(tag, `${service.image}: the tag must carry an exact version`).toMatch(/\d+\.\d+/);
  });

  it('uses the images the brief names, from their official repositories', () => {
    const repos = new Set(services.map(([, s]) => s.image!.split(/[:@]/)[0]));
    for (const repo of ['temporalio/server', 'temporalio/admin-tools', 'temporalio/ui', 'postgres', 'nats', 'apache/kafka', 'versity/versitygw']) {
      expect(repos, repo).toContain(repo);
    }
  });
});

describe('docker-compose.yml ports and credentials (the ones the README lists)', () => {
  const expected: Record<string, number[]> = {
    temporal: [7233],
    'temporal-ui': [8080],
    postgres: [5432],
    nats: [4222, 8222],
    kafka: [9092],
    s3: [9000],
  };

  /** Host ports a service publishes, from the short syntax "[ip:]host:container[/proto]". */
  function published(service: Service): { ip: string | undefined; host: number; container: number }[] {
    return (service.ports ?? []).map((p) => {
      const m = /^(?:(?<ip>[^:]+|\[[^\]]+\]):)?(?<host>\d+):(?<container>\d+)(?:\/\w+)?$/.exec(String(p));
      if (!m?.groups) throw new Error(`use the "ip:host:container" form for published ports, got ${String(p)}`);
      return { ip: m.groups.ip, host: Number(m.groups.host), container: Number(m.groups.container) };
    });
  }

  it('publishes exactly the documented host ports, each on its service', () => {
    const actual = Object.fromEntries(services.filter(([, s]) => s.ports?.length).map(([n, s]) => [n, published(s).map((p) => p.host).sort()]));
    expect(actual).toEqual(Object.fromEntries(Object.entries(expected).map(([n, ports]) => [n, [...ports].sort()])));
  });

  it('publishes each port on the same port inside the container, on loopback only', () => {
    for (const [name, service] of services) {
      for (const p of published(service)) {
        expect(p.container, `${name}:${p.host}`).toBe(p.host);
        expect(p.ip, `${name}:${p.host}`).toBe('127.0.0.1');
      }
    }
  });

  it('uses the documented credentials', () => {
    expect(env(compose.services.postgres!)).toMatchObject({ POSTGRES_USER: 'kollect', POSTGRES_PASSWORD: 'kollect', POSTGRES_DB: 'kollect' });
    expect(env(compose.services.temporal!)).toMatchObject({ DB: 'postgres12', POSTGRES_USER: 'kollect', POSTGRES_PWD: 'kollect', POSTGRES_SEEDS: 'postgres' });
    expect(env(compose.services.s3!)).toMatchObject({ ROOT_ACCESS_KEY: 'kollect', ROOT_SECRET_KEY: 'kollect-secret' });
    expect(compose.services.nats!.command, 'NATS runs with JetStream').toContain('-js');
    expect(env(compose.services.kafka!)).toMatchObject({ KAFKA_PROCESS_ROLES: 'broker,controller' });
  });
});

describe('docker-compose.yml wiring', () => {
  it('waits only on conditions the target can reach', () => {
    for (const [name, service] of services) {
      const deps = service.depends_on ?? {};
      expect(Array.isArray(deps), `${name}: use the long depends_on form with a condition`).toBe(false);
      for (const [target, { condition }] of Object.entries(deps as Record<string, { condition: string }>)) {
        const t = compose.services[target];
        expect(t, `${name} depends on unknown service ${target}`).toBeDefined();
        if (condition === 'service_healthy') expect(t!.healthcheck?.test, `${target} needs a healthcheck for ${name}`).toBeDefined();
        if (condition === 'service_completed_successfully') expect(t!.ports, `${target} is a one-shot job`).toBeUndefined();
      }
    }
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const mounted = new Set(services.flatMap(([, s]) => (s.volumes ?? []).map((v) => String(v).split(':')[0]!)).filter((src) => !/^[./~]/.test(src)));
    expect([...mounted].sort()).toEqual(Object.keys(compose.volumes ?? {}).sort());
  });

  it('gives every long-running service with a published port a healthcheck, except the UI', () => {
    for (const [name, service] of services) {
      if (service.ports?.length && name !== 'temporal-ui') expect(service.healthcheck?.test, name).toBeDefined();
    }
  });
});
