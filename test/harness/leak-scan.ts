// After a whole run: is any credential the harness made anywhere a user or a sink could see it?
// Every harness credential (passwords, tokens, secret keys) carries the run's canary
// (Endpoints.canary), and the tests' sink Secrets hold those credentials, so the operator really
// uses them. The scan reads what Kollect writes or shows — the operators' logs, the Kollect CRs'
// status and Kubernetes events (as they are now, and every write of them during the run from the
// apiserver's audit log), every sink's contents (Postgres tables, git objects, the NATS, Kafka,
// S3, GCS, BigQuery and MongoDB data directories) and every Temporal history (payloads decoded:
// gzip, claim-checked blobs) — for the canary and for the encodings of each credential. It does not
// read where credentials rightly live: etcd (the Secrets themselves), the harness's own files.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import proto from '@temporalio/proto';
import { Connection } from '@temporalio/client';
import { OPERATOR_LOGS_DIR, type Endpoints } from './endpoints.js';
import { tools } from './tools.js';
import { KUBE_AUDIT_LOG } from './services/kube.js';

const exec = promisify(execFile);
const ProtoPayload = proto.temporal.api.common.v1.Payload;

/** Service directories whose files are sink contents, scanned as raw bytes. */
const DATA_DIRS = ['nats', 'kafka', 's3', 'gcs', 'bigquery', 'mongodb', OPERATOR_LOGS_DIR];

export interface Needle { label: string; text: string }
export interface Finding { where: string; needle: string; excerpt: string }
export interface LeakReport { findings: Finding[]; scanned: string[]; unreadable: string[] }

/** What to look for: the canary, and each credential as it is and as an encoding would show it. */
export function needles(e: Pick<Endpoints, 'canary' | 'postgres' | 'git' | 'gitlab' | 's3'>): Needle[] {
  const out: Needle[] = [{ label: 'canary', text: e.canary }];
  const add = (label: string, v: string | undefined): void => {
    if (!v) return;
    out.push({ label: `${label} base64`, text: Buffer.from(v).toString('base64') },
      { label: `${label} base64url`, text: Buffer.from(v).toString('base64url') },
      { label: `${label} percent-encoded`, text: encodeURIComponent(v).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()) });
  };
  add('postgres password', e.postgres?.password);
  add('git password', e.git?.password);
  if (e.git) add('git basic credentials', `${e.git.username}:${e.git.password}`);
  add('gitlab token', e.gitlab?.token);
  add('s3 secret key', e.s3?.secretAccessKey);
  // Percent-encoding of a value without reserved characters is the value: already the canary.
  return out.filter((n, i, all) => all.findIndex((m) => m.text === n.text) === i && n.text.length >= 8);
}

/** Every place in `text` a needle occurs, with the needle masked in the excerpt. */
export function find(where: string, text: string, ns: readonly Needle[]): Finding[] {
  const out: Finding[] = [];
  for (const n of ns) {
    const at = text.indexOf(n.text);
    if (at < 0) continue;
    const excerpt = text.slice(Math.max(0, at - 80), at + n.text.length + 80).split(n.text).join(`[${n.label}]`).replace(/[^\x20-\x7e]/g, '.');
    out.push({ where, needle: n.label, excerpt });
  }
  return out;
}

/**
 * The texts a byte string may carry: itself, its gunzipped content, and a Temporal payload's data
 * and metadata (recursively: Kollect's payloads are gzip of an encoded payload).
 */
export function bytesTexts(bytes: Uint8Array, depth = 0): string[] {
  const out = [Buffer.from(bytes).toString('latin1')];
  if (depth > 3) return out;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try { out.push(...bytesTexts(gunzipSync(bytes), depth + 1)); } catch { /* not gzip after all */ }
  }
  try {
    const p = ProtoPayload.decode(bytes);
    if (p.data?.length) out.push(...bytesTexts(p.data, depth + 1));
    for (const v of Object.values(p.metadata ?? {})) out.push(Buffer.from(v).toString('latin1'));
  } catch { /* not a payload */ }
  return out;
}

/** Strings and byte strings anywhere in a decoded proto message or JSON value. */
function walkTexts(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (v instanceof Uint8Array) out.push(...bytesTexts(v));
  else if (Array.isArray(v)) for (const x of v) walkTexts(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) walkTexts(x, out);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
}

function scanFiles(e: Endpoints, ns: readonly Needle[], r: LeakReport): void {
  const audit = path.join(e.runDir, 'kube', KUBE_AUDIT_LOG);
  if (existsSync(audit)) {
    r.findings.push(...find('kube-apiserver audit log (Kollect objects and events written during the run)', readFileSync(audit, 'utf8'), ns));
    r.scanned.push('kube audit log');
  }
  for (const d of DATA_DIRS) {
    const files = filesUnder(path.join(e.runDir, d));
    for (const f of files) {
      if (statSync(f).size > 512 * 1024 * 1024) continue;
      r.findings.push(...find(path.relative(e.runDir, f), readFileSync(f).toString('latin1'), ns));
    }
    if (files.length) r.scanned.push(`${d}: ${files.length} files`);
  }
}

async function scanKube(e: Endpoints, ns: readonly Needle[], r: LeakReport): Promise<void> {
  if (!e.kube) return;
  for (const what of ['kollect', 'events']) {
    const { stdout } = await exec(e.kube.kubectl, ['--kubeconfig', e.kube.kubeconfig, 'get', what, '-A', '-o', 'json'], { maxBuffer: 1024 * 1024 * 1024 });
    r.findings.push(...find(`kubectl get ${what} -A`, stdout, ns));
    r.scanned.push(`kubernetes ${what}: ${(JSON.parse(stdout) as { items: unknown[] }).items.length} objects`);
  }
}

async function scanPostgres(e: Endpoints, ns: readonly Needle[], r: LeakReport): Promise<void> {
  if (!e.postgres) return;
  const admin = new pg.Client({ connectionString: e.postgres.url });
  await admin.connect();
  const dbs = (await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE NOT datistemplate')).rows.map((x) => x.datname);
  await admin.end();
  for (const db of dbs) {
    const url = new URL(e.postgres.url);
    url.pathname = `/${db}`;
    const { stdout } = await exec(tools.postgresBin('pg_dump'), ['--data-only', '--dbname', url.toString()], { maxBuffer: 2 * 1024 * 1024 * 1024 });
    r.findings.push(...find(`postgres ${db} (pg_dump)`, stdout, ns));
    // bytea columns (claim-checked payloads): decoded, since a dump shows them as hex.
    const c = new pg.Client({ connectionString: url.toString() });
    await c.connect();
    try {
      const cols = (await c.query<{ s: string; t: string; c: string }>(`SELECT table_schema AS s, table_name AS t, column_name AS c FROM information_schema.columns WHERE data_type = 'bytea' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)).rows;
      for (const col of cols) {
        const rows = (await c.query<{ v: Buffer }>(`SELECT ${pg.escapeIdentifier(col.c)} AS v FROM ${pg.escapeIdentifier(col.s)}.${pg.escapeIdentifier(col.t)}`)).rows;
        for (const row of rows) if (row.v) for (const t of bytesTexts(row.v)) r.findings.push(...find(`postgres ${db} ${col.s}.${col.t}.${col.c}`, t, ns));
      }
    } finally { await c.end(); }
    r.scanned.push(`postgres database ${db}`);
  }
}

async function scanGit(e: Endpoints, ns: readonly Needle[], r: LeakReport): Promise<void> {
  if (!e.git) return;
  const repos = readdirSync(e.git.reposDir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name.endsWith('.git')).map((d) => path.join(d.parentPath, d.name));
  for (const repo of repos) {
    const { stdout } = await exec('git', ['-C', repo, 'cat-file', '--batch-all-objects', '--batch'], { maxBuffer: 2 * 1024 * 1024 * 1024, encoding: 'latin1' });
    r.findings.push(...find(`git ${path.relative(e.git.reposDir, repo)}`, stdout, ns));
  }
  r.scanned.push(`git: ${repos.length} repositories`);
}

async function scanTemporal(e: Endpoints, ns: readonly Needle[], r: LeakReport): Promise<void> {
  if (!e.temporal) return;
  const conn = await Connection.connect({ address: e.temporal.address });
  try {
    const svc = conn.workflowService;
    const namespaces = (await svc.listNamespaces({ pageSize: 1000 })).namespaces.map((n) => n.namespaceInfo?.name ?? '').filter((n) => n && n !== 'temporal-system');
    let histories = 0;
    for (const namespace of namespaces) {
      let token: Uint8Array | undefined;
      do {
        const page = await svc.listWorkflowExecutions({ namespace, pageSize: 500, nextPageToken: token });
        for (const ex of page.executions) {
          let ht: Uint8Array | undefined;
          do {
            const h = await svc.getWorkflowExecutionHistory({ namespace, execution: ex.execution, nextPageToken: ht });
            const texts: string[] = [];
            walkTexts(h.history?.events ?? [], texts);
            for (const t of texts) r.findings.push(...find(`temporal ${namespace} ${ex.execution?.workflowId ?? ''}`, t, ns));
            ht = h.nextPageToken?.length ? h.nextPageToken : undefined;
          } while (ht);
          histories++;
        }
        token = page.nextPageToken?.length ? page.nextPageToken : undefined;
      } while (token);
    }
    r.scanned.push(`temporal: ${histories} histories in ${namespaces.length} namespaces`);
  } finally { await conn.close(); }
}

/** Scans everything the run's services hold; sources that cannot be read are listed, not hidden. */
export async function scanForLeaks(e: Endpoints): Promise<LeakReport> {
  const ns = needles(e);
  const r: LeakReport = { findings: [], scanned: [], unreadable: [] };
  const sources: [string, () => Promise<void>][] = [
    ['files', () => Promise.resolve(scanFiles(e, ns, r))], ['kubernetes', () => scanKube(e, ns, r)], ['postgres', () => scanPostgres(e, ns, r)],
    ['git', () => scanGit(e, ns, r)], ['temporal', () => scanTemporal(e, ns, r)],
  ];
  for (const [name, scan] of sources) {
    try { await scan(); } catch (err) { r.unreadable.push(`${name}: ${(err as Error).message.split('\n')[0]}`); }
  }
  return r;
}
