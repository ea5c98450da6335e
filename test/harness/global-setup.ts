// Vitest global setup: starts the harness once for the whole run and stops it afterwards.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from './harness.js';
import { servicesSummaryFile, type ServiceSummary } from './summary-file.js';

let harness: Harness | undefined;

export async function setup(): Promise<void> {
  const t0 = Date.now();
  rmSync(servicesSummaryFile, { force: true });
  harness = await startHarness({ log: (l) => process.stderr.write(`${l}\n`) });
  process.stderr.write(`[harness] all services ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const summary: ServiceSummary[] = harness.services.map((s) => ({ name: s.name, version: s.version, startMs: s.startMs }));
  mkdirSync(path.dirname(servicesSummaryFile), { recursive: true });
  writeFileSync(servicesSummaryFile, JSON.stringify(summary, null, 2));
}

export async function teardown(): Promise<void> {
  await harness?.stop();
}
