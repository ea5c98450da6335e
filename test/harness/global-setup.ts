// Vitest global setup: starts the harness once for the whole run and stops it afterwards.
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startHarness, type Harness } from './harness.js';
import { servicesSummaryFile, type ServiceSummary } from './summary-file.js';
import { scanForLeaks } from './leak-scan.js';

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
  if (!harness) return;
  try {
    if (harness.services.length) await leakScan(harness);
  } finally {
    await harness.stop();
  }
}

/** Fails the run when a harness credential shows up anywhere Kollect writes (leak-scan.ts). */
async function leakScan(h: Harness): Promise<void> {
  const t0 = Date.now();
  // A test may have left a server stopped; the scan reads them all.
  await Promise.all(h.services.map((s) => s.running.start()));
  const r = await scanForLeaks(h.endpoints);
  const say = (l: string) => process.stderr.write(`[leak scan] ${l}\n`);
  say(`scanned in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${r.scanned.join('; ')}`);
  for (const u of r.unreadable) say(`NOT SCANNED ${u}`);
  if (r.findings.length === 0) { say('no credential found'); return; }
  for (const f of r.findings.slice(0, 50)) say(`FOUND ${f.needle} in ${f.where}: ${f.excerpt}`);
  throw new Error(`leak scan: ${r.findings.length} credential occurrence(s) in logs, status, events, sinks or Temporal histories (listed above)`);
}
