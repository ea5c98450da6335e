// Smoke test of the helm client: the pinned binary runs, and can create, lint and render a chart.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { service } from '../harness/endpoints.js';

const exec = promisify(execFile);

describe('helm client', () => {
  let dir: string;
  let helmEnv: NodeJS.ProcessEnv;
  const helm = async (...args: string[]) => {
    const { stdout, stderr } = await exec(service('helm').bin, args, { cwd: dir, env: helmEnv, timeout: 30_000 });
    return { stdout, stderr };
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-helm-smoke-'));
    // keep helm's config/cache/data inside the temp dir, away from the user's
    helmEnv = { ...process.env, HELM_CONFIG_HOME: path.join(dir, 'config'), HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_DATA_HOME: path.join(dir, 'data') };
  });

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it('is the pinned v3.22.0', async () => {
    const { stdout } = await helm('version', '--short');
    expect(stdout.trim()).toMatch(/^v3\.22\.0(\+g[0-9a-f]+)?$/);
  });

  it('creates a chart, lints it cleanly and renders its manifests', async () => {
    const name = `smoke-${Math.random().toString(36).slice(2, 8)}`;
    await helm('create', name);
    expect(readdirSync(path.join(dir, name))).toEqual(expect.arrayContaining(['Chart.yaml', 'values.yaml', 'templates']));

    const lint = await helm('lint', '--strict', name);
    expect(lint.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);

    const { stdout } = await helm('template', 'rel', name, '--namespace', 'kollect-smoke', '--set', 'replicaCount=2');
    expect(stdout).toMatch(/^kind: Deployment$/m);
    expect(stdout).toMatch(/^kind: Service$/m);
    expect(stdout).toMatch(/^\s+replicas: 2$/m);
    expect(stdout).toContain(`name: rel-${name}`);
    expect(stdout).toContain('app.kubernetes.io/instance: rel');
  });
});
