// Extraction off the main thread. CEL and JSONPath run synchronously; on the event loop that the
// watcher, the Temporal worker and the HTTP probes share, one slow profile would stall them all
// (issue 9: `s.replace('a', s)` on 2,000 characters took 4.4 s). Here a small pool of worker
// threads evaluates profiles in batches; each worker publishes which object and which expression
// it is on, and a watchdog on the main thread terminates a worker whose object has run longer
// than the deadline. The caller gets an ExtractionLimitError naming the expression and disables
// that profile; the worker is replaced and every other profile keeps running.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { KollectProfileSpec } from '../types.js';
import type { Row } from '../rows.js';
import { ExtractionLimitError, limitEnv, type ExtractionLimits } from './limits.js';
import type { CompiledProfile, RowContext } from './profile.js';
import { DONE_STEP, PROGRESS_SLOTS, STEP, TICK, type RowOutcome, type WorkerJob, type WorkerReply } from './sandbox-protocol.js';

export type { RowOutcome };

/** A compiled profile as the pool runs it: the spec goes to the workers, `compiled` names fields. */
export interface SandboxProfile {
  /** Changes whenever the spec changes (the watcher's profile fingerprint). */
  key: string;
  spec: KollectProfileSpec;
  compiled: CompiledProfile;
}

/** Objects per message: large enough to amortise the round trip, small enough to spread over workers. */
const BATCH = 250;
/** A worker's heap: a profile that builds huge values dies alone, not the operator. */
const WORKER_HEAP_MB = 256;

interface Running {
  job: WorkerJob;
  profile: SandboxProfile;
  resolve: (outcomes: RowOutcome[]) => void;
  reject: (err: Error) => void;
  /** TICK when the job was posted, when TICK last moved and at what time. */
  startTick: number;
  lastTick: number;
  since: number;
}

interface Slot { worker: Worker; progress: Int32Array; running?: Running }

type Queued = Omit<Running, 'startTick' | 'lastTick' | 'since'>;

export class ExtractionPool {
  readonly #limits: ExtractionLimits;
  readonly #slots: Slot[] = [];
  readonly #queue: Queued[] = [];
  readonly #room: (() => void)[] = [];
  #nextId = 1;
  #watchdog: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(limits: ExtractionLimits) {
    this.#limits = limits;
  }

  /**
   * The row of each object (null: filtered out or not an object), in order. Rejects with
   * ExtractionLimitError when the profile exceeds a limit on any of them.
   */
  async rows(profile: SandboxProfile, objects: readonly unknown[], ctx: RowContext): Promise<(Row | null)[]> {
    return (await this.outcomes(profile, objects, ctx)).map((o) => {
      if ('failed' in o) throw new Error(o.failed);
      return 'row' in o ? o.row : null;
    });
  }

  /**
   * What each object became, in order: its row (with this object's evaluation errors), or
   * quarantined (over the row size or depth cap), or failed. Rejects with ExtractionLimitError
   * when the profile exceeds an expression's limit on any of them.
   */
  async outcomes(profile: SandboxProfile, objects: readonly unknown[], ctx: RowContext): Promise<RowOutcome[]> {
    const parts: Promise<RowOutcome[]>[] = [];
    for (let i = 0; i < objects.length; i += BATCH) parts.push(this.#submit(profile, objects.slice(i, i + BATCH), ctx));
    return (await Promise.all(parts)).flat();
  }

  /** Terminates the workers; pending and later calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    const err = new Error('extraction pool closed');
    for (const q of this.#queue.splice(0)) q.reject(err);
    for (const r of this.#room.splice(0)) r();
    await Promise.all(this.#slots.splice(0).map((s) => { s.running?.reject(err); return s.worker.terminate(); }));
  }

  async #submit(profile: SandboxProfile, objects: unknown[], ctx: RowContext): Promise<RowOutcome[]> {
    // A bounded queue: past it, callers wait for room instead of piling up batches.
    while (this.#queue.length >= this.#limits.queue && !this.#closed) await new Promise<void>((r) => this.#room.push(r));
    if (this.#closed) throw new Error('extraction pool closed');
    return new Promise((resolve, reject) => {
      const job: WorkerJob = { id: this.#nextId++, key: profile.key, spec: profile.spec, limits: this.#limits, ctx, objects };
      this.#queue.push({ job, profile, resolve, reject });
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const slot = this.#slots.find((s) => !s.running) ?? (this.#slots.length < this.#limits.workers ? this.#spawn() : undefined);
      if (!slot) return;
      const q = this.#queue.shift()!;
      this.#room.shift()?.();
      const tick = Atomics.load(slot.progress, TICK);
      slot.running = { ...q, startTick: tick, lastTick: tick, since: performance.now() };
      slot.worker.postMessage(q.job);
    }
    this.#watchdog ??= setInterval(() => this.#watch(), Math.max(5, Math.min(50, this.#limits.timeoutMs / 5))).unref();
  }

  #spawn(): Slot {
    const progress = new Int32Array(new SharedArrayBuffer(PROGRESS_SLOTS * Int32Array.BYTES_PER_ELEMENT));
    const worker = new Worker(WORKER_ENTRY, {
      eval: FROM_SOURCE,
      workerData: { progress: progress.buffer },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    worker.unref();
    const slot: Slot = { worker, progress };
    worker.on('message', (reply: WorkerReply) => this.#settle(slot, reply));
    worker.on('error', (err: Error & { code?: string }) => {
      const r = slot.running;
      this.#drop(slot);
      if (!r) return;
      r.reject(err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? new ExtractionLimitError(this.#field(slot, r), `${WORKER_HEAP_MB} MB of heap per extraction worker`, `evaluating ${this.#objectName(slot, r)} ran out of memory`)
        : err);
    });
    worker.on('exit', () => { const r = slot.running; this.#drop(slot); r?.reject(new Error('extraction worker exited')); });
    this.#slots.push(slot);
    return slot;
  }

  #settle(slot: Slot, reply: WorkerReply): void {
    const r = slot.running;
    if (!r || r.job.id !== reply.id) return;
    slot.running = undefined;
    if ('outcomes' in reply) r.resolve(reply.outcomes);
    else if ('limit' in reply) r.reject(new ExtractionLimitError(reply.limit.field, reply.limit.limit, reply.limit.detail));
    else r.reject(new Error(reply.error));
    this.#dispatch();
  }

  /** Terminates a worker whose current object has run past the deadline. */
  #watch(): void {
    const now = performance.now();
    for (const slot of [...this.#slots]) {
      const r = slot.running;
      if (!r) continue;
      const tick = Atomics.load(slot.progress, TICK);
      if (tick !== r.lastTick) { r.lastTick = tick; r.since = now; continue; }
      // Not started yet (a new worker loading, the profile compiling: bounded by its length), or
      // replying: neither is evaluation.
      if (tick === r.startTick || Atomics.load(slot.progress, STEP) === DONE_STEP) continue;
      if (now - r.since <= this.#limits.timeoutMs) continue;
      const err = new ExtractionLimitError(this.#field(slot, r), `${this.#limits.timeoutMs} ms per object (${limitEnv('timeoutMs')})`,
        `evaluating ${this.#objectName(slot, r)} did not finish in time`);
      this.#drop(slot);
      void slot.worker.terminate();
      r.reject(err);
    }
    if (this.#slots.every((s) => !s.running) && this.#queue.length === 0) { clearInterval(this.#watchdog); this.#watchdog = undefined; }
  }

  #drop(slot: Slot): void {
    slot.running = undefined;
    const i = this.#slots.indexOf(slot);
    if (i >= 0) this.#slots.splice(i, 1);
    if (!this.#closed) this.#dispatch();
  }

  #field(slot: Slot, r: Running): string {
    return r.profile.compiled.fieldOfStep(Atomics.load(slot.progress, STEP));
  }

  #objectName(slot: Slot, r: Running): string {
    const o = r.job.objects[Atomics.load(slot.progress, TICK) - r.startTick - 1] as { metadata?: { namespace?: string; name?: string } } | undefined;
    const m = o?.metadata;
    return m?.name ? `${m.namespace ? `${m.namespace}/` : ''}${m.name}` : 'an object';
  }
}

// Built (dist/…/sandbox.js) the worker is plain JS next to this file. From source (tests, tsx) it
// is TypeScript: a bootstrap loads it through tsx's API (Node 20 ignores --import in a worker's
// execArgv, and vitest's transform does not reach worker threads).
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_ENTRY: string | URL = FROM_SOURCE ? tsxBootstrap(new URL('./sandbox-worker.ts', import.meta.url)) : new URL('./sandbox-worker.js', import.meta.url);

function tsxBootstrap(entry: URL): string {
  const api = pathToFileURL(path.join(path.dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist/esm/api/index.mjs'));
  return `import(${JSON.stringify(api.href)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(import.meta.url)}));`;
}
