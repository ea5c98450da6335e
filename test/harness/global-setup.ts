// Vitest global setup: starts the harness once for the whole run and stops it afterwards.
import { startHarness, type Harness } from './harness.js';

let harness: Harness | undefined;

export async function setup(): Promise<void> {
  const t0 = Date.now();
  harness = await startHarness({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`[harness] all services ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n${harness.summary()}\n`);
}

export async function teardown(): Promise<void> {
  if (!harness) return;
  process.stdout.write(`\nServices used by this run:\n${harness.summary()}\n`);
  await harness.stop();
}
