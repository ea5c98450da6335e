// Replays every recorded history under test/replay/histories/ against the current workflow code:
// a change that would break running workflows (non-determinism) fails here, before it ships.
// Needs no server. See docs/decisions/0010 for how histories are recorded and when to patch.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { HISTORIES_DIR } from './record.js';

const files = readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();

describe('recorded inventoryWorkflow histories replay', () => {
  it('has the histories this suite promises (a lifecycle, a continue-as-new, a new lineage)', () => {
    expect(files).toEqual(expect.arrayContaining(['continued-as-new.json', 'lifecycle.json', 'new-lineage.json',
      // the last landed version's (docs/decisions/0010)
      'c0dd552-continued-as-new.json', 'c0dd552-lifecycle.json', 'c0dd552-new-lineage.json']));
  });
  for (const f of files) {
    it(f, async () => {
      const history = historyFromJSON(JSON.parse(readFileSync(`${HISTORIES_DIR}${f}`, 'utf8')));
      expect(history.events?.length ?? 0).toBeGreaterThan(5);
      await Worker.runReplayHistory({ workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)) }, history, `replay-${f}`);
    }, 60_000);
  }
});
