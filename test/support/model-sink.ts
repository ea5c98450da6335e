// An in-memory sink that follows the export contract exactly as the real state and event sinks do
// (activities/sinks/types.ts: decideWatermark, the delete guard, dedupe ids), for workflow tests
// that need many runs and faults without a backend. Real backends have their own integration tests.
import { checkDeleteGuard, decideWatermark, type ExportRequest, type ExportReply, type Watermark } from '../../activities/sinks/types.js';
import type { ExportEntries } from '../../workflows/state.js';
import { rowKey } from '../../api/rows.js';

export class ModelSink {
  /** key → hash: what a state sink holds. */
  readonly rows = new Map<string, string>();
  watermark: Watermark | undefined;
  /** Event sinks: every published (dedupe id) once, and how many duplicates were absorbed. */
  readonly published = new Map<string, { type: 'upsert' | 'delete'; key: string; hash: string }>();
  duplicates = 0;
  readonly calls: { req: ExportRequest; entries: ExportEntries; reply?: ExportReply; error?: string }[] = [];
  /** Set to make the next attempts fail (the server is down). */
  down = false;
  /** Runs before each export: await it to hold an attempt (a slow or stuck export). */
  gate: (req: ExportRequest) => Promise<void> = () => Promise.resolve();
  /** Smallest row count ever observed after an export: the no-wipe checks read it. */
  minRowsAfterFirstExport = Infinity;

  constructor(readonly family: 'state' | 'event') {}

  async export(req: ExportRequest, entries: ExportEntries): Promise<ExportReply> {
    const call: (typeof this.calls)[number] = { req, entries };
    this.calls.push(call);
    await this.gate(req);
    if (this.down) { call.error = 'connection refused'; throw new Error(`${req.sink.name}: connection refused`); }
    call.reply = this.family === 'event' ? this.publish(req, entries) : this.apply(req, entries);
    if (this.family === 'state' && this.watermark) this.minRowsAfterFirstExport = Math.min(this.minRowsAfterFirstExport, this.rows.size);
    return call.reply;
  }

  private apply(req: ExportRequest, entries: ExportEntries): ExportReply {
    const d = decideWatermark(this.watermark, req.plan);
    if (d.action !== 'apply') return { outcome: d.action, aheadVersion: d.aheadVersion, rowsExported: 0, upserts: 0, deletes: 0, detail: d.action };
    const input = { plan: req.plan, maxDeletePercent: req.maxDeletePercent };
    let deletes = 0;
    if (req.plan.mode === 'full') {
      const keep = new Set(entries.upserts.map(rowKey));
      const stale = [...this.rows.keys()].filter((k) => !keep.has(k));
      checkDeleteGuard(input, stale.length, this.rows.size);
      for (const k of stale) this.rows.delete(k);
      deletes = stale.length;
    } else {
      checkDeleteGuard(input, entries.deletes.length, this.rows.size);
      for (const t of entries.deletes) if (this.rows.delete(rowKey(t))) deletes++;
    }
    for (const e of entries.upserts) this.rows.set(rowKey(e), e.hash);
    this.watermark = { lineage: req.plan.lineage, version: req.plan.version };
    return { outcome: 'applied', rowsExported: this.rows.size, upserts: entries.upserts.length, deletes, detail: `${req.plan.mode} to ${req.plan.version}` };
  }

  private publish(req: ExportRequest, entries: ExportEntries): ExportReply {
    const put = (type: 'upsert' | 'delete', e: ExportEntries['upserts'][number]): void => {
      const id = `${rowKey(e)}/${req.plan.lineage}/${e.version}`;
      if (this.published.has(id)) this.duplicates++;
      else this.published.set(id, { type, key: rowKey(e), hash: e.hash });
    };
    for (const e of entries.upserts) put('upsert', e);
    for (const e of entries.deletes) put('delete', e);
    const n = entries.upserts.length + entries.deletes.length;
    return { outcome: 'applied', rowsExported: n, upserts: entries.upserts.length, deletes: entries.deletes.length, detail: `published ${n}` };
  }
}
