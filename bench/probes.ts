// Cheap probes of the three sinks, built to keep up at 100k objects: each polls in a sequential
// loop (never overlapping itself), reads counters for the initial sync (Postgres count(*), NATS
// stream state, one `git ls-tree` per new commit) and, for update latency, only the changed
// objects (Postgres rows by name, NATS events after a start sequence, Git diffs between commits).
import { spawn } from 'node:child_process';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `step` every `everyMs` (sequentially) until stop() is called; a failing step is retried next time. */
export function loop(step: () => Promise<void>, everyMs: number): { stop(): Promise<void>; lastError(): string | undefined } {
  let stopped = false;
  let error: string | undefined;
  const done = (async () => {
    while (!stopped) {
      const t = Date.now();
      await step().then(() => { error = undefined; }, (err: unknown) => { error = err instanceof Error ? err.message : String(err); });
      await sleep(Math.max(0, everyMs - (Date.now() - t)));
    }
  })();
  return { stop: async () => { stopped = true; await done; }, lastError: () => error };
}

/** The updates of one run: update i set data.bench = `u-<i>` on object objects[i] at sentAt[i]. */
export class Updates {
  readonly sentAt: number[] = [];
  readonly objectOf: string[] = [];
  /** Updates the apiserver refused: never visible, left out of the counts. */
  readonly failed = new Set<number>();
  /** Markers not yet seen, by object name (for probes that look objects up by name). */
  private readonly pendingByObject = new Map<string, Set<number>>();
  sent(i: number, name: string, at: number): void {
    this.sentAt[i] = at;
    this.objectOf[i] = name;
    let s = this.pendingByObject.get(name);
    if (!s) this.pendingByObject.set(name, s = new Set());
    s.add(i);
  }
  pendingNames(seen: Map<number, number>): string[] {
    const out: string[] = [];
    for (const [name, s] of this.pendingByObject) if ([...s].some((i) => !seen.has(i))) out.push(name);
    return out;
  }
  /** Every update sent is either seen or superseded (a later update of the same object was seen). */
  complete(seen: Map<number, number>, total: number): boolean {
    if (this.sentAt.length < total) return false;
    return this.unresolved(seen) === 0;
  }
  unresolved(seen: Map<number, number>): number {
    const lastSeen = new Map<string, number>();
    for (const i of seen.keys()) { const o = this.objectOf[i]!; lastSeen.set(o, Math.max(lastSeen.get(o) ?? -1, i)); }
    let n = 0;
    for (let i = 0; i < this.sentAt.length; i++) if (!seen.has(i) && !this.failed.has(i) && (lastSeen.get(this.objectOf[i]!) ?? -1) < i) n++;
    return n;
  }
  /** p50/p99/max of change → visible; superseded updates (never visible themselves) are counted apart. */
  latency(seen: Map<number, number>): { p50: number; p99: number; max: number; n: number; superseded: number; unresolved: number } {
    const d: number[] = [];
    for (let i = 0; i < this.sentAt.length; i++) { const t = seen.get(i); if (t !== undefined) d.push(t - this.sentAt[i]!); }
    d.sort((a, b) => a - b);
    const q = (p: number) => d[Math.min(d.length - 1, Math.floor(p * d.length))] ?? NaN;
    const unresolved = this.unresolved(seen);
    return { p50: q(0.5), p99: q(0.99), max: d.at(-1) ?? NaN, n: d.length, superseded: this.sentAt.length - this.failed.size - d.length - unresolved, unresolved };
  }
}

const MARKER = /\bu-(\d+)\b/g;
export const marker = (i: number): string => `u-${i}`;
function markers(text: string): number[] {
  return [...text.matchAll(MARKER)].map((m) => Number(m[1]));
}

/** Postgres: row count of the inventory, and the rows of changed objects. */
export class PgProbe {
  private constructor(private readonly c: pg.Client, private readonly table: string, private readonly ns: string) {}
  static async open(url: string, table: string, ns: string): Promise<PgProbe> {
    const c = new pg.Client({ connectionString: url, application_name: 'kollect-bench-probe' });
    await c.connect();
    c.on('error', () => undefined);
    return new PgProbe(c, table, ns);
  }
  async count(): Promise<number> {
    const r = await this.c.query<{ n: string }>(`SELECT count(*) AS n FROM public.${this.table} WHERE inventory_namespace = $1`, [this.ns]).catch(() => undefined);
    return Number(r?.rows[0]?.n ?? 0);
  }
  /** Rows of the inventory that are not one of the bench's ConfigMaps cm-<i>, i < n (at most 20). */
  async strays(n: number): Promise<{ name: string; kind: string; uid: string }[]> {
    const r = await this.c.query<{ name: string; kind: string; uid: string }>(
      `SELECT name, kind, source_uid AS uid FROM public.${this.table} WHERE inventory_namespace = $1
          AND NOT (kind = 'ConfigMap' AND name ~ '^cm-[0-9]+$' AND substr(name, 4)::bigint < $2) LIMIT 20`, [this.ns, n]);
    return r.rows;
  }
  /** Records the markers now held by the rows of objects with a pending update. */
  async pollUpdates(u: Updates, seen: Map<number, number>): Promise<void> {
    const names = u.pendingNames(seen);
    if (!names.length) return;
    const r = await this.c.query<{ m: string | null }>(
      `SELECT attributes->'data'->>'bench' AS m FROM public.${this.table} WHERE kind = 'ConfigMap' AND namespace = $1 AND name = ANY($2)`, [this.ns, names]);
    const t = Date.now();
    for (const row of r.rows) for (const i of markers(row.m ?? '')) if (!seen.has(i)) seen.set(i, t);
  }
  async close(): Promise<void> { await this.c.end().catch(() => undefined); }
}

/** NATS JetStream: stream state for the initial sync; an ordered consumer for the update events. */
export class NatsProbe {
  private constructor(private readonly nc: NatsConnection, private readonly stream: string) {}
  static async open(url: string, stream: string): Promise<NatsProbe> {
    return new NatsProbe(await connect({ servers: url }), stream);
  }
  /** Messages in the stream and its last sequence (0/0 before the sink created it). */
  async state(): Promise<{ messages: number; lastSeq: number }> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(this.stream).catch(() => undefined);
    return { messages: info?.state.messages ?? 0, lastSeq: info?.state.last_seq ?? 0 };
  }
  /** Reads every event after `afterSeq` and records the update markers it carries. */
  async follow(afterSeq: number, seen: Map<number, number>): Promise<{ stop(): Promise<void> }> {
    const consumer = await jetstream(this.nc).consumers.get(this.stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 });
    const messages = await consumer.consume();
    const done = (async () => {
      for await (const m of messages) {
        const t = Date.now();
        const e = m.json<{ attributes?: { data?: { bench?: string } } }>();
        for (const i of markers(e.attributes?.data?.bench ?? '')) if (!seen.has(i)) seen.set(i, t);
      }
    })().catch(() => undefined);
    return { stop: async () => { await messages.close(); await done; } };
  }
  async close(): Promise<void> { await this.nc.drain().catch(() => undefined); }
}

/** Runs git on the bare repo; streams stdout lines to `onLine` (nothing is buffered whole). */
function git(dir: string, args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', ['--git-dir', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let rest = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine(l);
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => { if (rest) onLine(rest); if (code === 0) resolve(); else reject(new Error(`git ${args.join(' ')}: ${err.trim()}`)); });
  });
}

/** Git: polls the branch tip; on a new commit counts row files once, or reads only the diff. */
export class GitProbe {
  tip = '';
  files = 0;
  commits = 0;
  constructor(private readonly dir: string, private readonly branch = 'main') {}
  private async head(): Promise<string> {
    let out = '';
    await git(this.dir, ['rev-parse', '--verify', '-q', `refs/heads/${this.branch}`], (l) => { out ||= l.trim(); }).catch(() => undefined);
    return out;
  }
  /** On a new tip: row files in its tree (the `_inventory.*` summaries excluded). */
  async pollCount(): Promise<void> {
    const tip = await this.head();
    if (!tip || tip === this.tip) return;
    let n = 0;
    await git(this.dir, ['ls-tree', '-r', '--name-only', tip], (l) => { if (l && !/(^|\/)_inventory\.[a-z]+$/.test(l)) n++; });
    this.tip = tip;
    this.files = n;
    this.commits++;
  }
  /** On a new tip: the update markers added since the last tip seen (one `git diff` per commit). */
  async pollUpdates(seen: Map<number, number>): Promise<void> {
    const tip = await this.head();
    if (!tip || tip === this.tip) return;
    const t = Date.now();
    const args = this.tip ? ['diff', '--no-color', '--no-ext-diff', '-U0', this.tip, tip] : ['show', '--no-color', '-U0', '--format=', tip];
    await git(this.dir, args, (l) => { if (l.startsWith('+') && !l.startsWith('+++')) for (const i of markers(l)) if (!seen.has(i)) seen.set(i, t); });
    this.tip = tip;
    this.commits++;
  }
}
