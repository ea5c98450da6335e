// The one path every sink call takes (export and probe): whatever a backend throws leaves it
// redacted, prefixed with the sink's type and endpoint, and logged once; a SinkConfigError stays
// one (non-retryable) and a DeleteGuardError passes through. Backends just throw.
import type { InventoryIdentity, ProbeResult, SinkContext, ExportInput, ExportReply } from './types.js';
import { SinkConfigError } from './types.js';
import { formatOf, type SinkDescriptor } from './descriptor.js';
import { defaultEndpointGuard } from './endpoints.js';
import { redact, redactError, secretValues } from './redact.js';

/** The secrets to scrub for this sink: the Secret's values, their encodings, and what the backend derives from them. */
export function sinkSecrets(d: SinkDescriptor<never>, credentials: Readonly<Record<string, string>>): string[] {
  return secretValues(credentials, d.backend.derivedSecrets?.(credentials) ?? []);
}

/** `<type> <endpoint>` for messages; a spec too broken to locate names the type only. */
function contextOf(d: SinkDescriptor<never>, spec: unknown, inventory: InventoryIdentity | undefined, secrets: readonly string[]): string {
  try {
    const where = d.locate(spec as never, inventory ?? { namespace: '<namespace>', name: '<inventory>', cluster: '<cluster>' });
    return `${d.type} ${redact(where.endpoint, secrets)}`;
  } catch { return d.type; }
}

async function guarded<T>(d: SinkDescriptor<never>, ctx: SinkContext<unknown>, inventory: InventoryIdentity | undefined, op: string, fn: (ctx: SinkContext<never>) => Promise<T>): Promise<T> {
  const secrets = sinkSecrets(d, ctx.credentials);
  try {
    if (ctx.spec === undefined || ctx.spec === null) throw new SinkConfigError(`spec.${d.type}`, `is required for sink type ${d.type}`);
    const full = { ...ctx, guard: ctx.guard ?? defaultEndpointGuard(), format: formatOf(d, ctx.format) } as SinkContext<never>;
    return await fn(full);
  } catch (err) {
    const safe = redactError(err, { sinkType: d.type, context: contextOf(d, ctx.spec, inventory, secrets), secrets });
    ctx.log(`sink.${d.type}.${op}_failed`, { error: safe.message });
    throw safe;
  }
}

/** Runs one export through the sink's backend. */
export function runExport(d: SinkDescriptor<never>, input: ExportInput, ctx: SinkContext<unknown>): Promise<ExportReply> {
  return guarded(d, ctx, input.inventory, 'export', (c) => d.backend.export(input, c));
}

/** Runs the sink's connection probe (KollectConnectionTest). */
export function runProbe(d: SinkDescriptor<never>, ctx: SinkContext<unknown>): Promise<ProbeResult> {
  return guarded(d, ctx, undefined, 'probe', async (c) => {
    if (!d.backend.probe) throw new SinkConfigError('spec.type', `sink type ${d.type} has no connection probe`);
    return d.backend.probe(c);
  });
}
