import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{api,workflows,activities,worker,watcher,test}/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores run every server too; a few test files at a time is what the machine absorbs.
    maxWorkers: 3,
    // Every harness server listens on loopback, which the sinks' endpoint guard refuses by default
    // (docs/sinks.md#endpoint-guard): the tests allow it explicitly, as an operator would.
    env: { KOLLECT_ENDPOINT_ALLOW: 'loopback' },
    reporters: ['default', './test/harness/summary-reporter.ts'],
  },
});
