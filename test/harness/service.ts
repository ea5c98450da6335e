// The contract every service of the harness implements.
import type { Endpoints } from './endpoints.js';
import { ManagedProcess, causes, tail } from './util.js';

export interface Ctx {
  /** Fresh directory for this run; each service makes its own subdirectory. */
  runDir: string;
  /** Endpoints of the services already started (dependencies come first). */
  endpoints: Endpoints;
  /** Start optional extras, such as Temporal's web UI. */
  withUi: boolean;
  /** A credential for this run: random, and carrying the run's canary (Endpoints.canary). */
  secret(label: string): string;
}

/** A started service: restartable on the same ports and data directory. */
export interface Running<K extends keyof Endpoints = keyof Endpoints> {
  endpoint: NonNullable<Endpoints[K]>;
  version: string;
  logFile: string;
  /** Stops the server processes, keeping their data. */
  stop(): Promise<void>;
  /** Starts them again on the same ports and data, and waits until ready. */
  start(): Promise<void>;
}

export interface ServiceDef<K extends keyof Endpoints = keyof Endpoints> {
  name: K;
  dependsOn?: (keyof Endpoints)[];
  start(ctx: Ctx): Promise<Running<K>>;
}

/** Runs `launch` and `ready`; on failure stops the process and throws with its log tail. */
export async function launchUntilReady(name: string, logFile: string, launch: () => ManagedProcess, ready: (p: ManagedProcess) => Promise<void>): Promise<ManagedProcess> {
  // A server that exits before it is ready is started once more (a loaded machine, a port taken in
  // the instant between choosing and binding it); the first attempt's log tail is kept in the error.
  let firstTail = '';
  for (let attempt = 1; ; attempt++) {
    const proc = launch();
    try {
      await ready(proc);
      return proc;
    } catch (err) {
      const exited = !proc.alive;
      await proc.stop(2000);
      if (exited && attempt === 1) {
        firstTail = tail(logFile);
        process.stderr.write(`[harness] ${name} exited before it became ready; starting it once more\n`);
        continue;
      }
      const earlier = firstTail ? `\n--- first attempt ---\n${firstTail}` : '';
      const why = causes(logFile);
      throw new Error(`${name} failed to start: ${(err as Error).message}${why ? `\n--- what the log says went wrong ---\n${why}` : ''}\n--- last lines of ${logFile} ---\n${tail(logFile)}${earlier}`, { cause: err });
    }
  }
}

/** Helper for the common single-process service. */
export function singleProcess<K extends keyof Endpoints>(opts: {
  name: string; version: string; logFile: string; endpoint: NonNullable<Endpoints[K]>;
  launch: () => ManagedProcess; ready: (p: ManagedProcess) => Promise<void>;
}): Running<K> & { boot(): Promise<void> } {
  let proc: ManagedProcess | undefined;
  const r = {
    endpoint: opts.endpoint,
    version: opts.version,
    logFile: opts.logFile,
    async stop() { await proc?.stop(); proc = undefined; },
    async start() {
      if (proc?.alive) return;
      proc = await launchUntilReady(opts.name, opts.logFile, opts.launch, opts.ready);
    },
    boot() { return r.start(); },
  };
  return r;
}
