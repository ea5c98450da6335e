// The apiserver is real: a CRD is established, a custom object is created and seen through a
// watch with @kubernetes/client-node, RBAC denies the restricted user, and kubectl talks to it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { service } from '../harness/endpoints.js';

const exec = promisify(execFile);
const suffix = randomBytes(3).toString('hex');
const group = `smoke${suffix}.kollect.dev`;
const plural = 'widgets';
const crdName = `${plural}.${group}`;
const ns = `smoke-${suffix}`;

describe('kube-apiserver', () => {
  const kube = service('kube');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });
  afterAll(async () => {
    await ext.deleteCustomResourceDefinition({ name: crdName }).catch(() => undefined);
    await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('establishes a CRD and streams a custom object through a watch', async () => {
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: crdName },
        spec: {
          group, scope: 'Namespaced',
          names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
          versions: [{
            name: 'v1', served: true, storage: true,
            schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer' } } } } } },
          }],
        },
      },
    });
    for (let i = 0; i < 100; i++) {
      const crd = await ext.readCustomResourceDefinition({ name: crdName });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    const seen: { type: string; name: string; size: number }[] = [];
    const watch = new k8s.Watch(kc);
    let sawAdd!: () => void;
    const added = new Promise<void>((r) => { sawAdd = r; });
    // A watch on a just-established CRD gets 429 until the apiserver's watch cache is ready
    // (it says so with Retry-After); a real client retries, and so does this test.
    let ctl: AbortController | undefined;
    let attempts = 0;
    const open = async (): Promise<void> => {
      attempts++;
      ctl = await watch.watch(`/apis/${group}/v1/namespaces/${ns}/${plural}`, {}, (type, obj: { metadata: { name: string }; spec: { size: number } }) => {
        seen.push({ type, name: obj.metadata.name, size: obj.spec.size });
        if (type === 'ADDED') sawAdd();
      }, (err: unknown) => {
        if (err && attempts < 50 && !(err instanceof Error && err.name === 'AbortError')) setTimeout(() => void open(), 200);
      });
    };
    await open();
    try {
      await custom.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } } });
      await added;
    } finally {
      ctl?.abort();
    }
    expect(seen).toContainEqual({ type: 'ADDED', name: 'w1', size: 3 });
  });

  it('enforces RBAC: the restricted token may not list namespaces', async () => {
    const rc = new k8s.KubeConfig();
    rc.loadFromFile(kube.kubeconfig);
    rc.setCurrentContext('restricted');
    const err = await rc.makeApiClient(k8s.CoreV1Api).listNamespace().then(() => undefined, (e: unknown) => e as { code?: number });
    expect(err?.code).toBe(403);
  });

  it('answers kubectl with a real server version', async () => {
    const { stdout } = await exec(kube.kubectl, ['--kubeconfig', kube.kubeconfig, 'version', '-o', 'json']);
    const v = JSON.parse(stdout) as { serverVersion: { gitVersion: string; minor: string } };
    expect(v.serverVersion.gitVersion).toMatch(/^v1\.\d+\.\d+$/);
    const { stdout: ok } = await exec(kube.kubectl, ['--kubeconfig', kube.kubeconfig, 'auth', 'can-i', 'create', 'deployments', '--as', kube.restrictedUser]).catch((e: { stdout: string }) => e);
    expect(ok.trim()).toBe('no');
  });
});
