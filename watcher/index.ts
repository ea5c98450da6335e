// The watcher side of the operator. For now it proves the apiserver is reachable and keeps
// checking; the core pipeline adds the Kollect CR watches and the shared informers.
import * as k8s from '@kubernetes/client-node';
import type { Log } from '../worker/log.js';

export interface Watcher {
  /** True once the apiserver answered and while it keeps answering. */
  ready(): boolean;
  stop(): void;
}

export async function startWatcher(opts: { kc: k8s.KubeConfig; log: Log; checkEveryMs?: number }): Promise<Watcher> {
  const versionApi = opts.kc.makeApiClient(k8s.VersionApi);
  let ok = false;
  const check = async (): Promise<void> => {
    try {
      const v = await versionApi.getCode();
      if (!ok) opts.log('apiserver_reachable', { server: opts.kc.getCurrentCluster()?.server, version: v.gitVersion });
      ok = true;
    } catch (err) {
      if (ok) opts.log('apiserver_unreachable', { error: (err as Error).message });
      ok = false;
    }
  };
  await check();
  const timer = setInterval(() => void check(), opts.checkEveryMs ?? 10_000);
  return { ready: () => ok, stop: () => clearInterval(timer) };
}
