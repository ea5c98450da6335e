// Helpers the end-to-end tests share: kubectl, rendering the samples for this run, and reading
// each sink back with its own client.
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../../api/constants.js';
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
  return kubectlAt(service('kube'), args, input);
}

/** kubectl against another apiserver than the harness's (a second cluster of a fleet test). */
export async function kubectlAt(kube: { kubectl: string; kubeconfig: string }, args: string[], input?: string): Promise<string> {
  const p = exec(kube.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) { p.child.stdin?.end(input); }
  const { stdout } = await p;
  return stdout;
}

/** Labels Secrets as usable by sinks (docs/sinks.md#credentials): a sink refuses a Secret without it. */
export async function optInSinkSecrets(ns: string, names: string[], kube: { kubectl: string; kubeconfig: string } = service('kube')): Promise<void> {
  await kubectlAt(kube, ['-n', ns, 'label', '--overwrite', 'secret', ...names, `${SINK_CREDENTIALS_LABEL}=${SINK_CREDENTIALS_VALUE}`]);
}

export async function installCrds(kube: { kubectl: string; kubeconfig: string } = service('kube')): Promise<void> {
  await kubectlAt(kube, ['apply', '--server-side', '--force-conflicts', '-f', path.join(root, 'deploy', 'crds')]);
  await kubectlAt(kube, ['wait', '--for=condition=Established', '--timeout=60s', ...readdirSync(path.join(root, 'deploy', 'crds')).map((f) => `crd/${f.replace(/^kollect\.dev_/, '').replace(/\.yaml$/, '')}.kollect.dev`)]);
}

/** The fields of the samples that a run points at its own servers. */
export interface SampleDoc {
  kind: string;
  metadata: { name: string };
  spec: {
    type?: string;
    postgres?: { url: string; table?: string; sslMode?: string };
    nats?: { url: string; stream?: string; subjectPrefix?: string };
    git?: { url: string };
    exportMinInterval?: string;
    cluster?: string;
    targetRefs?: { name: string }[];
    secretRef?: { name: string };
    tls?: { caSecretRef?: { name: string } };
  } & Partial<Record<SinkRefField, { name: string }[]>>;
}

/** The inventory's field that references sinks of each kind. */
const SINK_REFS = { KollectSnapshotSink: 'snapshotSinkRefs', KollectDatabaseSink: 'databaseSinkRefs', KollectEventSink: 'eventSinkRefs' } as const;
type SinkRefField = (typeof SINK_REFS)[keyof typeof SINK_REFS];
const isSinkKind = (kind: string): kind is keyof typeof SINK_REFS => Object.hasOwn(SINK_REFS, kind);

/** The sink types the pipeline runs (e2e, recovery, `npm start`, bench) have servers for. */
export const CORE_SINKS: readonly string[] = ['git', 'postgres', 'nats'];

const samplesDir = path.join(root, 'deploy', 'samples');
const parseSample = (file: string): SampleDoc[] =>
  YAML.parseAllDocuments(readFileSync(path.join(samplesDir, file), 'utf8')).map((d) => d.toJS() as SampleDoc).filter(Boolean);

/** `kind/name` of every sample sink whose type is not in `types`, and of the Secrets only those sinks name. */
function unwantedDocs(types: readonly string[]): Set<string> {
  const sinks = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml')).flatMap(parseSample).filter((d) => isSinkKind(d.kind));
  const secretsOf = (d: SampleDoc): string[] => [d.spec.secretRef?.name, d.spec.tls?.caSecretRef?.name].filter((n): n is string => !!n);
  const wanted = sinks.filter((d) => types.includes(d.spec.type ?? ''));
  const kept = new Set(wanted.flatMap(secretsOf));
  const dropped = sinks.filter((d) => !wanted.includes(d));
  return new Set([
    ...dropped.map((d) => `${d.kind}/${d.metadata.name}`),
    ...dropped.flatMap(secretsOf).filter((n) => !kept.has(n)).map((n) => `Secret/${n}`),
  ]);
}

/**
 * The samples under deploy/samples, with each document edited by `edit`, written to a temp dir.
 * `sinks` keeps only sinks of those types: the others' documents (and the Secrets only they name)
 * are dropped and the inventory no longer references them (it references every sample sink).
 */
export function renderSamples(files: string[], edit: (doc: SampleDoc) => void, opts: { sinks?: readonly string[] } = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-samples-'));
  const unwanted = opts.sinks ? unwantedDocs(opts.sinks) : new Set<string>();
  for (const f of files) {
    const docs = parseSample(f).filter((d) => !unwanted.has(`${d.kind}/${d.metadata.name}`));
    for (const d of docs) {
      if (d.kind !== 'KollectInventory') continue;
      for (const [kind, field] of Object.entries(SINK_REFS)) d.spec[field] = d.spec[field]?.filter((r) => !unwanted.has(`${kind}/${r.name}`));
    }
    for (const d of docs) edit(d);
    if (docs.length) writeFileSync(path.join(dir, f), docs.map((d) => YAML.stringify(d)).join('---\n'));
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
  // Another test file may have the shared nats-server stopped for a moment (its outage test): wait for it.
  const nc: NatsConnection = await connect({ servers: service('nats').url, waitOnFirstConnect: true, timeout: 30_000 });
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
