// Kind → resource (plural, scope) through API discovery: `/api/v1` for the core group and
// `/apis/<group>/<version>` for the others. One group-version is fetched at a time and cached;
// a kind missing from the cache triggers a refetch (CRDs are created after the watcher starts),
// rate-limited per group-version so that a Target naming a kind that does not exist cannot
// hammer the apiserver.
import { KubeApiError, type KubeTransport } from './kube.js';

interface ApiResource { name: string; kind: string; namespaced: boolean; verbs?: string[] }
interface ApiResourceList { resources?: ApiResource[] }

export interface ResolvedKind { apiVersion: string; kind: string; plural: string; namespaced: boolean }

export class Discovery {
  private readonly cache = new Map<string, { at: number; resources: ApiResource[] }>();

  constructor(private readonly transport: KubeTransport, private readonly minRefreshMs = 5_000, private readonly now: () => number = Date.now) {}

  /** The resource for a kind, or undefined when the apiserver does not serve it (yet). */
  async resolve(apiVersion: string, kind: string): Promise<ResolvedKind | undefined> {
    const find = (rs: ApiResource[]): ResolvedKind | undefined => {
      // Subresources (`deployments/status`) share the kind; the watchable one has no slash.
      const r = rs.find((x) => x.kind === kind && !x.name.includes('/'));
      return r ? { apiVersion, kind, plural: r.name, namespaced: r.namespaced } : undefined;
    };
    const cached = this.cache.get(apiVersion);
    const hit = cached && find(cached.resources);
    if (hit) return hit;
    if (cached && this.now() - cached.at < this.minRefreshMs) return undefined;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let resources: ApiResource[] = [];
    try {
      resources = (await this.transport.request<ApiResourceList>('GET', path)).resources ?? [];
    } catch (err) {
      // 404: the group-version is not served (CRD not installed yet). Anything else is a real error.
      if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    }
    this.cache.set(apiVersion, { at: this.now(), resources });
    return find(resources);
  }
}
