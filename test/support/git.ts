// Helpers for tests that talk to the harness's git server: bare repos, and clients that
// trust only the per-run CA and send the per-run credentials.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { service } from '../harness/endpoints.js';

export interface BareRepo {
  /** Path under the repos root, without `.git`, e.g. `repo-1a2b3c4d` or `group/app`. */
  name: string;
  /** Clone URL without credentials: <baseUrl>/<name>.git */
  url: string;
  /** The bare repository on disk. */
  dir: string;
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*$/;

export function repoUrl(name: string): string {
  return `${service('git').baseUrl}/${name}.git`;
}

/** `Authorization` header value for the per-run user. */
export function basicAuth(username = service('git').username, password = service('git').password): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * Per-invocation git config (`-c` pairs) for a client of the harness server: the per-run CA as the
 * only trust anchor (sslCAPath is the CA's own directory, so the system store is not consulted),
 * credentials as a header (so clone URLs and .git/config stay secret-free), and a commit identity.
 */
export function gitConfig(opts: { ca?: boolean; auth?: boolean | { username: string; password: string } } = {}): string[] {
  const ep = service('git');
  const cfg = ['user.name=Kollect Test', 'user.email=kollect-test@example.invalid', 'init.defaultBranch=main', 'credential.interactive=false'];
  if (opts.ca ?? true) cfg.push(`http.sslCAInfo=${ep.caFile}`, `http.sslCAPath=${path.dirname(ep.caFile)}`);
  const auth = opts.auth ?? true;
  if (auth) {
    const header = auth === true ? basicAuth() : basicAuth(auth.username, auth.password);
    cfg.push(`http.extraHeader=Authorization: ${header}`);
  }
  return cfg;
}

/**
 * Environment for spawning the git CLI (or anything that execs git) against the harness server:
 * gitConfig() via GIT_CONFIG_COUNT, and ambient GIT_SSL_* / GIT_CONFIG_* dropped so nothing
 * (e.g. GIT_SSL_NO_VERIFY, GIT_SSL_CAINFO) can override the trust settings.
 */
export function gitEnv(base: NodeJS.ProcessEnv = process.env, opts?: Parameters<typeof gitConfig>[0]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v === undefined || /^GIT_(SSL_|CONFIG|DIR$|WORK_TREE$|INDEX_FILE$|ASKPASS$)/.test(k)) continue;
    env[k] = v;
  }
  const cfg = gitConfig(opts);
  cfg.forEach((kv, i) => {
    const eq = kv.indexOf('=');
    env[`GIT_CONFIG_KEY_${i}`] = kv.slice(0, eq);
    env[`GIT_CONFIG_VALUE_${i}`] = kv.slice(eq + 1);
  });
  env.GIT_CONFIG_COUNT = String(cfg.length);
  env.GIT_TERMINAL_PROMPT = '0';
  env.GIT_CONFIG_NOSYSTEM = '1';
  return env;
}

/** A simple-git client for `baseDir` configured by gitConfig(). */
export function gitClient(baseDir?: string, opts?: Parameters<typeof gitConfig>[0]): SimpleGit {
  return simpleGit({ baseDir, config: gitConfig(opts) });
}

/** Runs the git CLI with gitEnv(); resolves stdout, rejects with stderr in the message. */
export function gitCli(args: string[], opts: { cwd?: string; env?: Parameters<typeof gitConfig>[0] } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd: opts.cwd, env: gitEnv(process.env, opts.env), maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Runs git directly on a bare repo on disk (no network), e.g. to check what a push left there. */
export function bareGit(dir: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['--git-dir', dir, ...args], { env: gitEnv(process.env, { ca: false, auth: false }) }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git --git-dir ${dir} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Creates an empty bare repo served at <baseUrl>/<name>.git (default branch main, pushes allowed). */
export async function createBareRepo(name = `repo-${randomUUID().slice(0, 8)}`): Promise<BareRepo> {
  if (!NAME.test(name) || name.split('/').some((s) => s === '..' || s.endsWith('.git'))) {
    throw new Error(`invalid repo name "${name}": use letters, digits, . _ - and / between segments, no .git suffix`);
  }
  const dir = path.join(service('git').reposDir, `${name}.git`);
  await new Promise<void>((resolve, reject) => {
    execFile('git', ['init', '--bare', '--quiet', '--initial-branch=main', dir], { env: gitEnv(process.env, { ca: false, auth: false }) }, (err, _o, stderr) => {
      if (err) reject(new Error(`git init --bare ${dir}: ${stderr || err.message}`));
      else resolve();
    });
  });
  await bareGit(dir, ['config', 'http.receivepack', 'true']);
  return { name, url: repoUrl(name), dir };
}
