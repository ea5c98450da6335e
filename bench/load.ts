// Load on the apiserver through @kubernetes/client-node (no kubectl): ConfigMaps created with
// bounded concurrency, and updates at a steady rate, each setting data.bench to a unique marker.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { marker, sleep, type Updates } from './probes.js';

export const cmName = (i: number): string => `cm-${i}`;

/** Creates cm-0 … cm-(n-1) with `concurrency` requests in flight; progress every 5 s. */
export async function createConfigMaps(core: k8s.CoreV1Api, ns: string, n: number, concurrency: number, say: (s: string) => void): Promise<number> {
  const t0 = Date.now();
  let next = 0;
  let done = 0;
  const progress = setInterval(() => say(`  created ${done}/${n} (${Math.round(done / ((Date.now() - t0) / 1000))}/s)`), 5000);
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const body = { metadata: { name: cmName(i), labels: { app: 'bench' } }, data: { index: String(i), bench: 'initial', payload: randomBytes(96).toString('hex') } };
        for (let attempt = 0; ; attempt++) {
          try { await core.createNamespacedConfigMap({ namespace: ns, body }); break; } catch (err) {
            if ((err as { code?: number }).code === 409) break; // created by an earlier attempt that timed out
            if (attempt >= 5) throw err;
            await sleep(200 * (attempt + 1));
          }
        }
        done++;
      }
    }));
  } finally {
    clearInterval(progress);
  }
  return Date.now() - t0;
}

/**
 * Applies `count` merge patches at `rate`/s, without waiting for each response (at most
 * `maxInFlight` outstanding): update i sets data.bench = u-<i> on cm-(i mod n). Returns the
 * achieved rate.
 */
export async function applyUpdates(core: k8s.CoreV1Api, ns: string, n: number, count: number, rate: number, updates: Updates, maxInFlight = 64): Promise<{ ms: number; rate: number; failed: number }> {
  const t0 = Date.now();
  const inFlight = new Set<Promise<void>>();
  let failed = 0;
  const patch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / rate;
    if (Date.now() < due) await sleep(due - Date.now());
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const name = cmName(i % n);
    updates.sent(i, name, Date.now());
    const p: Promise<void> = core.patchNamespacedConfigMap({ namespace: ns, name, body: { data: { bench: marker(i) } } }, patch)
      .then(() => undefined, () => { failed++; updates.failed.add(i); })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  const sending = Date.now() - t0;
  await Promise.all(inFlight);
  return { ms: Date.now() - t0, rate: count / Math.max(sending / 1000 + 1 / rate, 1e-3), failed };
}
