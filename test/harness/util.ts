// Small process and network helpers shared by the service definitions.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, existsSync } from 'node:fs';
import net from 'node:net';

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it resolves truthy or the deadline passes; rethrows the last probe error. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, isAlive?: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (isAlive && !isAlive()) throw new Error(`${what}: process exited before it became ready`);
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await sleep(150);
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${last ? ` (last probe error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
}

export async function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export function tail(file: string, lines = 40): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
}

/** The lines of a log that say why a process died (a Go panic's first line, fatal and error lines), which a tail of its stack trace misses. */
export function causes(file: string, max = 8): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').filter((l) => /^panic:|^fatal error:|\bfatal\b|"level":"(error|fatal)"|\bError:/i.test(l)).slice(0, max).join('\n');
}

export interface ProcSpec {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  logFile: string;
  /** Run as this local user (root cannot run initdb/postgres). */
  user?: string;
}

/** A child process whose output goes to a log file, stopped with SIGTERM then SIGKILL. */
export class ManagedProcess {
  readonly child: ChildProcess;
  private exited = false;
  readonly exitPromise: Promise<number | null>;

  constructor(readonly spec: ProcSpec) {
    const log = createWriteStream(spec.logFile, { flags: 'a' });
    let cmd = spec.cmd;
    let args = spec.args;
    if (spec.user && process.getuid?.() === 0) {
      args = ['-u', spec.user, '--', cmd, ...args];
      cmd = 'runuser';
    }
    this.child = spawn(cmd, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so stop() reaches grandchildren too
    });
    this.child.stdout?.pipe(log, { end: false });
    this.child.stderr?.pipe(log, { end: false });
    this.exitPromise = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exited = true;
        log.write(`[harness] process exited (code ${code ?? '-'}${signal ? `, signal ${signal}` : ''})\n`);
        resolve(code);
      });
      // 'close' comes after the output pipes drained: ending the log on 'exit' lost late lines
      // and threw "write after end" when a stopped server still flushed its output.
      this.child.once('close', () => log.end());
      this.child.once('error', (err) => { log.write(`spawn error: ${String(err)}\n`); this.exited = true; resolve(-1); });
    });
  }

  get alive(): boolean { return !this.exited; }

  async stop(graceMs = 8000): Promise<void> {
    if (this.exited || this.child.pid === undefined) return;
    const pid = this.child.pid;
    try { process.kill(-pid, 'SIGTERM'); } catch { /* already gone */ }
    const timer = setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }
}

/** Runs a command to completion; throws with its output on a non-zero exit. */
export async function run(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; user?: string; input?: string } = {}): Promise<string> {
  if (opts.user && process.getuid?.() === 0) { args = ['-u', opts.user, '--', cmd, ...args]; cmd = 'runuser'; }
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    // 'close', not 'exit': exit can fire before the output pipes are drained
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`))));
    child.stdin.on('error', () => { /* a child that exits before reading stdin is not an error */ });
    child.stdin.end(opts.input ?? '');
  });
}

/** GET over HTTPS trusting exactly `caFile`; resolves the status code and body. */
export async function httpsGet(url: string, caFile: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const https = await import('node:https');
  const ca = readFileSync(caFile);
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
