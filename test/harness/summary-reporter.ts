// Vitest reporter that ends every run with one table: each service, its version, how long it took
// to start, and the result of its smoke test (test/smoke/<service>.test.ts).
import { readFileSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { servicesSummaryFile, type ServiceSummary } from './summary-file.js';

export default class ServiceSummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (!existsSync(servicesSummaryFile)) return;
    const services = JSON.parse(readFileSync(servicesSummaryFile, 'utf8')) as ServiceSummary[];
    rmSync(servicesSummaryFile, { force: true });
    const smoke = new Map<string, string>();
    for (const m of testModules) {
      const rel = path.relative(process.cwd(), m.moduleId);
      const match = /^test[/\\]smoke[/\\]([a-z0-9]+)\.test\.ts$/.exec(rel);
      if (!match?.[1]) continue;
      const tests = [...m.children.allTests()];
      const passed = tests.filter((t) => t.result().state === 'passed').length;
      const state = m.state() === 'passed' && passed === tests.length ? 'passed' : m.state();
      smoke.set(match[1], `${state} (${passed}/${tests.length})`);
    }
    const lines = services.map((s) =>
      `  ${s.name.padEnd(10)} ${(s.startMs / 1000).toFixed(1).padStart(6)} s   smoke: ${(smoke.get(s.name) ?? 'not run').padEnd(14)} ${s.version}`);
    process.stdout.write(`\nServices of this run:\n  service    started in   smoke test            version\n${lines.join('\n')}\n`);
  }
}
