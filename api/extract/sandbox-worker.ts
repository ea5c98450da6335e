// One extraction worker thread (sandbox.ts): compiles each profile once, turns batches of objects
// into rows, and publishes its progress in shared memory so that the main thread can stop it
// when one object takes longer than the deadline, and name the expression it was stuck in.
import { parentPort, workerData } from 'node:worker_threads';
import { compileProfile, type CompiledProfile, type FieldError } from './profile.js';
import { ExtractionLimitError, RowQuarantinedError } from './limits.js';
import { DONE_STEP, STEP, TICK, type RowOutcome, type WorkerData, type WorkerJob, type WorkerReply } from './sandbox-protocol.js';

const { progress: buffer } = workerData as WorkerData;
const progress = new Int32Array(buffer);
/** Compiled profiles by key; a profile that changes gets a new key, so old ones age out. */
const cache = new Map<string, CompiledProfile>();
const CACHE_SIZE = 64;

function profileFor(job: WorkerJob): CompiledProfile | string {
  let p = cache.get(job.key);
  if (p) return p;
  const r = compileProfile(job.spec, job.limits);
  if (!r.ok) return r.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  p = r.profile;
  cache.set(job.key, p);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return p;
}

function run(job: WorkerJob): WorkerReply {
  const p = profileFor(job);
  if (typeof p === 'string') return { id: job.id, error: p };
  const onStep = (s: number): void => { Atomics.store(progress, STEP, s); };
  const outcomes: RowOutcome[] = [];
  try {
    for (const obj of job.objects) {
      Atomics.add(progress, TICK, 1);
      const errors: FieldError[] = [];
      try {
        const row = p.toRow(obj, job.ctx, onStep, errors);
        const samples = row && p.metrics.length > 0 ? p.samples(obj, row) : undefined;
        outcomes.push({ row, ...(errors.length ? { errors } : {}), ...(samples ? { samples } : {}) });
      } catch (e) {
        // The profile's fault: the whole job stops and the profile is disabled.
        if (e instanceof ExtractionLimitError) throw e;
        // This object's alone: the others of the batch still get their rows.
        if (e instanceof RowQuarantinedError) outcomes.push({ quarantined: { field: e.field, limit: e.limit, detail: e.detail } });
        else outcomes.push({ failed: e instanceof Error ? e.message.slice(0, 300) : String(e).slice(0, 300) });
      }
    }
  } catch (e) {
    if (e instanceof ExtractionLimitError) return { id: job.id, limit: { field: e.field, limit: e.limit, detail: e.detail } };
    return { id: job.id, error: e instanceof Error ? e.message : String(e) };
  } finally {
    // Replying (cloning the rows) is not evaluation: the deadline does not apply to it.
    Atomics.store(progress, STEP, DONE_STEP);
    Atomics.add(progress, TICK, 1);
  }
  return { id: job.id, outcomes };
}

parentPort!.on('message', (job: WorkerJob) => parentPort!.postMessage(run(job)));
