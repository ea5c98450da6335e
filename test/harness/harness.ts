// Starts the services tests need, in dependency order and otherwise in parallel, writes
// endpoints.json, serves a small control API for fault tests, and tears everything down.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { endpoints, type Endpoints, type ServiceName } from './endpoints.js';
import type { Ctx, Running, ServiceDef } from './service.js';
import { kube } from './services/kube.js';
import { temporal } from './services/temporal.js';
import { postgres } from './services/postgres.js';
import { nats } from './services/nats.js';
import { kafka } from './services/kafka.js';
import { mongodb } from './services/mongodb.js';
import { s3 } from './services/s3.js';
import { gcs } from './services/gcs.js';
import { bigquery } from './services/bigquery.js';
import { git } from './services/git.js';
import { gitlab } from './services/gitlab.js';
import { helm } from './services/helm.js';

export const ALL: ServiceDef[] = [kube, temporal, postgres, nats, kafka, mongodb, s3, gcs, bigquery, git, gitlab, helm] as ServiceDef[];

export interface StartedService { name: ServiceName; version: string; startMs: number; running: Running }
export interface Harness {
  endpoints: Endpoints;
  endpointsFile: string;
  services: StartedService[];
  summary(): string;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Service names to start; default all (or KOLLECT_SERVICES=a,b). Dependencies are added. */
  only?: ServiceName[];
  withUi?: boolean;
  /** Keep the run directory after stop (KOLLECT_KEEP_RUN=1) for post-mortems. */
  keep?: boolean;
  log?: (line: string) => void;
}

/** Credentials that carry the run's canary (Endpoints.canary). */
export const canarySecret = (canary: string) => (label: string): string => `${canary}${label}${randomBytes(9).toString('base64url')}`;

/**
 * The context for a server a test starts beside the harness's (a second apiserver, a database it
 * stops): its directory under the run's, its credentials carrying the run's canary.
 */
export function extraServiceCtx(name: string): Ctx {
  const e = endpoints();
  const runDir = mkdtempSync(path.join(e.runDir, `${name}-`));
  return { runDir, endpoints: {} as Endpoints, withUi: false, secret: canarySecret(e.canary) };
}

export function selected(only?: ServiceName[]): ServiceDef[] {
  const env = process.env.KOLLECT_SERVICES?.split(',').map((s) => s.trim()).filter(Boolean) as ServiceName[] | undefined;
  // KOLLECT_SERVICES=none: pure unit tests, no servers.
  const want = new Set<string>(only ?? (env?.[0] === ('none' as ServiceName) ? [] : env) ?? ALL.map((s) => s.name));
  for (const n of want) if (!ALL.some((s) => s.name === n)) throw new Error(`unknown service "${n}" (known: ${ALL.map((s) => s.name).join(', ')})`);
  // close over dependencies
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of ALL) if (want.has(s.name)) for (const d of s.dependsOn ?? []) if (!want.has(d)) { want.add(d); grew = true; }
  }
  return ALL.filter((s) => want.has(s.name));
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const base = path.join(os.tmpdir(), 'kollect-runs');
  mkdirSync(base, { recursive: true });
  const runDir = mkdtempSync(path.join(base, 'run-'));
  const endpointsFile = path.join(runDir, 'endpoints.json');
  const started: StartedService[] = [];
  const control = await startControl(started);
  const canary = `kcanary${randomBytes(5).toString('hex')}`;
  const endpoints: Endpoints = { runDir, controlUrl: control.url, canary };
  const ctx: Ctx = { runDir, endpoints, withUi: opts.withUi ?? false, secret: canarySecret(canary) };
  const defs = selected(opts.only);
  const pending = new Map<string, Promise<void>>();
  const failures: string[] = [];

  const startOne = async (def: ServiceDef): Promise<void> => {
    await Promise.all((def.dependsOn ?? []).map((d) => pending.get(d) ?? Promise.resolve()));
    const t0 = Date.now();
    const running = await def.start(ctx);
    const startMs = Date.now() - t0;
    (endpoints as unknown as Record<string, unknown>)[def.name] = running.endpoint;
    started.push({ name: def.name as ServiceName, version: running.version, startMs, running });
    log(`[harness] ${def.name.padEnd(9)} ready in ${String(startMs).padStart(6)} ms  ${running.version}`);
  };
  for (const def of defs) {
    pending.set(def.name, startOne(def).catch((err: unknown) => { failures.push(`${def.name}: ${(err as Error).message}`); throw err; }));
  }
  await Promise.allSettled(pending.values());

  const stop = async () => {
    await Promise.allSettled(started.map((s) => s.running.stop()));
    await control.close();
    if (!(opts.keep ?? process.env.KOLLECT_KEEP_RUN === '1')) rmSync(runDir, { recursive: true, force: true });
  };
  if (failures.length) {
    await stop();
    throw new Error(`harness: ${failures.length} service(s) failed to start:\n\n${failures.join('\n\n')}`);
  }
  writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2));
  process.env.KOLLECT_ENDPOINTS = endpointsFile;
  return {
    endpoints, endpointsFile, services: started, stop,
    summary: () => summaryTable(started),
  };
}

export function summaryTable(started: StartedService[]): string {
  const rows = [...started].sort((a, b) => ALL.findIndex((s) => s.name === a.name) - ALL.findIndex((s) => s.name === b.name));
  const lines = rows.map((s) => `  ${s.name.padEnd(10)} ${(s.startMs / 1000).toFixed(1).padStart(6)} s   ${s.version}`);
  return ['service    started in   version', ...lines].join('\n');
}

/** POST /stop/<name> and /start/<name>: lets a test in a worker process stop a real server. */
async function startControl(started: StartedService[]): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const m = /^\/(stop|start)\/([a-z0-9]+)$/.exec(req.url ?? '');
    const svc = m && started.find((s) => s.name === m[2]);
    if (req.method !== 'POST' || !m || !svc) { res.writeHead(404).end('unknown service or action'); return; }
    const action = m[1] === 'stop' ? svc.running.stop() : svc.running.start();
    action.then(() => res.writeHead(204).end(), (err: unknown) => res.writeHead(500).end(String((err as Error).message)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
