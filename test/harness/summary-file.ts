// Where the global setup leaves the service summary for the reporter. Both run in vitest's main
// process, so the pid keeps concurrent runs on one machine apart.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ServiceSummary { name: string; version: string; startMs: number }
export const servicesSummaryFile = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.kollect', `services-summary-${process.pid}.json`);
