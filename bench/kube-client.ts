// A CoreV1Api for load generation whose requests share ONE connection pool. @kubernetes/client-node
// 2.0.1 builds a new undici Agent for every request (KubeConfig.applySecurityAuthentication →
// createDispatcher), so each request opens its own TLS connection; at a few hundred creates per
// second that handshake work, not the apiserver, is what limits the bench process.
import * as k8s from '@kubernetes/client-node';

export function pooledCoreApi(kc: k8s.KubeConfig): k8s.CoreV1Api {
  let shared: ReturnType<k8s.RequestContext['getDispatcher']>;
  const auth: k8s.SecurityAuthentication = {
    getName: () => 'kubeconfig with one shared dispatcher',
    applySecurityAuthentication: async (ctx: k8s.RequestContext) => {
      await kc.applySecurityAuthentication(ctx);
      const made = ctx.getDispatcher();
      if (!made) return;
      if (!shared) shared = made;
      else { void made.close().catch(() => undefined); ctx.setDispatcher(shared); } // never connected: closing is free
    },
  };
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return new k8s.CoreV1Api(k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
}
