// The garbage collector's I/O (workflows/collect.ts): list the open inventory runs, ask each to
// mark what it references, sweep the body and payload stores.
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { markLiveUpdate, INVENTORY_WORKFLOW_TYPE } from '../workflows/definitions.js';
import type { BodyStore } from '../store/bodies.js';
import type { PostgresPayloadStore } from '../worker/payloads.js';

export interface CollectorDeps {
  client: Client;
  /** Only inventory runs on this task queue are this operator's. */
  taskQueue: string;
  store: BodyStore;
  payloads: PostgresPayloadStore;
  log: (event: string, fields?: Record<string, unknown>) => void;
}

export function createCollectorActivities(deps: CollectorDeps) {
  const { client, store, payloads, log } = deps;

  async function listInventoryRuns(): Promise<{ runs: { workflowId: string; runId: string; startMs: number }[]; retentionMs: number }> {
    const runs: { workflowId: string; runId: string; startMs: number }[] = [];
    const query = `WorkflowType = '${INVENTORY_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${deps.taskQueue.replace(/'/g, '')}'`;
    for await (const w of client.workflow.list({ query })) runs.push({ workflowId: w.workflowId, runId: w.runId, startMs: w.startTime.getTime() });
    const ns = await client.workflowService.describeNamespace({ namespace: client.options.namespace });
    const ttl = ns.config?.workflowExecutionRetentionTtl;
    const retentionMs = ttl ? Number(ttl.seconds ?? 0) * 1000 + Math.floor((ttl.nanos ?? 0) / 1e6) : 0;
    return { runs, retentionMs };
  }

  /** Runs markLive on each inventory (its current run: a continue-as-new meanwhile is followed). Throws if one cannot be reached. */
  async function markInventories(workflowIds: string[]): Promise<number> {
    let touched = 0;
    for (const id of workflowIds) {
      Context.current().heartbeat(id);
      try {
        touched += (await client.workflow.getHandle(id).executeUpdate(markLiveUpdate)).touched;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) continue; // ended meanwhile: references nothing
        throw err;
      }
    }
    log('gc_marked', { inventories: workflowIds.length, touched });
    return touched;
  }

  async function sweepBodies(beforeMs: number): Promise<number> {
    const n = await store.sweep(new Date(beforeMs));
    log('gc_swept_bodies', { before: new Date(beforeMs).toISOString(), deleted: n });
    return n;
  }

  async function sweepPayloads(beforeMs: number): Promise<number> {
    const n = await payloads.sweep(new Date(beforeMs));
    log('gc_swept_payloads', { before: new Date(beforeMs).toISOString(), deleted: n });
    return n;
  }

  return { listInventoryRuns, markInventories, sweepBodies, sweepPayloads };
}
