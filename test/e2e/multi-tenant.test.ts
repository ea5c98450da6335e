// Two tenants on one cluster, each acting only with a namespace-admin token of its own namespace
// (a ServiceAccount token from the TokenRequest API, a Role like the one docs/tenancy.md suggests):
// each applies a profile, a target, an inventory and a Postgres sink; the operator (cluster-wide
// rights, tenant mode on, its admission webhook registered) exports each tenant's objects only.
// Then tenant A tries what an attacker with those rights would: read B's objects, watch B's
// namespace, watch Secrets, use B's Secret or an unlabelled one, grant itself more. Every attempt
// is refused with a message that says why. Tenant B's Secret holds the run's canary, so the leak
// scan after the run (test/harness/leak-scan.ts) finds it wherever it might have gone.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { endpoints, service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { makeCa, issueServerCert } from '../harness/pki.js';
import { runEntry, type Child } from '../support/process.js';
import { installCrds, kubectl, kubectlAt, pgQuery, optInSinkSecrets } from '../support/e2e.js';
import { SINK_CREDENTIALS_LABEL } from '../../api/constants.js';

const run = randomBytes(3).toString('hex');
const TENANTS = ['a', 'b'] as const;
type Tenant = (typeof TENANTS)[number];
const nsOf = (t: Tenant): string => `tenant-${t}-${run}`;
const tableOf = (t: Tenant): string => `tenant_${t}_${run}`;
const webhookLabel = 'kollect.dev/multi-tenant-e2e';
const webhookName = `kollect-multi-tenant-${run}`;

let op: Child | undefined;
const tokens = {} as Record<Tenant, { kubectl: string; kubeconfig: string }>;
/** What tenant B keeps in its own Secret: never to be seen anywhere else. */
let bSecretValue = '';

const kollect = (kind: string, ns: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'kollect.dev/v1alpha1', kind, metadata: { name, namespace: ns }, spec });
/** kubectl as tenant `t` (its ServiceAccount token), applying `obj`. */
const applyAs = (t: Tenant, obj: unknown): Promise<string> => kubectlAt(tokens[t], ['apply', '-f', '-'], JSON.stringify(obj));
/** The error kubectl prints for something tenant `t` may not do (the test fails if it succeeds). */
async function refusedAs(t: Tenant, args: string[], input?: string): Promise<string> {
  try {
    await kubectlAt(tokens[t], args, input);
  } catch (err) {
    return (err as { stderr?: string }).stderr ?? String(err);
  }
  throw new Error(`tenant ${t} was allowed: kubectl ${args.join(' ')}`);
}
const condition = async (kind: string, ns: string, name: string, type: string): Promise<{ status?: string; reason?: string; message?: string } | undefined> => {
  const obj = JSON.parse(await kubectl(['-n', ns, 'get', kind, name, '-o', 'json'])) as { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };
  return obj.status?.conditions?.find((c) => c.type === type);
};
const rowNames = (t: Tenant) => pgQuery<{ namespace: string; name: string }>(`SELECT namespace, name FROM public.${tableOf(t)} ORDER BY namespace, name`).catch(() => []);

/** A ServiceAccount with admin rights in its namespace only (Kollect objects, Secrets, ConfigMaps; KollectScope read-only), and a kubeconfig with its token. */
async function tenantIdentity(t: Tenant): Promise<{ kubectl: string; kubeconfig: string }> {
  const ns = nsOf(t);
  const kube = service('kube');
  await kubectl(['-n', ns, 'create', 'serviceaccount', 'tenant-admin']);
  await kubectl(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'tenant-admin', namespace: ns },
    rules: [
      { apiGroups: ['kollect.dev'], resources: ['kollectprofiles', 'kollecttargets', 'kollectinventories', 'kollectsnapshotsinks', 'kollectdatabasesinks', 'kollecteventsinks', 'kollectconnectiontests'], verbs: ['*'] },
      { apiGroups: ['kollect.dev'], resources: ['kollectscopes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['*'] },
    ],
  }));
  await kubectl(['-n', ns, 'create', 'rolebinding', 'tenant-admin', '--role=tenant-admin', `--serviceaccount=${ns}:tenant-admin`]);
  const token = (await kubectl(['-n', ns, 'create', 'token', 'tenant-admin', '--duration=1h'])).trim();
  const dir = mkdtempSync(path.join(endpoints().runDir, `tenant-${t}-`));
  const kubeconfig = path.join(dir, 'kubeconfig');
  await kubectlAt({ kubectl: kube.kubectl, kubeconfig }, ['config', 'set-cluster', 'kollect', `--server=${kube.server}`, `--certificate-authority=${kube.caFile}`, '--embed-certs']);
  await kubectlAt({ kubectl: kube.kubectl, kubeconfig }, ['config', 'set-credentials', 'tenant', `--token=${token}`]);
  await kubectlAt({ kubectl: kube.kubectl, kubeconfig }, ['config', 'set-context', 'tenant', '--cluster=kollect', '--user=tenant', `--namespace=${ns}`]);
  await kubectlAt({ kubectl: kube.kubectl, kubeconfig }, ['config', 'use-context', 'tenant']);
  return { kubectl: kube.kubectl, kubeconfig };
}

/** What each tenant applies with its own token: a labelled Secret, the ConfigMap profile and target, a Postgres sink, an inventory. */
async function tenantInventory(t: Tenant): Promise<void> {
  const ns = nsOf(t);
  const pg = new URL(service('postgres').url);
  await kubectlAt(tokens[t], ['create', 'secret', 'generic', 'pg', `--from-literal=password=${decodeURIComponent(pg.password)}`]);
  await optInSinkSecrets(ns, ['pg'], tokens[t]);
  await applyAs(t, kollect('KollectProfile', ns, 'configmaps', { apiVersion: 'v1', kind: 'ConfigMap', export: { mode: 'Resource' } }));
  await applyAs(t, kollect('KollectTarget', ns, 'configmaps', { profileRef: { name: 'configmaps' }, fieldSelector: 'metadata.name!=kube-root-ca.crt' }));
  await applyAs(t, kollect('KollectDatabaseSink', ns, 'postgres', {
    type: 'postgres', secretRef: { name: 'pg' },
    postgres: { url: `postgres://${pg.username}@${pg.host}${pg.pathname}`, table: tableOf(t), sslMode: 'disable' },
  }));
  await applyAs(t, kollect('KollectInventory', ns, 'platform', { targetRefs: [{ name: 'configmaps' }], databaseSinkRefs: [{ name: 'postgres' }], exportMinInterval: '1s' }));
  await kubectlAt(tokens[t], ['create', 'configmap', `${t}-settings`, `--from-literal=owner=${t}`]);
}

describe('multi-tenant: each tenant sees only what it may, with its own restricted token', () => {
  beforeAll(async () => {
    await installCrds();
    for (const t of TENANTS) {
      await kubectl(['create', 'namespace', nsOf(t)]);
      await kubectl(['label', 'namespace', nsOf(t), `${webhookLabel}=${run}`]);
      tokens[t] = await tenantIdentity(t);
    }
    bSecretValue = `${endpoints().canary}tenantb${randomBytes(6).toString('hex')}`;
    await kubectlAt(tokens.b, ['create', 'secret', 'generic', 'b-private', `--from-literal=password=${bSecretValue}`]);

    // The operator: cluster-wide rights (the harness's admin), tenant mode on (the default), the webhook on loopback.
    const pki = await makeCa(mkdtempSync(path.join(endpoints().runDir, 'tenant-pki-')), `kollect-tenants-${run}`);
    const [crt, key] = await issueServerCert(pki, 'webhook');
    const certDir = mkdtempSync(path.join(endpoints().runDir, 'tenant-certs-'));
    copyFileSync(crt, path.join(certDir, 'tls.crt'));
    copyFileSync(key, path.join(certDir, 'tls.key'));
    const [webhookPort, httpPort] = [await freePort(), await freePort()];
    op = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `tenants-${run}`,
      KOLLECT_WATCH_NAMESPACES: TENANTS.map(nsOf).join(','), KOLLECT_STORE_URL: service('postgres').url,
      KOLLECT_HTTP_PORT: String(httpPort), KOLLECT_HTTP_HOST: '127.0.0.1',
      KOLLECT_WEBHOOK_PORT: String(webhookPort), KOLLECT_WEBHOOK_HOST: '127.0.0.1', KOLLECT_WEBHOOK_CERT_DIR: certDir,
    });
    await waitFor('operator /readyz', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200, 90_000, () => op!.proc.exitCode === null)
      .catch((err: unknown) => { console.log(op!.output().slice(-3000)); throw err; });
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: webhookName },
      webhooks: [{
        name: 'validate.kollect.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
        clientConfig: { url: `https://127.0.0.1:${webhookPort}/validate`, caBundle: readFileSync(pki.caCert).toString('base64') },
        namespaceSelector: { matchLabels: { [webhookLabel]: run } },
        rules: [{ apiGroups: ['kollect.dev'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced', resources: ['kollectprofiles', 'kollecttargets', 'kollectinventories', 'kollectsnapshotsinks', 'kollectdatabasesinks', 'kollecteventsinks'] }],
      }],
    }));
    const probe = JSON.stringify(kollect('KollectProfile', nsOf('a'), 'probe', { apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } }));
    await waitFor('webhook in force', async () => kubectl(['apply', '--dry-run=server', '-f', '-'], probe).then(() => false, (err: { stderr?: string }) => (err.stderr ?? '').includes('denied the request')), 30_000);
    for (const t of TENANTS) await tenantInventory(t);
  }, 240_000);

  afterAll(async () => {
    await kubectl(['delete', 'validatingwebhookconfiguration', webhookName, '--ignore-not-found']).catch(() => undefined);
    op?.proc.kill('SIGTERM');
    await op?.exited;
    for (const t of TENANTS) await kubectl(['delete', 'namespace', nsOf(t), '--wait=false']).catch(() => undefined);
  }, 60_000);

  it('exports each tenant\'s own objects only, into its own sink', async () => {
    for (const t of TENANTS) {
      await waitFor(`tenant ${t}'s rows`, async () => (await rowNames(t)).length > 0, 90_000)
        .catch((err: unknown) => { console.log(op?.output().slice(-4000)); throw err; });
      expect(await rowNames(t)).toEqual([{ namespace: nsOf(t), name: `${t}-settings` }]);
    }
  }, 120_000);

  it('a tenant cannot read the other tenant\'s objects or Secrets with its token', async () => {
    expect(await refusedAs('a', ['-n', nsOf('b'), 'get', 'secret', 'b-private'])).toMatch(/forbidden/i);
    expect(await refusedAs('a', ['-n', nsOf('b'), 'get', 'configmaps'])).toMatch(/forbidden/i);
    expect(await refusedAs('a', ['-n', nsOf('b'), 'get', 'kollectinventories'])).toMatch(/forbidden/i);
  });

  it('a Target listing the other tenant\'s namespace is refused at admission, naming the namespace and how to grant it', async () => {
    const err = await refusedAs('a', ['apply', '-f', '-'], JSON.stringify(kollect('KollectTarget', nsOf('a'), 'peek', { profileRef: { name: 'configmaps' }, namespaces: [nsOf('b')] })));
    expect(err).toContain(`lists namespace ${nsOf('b')}`);
    expect(err).toMatch(/KollectScope|KollectClusterTarget/);
  });

  it('a profile on Secrets is refused in either export mode', async () => {
    for (const spec of [{ apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } }, { apiVersion: 'v1', kind: 'Secret', attributes: [{ name: 'data', cel: 'object.data' }] }]) {
      const err = await refusedAs('a', ['apply', '-f', '-'], JSON.stringify(kollect('KollectProfile', nsOf('a'), 'secrets', spec)));
      expect(err).toMatch(/v1\/Secret|Secret/);
      expect(err).toContain('denied the request');
    }
  });

  it('a tenant cannot grant itself more: KollectScope and the cluster kinds are not theirs to write', async () => {
    const scope = { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectScope', metadata: { name: 'default', namespace: nsOf('a') }, spec: { namespaces: [nsOf('b')] } };
    expect(await refusedAs('a', ['apply', '-f', '-'], JSON.stringify(scope))).toMatch(/forbidden/i);
    const clusterTarget = { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectClusterTarget', metadata: { name: `steal-${run}` }, spec: { profileRef: { name: 'configmaps', namespace: nsOf('a') } } };
    expect(await refusedAs('a', ['apply', '-f', '-'], JSON.stringify(clusterTarget))).toMatch(/forbidden/i);
  });

  it('a sink cannot name the other tenant\'s Secret, and an own Secret must opt in', async () => {
    // A reference has no namespace: the apiserver refuses the field (strict field validation).
    const crossNs = kollect('KollectDatabaseSink', nsOf('a'), 'exfil', { type: 'postgres', secretRef: { name: 'b-private', namespace: nsOf('b') }, postgres: { url: 'postgres://app@db.example/x', table: 'x' } });
    expect(await refusedAs('a', ['apply', '-f', '-'], JSON.stringify(crossNs))).toMatch(/unknown field|namespace/);
    // Naming "b-private" in its own namespace finds nothing (the name is B's, the namespace A's).
    await applyAs('a', kollect('KollectDatabaseSink', nsOf('a'), 'exfil', { type: 'postgres', secretRef: { name: 'b-private' }, postgres: { url: 'postgres://app@db.example/x', table: 'x' } }));
    await waitFor('sink exfil refused', async () => (await condition('kollectdatabasesink', nsOf('a'), 'exfil', 'Ready'))?.status === 'False', 30_000);
    expect((await condition('kollectdatabasesink', nsOf('a'), 'exfil', 'Ready'))?.message).toContain('b-private');
    // A Secret of its own without the opt-in label is refused, naming the label to add.
    await kubectlAt(tokens.a, ['create', 'secret', 'generic', 'unlabelled', '--from-literal=password=not-for-kollect']);
    await applyAs('a', kollect('KollectDatabaseSink', nsOf('a'), 'unlabelled', { type: 'postgres', secretRef: { name: 'unlabelled' }, postgres: { url: 'postgres://app@db.example/x', table: 'x' } }));
    await waitFor('sink unlabelled refused', async () => (await condition('kollectdatabasesink', nsOf('a'), 'unlabelled', 'Ready'))?.reason === 'SecretNotAllowed', 30_000);
    expect((await condition('kollectdatabasesink', nsOf('a'), 'unlabelled', 'Ready'))?.message).toContain(SINK_CREDENTIALS_LABEL);
  }, 90_000);
});
