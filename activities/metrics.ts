// Export metrics (prom-client), named in api/metrics-catalog.ts. Series carry the inventory and
// sink (namespace/name of CRs, never of watched objects) and are removed when the inventory is
// finalized or a sink leaves it (its status no longer lists the sink).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { EXPORT_BUCKETS, METRICS, metricDef } from '../api/metrics-catalog.js';
import type { SinkExportStatus } from '../api/types.js';

export interface SinkLabels {
  /** `namespace/name` of the inventory. */
  inventory: string;
  sink_kind: string;
  sink_name: string;
  sink_type: string;
}

export interface ExportMetrics {
  /** An export attempt began; the returned function ends it (in-flight gauge). */
  started(sink: SinkLabels): () => void;
  /** One finished attempt; `reason` (a status reason, e.g. ExportFailed) when it failed. */
  observe(sink: SinkLabels, seconds: number, result: { ok: true; rows: number } | { ok: false; reason: string }): void;
  /** What the inventory status now says: rows per target, circuit per sink. Drops series of targets and sinks it no longer lists. */
  inventoryStatus(inventory: string, view: { targetRows?: Record<string, number>; sinks: readonly SinkExportStatus[] }): void;
  /** The inventory is gone: every series naming it is removed. */
  inventoryRemoved(inventory: string): void;
}

export const noMetrics: ExportMetrics = { started: () => () => undefined, observe: () => undefined, inventoryStatus: () => undefined, inventoryRemoved: () => undefined };

export const CIRCUIT_STATES = ['closed', 'open', 'halfOpen'] as const;

/** Label sets written per inventory, so that they can be removed (prom-client removes exact label sets only). */
class SeriesIndex {
  private readonly byInventory = new Map<string, Map<string, { key: string; labels: Record<string, string> }[]>>();

  /** Remembers `labels` under (inventory, group) for `metric`. */
  add(inventory: string, group: string, metric: string, labels: Record<string, string>): void {
    let groups = this.byInventory.get(inventory);
    if (!groups) this.byInventory.set(inventory, (groups = new Map<string, { key: string; labels: Record<string, string> }[]>()));
    let list = groups.get(group);
    if (!list) groups.set(group, (list = []));
    const key = `${metric}\u0000${JSON.stringify(labels)}`;
    if (!list.some((l) => l.key === key)) list.push({ key, labels: { ...labels, __metric: metric } });
  }

  groups(inventory: string): string[] { return [...(this.byInventory.get(inventory)?.keys() ?? [])]; }

  /** Forgets (inventory, group), or the whole inventory; returns what was there. */
  take(inventory: string, group?: string): Record<string, string>[] {
    const groups = this.byInventory.get(inventory);
    if (!groups) return [];
    if (group === undefined) {
      this.byInventory.delete(inventory);
      return [...groups.values()].flat().map((l) => l.labels);
    }
    const list = groups.get(group) ?? [];
    groups.delete(group);
    if (groups.size === 0) this.byInventory.delete(inventory);
    return list.map((l) => l.labels);
  }
}

export function exportMetrics(registry: Registry): ExportMetrics {
  const registers = [registry];
  const duration = new Histogram({ ...metricDef(METRICS.exportDuration), buckets: EXPORT_BUCKETS, registers });
  const rows = new Counter({ ...metricDef(METRICS.exportRows), registers });
  const errors = new Counter({ ...metricDef(METRICS.sinkErrors), registers });
  const inFlight = new Gauge({ ...metricDef(METRICS.exportsInFlight), registers });
  const inventoryRows = new Gauge({ ...metricDef(METRICS.inventoryRows), registers });
  const circuit = new Gauge({ ...metricDef(METRICS.sinkCircuit), registers });
  const byName = new Map<string, Counter | Gauge | Histogram>([
    [METRICS.exportDuration.name, duration], [METRICS.exportRows.name, rows], [METRICS.sinkErrors.name, errors],
    [METRICS.inventoryRows.name, inventoryRows], [METRICS.sinkCircuit.name, circuit],
  ]);
  const index = new SeriesIndex();
  const sinkGroup = (kind: string, name: string): string => `sink:${kind}/${name}`;
  const remove = (list: Record<string, string>[]): void => {
    for (const { __metric, ...labels } of list) byName.get(__metric!)?.remove(labels);
  };

  return {
    started(sink) {
      inFlight.inc({ sink_type: sink.sink_type });
      let done = false;
      return () => { if (!done) { done = true; inFlight.dec({ sink_type: sink.sink_type }); } };
    },
    observe(sink, seconds, r) {
      const labels = { ...sink };
      const group = sinkGroup(sink.sink_kind, sink.sink_name);
      const d = { ...labels, result: r.ok ? 'success' : 'error' };
      duration.observe(d, seconds);
      index.add(sink.inventory, group, METRICS.exportDuration.name, d);
      if (r.ok) {
        rows.inc(labels, r.rows);
        index.add(sink.inventory, group, METRICS.exportRows.name, labels);
      } else {
        const e = { ...labels, reason: r.reason };
        errors.inc(e);
        index.add(sink.inventory, group, METRICS.sinkErrors.name, e);
      }
    },
    inventoryStatus(inventory, view) {
      if (view.targetRows) {
        for (const g of index.groups(inventory)) if (g.startsWith('target:') && !Object.hasOwn(view.targetRows, g.slice(7))) remove(index.take(inventory, g));
        for (const [t, n] of Object.entries(view.targetRows)) {
          // Targets are in the inventory's namespace.
          const labels = { inventory, target: `${inventory.split('/')[0]}/${t}` };
          inventoryRows.set(labels, n);
          index.add(inventory, `target:${t}`, METRICS.inventoryRows.name, labels);
        }
      }
      const listed = new Set(view.sinks.map((s) => sinkGroup(s.kind, s.name)));
      for (const g of index.groups(inventory)) if (g.startsWith('sink:') && !listed.has(g)) remove(index.take(inventory, g));
      for (const s of view.sinks) {
        for (const state of CIRCUIT_STATES) {
          const labels = { inventory, sink_kind: s.kind, sink_name: s.name, state };
          circuit.set(labels, (s.circuit ?? 'closed') === state ? 1 : 0);
          index.add(inventory, sinkGroup(s.kind, s.name), METRICS.sinkCircuit.name, labels);
        }
      }
    },
    inventoryRemoved(inventory) {
      remove(index.take(inventory));
    },
  };
}
