// Issue 9 on the real apiserver and Temporal: a profile that would stall the operator is stopped
// by the extraction deadline and disabled with a condition naming its expression, while another
// profile keeps exporting; a profile on v1/Secret is refused in every export mode.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { waitFor } from '../harness/util.js';
import type { Condition } from '../../api/types.js';
import type { Row } from '../../api/rows.js';
import type { Watcher } from '../../watcher/index.js';
import type { KubeObject } from '../../watcher/kube.js';
import { watcherEnv, type WatcherEnv } from './fixtures/watcher-env.js';

const ready = (o: KubeObject): Condition | undefined => ((o.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
const byName = (rows: Row[]): Record<string, unknown> => Object.fromEntries(rows.map((r) => [r.name, r.attributes.value]));

describe('extraction limits in the watcher', () => {
  let env: WatcherEnv;
  let watcher: Watcher;
  beforeAll(async () => {
    env = await watcherEnv('wlimits');
    watcher = await env.startWatcher({ extraction: { timeoutMs: 250 } });
  });
  afterAll(async () => { watcher?.stop(); await watcher?.closed(); await env?.close(); });

  it('disables a profile over the deadline (Ready=False/ExtractionLimit naming the expression) while another keeps exporting', async () => {
    await env.configMap('cm-1', { value: 'one', s: 'x'.repeat(300) }, { app: 'lim' });
    await env.put('KollectProfile', 'good', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'value', cel: 'object.data.value' }] });
    // Three nested macros over 300 items: 27M iterations (21.7 s on the event loop in the issue).
    await env.put('KollectProfile', 'slow', { apiVersion: 'v1', kind: 'ConfigMap', attributes: [
      { name: 'value', cel: 'object.data.value' },
      { name: 'cube', cel: "object.data.s.split('').map(a, object.data.s.split('').map(b, object.data.s.split('').filter(c, c == a + b).size())).size()" },
    ] });
    for (const p of ['good', 'slow']) {
      await env.put('KollectTarget', `t-${p}`, { profileRef: { name: p }, namespaces: [env.ns], labelSelector: { matchLabels: { app: 'lim' } } });
      await env.put('KollectInventory', `inv-${p}`, { targetRefs: [{ name: `t-${p}` }] });
    }
    await env.waitSnapshot('inv-good', 'the good row', (r) => byName(r)['cm-1'] === 'one');

    await waitFor('slow profile disabled', async () => ready(await env.get('KollectProfile', 'slow'))?.reason === 'ExtractionLimit', 20_000);
    const cond = ready(await env.get('KollectProfile', 'slow'))!;
    expect(cond.status).toBe('False');
    expect(cond.message).toMatch(/^disabled: spec\.attributes\[1\]\.cel: evaluating .*\/cm-1 did not finish in time; limit 250 ms per object \(KOLLECT_EXTRACT_TIMEOUT\)/);
    await waitFor('slow target stopped', async () => ready(await env.get('KollectTarget', 't-slow'))?.reason === 'ProfileError', 10_000);
    expect(ready(await env.get('KollectTarget', 't-slow'))!.message).toContain('is disabled');

    // The other profile keeps running.
    await env.patchConfigMap('cm-1', { data: { value: 'two' } });
    await env.configMap('cm-2', { value: 'three', s: 'y' }, { app: 'lim' });
    await env.waitSnapshot('inv-good', 'changes after the disable', (r) => byName(r)['cm-1'] === 'two' && byName(r)['cm-2'] === 'three');

    // Fixing the expression enables it again.
    await env.patch('KollectProfile', 'slow', { spec: { attributes: [{ name: 'value', cel: 'object.data.value' }, { name: 'len', cel: 'size(object.data.s)' }] } });
    await waitFor('slow profile fixed', async () => ready(await env.get('KollectProfile', 'slow'))?.status === 'True', 10_000);
    await env.waitSnapshot('inv-slow', 'rows of the fixed profile', (r) => byName(r)['cm-1'] === 'two' && byName(r)['cm-2'] === 'three');
  });

  it('refuses a profile on v1/Secret in Attributes and Resource mode, naming the rule and how an administrator allows it', async () => {
    await env.put('KollectProfile', 'secrets-attr', { apiVersion: 'v1', kind: 'Secret', attributes: [{ name: 'data', cel: 'object.data' }] });
    await env.put('KollectProfile', 'secrets-res', { apiVersion: 'v1', kind: 'Secret', export: { mode: 'Resource' } });
    for (const p of ['secrets-attr', 'secrets-res']) {
      await waitFor(`${p} refused`, async () => ready(await env.get('KollectProfile', p))?.reason === 'SensitiveKind', 10_000);
      expect(ready(await env.get('KollectProfile', p))!.message).toBe(`spec.kind: v1/Secret is a sensitive kind (KOLLECT_SENSITIVE_KINDS): no profile may watch it in any export mode unless an administrator lists it in the operator's KOLLECT_ALLOW_SENSITIVE_PROFILES (namespace/name, comma-separated), e.g. KOLLECT_ALLOW_SENSITIVE_PROFILES=${env.ns}/${p}`);
    }
    await env.put('KollectTarget', 't-secrets', { profileRef: { name: 'secrets-attr' }, namespaces: [env.ns] });
    await waitFor('secret target refused', async () => ready(await env.get('KollectTarget', 't-secrets'))?.reason === 'ProfileError', 10_000);
    expect(ready(await env.get('KollectTarget', 't-secrets'))!.message).toContain('is refused');
  });
});
