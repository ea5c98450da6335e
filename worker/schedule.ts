// The Temporal Schedule that runs the garbage collector (workflows/collect.ts) on this operator's
// task queue. Created on start, updated when the interval changed; visible in the Temporal UI
// under Schedules as `kollect-gc/<task queue>`.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { COLLECT_WORKFLOW_TYPE } from '../workflows/definitions.js';

export const collectorScheduleId = (taskQueue: string): string => `kollect-gc/${taskQueue}`;

export async function ensureCollectorSchedule(client: Client, taskQueue: string, intervalMs: number, log: (event: string, fields?: Record<string, unknown>) => void): Promise<void> {
  const scheduleId = collectorScheduleId(taskQueue);
  const spec = { intervals: [{ every: intervalMs }] };
  const action = { type: 'startWorkflow' as const, workflowType: COLLECT_WORKFLOW_TYPE, taskQueue, args: [{}], workflowId: `${scheduleId}/round` };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
    log('gc_schedule_created', { scheduleId, everyMs: intervalMs });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
    log('gc_schedule_updated', { scheduleId, everyMs: intervalMs });
  }
}
