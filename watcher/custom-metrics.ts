// The custom resource metrics (KollectProfile spec.metrics) of every collecting target, summed
// per label tuple at scrape time from the samples extraction returned with each row, and written
// in the Prometheus text format. Targets register while they collect and unregister when they
// stop, so their series go with them. Cardinality: at most MAX_CUSTOM_SERIES_PER_TARGET series per
// target; the rest are dropped and counted.
import { MAX_CUSTOM_SERIES_PER_TARGET, TARGET_LABEL, type MetricSample, type MetricShape } from '../api/extract/metrics.js';

/** What a collecting target offers: its profile's metrics and the current samples of its objects. */
export interface CustomMetricSource {
  shapes: readonly MetricShape[];
  samples(): Iterable<MetricSample[]>;
}

export interface CustomSeriesCount { series: number; dropped: number }

export class CustomMetrics {
  private readonly targets = new Map<string, CustomMetricSource>();

  constructor(
    /** Told the counts of each target at every render, and `undefined` when it unregisters. */
    private readonly onCounts: (target: string, counts: CustomSeriesCount | undefined) => void = () => undefined,
    private readonly cap = MAX_CUSTOM_SERIES_PER_TARGET,
  ) {}

  /** Registers `target` (namespace/name); the returned function unregisters this registration only. */
  register(target: string, source: CustomMetricSource): () => void {
    this.targets.set(target, source);
    return () => {
      if (this.targets.get(target) !== source) return; // replaced by a newer registration
      this.targets.delete(target);
      this.onCounts(target, undefined);
    };
  }

  /** The text exposition of every registered target's series, one family per metric name. */
  render(): string {
    const families = new Map<string, { help: string; lines: string[] }>();
    for (const [target, source] of [...this.targets].sort(([a], [b]) => a.localeCompare(b))) {
      if (source.shapes.length === 0) continue;
      const sums = new Map<string, { metric: number; labels: string[]; value: number }>();
      const dropped = new Set<string>();
      for (const list of source.samples()) {
        for (const s of list) {
          const key = `${s.metric}\u0000${s.labels.join('\u0000')}`;
          const cur = sums.get(key);
          if (cur) cur.value += s.value;
          else if (sums.size < this.cap) sums.set(key, { metric: s.metric, labels: s.labels, value: s.value });
          else dropped.add(key);
        }
      }
      this.onCounts(target, { series: sums.size, dropped: dropped.size });
      for (const s of sums.values()) {
        const shape = source.shapes[s.metric];
        if (!shape) continue;
        let fam = families.get(shape.name);
        if (!fam) families.set(shape.name, (fam = { help: shape.help, lines: [] }));
        const labels = [`${TARGET_LABEL}="${escapeLabel(target)}"`, ...shape.labelNames.map((n, i) => `${n}="${escapeLabel(s.labels[i] ?? '')}"`)];
        fam.lines.push(`${shape.name}{${labels.join(',')}} ${formatValue(s.value)}`);
      }
    }
    let out = '';
    for (const [name, f] of families) out += `# HELP ${name} ${escapeHelp(f.help)}\n# TYPE ${name} gauge\n${f.lines.join('\n')}\n`;
    return out;
  }
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const formatValue = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));
