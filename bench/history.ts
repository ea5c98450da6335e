// The inventory workflow's Temporal history, run by run: the chain is walked back from the current
// run through continue-as-new (each run's first event names the run it continued).
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { inventoryWorkflowId, statusQuery } from '../workflows/definitions.js';
import { GzipCodec } from '../worker/payloads.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface RunStats { runId: string; status: string; events: number; bytes: number; signals: number; durationMs: number }
export interface HistoryStats {
  runs: RunStats[];
  events: number;
  bytes: number;
  /** Largest single run (what the continue-as-new threshold has to bound). */
  maxRunEvents: number;
  maxRunBytes: number;
  signals: number;
  /** WorkflowExecutionSignaled events / time from the first run's start to the last event. */
  signalsPerSec: number;
  /** Set when the history could not be read. */
  error?: string;
}

/** History pages of a large inventory run exceed gRPC's default 4 MiB message limit. */
const connect = (address: string) => Connection.connect({ address, channelArgs: { 'grpc.max_receive_message_length': 512 * 1024 * 1024 } });

export async function historyChain(address: string, namespace: string, name = 'platform'): Promise<HistoryStats> {
  const connection = await connect(address);
  try {
    const client = new Client({ connection });
    const wfId = inventoryWorkflowId(namespace, name);
    const runs: RunStats[] = [];
    let runId: string | undefined = (await client.workflow.getHandle(wfId).describe()).runId;
    let first = Infinity;
    let last = 0;
    while (runId && runs.length < 10_000) {
      const handle: WorkflowHandle = client.workflow.getHandle(wfId, runId);
      const [desc, h] = await Promise.all([handle.describe(), handle.fetchHistory()]);
      const events: HistoryEvent[] = h.events ?? [];
      let start = Infinity;
      let end = 0;
      for (const e of events) { const t = tsToMs(e.eventTime); if (t > 0) { start = Math.min(start, t); end = Math.max(end, t); } }
      first = Math.min(first, start);
      last = Math.max(last, end);
      const raw = desc.raw.workflowExecutionInfo;
      runs.unshift({
        runId, status: desc.status.name, events: events.length, bytes: Number(raw?.historySizeBytes ?? 0),
        signals: events.filter((e) => e.workflowExecutionSignaledEventAttributes).length, durationMs: end - start,
      });
      runId = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
    }
    const sum = (f: (r: RunStats) => number) => runs.reduce((a, r) => a + f(r), 0);
    const signals = sum((r) => r.signals);
    return {
      runs, events: sum((r) => r.events), bytes: sum((r) => r.bytes),
      maxRunEvents: Math.max(0, ...runs.map((r) => r.events)), maxRunBytes: Math.max(0, ...runs.map((r) => r.bytes)),
      signals, signalsPerSec: last > first ? signals / ((last - first) / 1000) : 0,
    };
  } finally {
    await connection.close();
  }
}

/** After a sync timeout: the order in which the workflow received its signals, to diagnose missing rows. */
export async function diagnose(address: string, namespace: string, say: (s: string) => void): Promise<void> {
  const connection = await connect(address);
  try {
    const client = new Client({ connection });
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${inventoryWorkflowId(namespace, 'platform')}'` })) {
      const h = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      const codec = new GzipCodec();
      const upserted = new Set<string>();
      const seq: string[] = [];
      for (const e of h.events ?? []) {
        const a = e.workflowExecutionSignaledEventAttributes;
        if (!a) continue;
        const [p] = await codec.decode((a.input?.payloads ?? []));
        let body: { upserts?: { uid: string }[]; deletes?: unknown[]; uids?: string[] } = {};
        try { body = p?.data ? JSON.parse(new TextDecoder().decode(p.data)) as typeof body : {}; } catch { /* a claim-checked payload */ }
        for (const r of body.upserts ?? []) upserted.add(r.uid);
        seq.push(`${a.signalName}(${body.upserts?.length ?? body.uids?.length ?? 0}${body.deletes?.length ? `,-${body.deletes.length}` : ''})`);
      }
      say(`run ${wf.runId} (${wf.status.name}): ${seq.length} signals, ${upserted.size} distinct uids upserted: ${seq.slice(0, 400).join(' ')}${seq.length > 400 ? ' …' : ''}`);
    }
    const status = await client.workflow.getHandle(inventoryWorkflowId(namespace, 'platform')).query(statusQuery).catch((e: unknown) => String(e));
    say(`workflow status: ${JSON.stringify(status)}`);
  } finally {
    await connection.close();
  }
}

/** Ends the inventory workflow once its operator processes are gone, so it does not linger. */
export async function terminate(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await new Client({ connection }).workflow.getHandle(inventoryWorkflowId(namespace, 'platform')).terminate('bench finished').catch(() => undefined);
  } finally {
    await connection.close();
  }
}
