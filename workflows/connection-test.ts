// connectionTestWorkflow: one KollectConnectionTest. The probe runs as an activity on the
// operator's workers (the code and network path of an export), and the workflow makes each test
// visible in the Temporal UI. The activity writes the test's status itself, failure included, so
// the workflow only retries what writing that status may need.
import { proxyActivities } from '@temporalio/workflow';
import type { createConnectionTestActivities } from '../activities/connection-test.js';
import type { ConnectionTestRef } from './definitions.js';

const acts = proxyActivities<ReturnType<typeof createConnectionTestActivities>>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});

export async function connectionTestWorkflow(ref: ConnectionTestRef): Promise<void> {
  await acts.probeSink(ref);
}
