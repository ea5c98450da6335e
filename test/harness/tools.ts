// Where provision.sh put each pinned binary. Versions come from versions.env, the one place they live.
import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const versions: Record<string, string> = Object.fromEntries(
  readFileSync(path.join(here, 'versions.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => l.split('=') as [string, string]),
);

function v(key: string): string {
  const value = versions[key];
  if (!value) throw new Error(`versions.env has no ${key}`);
  return value;
}

export const cacheDir = process.env.KOLLECT_CACHE ?? path.join(homedir(), '.cache', 'kollect');

function bin(id: string, rel: string, provisionName: string): string {
  const p = path.join(cacheDir, id, rel);
  if (!existsSync(path.join(cacheDir, id, '.ok')) || !existsSync(p)) {
    throw new Error(`${rel} (${id}) is not provisioned; run: bash test/harness/provision.sh ${provisionName}`);
  }
  return p;
}

export const tools = {
  kubeApiserver: () => bin(`kube-apiserver-${v('KUBERNETES_VERSION')}`, 'kube-apiserver', 'kubernetes'),
  etcd: () => bin(`etcd-${v('ETCD_VERSION')}`, 'etcd', 'etcd'),
  kubectl: () => bin(`kubectl-${v('KUBECTL_PYPI_VERSION')}`, 'venv/bin/kubectl', 'kubectl'),
  temporal: () => bin(`temporal-${v('TEMPORAL_PYPI_VERSION')}`, 'venv/bin/temporal', 'temporal'),
  natsServer: () => bin(`nats-server-${v('NATS_PYPI_VERSION')}`, 'venv/bin/nats-server', 'nats'),
  kafkaLibs: () => bin(`kafka-${v('KAFKA_VERSION')}`, 'libs', 'kafka'),
  ferretdb: () => bin(`ferretdb-${v('FERRETDB_VERSION')}`, 'ferretdb', 'ferretdb'),
  versitygw: () => bin(`versitygw-${v('VERSITYGW_VERSION')}`, 'versitygw', 'versitygw'),
  fakeGcs: () => bin(`fake-gcs-server-${v('FAKE_GCS_VERSION')}`, 'fake-gcs-server', 'fake_gcs'),
  bqemulator: () => bin(`bqemulator-${v('BQEMULATOR_PYPI_VERSION')}`, 'venv/bin/bqemulator', 'bigquery'),
  pyarrowPython: () => bin(`pyarrow-${v('PYARROW_PYPI_VERSION')}`, 'venv/bin/python', 'pyarrow'),
  helm: () => bin(`helm-${v('HELM_VERSION')}`, 'helm', 'helm'),
  temporalServer: () => bin(`temporal-server-${v('TEMPORAL_SERVER_VERSION')}`, 'temporal-server', 'temporal_server'),
  temporalSqlTool: () => bin(`temporal-server-${v('TEMPORAL_SERVER_VERSION')}`, 'temporal-sql-tool', 'temporal_server'),
  postgresBin: (name: string) => {
    const p = `/usr/lib/postgresql/${v('POSTGRES_MAJOR')}/bin/${name}`;
    if (!existsSync(p)) throw new Error(`${p} missing; run: bash test/harness/provision.sh apt`);
    return p;
  },
};
