// The official `temporal` CLI dev server (SQLite file store), with its web UI on request.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor, run } from '../util.js';
import { tools, versions } from '../tools.js';

export const temporal: ServiceDef<'temporal'> = {
  name: 'temporal',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'temporal');
    mkdirSync(dir, { recursive: true });
    // Two sets of ports: a second start (launchUntilReady retries a server that died before it was
    // ready) takes fresh ones, in case a port was taken between choosing and binding it.
    const portSets: [number, number, number][] = [[await freePort(), await freePort(), await freePort()], [await freePort(), await freePort(), await freePort()]];
    let attempt = 0;
    // `npm start` asks for a stable UI port (KOLLECT_TEMPORAL_UI_PORT); tests take any free one.
    const uiPort = Number(process.env.KOLLECT_TEMPORAL_UI_PORT) || await freePort();
    const cli = tools.temporal();
    let address = `127.0.0.1:${portSets[0]![0]}`;
    const logFile = path.join(dir, 'temporal.log');
    // `npm start` points the UI at the operator's codec endpoint (docs/temporal-ui.md).
    const codec = process.env.KOLLECT_TEMPORAL_UI_CODEC_ENDPOINT ? ['--ui-codec-endpoint', process.env.KOLLECT_TEMPORAL_UI_CODEC_ENDPOINT] : [];
    const uiArgs = ctx.withUi ? ['--ui-port', String(uiPort), '--ui-ip', '127.0.0.1', '--ui-disable-news-fetch', ...codec] : ['--headless'];
    const r = singleProcess<'temporal'>({
      name: 'temporal', version: `temporal CLI ${versions.TEMPORAL_PYPI_VERSION}`, logFile,
      endpoint: { address, namespace: 'default', cli, ...(ctx.withUi ? { uiUrl: `http://127.0.0.1:${uiPort}` } : {}) },
      launch: () => {
        const [p, http, metrics] = portSets[Math.min(attempt++, 1)]!;
        address = `127.0.0.1:${p}`;
        r.endpoint.address = address;
        return new ManagedProcess({
          cmd: cli, logFile,
          args: ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(p), '--http-port', String(http),
            '--metrics-port', String(metrics), '--db-filename', path.join(dir, 'temporal.db'), '--log-level', 'warn',
            ...uiArgs],
        });
      },
      ready: (p) => waitFor('temporal', async () => {
        await run(cli, ['operator', 'namespace', 'describe', '--namespace', 'default', '--address', address]);
        return true;
      }, 60_000, () => p.alive),
    });
    await r.boot();
    // Record the server's own version line, e.g. "temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)".
    r.version = (await run(cli, ['--version'])).trim();
    return r;
  },
};
