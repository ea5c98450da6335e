// BigQuery: the goccy Go emulator is not served by the module proxy, so we run PyPI's bqemulator
// (REST + gRPC, DuckDB-backed). See docs/decisions/0002-bigquery-emulator.md.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { type ServiceDef, singleProcess } from '../service.js';
import { ManagedProcess, freePort, waitFor } from '../util.js';
import { tools, versions } from '../tools.js';

export const bigquery: ServiceDef<'bigquery'> = {
  name: 'bigquery',
  async start(ctx) {
    const dir = path.join(ctx.runDir, 'bigquery');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const [restPort, grpcPort] = [await freePort(), await freePort()];
    const projectId = 'kollect-test';
    const logFile = path.join(dir, 'bqemulator.log');
    const endpoint = { apiEndpoint: `http://127.0.0.1:${restPort}`, projectId };
    const r = singleProcess<'bigquery'>({
      name: 'bigquery', version: `bqemulator ${versions.BQEMULATOR_PYPI_VERSION}`, logFile, endpoint,
      launch: () => new ManagedProcess({
        cmd: tools.bqemulator(), logFile,
        args: ['start', '--rest-host', '127.0.0.1', '--rest-port', String(restPort), '--grpc-host', '127.0.0.1',
          '--grpc-port', String(grpcPort), '--persistent', '--data-dir', path.join(dir, 'data'), '--project', projectId,
          '--log-level', 'warning'],
      }),
      ready: (p) => waitFor('bigquery', async () => {
        const res = await fetch(`${endpoint.apiEndpoint}/bigquery/v2/projects/${projectId}/datasets`);
        return res.status < 500;
      }, 60_000, () => p.alive),
    });
    await r.boot();
    return r;
  },
};
