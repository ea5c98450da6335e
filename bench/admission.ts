// How long the validating webhook takes to answer, against a real kube-apiserver: a profile
// (compile + sensitive-kind policy, no I/O) and an inventory with a Git sink (the overlap check
// lists every inventory and snapshot sink through the apiserver on each review), with 10, 100 and
// 1000 inventories stored. Reviews are POSTed over TLS as the apiserver sends them, one at a time.
// Prints a table; asserts nothing. Run: npx tsx bench/admission.ts
import { execFile } from 'node:child_process';
import { mkdtempSync, copyFileSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { startHarness } from '../test/harness/harness.js';
import { makeCa, issueServerCert } from '../test/harness/pki.js';
import { startWebhook } from '../worker/webhook.js';
import { kubeTransport } from '../watcher/kube.js';
import { sensitivePolicyFromEnv } from '../api/extract/sensitive.js';

const exec = promisify(execFile);
const REVIEWS = 50;
const SIZES = [10, 100, 1000];

const h = await startHarness({ only: ['kube'] });
try {
  const kube = h.endpoints.kube!;
  const kubectl = (args: string[], input?: string) => {
    const p = exec(kube.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { maxBuffer: 256 * 1024 * 1024 });
    if (input !== undefined) p.child.stdin?.end(input);
    return p;
  };
  await kubectl(['apply', '--server-side', '-f', path.join(import.meta.dirname, '..', 'deploy', 'crds')]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/kollectinventories.kollect.dev', 'crd/kollectsnapshotsinks.kollect.dev']);
  const ns = 'bench-admission';
  await kubectl(['create', 'namespace', ns]);
  await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectSnapshotSink', metadata: { name: 'repo' }, spec: { type: 'git', git: { url: 'https://git.example/fleet' } } }));

  const dir = mkdtempSync(path.join(os.tmpdir(), 'kollect-bench-admission-'));
  const pki = await makeCa(path.join(dir, 'pki'));
  const [crt, key] = await issueServerCert(pki, 'webhook');
  copyFileSync(crt, path.join(dir, 'tls.crt'));
  copyFileSync(key, path.join(dir, 'tls.key'));
  const ca = readFileSync(pki.caCert);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  const webhook = await startWebhook({
    config: { port: 0, host: '127.0.0.1', certDir: dir }, transport: kubeTransport(kc), clusterName: 'bench',
    sensitive: sensitivePolicyFromEnv({}), log: () => undefined, tenancy: { tenantMode: true },
  });
  const agent = new https.Agent({ keepAlive: true, ca });
  const post = (request: unknown): Promise<{ allowed: boolean }> => new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: webhook.port, path: '/validate', method: 'POST', agent, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve((JSON.parse(text) as { response: { allowed: boolean } }).response));
    });
    req.once('error', reject);
    req.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }));
  });
  const time = async (request: (i: number) => unknown): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = 0; i < REVIEWS; i++) {
      const t = performance.now();
      const r = await post(request(i));
      ms.push(performance.now() - t);
      if (!r.allowed) throw new Error('bench review refused');
    }
    return ms.sort((a, b) => a - b);
  };
  const q = (xs: number[], p: number): string => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!.toFixed(1);
  const profile = (i: number) => ({
    uid: `p-${i}`, kind: { group: 'kollect.dev', version: 'v1alpha1', kind: 'KollectProfile' }, namespace: ns, name: `p-${i}`, operation: 'CREATE',
    object: { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectProfile', metadata: { name: `p-${i}`, namespace: ns }, spec: { apiVersion: 'apps/v1', kind: 'Deployment', attributes: [{ name: 'images', cel: 'object.spec.template.spec.containers.map(c, c.image)' }, { name: 'replicas', jsonPath: '{.spec.replicas}' }], filter: 'has(object.spec.replicas) && object.spec.replicas > 0' } },
  });
  const inventory = (name: string) => ({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name, namespace: ns }, spec: { targetRefs: [{ name: 't' }], snapshotSinkRefs: [{ name: 'repo' }] } });
  const candidate = (i: number) => ({ uid: `i-${i}`, kind: { group: 'kollect.dev', version: 'v1alpha1', kind: 'KollectInventory' }, namespace: ns, name: `candidate-${i}`, operation: 'CREATE', object: inventory(`candidate-${i}`) });

  const rows: string[] = [];
  const p = await time(profile);
  rows.push(`| KollectProfile (3 expressions) | — | ${q(p, 0.5)} | ${q(p, 0.95)} | ${p.at(-1)!.toFixed(1)} |`);
  let stored = 0;
  for (const n of SIZES) {
    const items = Array.from({ length: n - stored }, (_, k) => inventory(`inv-${stored + k}`));
    await kubectl(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    stored = n;
    const ms = await time(candidate);
    rows.push(`| KollectInventory with a git sink | ${n} | ${q(ms, 0.5)} | ${q(ms, 0.95)} | ${ms.at(-1)!.toFixed(1)} |`);
  }
  await webhook.close();
  agent.destroy();
  process.stdout.write(`\nValidating webhook, ${REVIEWS} sequential reviews each, ms per review (TLS, keep-alive):\n\n| review | inventories stored | p50 | p95 | max |\n| --- | --- | --- | --- | --- |\n${rows.join('\n')}\n`);
} finally {
  await h.stop();
}
