// The validating admission webhook end to end: the operator process serves it over TLS on
// loopback, the real kube-apiserver calls it (a ValidatingWebhookConfiguration with clientConfig.url
// and this run's CA), and kubectl gets the verdicts. The configuration selects this test's labelled
// namespaces only, so the other tests sharing the apiserver never reach it; it is deleted at the end.
// A third, unlabelled namespace is served by the operator but not admitted by the webhook: what
// is created there stands in for an admission race, which the controller catches at reconcile time.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, X509Certificate } from 'node:crypto';
import { execFile as execFileCb } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { service } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { makeCa, issueServerCert, type Pki } from '../harness/pki.js';
import { runEntry, type Child } from '../support/process.js';
import { installCrds, kubectl } from '../support/e2e.js';

const execFile = promisify(execFileCb);
const run = randomBytes(3).toString('hex');
const [nsA, nsB, nsC] = ['a', 'b', 'c'].map((s) => `wh-${run}-${s}`) as [string, string, string];
const label = 'kollect.dev/webhook-e2e';
const webhookName = `kollect-e2e-${run}`;
const REPO = 'https://git.example/platform/fleet.git';

const profile = (namespace: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectProfile', metadata: { name, namespace }, spec });
const gitSink = (namespace: string, name: string, git: Record<string, unknown>) => ({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectSnapshotSink', metadata: { name, namespace }, spec: { type: 'git', git: { url: REPO, ...git } } });
const inventory = (namespace: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name, namespace }, spec: { targetRefs: [{ name: 'deployments' }], ...spec } });

const apply = (obj: unknown): Promise<string> => kubectl(['apply', '-f', '-'], JSON.stringify(obj));
/** kubectl's error output for an apply that must fail (and fails the test when it succeeds). */
async function refused(obj: unknown): Promise<string> {
  try {
    await apply(obj);
  } catch (err) {
    return (err as { stderr?: string }).stderr ?? String(err);
  }
  throw new Error(`kubectl apply was expected to be refused: ${JSON.stringify(obj)}`);
}

/** The serial number of the certificate the webhook presents now. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => { resolve(s.getPeerX509Certificate()!.serialNumber); s.end(); });
    s.once('error', reject);
  });
}

/** POSTs JSON over TLS, verifying the server with `ca`; the status and the parsed answer. */
function postJson<T>(url: string, ca: string | Buffer, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => { try { resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as T }); } catch (err) { reject(err instanceof Error ? err : new Error(String(err))); } });
    });
    req.once('error', reject);
    req.end(JSON.stringify(body));
  });
}
/** One raw request to the webhook: status and body text. */
function raw(port: number, ca: string, opts: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, ca, servername: 'localhost', method: opts.method, path: opts.path, headers: opts.headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.once('error', reject);
    req.end(opts.body);
  });
}
/**
 * Sends more than the webhook's 8 MiB cap: a declared 9 MiB Content-Length (nothing written), or
 * 64 KiB chunks until the server answers (at most 16 MiB). The server's status code.
 */
function overflow(port: number, ca: string, chunked: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(9 * 1024 * 1024) }) };
    const req = https.request({ host: '127.0.0.1', port, ca, servername: 'localhost', method: 'POST', path: '/validate', headers });
    let answered = false;
    req.on('response', (res) => { answered = true; res.resume(); resolve(res.statusCode ?? 0); req.destroy(); });
    req.on('error', (err) => { if (!answered) reject(err); });
    if (!chunked) { req.flushHeaders(); return; }
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (!answered && sent < 16 * 1024 * 1024) {
        sent += chunk.length;
        if (!req.write(chunk)) { req.once('drain', pump); return; }
      }
    };
    pump();
  });
}
interface ReviewAnswer { response?: { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string } } }

const conditionOf = async (namespace: string, name: string, type: string): Promise<{ status: string; reason: string; message: string } | undefined> => {
  const obj = JSON.parse(await kubectl(['-n', namespace, 'get', 'kollectinventory', name, '-o', 'json'])) as { status?: { conditions?: { type: string; status: string; reason: string; message: string }[] } };
  return obj.status?.conditions?.find((c) => c.type === type);
};

describe('validating admission webhook', () => {
  let op: Child | undefined;
  let pki: Pki;
  let certDir: string;
  let ca: string;
  let port: number;
  let httpPort: number;

  beforeAll(async () => {
    const kube = service('kube');
    await installCrds();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-webhook-'));
    pki = await makeCa(path.join(dir, 'pki'), `kollect-webhook-ca-${run}`);
    ca = readFileSync(pki.caCert, 'utf8');
    const [crt, key] = await issueServerCert(pki, 'webhook');
    certDir = mkdtempSync(path.join(dir, 'certs-'));
    copyFileSync(crt, path.join(certDir, 'tls.crt'));
    copyFileSync(key, path.join(certDir, 'tls.key'));
    port = await freePort();
    httpPort = await freePort();
    // The watcher half only: the webhook and the controller's reconcile-time check need no workflow worker.
    op = runEntry('worker/operator.ts', {
      KUBECONFIG: kube.kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `wh-${run}`,
      KOLLECT_COMPONENTS: 'watcher', KOLLECT_WATCH_NAMESPACES: [nsA, nsB, nsC].join(','), KOLLECT_CLUSTER_NAME: 'e2e',
      KOLLECT_HTTP_PORT: String(httpPort), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_STORE_URL: service('postgres').url,
      KOLLECT_WEBHOOK_PORT: String(port), KOLLECT_WEBHOOK_HOST: '127.0.0.1', KOLLECT_WEBHOOK_CERT_DIR: certDir,
    });
    await waitFor('operator /readyz', async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined))?.status === 200, 90_000, () => op!.proc.exitCode === null)
      .catch((err: unknown) => { console.log(op!.output().slice(-3000)); throw err; });

    for (const ns of [nsA, nsB]) await kubectl(['create', 'namespace', ns]).then(() => kubectl(['label', 'namespace', ns, `${label}=${run}`]));
    await kubectl(['create', 'namespace', nsC]);
    await apply({
      apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: webhookName },
      webhooks: [{
        name: 'validate.kollect.dev', admissionReviewVersions: ['v1'], sideEffects: 'None', failurePolicy: 'Fail', timeoutSeconds: 10,
        clientConfig: { url: `https://127.0.0.1:${port}/validate`, caBundle: Buffer.from(ca).toString('base64') },
        namespaceSelector: { matchLabels: { [label]: run } },
        rules: [{ apiGroups: ['kollect.dev'], apiVersions: ['v1alpha1'], operations: ['CREATE', 'UPDATE'], scope: 'Namespaced', resources: ['kollectprofiles', 'kollecttargets', 'kollectinventories', 'kollectsnapshotsinks', 'kollectdatabasesinks', 'kollecteventsinks', 'kollectconnectiontests'] }],
      }],
    });
    // The apiserver picks the configuration up asynchronously: wait until it is in force (a
    // server-side dry run reaches webhooks without side effects and stores nothing).
    const probe = JSON.stringify(profile(nsA, 'probe', { apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } }));
    await waitFor('webhook in force', async () => kubectl(['apply', '--dry-run=server', '-f', '-'], probe).then(() => false, (err: { stderr?: string }) => (err.stderr ?? '').includes('denied the request')), 30_000);
  }, 180_000);

  afterAll(async () => {
    await kubectl(['delete', 'validatingwebhookconfiguration', webhookName, '--ignore-not-found']).catch((err: unknown) => console.log(`cleanup: ${String(err)}`));
    op?.proc.kill('SIGTERM');
    await op?.exited;
  }, 60_000);

  it('refuses a profile whose CEL does not compile, with the field, the position and the message', async () => {
    const err = await refused(profile(nsA, 'bad-cel', { apiVersion: 'apps/v1', kind: 'Deployment', attributes: [{ name: 'image', cel: 'object.spec.template.spec.containers.map(c, c.image)' }, { name: 'replicas', cel: 'object.spec.replicas +' }] }));
    // Reason Invalid with field causes: kubectl prints it as it prints a schema error.
    expect(err).toContain('The KollectProfile "bad-cel" is invalid: spec.attributes[1].cel: line 1, column 22: found + but expecting end of input');
    // The API error itself names the webhook and the object (what clients other than kubectl see).
    const kube = service('kube');
    const { body: status } = await postJson<{ code: number; reason: string; message: string; details: { causes: { field: string; message: string }[] } }>(
      `${kube.server}/apis/kollect.dev/v1alpha1/namespaces/${nsA}/kollectprofiles`, readFileSync(kube.caFile),
      profile(nsA, 'bad-cel', { apiVersion: 'apps/v1', kind: 'Deployment', attributes: [{ name: 'r', cel: 'object.spec.replicas +' }] }), { authorization: `Bearer ${kube.adminToken}` });
    expect(status).toMatchObject({ code: 422, reason: 'Invalid', details: { causes: [{ field: 'spec.attributes[0].cel', message: 'line 1, column 22: found + but expecting end of input' }] } });
    const api = status.message;
    expect(api).toContain(`admission webhook "validate.kollect.dev" denied the request: KollectProfile ${nsA}/bad-cel: spec.attributes[0].cel: line 1, column 22`);
  });

  it('refuses a profile on v1/Secret in any export mode, naming the operator setting that allows it', async () => {
    for (const [name, spec] of [['secrets', { attributes: [{ name: 'keys', cel: 'object.data' }] }], ['secrets-whole', { export: { mode: 'Resource' } }]] as const) {
      const err = await refused(profile(nsA, name, { apiVersion: 'v1', kind: 'Secret', ...spec }));
      expect(err).toContain(`spec.kind: v1/Secret is a sensitive kind (KOLLECT_SENSITIVE_KINDS)`);
      expect(err).toContain(`KOLLECT_ALLOW_SENSITIVE_PROFILES=${nsA}/${name}`);
    }
  });

  it('admits valid objects and metadata-only updates', async () => {
    await apply(profile(nsA, 'deployments', { apiVersion: 'apps/v1', kind: 'Deployment', attributes: [{ name: 'replicas', cel: 'has(object.spec.replicas) ? object.spec.replicas : 0' }, { name: 'image', jsonPath: '{.spec.template.spec.containers[0].image}' }] }));
    await apply({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectTarget', metadata: { name: 'deployments', namespace: nsA }, spec: { profileRef: { name: 'deployments' } } });
    await apply(gitSink(nsA, 'repo', {}));
    await apply(inventory(nsA, 'apps', { snapshotSinkRefs: [{ name: 'repo' }] }));
    await kubectl(['-n', nsA, 'label', 'kollectprofile', 'deployments', 'team=a']); // a metadata-only update passes
    expect(await kubectl(['-n', nsA, 'get', 'kollectprofile,kollecttarget,kollectinventory,kollectsnapshotsink', '-o', 'name'])).toMatch(/kollectprofile.kollect.dev\/deployments[\s\S]*kollectinventory.kollect.dev\/apps[\s\S]*kollectsnapshotsink.kollect.dev\/repo/);
  });

  it('a reference to another namespace never reaches the inventory: the schema refuses it, and so does the webhook', async () => {
    // kubectl validates strictly: the apiserver itself refuses the field, before admission.
    const err = await refused(inventory(nsA, 'cross', { targetRefs: [{ name: 'deployments', namespace: nsB }] }));
    expect(err).toMatch(/unknown field "spec\.targetRefs\[0\]\.namespace"/);
    // A request with the field (an older or hand-edited CRD would pass it on): the webhook's answer over TLS.
    const uid = `uid-${run}`;
    const { status, body } = await postJson<ReviewAnswer>(`https://127.0.0.1:${port}/validate`, ca, {
      apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
      request: { uid, kind: { group: 'kollect.dev', version: 'v1alpha1', kind: 'KollectInventory' }, namespace: nsA, name: 'cross', operation: 'CREATE', object: inventory(nsA, 'cross', { targetRefs: [{ name: 'deployments', namespace: nsB }] }) },
    });
    expect(status).toBe(200);
    expect(body.response).toMatchObject({ uid, allowed: false, status: { code: 403, reason: 'Forbidden' } });
    expect(body.response!.status!.message).toContain(`spec.targetRefs[0].namespace: references namespace "${nsB}"`);
  });

  it('refuses the second of two inventories whose Git paths nest, in another namespace too, and a sink change that would make them nest', async () => {
    await apply(gitSink(nsA, 'fleet', { path: 'fleet' }));
    await apply(inventory(nsA, 'fleet', { snapshotSinkRefs: [{ name: 'fleet' }] }));
    await apply(gitSink(nsB, 'fleet-team', { path: 'fleet/{inventoryNamespace}' })); // a sink no inventory uses claims nothing
    const err = await refused(inventory(nsB, 'team', { snapshotSinkRefs: [{ name: 'fleet-team' }] }));
    expect(err).toContain(`KollectInventory ${nsB}/team: spec.snapshotSinkRefs[0]: sink ${nsB}/fleet-team writes https://git.example/platform/fleet branch main path fleet/${nsB}/, inside fleet/ that inventory ${nsA}/fleet writes through sink ${nsA}/fleet`);
    // The default path has the cluster, namespace and name: inventories sharing a repository stay apart.
    await apply(gitSink(nsB, 'repo', {}));
    await apply(inventory(nsB, 'apps', { snapshotSinkRefs: [{ name: 'repo' }] }));
    await apply(inventory(nsB, 'apps-eu', { cluster: 'eu', snapshotSinkRefs: [{ name: 'repo' }] }));
    // Another branch is another tree.
    await apply(gitSink(nsB, 'fleet-branch', { path: 'fleet', branch: 'other' }));
    await apply(inventory(nsB, 'other-branch', { snapshotSinkRefs: [{ name: 'fleet-branch' }] }));
    // A sink whose new path would nest the inventories using it in another's tree is refused too.
    const sinkErr = await refused(gitSink(nsB, 'repo', { path: 'fleet/{inventoryName}' }));
    expect(sinkErr).toContain(`KollectSnapshotSink ${nsB}/repo: spec.git.path: sink ${nsB}/repo writes https://git.example/platform/fleet branch main path fleet/apps/, inside fleet/ that inventory ${nsA}/fleet writes`);
  });

  it('the controller marks the later inventory when an overlap got past admission, and clears the mark once it is gone', async () => {
    // nsC is not admitted by this test's webhook: as if two admissions had raced.
    await apply(gitSink(nsC, 'late', { path: 'fleet/late' }));
    await apply(inventory(nsC, 'late', { snapshotSinkRefs: [{ name: 'late' }] }));
    await waitFor('GitPathsDisjoint=False', async () => (await conditionOf(nsC, 'late', 'GitPathsDisjoint'))?.status === 'False', 30_000);
    const cond = await conditionOf(nsC, 'late', 'GitPathsDisjoint');
    expect(cond).toMatchObject({ reason: 'GitPathOverlap' });
    expect(cond!.message).toContain(`inside fleet/ that inventory ${nsA}/fleet writes through sink ${nsA}/fleet`);
    expect((await conditionOf(nsA, 'fleet', 'GitPathsDisjoint'))).toBeUndefined(); // the earlier one is left alone
    // An edit of the earlier inventory that does not make the overlap worse passes, with a warning.
    const kube = service('kube');
    const edit = execFile(kube.kubectl, ['--kubeconfig', kube.kubeconfig, 'apply', '-f', '-']);
    edit.child.stdin?.end(JSON.stringify(inventory(nsA, 'fleet', { snapshotSinkRefs: [{ name: 'fleet' }], exportMinInterval: '45s' })));
    const { stdout, stderr } = await edit;
    expect(stdout).toContain('configured');
    expect(stderr).toContain(`Warning: already overlapping, not made worse by this change: sink ${nsA}/fleet writes https://git.example/platform/fleet branch main path fleet/, around fleet/late/ that inventory ${nsC}/late writes`);
    await kubectl(['-n', nsC, 'patch', 'kollectsnapshotsink', 'late', '--type=merge', '-p', JSON.stringify({ spec: { git: { path: 'late' } } })]);
    await waitFor('GitPathsDisjoint=True', async () => (await conditionOf(nsC, 'late', 'GitPathsDisjoint'))?.status === 'True', 30_000);
  });

  it('answers only well-formed reviews within its limits, passes unchanged specs and other groups, and counts its verdicts', async () => {
    const review = (request: Record<string, unknown>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request });
    const json = { 'content-type': 'application/json' };
    expect((await raw(port, ca, { method: 'GET', path: '/validate' })).status).toBe(405);
    expect((await raw(port, ca, { method: 'POST', path: '/mutate', headers: json, body: '{}' })).status).toBe(404);
    expect((await raw(port, ca, { method: 'POST', path: '/validate', headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
    expect((await raw(port, ca, { method: 'POST', path: '/validate', headers: json, body: '{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"x"}}' }))).toMatchObject({ status: 400, text: expect.stringContaining('admissionReviewVersions: [\\"v1\\"]') as unknown });
    // A body over the cap is refused however it is sent: declared, or streamed without a length.
    expect(await overflow(port, ca, false)).toBe(413);
    expect(await overflow(port, ca, true)).toBe(413);

    const secretProfile = profile(nsA, 'legacy', { apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } });
    const kind = { group: 'kollect.dev', version: 'v1alpha1', kind: 'KollectProfile' };
    const answer = async (request: Record<string, unknown>) => (JSON.parse((await raw(port, ca, { method: 'POST', path: '/validate', headers: json, body: review(request) })).text) as ReviewAnswer).response!;
    // An object admitted before the policy (or the webhook) existed: label edits and finalizer writes still pass, a spec change does not.
    expect(await answer({ uid: 'u1', kind, namespace: nsA, name: 'legacy', operation: 'UPDATE', object: { ...secretProfile, metadata: { ...secretProfile.metadata, labels: { a: 'b' } } }, oldObject: secretProfile })).toEqual({ uid: 'u1', allowed: true });
    expect(await answer({ uid: 'u2', kind, namespace: nsA, name: 'legacy', operation: 'UPDATE', object: { ...secretProfile, spec: { ...secretProfile.spec, scrubKeys: ['x'] } }, oldObject: secretProfile })).toMatchObject({ uid: 'u2', allowed: false, status: { code: 403 } });
    expect(await answer({ uid: 'u3', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, namespace: nsA, name: 'x', operation: 'CREATE', object: {} })).toEqual({ uid: 'u3', allowed: true });

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^kollect_admission_reviews_total\{kind="KollectProfile",allowed="false"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^kollect_admission_reviews_total\{kind="KollectInventory",allowed="true"\} [1-9]\d*$/m);
  });

  it('serves a rotated certificate without a restart', async () => {
    const before = await servedSerial(port, ca);
    const [crt, key] = await issueServerCert(pki, 'webhook-rotated');
    // As the kubelet updates a mounted Secret: both files replaced, each atomically.
    copyFileSync(key, path.join(certDir, 'tls.key.new'));
    copyFileSync(crt, path.join(certDir, 'tls.crt.new'));
    renameSync(path.join(certDir, 'tls.key.new'), path.join(certDir, 'tls.key'));
    renameSync(path.join(certDir, 'tls.crt.new'), path.join(certDir, 'tls.crt'));
    const rotated = new X509Certificate(readFileSync(crt)).serialNumber;
    expect(rotated).not.toBe(before);
    await waitFor('rotated certificate served', async () => (await servedSerial(port, ca)) === rotated, 30_000);
    expect(op!.output()).toContain('webhook_certificate_reloaded');
    // The apiserver still reaches the webhook (same CA, new certificate).
    expect(await refused(profile(nsB, 'after-rotation', { apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } }))).toContain('denied the request');
  });
});
