// The watcher's part of KollectConnectionTests: start one probe workflow per test (its id names
// the test's uid, so a restart or a second replica cannot probe twice), and delete a finished
// test ttlSecondsAfterFinished after its completionTime. The probe and its status are the
// worker's (activities/connection-test.ts).
import type { KollectConnectionTest } from '../api/types.js';
import type { ConnectionTestRef } from '../workflows/definitions.js';
import type { Log } from '../worker/log.js';

export const DEFAULT_TTL_SECONDS = 300;

export interface ConnectionTestHooks {
  /** Starts the probe workflow; resolves when it runs or already ran. */
  start(ref: ConnectionTestRef): Promise<void>;
  /** Deletes the test, only if it still has this uid. */
  remove(ref: ConnectionTestRef): Promise<void>;
}

export class ConnectionTests {
  private readonly started = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly hooks: ConnectionTestHooks, private readonly log: Log, private readonly retryMs = 5_000) {}

  /** A test was added, changed or (obj undefined) deleted. */
  onEvent(key: string, obj: KollectConnectionTest | undefined): void {
    if (!obj) { this.clear(key); return; }
    const ref: ConnectionTestRef = { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, uid: obj.metadata.uid ?? '' };
    const done = obj.status?.completionTime;
    if (!done) { this.start(key, ref); return; }
    this.started.delete(ref.uid);
    if (this.timers.has(key)) return;
    const ttlMs = (obj.spec.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS) * 1000;
    const wait = Math.max(0, Date.parse(done) + ttlMs - Date.now());
    this.timers.set(key, setTimeout(() => {
      this.timers.delete(key);
      this.hooks.remove(ref).then(
        () => this.log('connection_test_expired', { test: key }),
        (err: unknown) => this.log('connection_test_delete_failed', { test: key, error: (err as Error).message }),
      );
    }, wait).unref());
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private start(key: string, ref: ConnectionTestRef): void {
    if (this.started.has(ref.uid)) return;
    this.started.add(ref.uid);
    this.hooks.start(ref).then(
      () => this.log('connection_test_started', { test: key }),
      (err: unknown) => {
        this.log('connection_test_start_failed', { test: key, error: (err as Error).message, retryInMs: this.retryMs });
        setTimeout(() => { this.started.delete(ref.uid); this.start(key, ref); }, this.retryMs).unref();
      },
    );
  }

  private clear(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }
}
