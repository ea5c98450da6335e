// Helpers the end-to-end tests share: kubectl, rendering the samples for this run, and reading
// each sink back with its own client.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import YAML from 'yaml';
import { service } from '../harness/endpoints.js';
import { root } from './process.js';

const exec = promisify(execFile);

export async function kubectl(args: string[], input?: string): Promise<string> {
  const kube = service('kube');
  const p = exec(kube.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) { p.child.stdin?.end(input); }
  const { stdout } = await p;
  return stdout;
}

export async function installCrds(): Promise<void> {
  await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(root, 'deploy', 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...readdirSync(path.join(root, 'deploy', 'crds')).map((f) => `crd/${f.replace(/^kollect\.dev_/, '').replace(/\.yaml$/, '')}.kollect.dev`)]);
}

/** The fields of the samples that a run points at its own servers. */
export interface SampleDoc {
  kind: string;
  spec: {
    postgres?: { url: string; table?: string };
    nats?: { url: string; stream?: string; subjectPrefix?: string };
    git?: { url: string };
    exportMinInterval?: string;
    cluster?: string;
    targetRefs?: { name: string }[];
  };
}

/** The samples under deploy/samples, with each document edited by `edit`, written to a temp dir. */
export function renderSamples(files: string[], edit: (doc: SampleDoc) => void): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-samples-'));
  for (const f of files) {
    const docs = YAML.parseAllDocuments(readFileSync(path.join(root, 'deploy', 'samples', f), 'utf8')).map((d) => d.toJS() as SampleDoc).filter(Boolean);
    for (const d of docs) edit(d);
    writeFileSync(path.join(dir, f), docs.map((d) => YAML.stringify(d)).join('---\n'));
  }
  return dir;
}

export async function pgQuery<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: service('postgres').url });
  await c.connect();
  try { return (await c.query<T>(sql, params)).rows; } finally { await c.end(); }
}

export interface NatsEvent { type: string; name: string; uid: string; namespace: string; version: number; msgId: string }

/** Every event on the stream, read with an ephemeral ordered consumer. */
export async function natsEvents(stream: string): Promise<NatsEvent[]> {
  const nc: NatsConnection = await connect({ servers: service('nats').url });
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream).catch(() => undefined);
    if (!info || info.state.messages === 0) return [];
    const consumer = await js.consumers.get(stream);
    const out: NatsEvent[] = [];
    const msgs = await consumer.fetch({ max_messages: info.state.messages, expires: 5000 });
    for await (const m of msgs) {
      const body = m.json<Omit<NatsEvent, 'msgId'>>();
      out.push({ ...body, msgId: m.headers?.get('Nats-Msg-Id') ?? '' });
      if (out.length >= info.state.messages) break;
    }
    return out;
  } finally { await nc.close(); }
}

/** Files at `main` in a bare repository, and its commit count. */
export async function gitTree(bareDir: string): Promise<{ files: string[]; commits: number; head: string }> {
  const run = async (args: string[]) => (await exec('git', ['--git-dir', bareDir, ...args])).stdout;
  const heads = await run(['for-each-ref', '--format=%(refname)', 'refs/heads/main']);
  if (!heads.trim()) return { files: [], commits: 0, head: '' };
  const files = (await run(['ls-tree', '-r', '--name-only', 'main'])).split('\n').filter(Boolean);
  const commits = Number((await run(['rev-list', '--count', 'main'])).trim());
  const head = (await run(['log', '-1', '--format=%s', 'main'])).trim();
  return { files, commits, head };
}

export async function gitShow(bareDir: string, file: string): Promise<string> {
  return (await exec('git', ['--git-dir', bareDir, 'show', `main:${file}`])).stdout;
}
