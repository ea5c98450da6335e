// Git over HTTPS: an in-process https server that runs `git http-backend` as CGI per request,
// behind HTTP Basic auth with per-run credentials and a serving cert from a CA made per run.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ServiceDef, Running } from '../service.js';
import { issueServerCert, makeCa } from '../pki.js';
import { freePort, httpsGet, waitFor } from '../util.js';

// Not util.run(): its stdin write can EPIPE (unhandled) when the child exits first.
export const execFileP = promisify(execFile);

export interface Restartable { stop(): Promise<void>; start(): Promise<void> }

/** Listens on `port`; stop() drops every connection, start() listens again on the same port. */
export async function restartable(server: http.Server | https.Server, port: number): Promise<Restartable> {
  const start = () => new Promise<void>((resolve, reject) => {
    if (server.listening) { resolve(); return; }
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const stop = () => new Promise<void>((resolve) => {
    if (!server.listening) { resolve(); return; }
    server.close(() => resolve());
    server.closeAllConnections(); // keep-alive sockets would otherwise hold close() open
  });
  await start();
  return { start, stop };
}

const sha = (s: string) => createHash('sha256').update(s).digest();
/** Constant-time check of an `Authorization: Basic` header; returns the user on success. */
export function checkBasic(header: string | undefined, username: string, password: string): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  const [u, p] = [decoded.slice(0, i), decoded.slice(i + 1)];
  const ok = timingSafeEqual(sha(u), sha(username)) && timingSafeEqual(sha(p), sha(password));
  return ok ? u : undefined;
}

interface BackendOpts { reposDir: string; home: string; username: string; password: string; log: WriteStream }

function logLine(log: WriteStream, req: http.IncomingMessage, pathname: string, status: number, user: string, t0: number): void {
  log.write(`${new Date().toISOString()} ${req.method} ${pathname} ${status} user=${user || '-'} ${Date.now() - t0}ms\n`);
}

/** Splits CGI output headers from the body; accepts CRLF or LF line ends. */
function headerEnd(buf: Buffer): [number, number] | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return [crlf, crlf + 4];
  if (lf >= 0) return [lf, lf + 2];
  return undefined;
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, o: BackendOpts): void {
  const t0 = Date.now();
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  const pathname = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? '' : raw.slice(q + 1);
  const user = checkBasic(req.headers.authorization, o.username, o.password);
  const finish = (status: number, body: string, headers: Record<string, string> = {}) => {
    req.resume(); // drain any request body so keep-alive stays usable
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }).end(body);
    logLine(o.log, req, pathname, status, user ?? '', t0);
  };
  if (!user) { finish(401, 'Unauthorized\n', { 'WWW-Authenticate': 'Basic realm="kollect-git"' }); return; }
  let pathInfo: string;
  try { pathInfo = decodeURIComponent(pathname.slice('/git'.length)); } catch { finish(400, 'bad path\n'); return; }
  if (!pathname.startsWith('/git/') || pathInfo.includes('\0') || pathInfo.split('/').includes('..')) { finish(404, 'Not Found\n'); return; }

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: o.home, // private global config (receivepack, safe.directory); nothing from the caller's ~/.gitconfig
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_PROJECT_ROOT: o.reposDir,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
  };
  // Without CONTENT_LENGTH http-backend reads stdin to EOF, which is what a chunked body needs.
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  // http-backend inflates gzip'd bodies itself when told the encoding.
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  const proto = req.headers['git-protocol'];
  if (typeof proto === 'string') env.HTTP_GIT_PROTOCOL = proto; // protocol v2 negotiation

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let status = 0;
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = headerEnd(head);
    if (!end) return;
    child.stdout.off('data', onData);
    child.stdout.pause();
    status = 200;
    for (const line of head.subarray(0, end[0]).toString('latin1').split(/\r?\n/)) {
      const c = line.indexOf(':');
      if (c < 0) continue;
      const name = line.slice(0, c).trim();
      const value = line.slice(c + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
      else res.appendHeader(name, value);
    }
    res.writeHead(status);
    res.write(head.subarray(end[1]));
    child.stdout.pipe(res);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', (d: Buffer) => o.log.write(`  http-backend: ${d.toString().trimEnd()}\n`));
  child.stdin.on('error', () => { /* backend may exit before reading the whole body */ });
  child.on('error', (err) => { if (!status) { status = 500; res.writeHead(500).end(`spawn failed: ${err.message}\n`); } });
  child.on('close', (code) => {
    if (!status) { status = 502; res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`http-backend exited ${code} without headers\n`); }
  });
  res.on('close', () => {
    if (child.exitCode === null && !res.writableFinished) child.kill('SIGKILL'); // client went away
    logLine(o.log, req, pathname, status || res.statusCode, user, t0);
  });
  req.pipe(child.stdin);
}

export const git: ServiceDef<'git'> = {
  name: 'git',
  async start(ctx): Promise<Running<'git'>> {
    const dir = path.join(ctx.runDir, 'git');
    const reposDir = path.join(dir, 'repos');
    const home = path.join(dir, 'home');
    for (const d of [reposDir, home, path.join(dir, 'tls')]) mkdirSync(d, { recursive: true });
    // Pushes are enabled for every repo, including ones created without createBareRepo().
    writeFileSync(path.join(home, '.gitconfig'), '[http]\n\treceivepack = true\n[safe]\n\tdirectory = *\n');
    // CA alone in its directory, so clients can also point http.sslCAPath at it and trust nothing else.
    const pki = await makeCa(path.join(dir, 'ca'), 'kollect-git-ca');
    const [crt, key] = await issueServerCert({ ...pki, dir: path.join(dir, 'tls') }, 'git');
    const logFile = path.join(dir, 'git.log');
    const log = createWriteStream(logFile, { flags: 'a' });
    const username = `kollect-${randomBytes(4).toString('hex')}`;
    const password = ctx.secret('git');
    const version = (await execFileP('git', ['--version'])).stdout.trim();

    const server = https.createServer({ cert: readFileSync(crt), key: readFileSync(key) },
      (req, res) => handle(req, res, { reposDir, home, username, password, log }));
    const port = await freePort();
    const endpoint = { baseUrl: `https://127.0.0.1:${port}/git`, caFile: pki.caCert, username, password, reposDir };
    const auth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    // Ready once TLS verifies against the per-run CA and auth passes (http-backend 404s the bare root).
    const ready = () => waitFor('git', async () => (await httpsGet(`${endpoint.baseUrl}/`, pki.caCert, { authorization: auth })).status === 404, 10_000);
    const listener = await restartable(server, port);
    await ready();
    return {
      endpoint, version, logFile,
      stop: () => listener.stop(),
      async start() { await listener.start(); await ready(); },
    };
  },
};
