// The lint rules that keep workflow code deterministic really fire (a rule that cannot fail is no rule).
import { describe, it, expect } from 'vitest';
import { ESLint } from 'eslint';

describe('lint rules', () => {
  it('forbids Node built-ins, I/O modules, timers and floating promises in workflows/', async () => {
    const eslint = new ESLint({ ignore: false });
    const [result] = await eslint.lintFiles(['test/lint/fixtures/workflows/bad-workflow.ts']);
    const found = (result?.messages ?? []).map((m) => `${m.ruleId}:${m.line}`);
    expect(found).toEqual(expect.arrayContaining([
      'no-restricted-imports:2', // node:fs
      'no-restricted-imports:3', // crypto
      'no-restricted-imports:4', // pg
      '@typescript-eslint/no-floating-promises:11',
      'no-restricted-globals:12', // setInterval
    ]));
  }, 60_000);
});
