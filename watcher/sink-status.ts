// A sink's own status: Ready (its spec resolves through its type's descriptor and its Secrets
// exist and opt in to Kollect) and preview (where it writes, and one made-up row as it would write it). Computed from
// the spec alone; nothing is written to the sink and no credential is used (the Secret's
// existence and labels are checked, not its data). Reachability is what a KollectConnectionTest probes.
import type { Condition, KollectSink, SinkPreview } from '../api/types.js';
import type { VersionedRow } from '../api/rows.js';
import { formatOf, type SinkDescriptor } from '../activities/sinks/descriptor.js';
import { SinkConfigError } from '../activities/sinks/types.js';
import type { ReadyState } from './status.js';
import { secretNotAllowedMessage, secretOptedIn } from '../activities/secret-optin.js';

/** Longest sample written to status.preview.sample (the CRD allows 4 KiB). */
export const MAX_SAMPLE = 2048;

/** The row every preview renders: recognisably made up, shaped like a real one. */
export function sampleRow(namespace: string, cluster: string): VersionedRow {
  return {
    target: '<target>', cluster, apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: 'example',
    uid: '00000000-0000-0000-0000-000000000000', attributes: { replicas: 3, image: 'registry.example/app:1.2.3' },
    hash: '0'.repeat(64), version: 1,
  };
}

export interface SinkEvaluation { ready: ReadyState; preview?: SinkPreview; secret?: string }

/** What the watcher knows of a Secret a sink names: its labels (never its data), or undefined when missing. */
export type SecretLookup = (name: string) => Promise<{ labels: Readonly<Record<string, string>> } | undefined>;

/**
 * Ready and preview of a sink, given its Secrets' labels (`secretLookup`, asked for
 * spec.secretRef and spec.tls.caSecretRef when set). The preview is for an inventory named
 * `<inventory>` in the sink's namespace.
 */
export async function evaluateSink(sink: KollectSink, sinks: Readonly<Record<string, SinkDescriptor<never>>>, cluster: string, secretLookup: SecretLookup): Promise<SinkEvaluation> {
  const namespace = sink.metadata.namespace ?? '';
  const d = sinks[sink.spec.type];
  if (!d || d.kind !== sink.kind) {
    const known = Object.values(sinks).filter((s) => s.kind === sink.kind).map((s) => s.type).join(', ');
    return { ready: { status: 'False', reason: 'UnknownType', message: `spec.type ${sink.spec.type} is not a ${sink.kind} type of this version of Kollect (known: ${known})` } };
  }
  const spec = (sink.spec as unknown as Record<string, unknown>)[d.type];
  let preview: SinkPreview;
  try {
    if (spec === undefined) throw new SinkConfigError(`spec.${d.type}`, `is required when spec.type is ${d.type}`);
    const format = formatOf(d, (sink.spec as { format?: string }).format);
    const where = d.locate(spec as never, { namespace, name: '<inventory>', cluster }, format);
    const sample = d.render(sampleRow(namespace, cluster), spec as never, format);
    preview = { ...where, sample: sample.length > MAX_SAMPLE ? `${sample.slice(0, MAX_SAMPLE - 1)}…` : sample };
  } catch (err) {
    const message = err instanceof SinkConfigError ? err.message : `cannot resolve the sink: ${(err as Error).message}`;
    return { ready: { status: 'False', reason: 'InvalidSpec', message } };
  }
  const secret = sink.spec.secretRef?.name;
  const named: [string, string][] = [];
  if (secret) named.push(['spec.secretRef', secret]);
  const ca = (sink.spec as { tls?: { caSecretRef?: { name?: string } } }).tls?.caSecretRef?.name;
  if (ca) named.push(['spec.tls.caSecretRef', ca]);
  for (const [field, name] of named) {
    const found = await secretLookup(name);
    if (!found) return { preview, secret, ready: { status: 'False', reason: 'SecretNotFound', message: `${field}: Secret ${namespace}/${name} not found; create it (docs/sinks/${d.docs}) or fix the name` } };
    if (!secretOptedIn(found.labels)) return { preview, secret, ready: { status: 'False', reason: 'SecretNotAllowed', message: secretNotAllowedMessage(field, namespace, name) } };
  }
  return { preview, secret, ready: { status: 'True', reason: 'Resolved', message: `${d.type} sink resolves to ${preview.endpoint}; a KollectConnectionTest checks it is reachable` } };
}

/** The status patch for `ev`, or undefined when the sink's status already says it. */
export function sinkStatusPatch(sink: KollectSink, ev: SinkEvaluation, readyCondition: (ready: ReadyState) => { conditions: Condition[]; observedGeneration?: number } | undefined): Record<string, unknown> | undefined {
  const cond = readyCondition(ev.ready);
  const samePreview = JSON.stringify(sink.status?.preview ?? null) === JSON.stringify(ev.preview ?? null);
  if (!cond && samePreview) return undefined;
  return { ...(cond ?? {}), preview: ev.preview ?? null };
}
