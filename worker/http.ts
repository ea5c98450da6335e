// Health and metrics endpoints: /healthz (alive), /readyz (worker polling and apiserver
// reachable), /metrics (Prometheus text: worker/telemetry.ts's scrape when given, else the registry).
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthServer { port: number; close(): Promise<void> }

export async function startHttp(opts: { host: string; port: number; registry: Registry; ready: () => { ok: boolean; detail: Record<string, boolean> }; metricsText?: () => Promise<string> }): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/healthz') { res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n'); return; }
    if (url === '/readyz') {
      const r = opts.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(r.detail)}\n`);
      return;
    }
    if (url === '/metrics') {
      (opts.metricsText ?? (() => opts.registry.metrics()))().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : opts.port,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
