// The operator under test as two processes, worker and watcher, like a deployment runs them:
// readiness, peak resident memory and the watcher's signal counters.
import { readFileSync, readdirSync } from 'node:fs';
import { freePort } from '../test/harness/util.js';
import { runEntry, type Child } from '../test/support/process.js';

export interface OperatorProc { name: 'worker' | 'watcher'; child: Child; port: number }

/** `compiled`: run dist/worker/operator.js (npm run build), as a deployment does; else the TypeScript through tsx. */
export async function startOperator(env: Record<string, string>, compiled = false): Promise<OperatorProc[]> {
  const procs: OperatorProc[] = [];
  for (const name of ['worker', 'watcher'] as const) {
    const port = await freePort();
    procs.push({ name, port, child: runEntry(compiled ? 'dist/worker/operator.js' : 'worker/operator.ts', { ...env, KOLLECT_COMPONENTS: name, KOLLECT_HTTP_PORT: String(port) }) });
  }
  return procs;
}

export async function ready(p: OperatorProc): Promise<boolean> {
  const r = await fetch(`http://127.0.0.1:${p.port}/readyz`).catch(() => undefined);
  return r?.status === 200;
}

export async function stopOperator(procs: OperatorProc[]): Promise<void> {
  for (const p of procs) p.child.proc.kill('SIGTERM');
  const killer = setTimeout(() => { for (const p of procs) p.child.proc.kill('SIGKILL'); }, 15_000);
  await Promise.all(procs.map((p) => p.child.exited));
  clearTimeout(killer);
}

/**
 * runEntry starts tsx, which runs the operator in a child node process: the largest peak resident
 * set (VmHWM) in the process tree, in MiB; with 'VmRSS', the largest current resident set.
 */
export function peakRssMiB(p: OperatorProc, field: 'VmHWM' | 'VmRSS' = 'VmHWM'): number {
  const re = new RegExp(`${field}:\\s+(\\d+) kB`);
  const hwm = (pid: number): number => {
    try {
      const own = Number(re.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      const kids = readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
      return Math.max(own, ...kids.map(hwm));
    } catch { return 0; }
  };
  return p.child.proc.pid ? hwm(p.child.proc.pid) : 0;
}

/** Sum of kollect_watcher_signals_total over its labels, from the watcher's /metrics (NaN if absent). */
export async function signalsSent(p: OperatorProc): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${p.port}/metrics`).catch(() => undefined);
  if (!r?.ok) return NaN;
  const lines = (await r.text()).split('\n').filter((l) => l.startsWith('kollect_watcher_signals_total'));
  return lines.length ? lines.reduce((a, l) => a + Number(l.split(' ').at(-1)), 0) : NaN;
}

/**
 * Samples the peak (VmHWM) and current (VmRSS) resident set of each process every second, so the
 * peak is known even for a process that crashed.
 */
export function trackRss(procs: OperatorProc[]): { peak(name: OperatorProc['name']): number; current(name: OperatorProc['name']): number; stop(): void } {
  const peak = new Map<string, number>();
  const current = new Map<string, number>();
  const sample = () => {
    for (const p of procs) {
      if (p.child.proc.exitCode !== null || p.child.proc.signalCode !== null) continue;
      const hwm = peakRssMiB(p);
      if (hwm > 0) { peak.set(p.name, Math.max(peak.get(p.name) ?? 0, hwm)); current.set(p.name, peakRssMiB(p, 'VmRSS')); }
    }
  };
  sample();
  const timer = setInterval(sample, 1000);
  return {
    peak: (name) => { sample(); return peak.get(name) ?? NaN; },
    current: (name) => { sample(); return current.get(name) ?? NaN; },
    stop: () => clearInterval(timer),
  };
}
