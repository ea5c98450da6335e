// The operator image, built without a container engine (scripts/build-image.ts), is a valid OCI
// image layout whose layers, unpacked into a root of their own, run the operator: its entrypoint
// under chroot as user 10001, with only what the image holds (Node 24, the production
// dependencies, dist/, git and their libraries; no shell) becomes ready against the real
// apiserver, Temporal and Postgres, then stops cleanly on SIGTERM.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { root } from '../support/process.js';
import { installCrds } from '../support/e2e.js';
import { buildImage, ENTRYPOINT, NODE_VERSION } from '../../scripts/build-image.js';

// Absolute: the environment given to chroot is the image's, whose PATH has no sbin.
const CHROOT = '/usr/sbin/chroot';

interface Descriptor { digest: string; size: number; mediaType: string }
interface ImageConfig { config: { User: string; Entrypoint: string[]; Env: string[]; WorkingDir: string }; rootfs: { diff_ids: string[] } }

describe('operator image (OCI layout, no container engine)', () => {
  let dir: string;
  let rootfs: string;
  let config: ImageConfig;
  let op: ChildProcess | undefined;
  let procMounted = false;
  const blob = (digest: string): Buffer => readFileSync(path.join(dir, 'layout', 'blobs', 'sha256', digest.replace('sha256:', '')));
  const inImage = (...args: string[]): string => execFileSync(CHROOT, ['--userspec=10001:10001', rootfs, ...args], { encoding: 'utf8', env: { PATH: '/usr/local/bin:/usr/bin:/bin' } }).trim();

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-image-test-'));
    buildImage(path.join(dir, 'layout'), 'test');
  }, 400_000);
  afterAll(() => {
    op?.kill('SIGKILL');
    if (procMounted) execFileSync('umount', [path.join(rootfs, 'proc')]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is an OCI layout whose blobs match their digests, with the Dockerfile\'s entrypoint and user', () => {
    const index = JSON.parse(readFileSync(path.join(dir, 'layout', 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations: Record<string, string> })[] };
    expect(index.manifests[0]!.annotations['org.opencontainers.image.ref.name']).toBe('test');
    const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [index.manifests[0]!, manifest.config, ...manifest.layers]) {
      const data = blob(d.digest);
      expect(`sha256:${createHash('sha256').update(data).digest('hex')}`).toBe(d.digest);
      expect(data.length).toBe(d.size);
    }
    config = JSON.parse(blob(manifest.config.digest).toString()) as ImageConfig;
    expect(config.config.Entrypoint).toEqual(ENTRYPOINT);
    expect(JSON.parse(/^ENTRYPOINT (.+)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))![1]!)).toEqual(ENTRYPOINT);
    expect(config.config.User).toBe('10001:10001');

    // Unpack the layers in order, each checked against its diff_id.
    rootfs = path.join(dir, 'rootfs');
    mkdirSync(rootfs);
    manifest.layers.forEach((l, i) => {
      const tar = execFileSync('gzip', ['-dc'], { input: blob(l.digest), maxBuffer: 2 * 1024 * 1024 * 1024 });
      expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(config.rootfs.diff_ids[i]);
      execFileSync('tar', ['-x', '--numeric-owner', '-C', rootfs], { input: tar, maxBuffer: 2 * 1024 * 1024 * 1024 });
    });
    // What a container runtime gives every container: device nodes and /proc.
    mkdirSync(path.join(rootfs, 'dev'));
    for (const [name, minor] of [['null', 3], ['zero', 5], ['random', 8], ['urandom', 9]] as const) {
      execFileSync('mknod', ['-m', '666', path.join(rootfs, 'dev', name), 'c', '1', String(minor)]);
    }
    mkdirSync(path.join(rootfs, 'proc'));
    execFileSync('mount', ['-t', 'proc', 'proc', path.join(rootfs, 'proc')]);
    procMounted = true;
  });

  it('holds Node 24 and git, and no shell', () => {
    expect(inImage('node', '--version')).toBe(`v${NODE_VERSION}`);
    expect(inImage('git', '--version')).toMatch(/^git version \d/);
    for (const sh of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/bash', 'bin/dash', 'usr/bin/dash']) expect(existsSync(path.join(rootfs, sh)), sh).toBe(false);
  });

  it('runs its entrypoint: ready against the real apiserver, Temporal and Postgres, then stops on SIGTERM', async () => {
    await installCrds();
    cpSync(service('kube').kubeconfig, path.join(rootfs, 'tmp', 'kubeconfig'));
    execFileSync('chown', ['10001:10001', path.join(rootfs, 'tmp', 'kubeconfig')]);
    const port = await freePort();
    const queue = `image-${randomBytes(3).toString('hex')}`;
    const env = Object.fromEntries(config.config.Env.map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string]));
    let output = '';
    op = spawn(CHROOT, ['--userspec=10001:10001', rootfs, ...config.config.Entrypoint], {
      cwd: rootfs,
      env: { ...env, HOME: '/tmp', KUBECONFIG: '/tmp/kubeconfig', TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_STORE_URL: service('postgres').url,
        KOLLECT_HTTP_PORT: String(port), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_TASK_QUEUE: queue, KOLLECT_WATCH_NAMESPACES: queue },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    op.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    op.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise<number | null>((r) => op!.once('exit', (code) => r(code)));
    const explain = (): void => { console.log(output.slice(-4000)); };
    try {
      await waitFor('the image\'s operator /readyz', async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 60_000, () => op?.exitCode === null);
    } catch (err) {
      explain();
      throw err;
    }
    const events = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { event: string; codePath?: string });
    // The prebuilt workflow bundle is used: no webpack at start.
    expect(events.find((e) => e.event === 'workflow_bundle')?.codePath).toBe('/app/dist/workflow-bundle.js');
    op.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) explain();
    expect(code).toBe(0);
    op = undefined;
  }, 120_000);
});
