// etcd + kube-apiserver (RBAC on, an admin and a restricted token), a kubeconfig, and kubectl.
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { type ServiceDef, type Running, launchUntilReady } from '../service.js';
import { ManagedProcess, freePort, waitFor, httpsGet } from '../util.js';
import { tools, versions } from '../tools.js';
import { makeCa, issueServerCert, makeRsaKey } from '../pki.js';

/** The apiserver's audit log of Kollect object writes and events, under the service's directory. */
export const KUBE_AUDIT_LOG = 'audit.log';

export const kube: ServiceDef<'kube'> = {
  name: 'kube',
  async start(ctx): Promise<Running<'kube'>> {
    const dir = path.join(ctx.runDir, 'kube');
    mkdirSync(path.join(dir, 'etcd'), { recursive: true });
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const pki = await makeCa(path.join(dir, 'pki'), 'kollect-kube-ca');
    const [crt, key] = await issueServerCert(pki, 'apiserver', ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc']);
    const sa = await makeRsaKey(pki.dir, 'sa');
    const adminToken = randomBytes(24).toString('hex');
    const restrictedToken = randomBytes(24).toString('hex');
    const restrictedUser = 'kollect-restricted';
    const tokenFile = path.join(pki.dir, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},kollect-admin,uid-admin,"system:masters"\n${restrictedToken},${restrictedUser},uid-restricted\n`, { mode: 0o600 });
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = path.join(dir, 'kubeconfig');
    const ca64 = readFileSync(pki.caCert).toString('base64');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'clusters:', '- name: kollect-test', '  cluster:', `    server: ${server}`,
      `    certificate-authority-data: ${ca64}`, 'users:', '- name: admin', '  user:', `    token: ${adminToken}`,
      '- name: restricted', '  user:', `    token: ${restrictedToken}`, 'contexts:',
      '- name: admin', '  context: {cluster: kollect-test, user: admin, namespace: default}',
      '- name: restricted', '  context: {cluster: kollect-test, user: restricted, namespace: default}',
      'current-context: admin', '',
    ].join('\n'), { mode: 0o600 });

    // Every write to a Kollect object (status included) and every event, with its body, kept for the
    // leak scan after the run (test/harness/leak-scan.ts): tests delete their namespaces, and the
    // status and events go with them. Nothing else is logged (Secrets never).
    const auditPolicy = path.join(dir, 'audit-policy.yaml');
    writeFileSync(auditPolicy, [
      'apiVersion: audit.k8s.io/v1', 'kind: Policy', 'omitStages: [RequestReceived, ResponseStarted]', 'rules:',
      '- level: RequestResponse', '  verbs: [create, update, patch]', '  resources:', '  - group: kollect.dev',
      '  - group: ""', '    resources: [events]', '  - group: events.k8s.io', '- level: None', '',
    ].join('\n'));
    const etcdLog = path.join(dir, 'etcd.log');
    const apiLog = path.join(dir, 'kube-apiserver.log');
    let etcd: ManagedProcess | undefined;
    let api: ManagedProcess | undefined;
    const startEtcd = () => launchUntilReady('etcd', etcdLog, () => new ManagedProcess({
      cmd: tools.etcd(), logFile: etcdLog,
      args: ['--data-dir', path.join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`, '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
        '--unsafe-no-fsync', '--log-level', 'warn'],
    }), async (p) => waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, 20_000, () => p.alive));
    const startApi = () => launchUntilReady('kube-apiserver', apiLog, () => new ManagedProcess({
      cmd: tools.kubeApiserver(), logFile: apiLog,
      args: [`--etcd-servers=http://127.0.0.1:${etcdPort}`, `--secure-port=${apiPort}`, '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1', `--cert-dir=${pki.dir}`, `--tls-cert-file=${crt}`, `--tls-private-key-file=${key}`,
        `--client-ca-file=${pki.caCert}`, '--authorization-mode=RBAC', `--token-auth-file=${tokenFile}`,
        '--service-cluster-ip-range=10.0.0.0/24', '--allow-privileged=true',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local', `--service-account-key-file=${sa.pub}`,
        `--service-account-signing-key-file=${sa.key}`, '--disable-admission-plugins=ServiceAccount',
        '--enable-priority-and-fairness=false', '--profiling=false', '--v=1',
        `--audit-policy-file=${auditPolicy}`, `--audit-log-path=${path.join(dir, KUBE_AUDIT_LOG)}`, '--audit-log-format=json', '--audit-log-maxsize=0'],
    }), async (p) => waitFor('kube-apiserver', async () => {
      const res = await httpsGet(`${server}/readyz`, pki.caCert, { authorization: `Bearer ${adminToken}` });
      return res.status === 200;
    }, 90_000, () => p.alive));

    const r: Running<'kube'> = {
      endpoint: { server, kubeconfig, caFile: pki.caCert, adminToken, restrictedToken, restrictedUser, kubectl: tools.kubectl() },
      version: `kube-apiserver ${versions.KUBERNETES_VERSION}, etcd ${versions.ETCD_VERSION}, kubectl ${versions.KUBECTL_PYPI_VERSION}`,
      logFile: apiLog,
      async stop() { await api?.stop(); await etcd?.stop(); api = etcd = undefined; },
      async start() {
        if (!etcd?.alive) etcd = await startEtcd();
        if (!api?.alive) api = await startApi();
      },
    };
    await r.start();
    return r;
  },
};

