// The probe behind a KollectConnectionTest: resolve the sink as an export would (its Secret, CA,
// descriptor and endpoint guard), run the backend's probe through the shared sink path, and write
// phase, message, latency and endpoint to the test's status. A failed probe is a result, not an
// activity failure; only reading or writing the test itself is retried.
import type { KollectConnectionTest, KollectConnectionTestStatus, KollectSink } from '../api/types.js';
import type { ConnectionTestRef } from '../workflows/definitions.js';
import { connectionTestWorkflowId } from '../workflows/definitions.js';
import type { SinkDescriptor } from './sinks/descriptor.js';
import type { EndpointGuard } from './sinks/endpoints.js';
import { redact } from './sinks/redact.js';
import { runProbe, sinkSecrets } from './sinks/run.js';
import { sinkContextOf } from './sink-context.js';
import type { Kube } from './kube.js';

export interface ConnectionTestDeps {
  kube: Kube;
  sinks: Readonly<Record<string, SinkDescriptor<never>>>;
  guard?: EndpointGuard;
  log: (event: string, fields?: Record<string, unknown>) => void;
}

export function createConnectionTestActivities(deps: ConnectionTestDeps) {
  const { kube, log } = deps;

  async function probeSink(ref: ConnectionTestRef): Promise<void> {
    const test = await kube.get<KollectConnectionTest>('KollectConnectionTest', ref.namespace, ref.name);
    if (!test || test.metadata.uid !== ref.uid || test.status?.completionTime) return; // gone, replaced, or done
    const startTime = new Date().toISOString();
    const workflowId = connectionTestWorkflowId(ref);
    await kube.patchStatus('KollectConnectionTest', ref.namespace, ref.name, { phase: 'Running', startTime, workflowId } satisfies KollectConnectionTestStatus);
    const { kind, name } = test.spec.sinkRef;
    const ids = { test: `${ref.namespace}/${ref.name}`, sink: `${kind}/${name}` };
    let result: KollectConnectionTestStatus = {};
    let secrets: string[] = [];
    const t0 = performance.now();
    try {
      const sink = await kube.get<KollectSink>(kind, ref.namespace, name);
      if (!sink) throw new Error(`spec.sinkRef: ${kind} ${ref.namespace}/${name} not found`);
      const d = deps.sinks[sink.spec.type];
      if (!d) throw new Error(`${kind} ${name}: spec.type ${sink.spec.type} has no backend in this version of Kollect`);
      result = { sinkType: d.type };
      try { result.endpoint = d.locate(sink.spec[d.type as keyof typeof sink.spec] as never, { namespace: ref.namespace, name: '<inventory>', cluster: '<cluster>' }).endpoint; } catch { /* the probe reports the bad spec */ }
      const ctx = await sinkContextOf(kube, sink, { log: (event, fields) => log(event, { ...ids, ...fields }), guard: deps.guard });
      secrets = sinkSecrets(d, ctx.credentials);
      const probe = await runProbe(d, ctx);
      result = { ...result, phase: 'Succeeded', message: probe.detail };
    } catch (err) {
      const message = redact((err as Error).message ?? String(err), secrets);
      result = { ...result, phase: 'Failed', message };
    }
    const status: KollectConnectionTestStatus = {
      ...result, latencyMs: Math.round(performance.now() - t0), startTime, completionTime: new Date().toISOString(), workflowId,
    };
    if (status.message && status.message.length > 4096) status.message = `${status.message.slice(0, 4095)}…`;
    await kube.patchStatus('KollectConnectionTest', ref.namespace, ref.name, status);
    log('connection_test_finished', { ...ids, phase: status.phase, latencyMs: status.latencyMs, message: status.message });
  }

  return { probeSink };
}
