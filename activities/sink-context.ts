// What a sink call needs from Kubernetes: the sink's block, its Secret's data and CA, read when
// the call runs (so a rotated Secret is used at once). Shared by exports and connection tests.
import type { KollectSink, SerializationFormat } from '../api/types.js';
import type { Kube } from './kube.js';
import type { EndpointGuard } from './sinks/endpoints.js';
import { SinkConfigError, type SinkContext } from './sinks/types.js';
import { SecretNotAllowedError, secretOptedIn } from './secret-optin.js';

type SinkSpecCommon = Record<string, unknown> & {
  secretRef?: { name: string };
  tls?: { caSecretRef?: { name: string; key?: string } };
  format?: SerializationFormat;
  create?: boolean;
};

/**
 * Reads `sink`'s Secret and CA; throws MissingSecretError / SinkConfigError naming what is missing,
 * SecretNotAllowedError for a Secret without the opt-in label (checked on every read, so a label
 * removed after the sink's Ready was written still stops the next export).
 */
export async function sinkContextOf(kube: Kube, sink: KollectSink, opts: { log: SinkContext<unknown>['log']; signal?: AbortSignal; guard?: EndpointGuard }): Promise<SinkContext<unknown>> {
  const namespace = sink.metadata.namespace ?? '';
  const spec = sink.spec as unknown as SinkSpecCommon;
  const credentials = spec.secretRef ? await optedInSecret(kube, namespace, spec.secretRef.name, 'spec.secretRef') : {};
  let caPem: string | undefined;
  if (spec.tls?.caSecretRef) {
    const ca = await optedInSecret(kube, namespace, spec.tls.caSecretRef.name, 'spec.tls.caSecretRef');
    const key = spec.tls.caSecretRef.key ?? 'ca.crt';
    caPem = ca[key];
    if (!caPem) throw new SinkConfigError('spec.tls.caSecretRef.key', `Secret ${spec.tls.caSecretRef.name} has no key ${key}`);
  }
  return {
    spec: spec[sink.spec.type], credentials, caPem, format: spec.format, create: spec.create,
    log: opts.log, signal: opts.signal, guard: opts.guard,
  };
}

async function optedInSecret(kube: Kube, namespace: string, name: string, field: string): Promise<Record<string, string>> {
  const { data, labels } = await kube.secret(namespace, name);
  if (!secretOptedIn(labels)) throw new SecretNotAllowedError(field, namespace, name);
  return data;
}
