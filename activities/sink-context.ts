// What a sink call needs from Kubernetes: the sink's block, its Secret's data and CA, read when
// the call runs (so a rotated Secret is used at once). Shared by exports and connection tests.
import type { KollectSink, SerializationFormat } from '../api/types.js';
import type { Kube } from './kube.js';
import type { EndpointGuard } from './sinks/endpoints.js';
import { SinkConfigError, type SinkContext } from './sinks/types.js';

type SinkSpecCommon = Record<string, unknown> & {
  secretRef?: { name: string };
  tls?: { caSecretRef?: { name: string; key?: string } };
  format?: SerializationFormat;
  create?: boolean;
};

/** Reads `sink`'s Secret and CA; throws MissingSecretError / SinkConfigError naming what is missing. */
export async function sinkContextOf(kube: Kube, sink: KollectSink, opts: { log: SinkContext<unknown>['log']; signal?: AbortSignal; guard?: EndpointGuard }): Promise<SinkContext<unknown>> {
  const namespace = sink.metadata.namespace ?? '';
  const spec = sink.spec as unknown as SinkSpecCommon;
  const credentials = spec.secretRef ? await kube.secretData(namespace, spec.secretRef.name) : {};
  let caPem: string | undefined;
  if (spec.tls?.caSecretRef) {
    const ca = await kube.secretData(namespace, spec.tls.caSecretRef.name);
    const key = spec.tls.caSecretRef.key ?? 'ca.crt';
    caPem = ca[key];
    if (!caPem) throw new SinkConfigError('spec.tls.caSecretRef.key', `Secret ${spec.tls.caSecretRef.name} has no key ${key}`);
  }
  return {
    spec: spec[sink.spec.type], credentials, caPem, format: spec.format, create: spec.create,
    log: opts.log, signal: opts.signal, guard: opts.guard,
  };
}
