// Writes a workflow history under test/replay/histories/ when KOLLECT_RECORD_HISTORIES=1 (the
// integration tests call this at the end of each scenario). Re-record after a workflow change
// only together with a patched() / versioning decision: the committed histories are what running
// workflows of the released version look like. See docs/decisions/0010.
import { writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';

export const HISTORIES_DIR = fileURLToPath(new URL('./histories/', import.meta.url));

export function recordHistory(name: string, history: temporal.api.history.v1.IHistory): void {
  if (process.env.KOLLECT_RECORD_HISTORIES !== '1') return;
  mkdirSync(HISTORIES_DIR, { recursive: true });
  writeFileSync(`${HISTORIES_DIR}${name}.json`, historyToJSON(history));
}
