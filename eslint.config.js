// Lint: typed rules everywhere (no floating promises), and determinism rules for workflows/:
// workflow code runs in Temporal's sandbox and must not import Node built-ins or I/O modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const ioModules = ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@kubernetes/client-node',
  'pg', 'mongodb', '@platformatic/kafka', '@nats-io/*', 'simple-git', '@aws-sdk/*', '@google-cloud/*', 'prom-client',
  'axios', 'undici', 'ws'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'deploy/**', '**/*.js', '!eslint.config.js', '**/.*.ts', 'test/lint/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: builtinModules.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins (use an activity).' })),
        patterns: [{ group: ioModules, message: 'Workflow code must not do I/O: move it to an activity and import activities as types only.', allowTypeImports: true }],
      }],
      'no-restricted-globals': ['error',
        { name: 'setInterval', message: 'Use sleep()/condition() from @temporalio/workflow.' },
        { name: 'fetch', message: 'No I/O in workflows: use an activity.' },
        { name: 'process', message: 'No process access in workflows.' }],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
