// Runs one of the product's own entry points (TypeScript, through tsx's loader) as a child process.
// One process, not a tsx wrapper around a node child: a signal (SIGKILL in fault tests) reaches the
// operator itself, and its RSS is the operator's.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OPERATOR_LOGS_DIR } from '../harness/endpoints.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Child { proc: ChildProcess; output(): string; exited: Promise<number | null> }

/** Runs `entry` (a .ts file, through tsx's loader; a compiled .js file, with plain node). */
export function runEntry(entry: string, env: Record<string, string>): Child {
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', path.join(root, entry)] : [path.join(root, entry)];
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const file = logFile(entry, proc.pid);
  const keep = (d: Buffer): void => { out += d.toString(); file?.write(d); };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  proc.once('exit', () => file?.end());
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}

/** Under a harness run, each child's output also goes to a file the leak scan reads (test/harness/leak-scan.ts). */
function logFile(entry: string, pid: number | undefined): WriteStream | undefined {
  const file = process.env.KOLLECT_ENDPOINTS;
  if (!file) return undefined;
  const dir = path.join(path.dirname(file), OPERATOR_LOGS_DIR);
  mkdirSync(dir, { recursive: true });
  return createWriteStream(path.join(dir, `${path.basename(entry).replace(/\.[jt]s$/, '')}-${pid ?? 'unknown'}.log`));
}
