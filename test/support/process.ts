// Runs one of the product's own entry points (TypeScript, through tsx's loader) as a child process.
// One process, not a tsx wrapper around a node child: a signal (SIGKILL in fault tests) reaches the
// operator itself, and its RSS is the operator's.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Child { proc: ChildProcess; output(): string; exited: Promise<number | null> }

/** Runs `entry` (a .ts file, through tsx's loader; a compiled .js file, with plain node). */
export function runEntry(entry: string, env: Record<string, string>): Child {
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', path.join(root, entry)] : [path.join(root, entry)];
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => out, exited };
}
