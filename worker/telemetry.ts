// The operator's metrics in one place: the prom-client registry (the catalog in
// api/metrics-catalog.ts), the custom resource metrics of profiles, the body store's size, and
// the Temporal SDK's own metrics, all served as one text on /metrics. The SDK's core runtime
// serves Prometheus text on its own address only; Kollect binds it to loopback and appends
// what it serves to each scrape (docs/decisions/0021), so one port, one Service and one
// ServiceMonitor endpoint carry everything.
import net from 'node:net';
import { Runtime } from '@temporalio/worker';
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';
import { DEFAULT_METRICS_PREFIX, METRICS, TEMPORAL_PREFIX, metricDef } from '../api/metrics-catalog.js';
import { exportMetrics, type ExportMetrics } from '../activities/metrics.js';
import { promWatcherMetrics, type WatcherMetrics } from '../watcher/metrics.js';
import type { BodyStore } from '../store/bodies.js';

/** KOLLECT_TEMPORAL_METRICS: `loopback` (default), `off`, or `host:port` to bind the SDK's exporter to. */
export type TemporalMetricsSetting = { mode: 'loopback' } | { mode: 'off' } | { mode: 'address'; address: string };

export function parseTemporalMetrics(text: string | undefined): TemporalMetricsSetting {
  const v = (text ?? 'loopback').trim();
  if (v === 'loopback' || v === '') return { mode: 'loopback' };
  if (v === 'off') return { mode: 'off' };
  if (/^[^\s:]+:\d{1,5}$/.test(v) && Number(v.split(':')[1]) <= 65535) return { mode: 'address', address: v };
  throw new TypeError(`KOLLECT_TEMPORAL_METRICS must be loopback, off or host:port (where the Temporal SDK serves its metrics, merged into /metrics), got "${v}"`);
}

/** How often kollect_store_bytes is sampled. */
export const STORE_BYTES_EVERY_MS = 30_000;
/** A scrape waits this long for the Temporal SDK's metrics, then serves without them. */
const TEMPORAL_SCRAPE_TIMEOUT_MS = 2_000;

export interface Telemetry {
  registry: Registry;
  exports: ExportMetrics;
  watcher: WatcherMetrics;
  storeUp: Gauge;
  /** The whole /metrics text. */
  scrape: () => Promise<string>;
  /** Samples the body store's size now and every STORE_BYTES_EVERY_MS. */
  watchStore(bodies: BodyStore): void;
  stop(): void;
}

type Log = (event: string, fields?: Record<string, unknown>) => void;

/**
 * Call before any NativeConnection or Worker exists: the SDK's runtime is a process singleton
 * configured once. `worker` false (a watcher-only process) leaves the SDK runtime alone.
 */
export async function startTelemetry(opts: { temporal: TemporalMetricsSetting; worker: boolean; log: Log }): Promise<Telemetry> {
  const { log } = opts;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });
  new Gauge({ ...metricDef(METRICS.buildInfo), registers: [registry] }).set({ version: process.env.npm_package_version ?? '0.1.0' }, 1);
  const storeUp = new Gauge({ ...metricDef(METRICS.storeUp), registers: [registry] });
  const storeBytes = new Gauge({ ...metricDef(METRICS.storeBytes), registers: [registry] });
  const watcher = promWatcherMetrics(registry);
  const exports = exportMetrics(registry);

  const temporalUrl = opts.worker && opts.temporal.mode !== 'off' ? installTemporalMetrics(await bindAddress(opts.temporal), log) : undefined;
  let temporalFailing = false;
  const temporalText = async (): Promise<string> => {
    if (!temporalUrl) return '';
    try {
      const res = await fetch(temporalUrl, { signal: AbortSignal.timeout(TEMPORAL_SCRAPE_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const text = await res.text();
      if (temporalFailing) { temporalFailing = false; log('temporal_metrics_recovered'); }
      return text.endsWith('\n') || text === '' ? text : `${text}\n`;
    } catch (err) {
      if (!temporalFailing) { temporalFailing = true; log('temporal_metrics_failed', { url: temporalUrl, error: (err as Error).message }); }
      return '';
    }
  };

  let timer: NodeJS.Timeout | undefined;
  return {
    registry, exports, watcher, storeUp,
    scrape: async () => {
      const custom = watcher.renderCustom(); // first: it updates kollect_custom_metric_series
      const [own, temporal] = await Promise.all([registry.metrics(), temporalText()]);
      return `${own.endsWith('\n') ? own : `${own}\n`}${custom}${temporal}`;
    },
    watchStore(bodies) {
      const sample = (): void => {
        bodies.sizeOnDisk().then((b) => storeBytes.set(b), () => undefined); // the outage shows in kollect_store_up
      };
      sample();
      timer = setInterval(sample, STORE_BYTES_EVERY_MS);
      timer.unref();
    },
    stop() { clearInterval(timer); },
  };
}

async function bindAddress(s: TemporalMetricsSetting): Promise<string> {
  if (s.mode === 'address') return s.address;
  // The SDK cannot report the port it bound, so pick a free one (loopback only: not reachable from outside the pod).
  const port = await new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const a = srv.address() as net.AddressInfo; srv.close(() => resolve(a.port)); });
  });
  return `127.0.0.1:${port}`;
}

/** Installs the SDK runtime with its Prometheus exporter; returns the URL to read it from, or undefined if the runtime was already set up. */
function installTemporalMetrics(address: string, log: Log): string | undefined {
  try {
    Runtime.install({
      telemetryOptions: {
        metrics: {
          metricPrefix: TEMPORAL_PREFIX,
          // Prometheus naming: counters end in _total, durations are seconds named _seconds.
          prometheus: { bindAddress: address, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
        },
      },
    });
  } catch (err) {
    log('temporal_metrics_unavailable', { error: (err as Error).message });
    return undefined;
  }
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), address.slice(address.lastIndexOf(':') + 1)];
  const reach = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host;
  log('temporal_metrics', { bindAddress: address });
  return `http://${reach}:${port}/metrics`;
}
