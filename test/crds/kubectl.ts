// kubectl against the harness's apiserver, for the CRD tests: every check goes through the same
// client and the same error text a user sees.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { service } from '../harness/endpoints.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const crdDir = path.join(root, 'deploy', 'crds');
export const samplesDir = path.join(root, 'deploy', 'samples');

export interface KubectlResult { code: number; stdout: string; stderr: string }

/** Runs kubectl with the harness's admin kubeconfig; resolves with the exit code, never rejects. */
export function kubectl(args: string[], stdin?: string): Promise<KubectlResult> {
  const kube = service('kube');
  return new Promise((resolve) => {
    const child = execFile(kube.kubectl, ['--kubeconfig', kube.kubeconfig, ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

/** kubectl that must succeed; the error carries kubectl's stderr. */
export async function kubectlOk(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Installs the generated CRDs (idempotent: server-side apply) and waits until all are Established. */
export async function installCrds(): Promise<void> {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', crdDir]);
  await kubectlOk(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=kollect']);
}

/** A fresh namespace with a unique name; the harness has no namespace controller, so it is not deleted. */
export async function freshNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectlOk(['create', 'namespace', ns]);
  return ns;
}
