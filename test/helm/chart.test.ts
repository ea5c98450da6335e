// The Helm chart on the real apiserver: it lints; every documented values combination renders
// what it says and is accepted by a server-side dry-run; it installs and upgrades into a fresh
// namespace (no kubelet here, so no pod ever runs: the release and its objects are checked); and
// the chart's contract: the Temporal and operator processes run with exactly the command,
// arguments and environment the chart renders (service names mapped to the harness's loopback
// servers, container paths to temp dirs) and export an inventory end to end.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { root, runEntry, type Child } from '../support/process.js';
import { tools } from '../harness/tools.js';
import { Connection } from '@temporalio/client';
import { installCrds, kubectl, pgQuery, renderSamples, optInSinkSecrets } from '../support/e2e.js';

const exec = promisify(execFile);
const CHART = path.join(root, 'deploy', 'helm', 'kollect');
const id = randomBytes(3).toString('hex');

interface Env { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }
interface Container { name: string; image: string; command?: string[]; args?: string[]; env?: Env[]; volumeMounts?: { name: string; mountPath: string }[]; securityContext?: Record<string, unknown>; readinessProbe?: { httpGet?: { path: string } }; livenessProbe?: { httpGet?: { path: string } } }
interface PodSpec { containers: Container[]; securityContext?: Record<string, unknown>; volumes?: { name: string; emptyDir?: unknown }[] }
interface Obj {
  apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: { replicas?: number; template?: { spec: PodSpec }; rules?: unknown[] } & Record<string, unknown>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  stringData?: Record<string, string>; data?: Record<string, string>;
}

let dir: string;
let helmEnv: NodeJS.ProcessEnv;
async function helm(...args: string[]): Promise<string> {
  const kube = service('kube');
  const { stdout } = await exec(service('helm').bin, [...args, '--kubeconfig', kube.kubeconfig], { env: helmEnv, timeout: 60_000, maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

/** Values written to a file, for `helm template|install|upgrade -f`. */
function valuesFile(name: string, values: object): string {
  const f = path.join(dir, `${name}.yaml`);
  writeFileSync(f, YAML.stringify(values));
  return f;
}

async function render(release: string, namespace: string, values: object): Promise<{ text: string; objects: Obj[] }> {
  const text = await helm('template', release, CHART, '--namespace', namespace, '-f', valuesFile(`${release}-${namespace}`, values));
  const objects = YAML.parseAllDocuments(text).map((d) => d.toJS() as Obj).filter(Boolean);
  return { text, objects };
}
const find = (objects: Obj[], kind: string, name: string): Obj => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
};
const container = (o: Obj): Container => o.spec!.template!.spec.containers[0]!;

/** A container's environment as the kubelet would give it: values, and secretKeyRefs resolved from the rendered Secrets. */
function resolveEnv(c: Container, objects: Obj[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const s = find(objects, 'Secret', ref.name);
      env[e.name] = s.stringData?.[ref.key] ?? Buffer.from(s.data?.[ref.key] ?? '', 'base64').toString();
    } else {
      env[e.name] = e.value ?? '';
    }
  }
  return env;
}

const COMBINATIONS: Record<string, object> = {
  embedded: { networkPolicy: { enabled: true } },
  'embedded-dev': { temporal: { embedded: { kind: 'dev' } } },
  'external-temporal-tls': {
    temporal: { mode: 'external', namespace: 'kollect-prod', external: {
      address: 'temporal.example.com:7233',
      tls: { serverName: 'temporal.example.com', caSecret: { name: 'temporal-ca', key: 'ca.crt' }, clientCertSecret: { name: 'temporal-client' } },
      apiKeySecret: { name: 'temporal-api-key', key: 'key' } } },
  },
  'external-store': {
    temporal: { embedded: { kind: 'dev' } },
    store: { mode: 'external', external: { existingSecret: { name: 'kollect-db', key: 'url' } } },
    endpoints: { allow: ['private'], clusterCidrs: ['10.0.0.0/16', '10.96.0.0/12'] },
  },
  monitoring: {
    metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } }, grafanaDashboard: { enabled: true } },
    networkPolicy: { enabled: true },
    operator: { components: 'watcher', watchNamespaces: ['team-a', 'team-b'] },
    workers: { replicas: 3 },
    rbac: { watchAllResources: false, watchedResources: [{ apiGroups: ['apps'], resources: ['deployments'] }], secretNamespaces: ['team-a', 'team-b'] },
  },
};

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-helm-'));
  // helm's config, cache and data stay in the temp dir, away from the user's
  helmEnv = { ...process.env, HELM_CONFIG_HOME: path.join(dir, 'config'), HELM_CACHE_HOME: path.join(dir, 'cache'), HELM_DATA_HOME: path.join(dir, 'data') };
});
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

describe('helm chart deploy/helm/kollect', () => {
  const ns = `helm-${id}`;

  beforeAll(async () => {
    await installCrds();
    await kubectl(['apply', '--server-side', '-f', path.join(root, 'test', 'helm', 'fixtures', 'monitoring.coreos.com_servicemonitors.yaml')]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/servicemonitors.monitoring.coreos.com']);
    for (const n of [ns, 'team-a', 'team-b']) await kubectl(['create', 'namespace', n]).catch(() => undefined);
  });

  it('lints cleanly (strict) with the default values and with each combination', async () => {
    expect(await helm('lint', '--strict', CHART)).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      expect(await helm('lint', '--strict', CHART, '-f', valuesFile(`lint-${name}`, values)), name).toMatch(/0 chart\(s\) failed/);
    }
  });

  it('refuses bad values by name (schema and template checks)', async () => {
    const fails = (values: object) => helm('template', 'r', CHART, '-f', valuesFile(`bad-${randomBytes(2).toString('hex')}`, values)).then(() => '', (e: Error) => e.message);
    expect(await fails({ operator: { compnents: 'all' } })).toContain("additional properties 'compnents' not allowed");
    expect(await fails({ temporal: { mode: 'cloud' } })).toMatch(/temporal\/mode/);
    expect(await fails({ endpoints: { allow: ['everything'] } })).toMatch(/endpoints\/allow/);
    expect(await fails({ temporal: { mode: 'external' } })).toMatch(/temporal/);
    expect(await fails({ store: { mode: 'external' }, temporal: { embedded: { kind: 'dev' } } })).toContain('store.external.url or store.external.existingSecret.name is required');
    expect(await fails({ operator: { components: 'watcher' } })).toContain('nothing would run the exports');
    expect(await fails({ store: { mode: 'external', external: { url: 'postgres://db/k' } } })).toContain('it needs store.mode bundled');
  });

  it('renders the operator, Postgres, RBAC, probes and a locked-down pod; the Temporal dev server with its UI', async () => {
    const { objects } = await render('kol', ns, COMBINATIONS['embedded-dev']!);
    const op = find(objects, 'Deployment', 'kol-kollect');
    expect(op.spec!.replicas).toBe(1);
    const c = container(op);
    expect(c.command).toEqual(['node', '/app/dist/worker/operator.js']);
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(op.spec!.template!.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    const env = resolveEnv(c, objects);
    expect(env).toMatchObject({ KOLLECT_COMPONENTS: 'all', TEMPORAL_ADDRESS: `kol-kollect-temporal.${ns}.svc:7233`, TEMPORAL_NAMESPACE: 'default', KOLLECT_HTTP_PORT: '8081' });
    expect(env.KOLLECT_STORE_URL).toMatch(new RegExp(`^postgres://kollect:[A-Za-z0-9]{32}@kol-kollect-postgres\\.${ns}\\.svc:5432/kollect$`));
    expect(Object.keys(env).filter((k) => k.startsWith('TEMPORAL_TLS'))).toEqual([]);
    const temporal = container(find(objects, 'Deployment', 'kol-kollect-temporal'));
    expect([temporal.command, temporal.args].flat()).toEqual(expect.arrayContaining(['temporal', 'start-dev', '--db-filename=/var/lib/temporal/temporal.db', '--ui-port=8233']));
    expect(find(objects, 'Service', 'kol-kollect-temporal').spec!.ports).toHaveLength(2);
    // The UI decodes payloads through the operator's codec, reached by the browser at the port-forwarded Service (docs/temporal-ui.md).
    expect(temporal.args).toContain('--ui-codec-endpoint=http://localhost:8082/codec');
    expect(env).toMatchObject({ KOLLECT_CODEC_PORT: '8082', KOLLECT_CODEC_CORS_ORIGINS: 'http://localhost:8233,http://127.0.0.1:8233' });
    expect(find(objects, 'Service', 'kol-kollect').spec!.ports).toContainEqual({ name: 'codec', port: 8082, targetPort: 'codec', protocol: 'TCP' });
    expect(find(objects, 'PersistentVolumeClaim', 'kol-kollect-temporal')).toBeTruthy();
    expect(find(objects, 'StatefulSet', 'kol-kollect-postgres')).toBeTruthy();
    const rules = find(objects, 'ClusterRole', 'kol-kollect').rules!;
    expect(find(objects, 'ClusterRole', 'kol-kollect-watched').rules).toContainEqual({ apiGroups: ['*'], resources: ['*'], verbs: ['get', 'list', 'watch'] });
    expect(rules).toContainEqual({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    expect(rules.some((r) => r.resources.includes('kollecttargets/status') && r.verbs.includes('patch'))).toBe(true);
    expect(find(objects, 'Role', 'kol-kollect-leader-election').rules![0]!.resources).toEqual(['leases']);
    expect(env).toMatchObject({ KOLLECT_LEADER_ELECTION: 'true', KOLLECT_LEADER_LEASE_NAME: 'kol-kollect-watcher', KOLLECT_LEADER_LEASE_NAMESPACE: ns });
    expect(op.spec!.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(find(objects, 'PodDisruptionBudget', 'kol-kollect')).toBeTruthy();
    expect(objects.filter((o) => ['ServiceMonitor', 'NetworkPolicy'].includes(o.kind))).toEqual([]);
    // The Service selects operator pods only, never Temporal's or Postgres's.
    expect(find(objects, 'Service', 'kol-kollect').spec!.selector).toMatchObject({ 'kollect.dev/operator': 'true' });
  });

  it('renders the default embedded Temporal server: schema init containers, env-configured server on the bundled Postgres, UI, namespace registered by the operator', async () => {
    const { objects } = await render('kol', ns, COMBINATIONS.embedded!);
    const server = find(objects, 'Deployment', 'kol-kollect-temporal').spec!.template!.spec as PodSpec & { initContainers: Container[] };
    expect(server.initContainers.map((c) => c.name)).toEqual(['create-temporal', 'setup-temporal', 'update-temporal', 'create-temporal-visibility', 'setup-temporal-visibility', 'update-temporal-visibility']);
    expect(server.initContainers.map((c) => c.args!.join(' '))).toContain('update-schema --schema-name postgresql/v12/visibility');
    const c = server.containers[0]!;
    expect(c.command).toEqual(['temporal-server', '--allow-no-auth', 'start']);
    expect(resolveEnv({ ...c, env: c.env!.filter((e) => e.name !== 'TEMPORAL_BROADCAST_ADDRESS') }, objects))
      .toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: `kol-kollect-postgres.${ns}.svc`, DBNAME: 'temporal', VISIBILITY_DBNAME: 'temporal_visibility', FRONTEND_GRPC_PORT: '7233' });
    expect(find(objects, 'Service', 'kol-kollect-temporal-ui').spec!.ports).toEqual([{ name: 'ui', port: 8233, targetPort: 'ui', protocol: 'TCP' }]);
    expect(resolveEnv(container(find(objects, 'Deployment', 'kol-kollect-temporal-ui')), objects)).toMatchObject({ TEMPORAL_CODEC_ENDPOINT: 'http://localhost:8082/codec' });
    expect(objects.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    expect(resolveEnv(container(find(objects, 'Deployment', 'kol-kollect')), objects)).toMatchObject({ KOLLECT_REGISTER_NAMESPACE: 'true', TEMPORAL_ADDRESS: `kol-kollect-temporal.${ns}.svc:7233` });
  });

  it('renders external Temporal with TLS, mTLS and an API key as files from Secrets', async () => {
    const { objects } = await render('kol', ns, COMBINATIONS['external-temporal-tls']!);
    expect(objects.some((o) => o.metadata.name === 'kol-kollect-temporal')).toBe(false);
    const c = container(find(objects, 'Deployment', 'kol-kollect'));
    expect(resolveEnv(c, objects)).toMatchObject({
      TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_NAMESPACE: 'kollect-prod', TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'temporal.example.com',
      TEMPORAL_TLS_CA_FILE: '/etc/kollect/temporal-ca/ca.crt', TEMPORAL_TLS_CERT_FILE: '/etc/kollect/temporal-client/tls.crt',
      TEMPORAL_TLS_KEY_FILE: '/etc/kollect/temporal-client/tls.key', TEMPORAL_API_KEY_FILE: '/etc/kollect/temporal-api-key/key',
    });
    expect(c.volumeMounts!.map((m) => m.mountPath)).toEqual(expect.arrayContaining(['/etc/kollect/temporal-ca', '/etc/kollect/temporal-client', '/etc/kollect/temporal-api-key']));
  });

  it('renders an external store from an existing Secret and the endpoint guard settings', async () => {
    const { objects } = await render('kol', ns, COMBINATIONS['external-store']!);
    expect(objects.some((o) => o.kind === 'StatefulSet' || (o.kind === 'Secret' && o.metadata.name === 'kol-kollect-store'))).toBe(false);
    const c = container(find(objects, 'Deployment', 'kol-kollect'));
    expect(c.env).toContainEqual({ name: 'KOLLECT_STORE_URL', valueFrom: { secretKeyRef: { name: 'kollect-db', key: 'url' } } });
    expect(resolveEnv({ ...c, env: c.env!.filter((e) => e.name !== 'KOLLECT_STORE_URL') }, objects))
      .toMatchObject({ KOLLECT_ENDPOINT_ALLOW: 'private', KOLLECT_CLUSTER_CIDRS: '10.0.0.0/16,10.96.0.0/12' });
  });

  it('renders monitoring, network policies, a scaled worker Deployment and least-privilege RBAC', async () => {
    const { objects } = await render('kol', ns, COMBINATIONS.monitoring!);
    expect(resolveEnv(container(find(objects, 'Deployment', 'kol-kollect')), objects)).toMatchObject({ KOLLECT_COMPONENTS: 'watcher', KOLLECT_WATCH_NAMESPACES: 'team-a,team-b' });
    const worker = find(objects, 'Deployment', 'kol-kollect-worker');
    expect(worker.spec!.replicas).toBe(3);
    expect(resolveEnv(container(worker), objects).KOLLECT_COMPONENTS).toBe('worker');
    expect(find(objects, 'ServiceMonitor', 'kol-kollect').metadata.labels).toMatchObject({ release: 'prometheus' });
    const dashboard = find(objects, 'ConfigMap', 'kol-kollect-dashboard');
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(dashboard.data!['kollect.json']!)).toEqual(JSON.parse(readFileSync(path.join(CHART, 'dashboards', 'kollect.json'), 'utf8')));
    expect(objects.filter((o) => o.kind === 'NetworkPolicy').map((o) => o.metadata.name).sort()).toEqual(['kol-kollect', 'kol-kollect-postgres', 'kol-kollect-temporal', 'kol-kollect-temporal-ui']);
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toHaveLength(2);
    const rules = find(objects, 'ClusterRole', 'kol-kollect').rules!;
    expect(rules.some((r) => r.apiGroups.includes('*'))).toBe(false);
    expect(rules.some((r) => r.resources.includes('secrets'))).toBe(false);
    expect(find(objects, 'ClusterRole', 'kol-kollect-watched').rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'list', 'watch'] }]);
    // watchNamespaces: the operator's roles are bound in team-a and team-b only.
    expect(objects.filter((o) => o.kind === 'RoleBinding' && o.metadata.name === 'kol-kollect-watched').map((o) => o.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding').map((o) => o.metadata.name)).toEqual(['kol-kollect-access-review']);
    expect(objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'kol-kollect-secrets').map((o) => o.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
  });

  it('renders the validating webhook: its Service, a generated CA and serving certificate, the configuration trusting that CA, and the pod serving it', async () => {
    const { objects } = await render('kol', ns, COMBINATIONS['embedded-dev']!);
    const vwc = find(objects, 'ValidatingWebhookConfiguration', 'kol-kollect') as Obj & { webhooks: { name: string; failurePolicy: string; sideEffects: string; clientConfig: { service: Record<string, unknown>; caBundle: string }; rules: { resources: string[]; operations: string[] }[]; namespaceSelector?: unknown }[] };
    const [hook] = vwc.webhooks;
    expect(hook).toMatchObject({ name: 'validate.kollect.dev', failurePolicy: 'Ignore', sideEffects: 'None', clientConfig: { service: { name: 'kol-kollect-webhook', namespace: ns, path: '/validate', port: 443 } } });
    expect(hook!.rules[0]!.operations).toEqual(['CREATE', 'UPDATE']);
    expect(hook!.rules[0]!.resources).toHaveLength(7);
    expect(hook!.namespaceSelector).toBeUndefined();
    expect(find(objects, 'Service', 'kol-kollect-webhook').spec!.ports).toEqual([{ name: 'webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' }]);
    const secret = find(objects, 'Secret', 'kol-kollect-webhook-tls');
    const pem = (k: string): string => Buffer.from(secret.data![k]!, 'base64').toString();
    expect(hook!.clientConfig.caBundle).toBe(secret.data!['ca.crt']);
    const crt = new X509Certificate(pem('tls.crt'));
    expect(crt.verify(new X509Certificate(pem('ca.crt')).publicKey)).toBe(true);
    expect(crt.checkHost(`kol-kollect-webhook.${ns}.svc`)).toBe(`kol-kollect-webhook.${ns}.svc`);
    expect(crt.checkPrivateKey(createPrivateKey(pem('tls.key')))).toBe(true);
    const op = find(objects, 'Deployment', 'kol-kollect');
    const c = container(op);
    expect(resolveEnv(c, objects)).toMatchObject({ KOLLECT_WEBHOOK_PORT: '9443', KOLLECT_WEBHOOK_CERT_DIR: '/etc/kollect/webhook' });
    expect(c.volumeMounts).toContainEqual({ name: 'webhook-tls', mountPath: '/etc/kollect/webhook', readOnly: true });
    expect(op.spec!.template!.spec.volumes).toContainEqual({ name: 'webhook-tls', secret: { secretName: 'kol-kollect-webhook-tls' } });

    // cert-manager: a Certificate from a self-signed Issuer (or yours), the CA injected; no Secret rendered.
    const cm = (await render('kol', ns, { webhook: { certManager: { enabled: true } }, operator: { watchNamespaces: ['team-a'] } })).objects;
    expect(cm.some((o) => o.kind === 'Secret' && o.metadata.name === 'kol-kollect-webhook-tls')).toBe(false);
    expect(find(cm, 'Certificate', 'kol-kollect-webhook').spec).toMatchObject({ secretName: 'kol-kollect-webhook-tls', issuerRef: { name: 'kol-kollect-webhook-selfsigned', kind: 'Issuer' } });
    expect(find(cm, 'Issuer', 'kol-kollect-webhook-selfsigned').spec).toEqual({ selfSigned: {} });
    const cmHook = find(cm, 'ValidatingWebhookConfiguration', 'kol-kollect') as Obj & { metadata: { annotations?: Record<string, string> }; webhooks: { clientConfig: { caBundle?: string }; namespaceSelector?: unknown }[] };
    expect(cmHook.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': `${ns}/kol-kollect-webhook` });
    expect(cmHook.webhooks[0]!.clientConfig.caBundle).toBeUndefined();
    expect(cmHook.webhooks[0]!.namespaceSelector).toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a'] }] });
    const own = (await render('kol', ns, { webhook: { certManager: { enabled: true, issuerRef: { kind: 'ClusterIssuer', name: 'internal-ca' } } } })).objects;
    expect(own.some((o) => o.kind === 'Issuer')).toBe(false);
    expect(find(own, 'Certificate', 'kol-kollect-webhook').spec).toMatchObject({ issuerRef: { name: 'internal-ca', kind: 'ClusterIssuer' } });

    const off = (await render('kol', ns, { webhook: { enabled: false } })).objects;
    expect(off.some((o) => o.kind === 'ValidatingWebhookConfiguration' || o.metadata.name.includes('webhook'))).toBe(false);
    expect(Object.keys(resolveEnv(container(find(off, 'Deployment', 'kol-kollect')), off)).filter((k) => k.startsWith('KOLLECT_WEBHOOK'))).toEqual([]);
  });

  it.each(Object.keys(COMBINATIONS))('%s: the apiserver accepts every rendered object (server-side dry-run)', async (name) => {
    const { text, objects } = await render('kol', ns, COMBINATIONS[name]!);
    const file = path.join(dir, `rendered-${name}.yaml`);
    writeFileSync(file, text);
    const out = await kubectl(['apply', '--server-side', '--dry-run=server', '-f', file]);
    expect(out.trim().split('\n')).toHaveLength(objects.length);
    expect(out).not.toMatch(/error/i);
  });

  it('installs and upgrades into a fresh namespace, keeping the generated store password', async () => {
    const rel = `kollect-${id}`;
    const installNs = `helm-install-${id}`;
    // The webhook this release registers must not see the other tests' namespaces on the shared apiserver.
    const onlyOwn = ['--set', `webhook.namespaceSelector.matchLabels.kollect-helm-test=${id}`];
    const install = await helm('install', rel, CHART, '--namespace', installNs, '--create-namespace', ...onlyOwn);
    console.log(`[helm install]\n${install}`);
    expect(install).toMatch(/STATUS: deployed/);
    expect(install).toMatch(/REVISION: 1/);
    const names = async (kind: string) => (await kubectl(['-n', installNs, 'get', kind, '-l', `app.kubernetes.io/instance=${rel}`, '-o', 'name'])).trim().split('\n').sort();
    expect(await names('deployments')).toEqual([`deployment.apps/${rel}`, `deployment.apps/${rel}-temporal`, `deployment.apps/${rel}-temporal-ui`]);
    expect(await names('statefulsets')).toEqual([`statefulset.apps/${rel}-postgres`]);
    expect(await names('services')).toEqual([`service/${rel}`, `service/${rel}-postgres`, `service/${rel}-temporal`, `service/${rel}-temporal-ui`, `service/${rel}-webhook`]);
    await kubectl(['get', `clusterrole/${rel}`, `clusterrolebinding/${rel}`]);
    const password = async () => (await kubectl(['-n', installNs, 'get', 'secret', `${rel}-store`, '-o', 'jsonpath={.data.password}'])).trim();
    const before = await password();
    expect(before).not.toBe('');

    const webhookCert = async () => (await kubectl(['-n', installNs, 'get', 'secret', `${rel}-webhook-tls`, '-o', 'jsonpath={.data.tls\\.crt}'])).trim();
    const certBefore = await webhookCert();
    expect(certBefore).not.toBe('');
    const upgrade = await helm('upgrade', rel, CHART, '--namespace', installNs, '--set', 'workers.replicas=2', '--set', 'operator.components=watcher', ...onlyOwn);
    expect(upgrade).toMatch(/STATUS: deployed/);
    expect(upgrade).toMatch(/REVISION: 2/);
    expect(await names('deployments')).toContain(`deployment.apps/${rel}-worker`);
    expect(await password(), 'the upgrade regenerated the store password').toBe(before);
    expect(await webhookCert(), 'the upgrade regenerated the webhook certificate (lookup keeps it)').toBe(certBefore);
    const caBundle = (await kubectl(['get', 'validatingwebhookconfiguration', rel, '-o', 'jsonpath={.webhooks[0].clientConfig.caBundle}'])).trim();
    expect(caBundle).toBe((await kubectl(['-n', installNs, 'get', 'secret', `${rel}-webhook-tls`, '-o', 'jsonpath={.data.ca\\.crt}'])).trim());
    const status = JSON.parse(await helm('status', rel, '--namespace', installNs, '-o', 'json')) as { info: { status: string }; version: number };
    expect(status).toMatchObject({ info: { status: 'deployed' }, version: 2 });
    await helm('uninstall', rel, '--namespace', installNs);
  });
});

// ---------- the chart's contract ----------

const children: { proc: ChildProcess }[] = [];
afterAll(() => { for (const c of children) c.proc.kill('SIGKILL'); });

/** A free loopback port under `limit` (the OS's ephemeral range starts above it here). */
async function freePortBelow(limit: number): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * (limit - 20000));
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer().once('error', () => resolve(false)).listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/** Starts `cmd` as the chart renders it, with the binary the harness built for the image's program. */
function startRendered(cmd: string, args: string[], env: Record<string, string>): ChildProcess {
  const proc = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => { out = (out + d.toString()).slice(-4000); };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  proc.once('exit', (code) => { if (code) console.log(`${path.basename(cmd)} exited ${code}: ${out}`); });
  children.push({ proc });
  return proc;
}

/**
 * Runs the operator container exactly as rendered (env from values, Secrets resolved) with
 * Temporal at `temporal` and the bundled Postgres mapped to the harness's, then checks that a
 * ConfigMap of a fresh namespace lands in a Postgres sink.
 */
async function operatorExports(objects: Obj[], ns: string, temporal: string): Promise<void> {
  const pgEnd = service('postgres');
  const id = ns.replace(/\W/g, '_');
  const table = `rows_${id}`;
  const operatorSpec = container(find(objects, 'Deployment', 'kol-kollect'));
  // The image's entrypoint is what the chart runs.
  const entrypoint = /^ENTRYPOINT (.+)$/m.exec(readFileSync(path.join(root, 'Dockerfile'), 'utf8'))?.[1];
  expect(JSON.parse(entrypoint ?? 'null')).toEqual(operatorSpec.command);
  const env = resolveEnv(operatorSpec, objects);
  const pgHost = `kol-kollect-postgres.${ns}.svc:5432`;
  const temporalHost = `kol-kollect-temporal.${ns}.svc:7233`;
  expect(env.KOLLECT_STORE_URL).toContain(`@${pgHost}/`);
  expect(env.TEMPORAL_ADDRESS).toBe(temporalHost);
  const httpPort = await freePort();
  const codecPort = await freePort();
  expect(env.KOLLECT_CODEC_PORT).toBe('8082');
  const mapped: Record<string, string> = {
    ...env,
    TEMPORAL_ADDRESS: temporal,
    KOLLECT_STORE_URL: env.KOLLECT_STORE_URL!.replace(pgHost, `${pgEnd.host}:${pgEnd.port}`),
    KOLLECT_HTTP_PORT: String(httpPort),
    KOLLECT_CODEC_PORT: String(codecPort),
    // What the pod's service account would give it.
    KUBECONFIG: service('kube').kubeconfig,
  };
  // The webhook: its port → a free loopback one, the mounted certificate Secret → files in a temp dir.
  const webhookPort = await freePort();
  const webhookSecret = find(objects, 'Secret', 'kol-kollect-webhook-tls');
  expect(env.KOLLECT_WEBHOOK_CERT_DIR).toBe(operatorSpec.volumeMounts!.find((m) => m.name === 'webhook-tls')!.mountPath);
  const certDir = mkdtempSync(path.join(os.tmpdir(), 'kollect-chart-webhook-'));
  for (const k of ['tls.crt', 'tls.key']) writeFileSync(path.join(certDir, k), Buffer.from(webhookSecret.data![k]!, 'base64'));
  Object.assign(mapped, { KOLLECT_WEBHOOK_PORT: String(webhookPort), KOLLECT_WEBHOOK_HOST: '127.0.0.1', KOLLECT_WEBHOOK_CERT_DIR: certDir });

  await installCrds();
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['-n', ns, 'create', 'secret', 'generic', 'kollect-postgres', `--from-literal=password=${pgEnd.password}`]);
  await optInSinkSecrets(ns, ['kollect-postgres']); // sinks use only Secrets that opt in
  await kubectl(['-n', ns, 'apply', '-f', renderSamples(['profile-configmaps.yaml', 'target-configmaps.yaml', 'sink-postgres.yaml', 'inventory.yaml'], (d) => {
    if (d.kind === 'KollectDatabaseSink') { d.spec.postgres!.url = `postgres://${pgEnd.user}@${pgEnd.host}:${pgEnd.port}/${pgEnd.database}`; d.spec.postgres!.table = table; d.spec.postgres!.sslMode = 'disable'; }
    if (d.kind === 'KollectInventory') {
      const spec = d.spec as Record<string, unknown>;
      Object.assign(spec, { targetRefs: [{ name: 'configmaps' }], exportMinInterval: '2s', cluster: 'chart' });
      delete spec.snapshotSinkRefs;
      delete spec.eventSinkRefs;
    }
  })]);
  await kubectl(['-n', ns, 'create', 'configmap', 'from-the-chart', '--from-literal=installed=by-helm']);

  // `node /app/dist/worker/operator.js` is the compiled worker/operator.ts: run the source.
  expect(operatorSpec.command!.at(-1)).toBe('/app/dist/worker/operator.js');
  const op: Child = runEntry('worker/operator.ts', mapped);
  children.push(op);
  try {
    await waitFor('operator /readyz', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200, 60_000, () => op.proc.exitCode === null);
    // The webhook answers with the chart's certificate, trusted through the configuration's caBundle under the Service's name.
    const caBundle = (find(objects, 'ValidatingWebhookConfiguration', 'kol-kollect') as unknown as { webhooks: { clientConfig: { caBundle: string } }[] }).webhooks[0]!.clientConfig.caBundle;
    const health = await new Promise<number>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: webhookPort, path: '/healthz', ca: Buffer.from(caBundle, 'base64'), servername: `kol-kollect-webhook.${ns}.svc` }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).once('error', reject);
    });
    expect(health).toBe(200);
    // The codec endpoint answers the bundled UI's (port-forwarded) origin (docs/temporal-ui.md).
    const preflight = await fetch(`http://127.0.0.1:${codecPort}/codec/decode`, { method: 'OPTIONS', headers: { origin: 'http://localhost:8233', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    await waitFor('the ConfigMap in the Postgres sink', async () => (await pgQuery<{ name: string }>(
      `SELECT name FROM public.${table} WHERE inventory_namespace = $1 AND namespace = $1`, [ns]).catch(() => [])).some((r) => r.name === 'from-the-chart'), 60_000, () => op.proc.exitCode === null);
  } catch (err) {
    console.log(op.output().slice(-4000));
    throw err;
  } finally {
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  }
  const [row] = await pgQuery<{ attributes: unknown }>(`SELECT attributes FROM public.${table} WHERE namespace = $1 AND name = 'from-the-chart'`, [ns]);
  expect(JSON.stringify(row!.attributes)).toContain('by-helm');
  // The workflow ran on the rendered Temporal, in the rendered namespace and task queue.
  const started = op.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'started');
  expect(started).toMatchObject({ temporal, namespace: env.TEMPORAL_NAMESPACE, taskQueue: env.KOLLECT_TASK_QUEUE });
  op.proc.kill('SIGTERM');
  await op.exited;
}

/** Values for a contract run: the harness's Postgres credentials in the bundled store, loopback sinks allowed. */
function contractValues(ns: string, extra: object = {}): object {
  const pgEnd = service('postgres');
  return {
    operator: { taskQueue: ns, watchNamespaces: [ns] },
    endpoints: { allow: ['loopback'] },
    store: { bundled: { auth: { username: pgEnd.user, password: pgEnd.password, database: pgEnd.database } } },
    ...extra,
  };
}

describe('chart contract: the processes the chart renders export an inventory', () => {
  it('dev server: runs Temporal and the operator exactly as rendered and exports to Postgres', async () => {
    const ns = `chart-dev-${id}`;
    const { objects } = await render('kol', ns, contractValues(ns, { temporal: { embedded: { kind: 'dev' } } }));
    const temporalSpec = container(find(objects, 'Deployment', 'kol-kollect-temporal'));
    // Cluster → loopback: the Temporal container's ports and data volume.
    const [grpcPort, uiPort] = [await freePort(), await freePort()];
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'kollect-chart-temporal-'));
    const local: Record<string, string> = {
      '--ip=0.0.0.0': '--ip=127.0.0.1', '--ui-ip=0.0.0.0': '--ui-ip=127.0.0.1', '--port=7233': `--port=${grpcPort}`, '--ui-port=8233': `--ui-port=${uiPort}`,
      '--db-filename=/var/lib/temporal/temporal.db': `--db-filename=${path.join(dataDir, 'temporal.db')}`,
    };
    const temporalArgs = temporalSpec.args!.map((a) => local[a] ?? a);
    expect(temporalSpec.command).toEqual(['temporal']);
    expect(temporalArgs.filter((a) => a.includes('0.0.0.0') || a.includes('/var/lib'))).toEqual([]);
    const temporal = startRendered(service('temporal').cli, temporalArgs, {});
    await waitFor('the rendered Temporal dev server and its UI', async () => (await fetch(`http://127.0.0.1:${uiPort}/`).catch(() => undefined))?.ok === true, 60_000, () => temporal.exitCode === null);
    await operatorExports(objects, ns, `127.0.0.1:${grpcPort}`);
  }, 90_000);

  it('Temporal server: the schema init containers (twice, as at every start), the server and the operator exactly as rendered export to Postgres', async () => {
    const ns = `chart-srv-${id}`;
    const pgEnd = service('postgres');
    const { objects } = await render('kol', ns, contractValues(ns));
    const pod = find(objects, 'Deployment', 'kol-kollect-temporal').spec!.template!.spec as PodSpec & { initContainers: Container[] };
    const binaries: Record<string, string> = { 'temporal-sql-tool': tools.temporalSqlTool(), 'temporal-server': tools.temporalServer() };
    const pgHost = `kol-kollect-postgres.${ns}.svc`;

    // The schema steps are idempotent: a second pod start runs them again on the set-up databases.
    for (const round of [1, 2]) {
      for (const init of pod.initContainers) {
        const env = resolveEnv(init, objects);
        expect(env.SQL_HOST, init.name).toBe(pgHost);
        await exec(binaries[init.command![0]!]!, init.args, { env: { ...env, SQL_HOST: pgEnd.host, SQL_PORT: String(pgEnd.port) } })
          .catch((err: Error & { stderr?: string }) => { throw new Error(`round ${round}, init container ${init.name}: ${err.stderr ?? err.message}`); });
      }
    }

    // Cluster → loopback: the pod IP, the bundled Postgres, and every port of the server's services.
    const c = pod.containers[0]!;
    expect(c.env!.find((e) => e.name === 'TEMPORAL_BROADCAST_ADDRESS')).toMatchObject({ valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } });
    const env = resolveEnv(c, objects);
    expect(env.POSTGRES_SEEDS).toBe(pgHost);
    // The dynamic config ConfigMap, where the pod mounts it → a file.
    const mount = c.volumeMounts!.find((m) => m.name === 'dynamic-config')!;
    expect(env.DYNAMIC_CONFIG_FILE_PATH).toBe(`${mount.mountPath}/dynamicconfig.yaml`);
    const dynamicConfig = path.join(mkdtempSync(path.join(os.tmpdir(), 'kollect-chart-temporal-')), 'dynamicconfig.yaml');
    writeFileSync(dynamicConfig, find(objects, 'ConfigMap', 'kol-kollect-temporal-dynamic-config').data!['dynamicconfig.yaml']!);
    const mapped: Record<string, string> = { ...env, POSTGRES_SEEDS: pgEnd.host, DB_PORT: String(pgEnd.port), BIND_ON_IP: '127.0.0.1', TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1', DYNAMIC_CONFIG_FILE_PATH: dynamicConfig };
    // Temporal stores membership ports as smallint: they must stay below 32768.
    for (const k of Object.keys(env).filter((k) => k.endsWith('_PORT') && k !== 'DB_PORT')) mapped[k] = String(await freePortBelow(32768));
    const [cmd, ...args] = c.command!;
    const server = startRendered(binaries[cmd!]!, args, mapped);
    const frontend = `127.0.0.1:${mapped.FRONTEND_GRPC_PORT}`;
    await waitFor('the rendered Temporal server', async () => {
      const conn = await Connection.connect({ address: frontend, connectTimeout: 1000 }).catch(() => undefined);
      if (!conn) return false;
      try { return (await conn.workflowService.describeNamespace({ namespace: 'temporal-system' }).then(() => true, () => false)); } finally { await conn.close(); }
    }, 60_000, () => server.exitCode === null);
    await operatorExports(objects, ns, frontend);
  }, 120_000);
});
