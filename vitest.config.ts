import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{api,workflows,activities,worker,watcher,test}/**/*.test.ts'],
    globalSetup: ['test/harness/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores run every server too; a few test files at a time is what the machine absorbs.
    maxWorkers: 3,
    reporters: ['default', './test/harness/summary-reporter.ts'],
  },
});
