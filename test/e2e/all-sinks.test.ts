// One inventory exporting to every sink type at once, through the operator process: each sink
// holds exactly the inventory, says Ready with a preview, and answers a KollectConnectionTest.
// Then one sink's server stops: the others keep converging and report success, the stopped one
// reports its error (Unreachable, SinkReachable=False) and fails its connection test, and after
// the server restarts it catches up with nothing lost.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { endpoints, service, startService, stopService } from '../harness/endpoints.js';
import { freePort, waitFor } from '../harness/util.js';
import { runEntry, type Child } from '../support/process.js';
import { kubectl, installCrds } from '../support/e2e.js';
import { SINK_FIXTURES } from '../support/sinks/index.js';
import type { HeldRow, SinkFixture } from '../support/sinks/fixture.js';
import { sinkDescriptors, SINKS } from '../../activities/sinks/registry.js';
import type { KollectConnectionTest, KollectInventory, KollectSink } from '../../api/types.js';
import { SINK_CREDENTIALS_LABEL, SINK_CREDENTIALS_VALUE } from '../../api/constants.js';

const id = randomBytes(3).toString('hex');
const ns = `all-${id}`;
const cluster = 'e2e';
const inventoryId = { namespace: ns, name: 'everything', cluster };
/** The server stopped mid-test. */
const STOPPED = 's3';

let operator: Child | undefined;
const specs = new Map<string, unknown>();
const fixture = (type: string): SinkFixture<never> => SINK_FIXTURES.find((f) => f.type === type)!;

const get = async <T>(kind: string, name: string): Promise<T> => JSON.parse(await kubectl(['-n', ns, 'get', kind, name, '-o', 'json'])) as T;
const inventory = () => get<KollectInventory>('kollectinventory', 'everything');

/** `target/uid → mode` of the ConfigMaps the inventory should hold. */
async function expected(): Promise<Map<string, string>> {
  const list = JSON.parse(await kubectl(['-n', ns, 'get', 'configmaps', '-l', `kollect-e2e=${id}`, '-o', 'json'])) as { items: { metadata: { uid: string }; data?: { mode?: string } }[] };
  return new Map(list.items.map((i) => [`cms/${i.metadata.uid}`, i.data?.mode ?? '']));
}

/** Whether the sink holds exactly `want` (keys and each row's mode). */
function matches(held: Map<string, HeldRow>, want: Map<string, string>): boolean {
  if (held.size !== want.size) return false;
  for (const [k, mode] of want) if (held.get(k)?.attributes.mode !== mode) return false;
  return true;
}

async function converged(types: string[]): Promise<string[]> {
  const want = await expected();
  const behind: string[] = [];
  for (const t of types) {
    const held = await fixture(t).read(specs.get(t) as never, inventoryId).catch(() => new Map<string, HeldRow>());
    if (!matches(held, want)) behind.push(t);
  }
  return behind;
}

async function connectionTest(type: string): Promise<KollectConnectionTest> {
  const d = sinkDescriptors[type]!;
  const name = `probe-${type}-${randomBytes(2).toString('hex')}`;
  await kubectl(['-n', ns, 'apply', '-f', '-'], stringify({ apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectConnectionTest', metadata: { name }, spec: { sinkRef: { kind: d.kind, name: type } } }));
  let test: KollectConnectionTest | undefined;
  await waitFor(`connection test of ${type}`, async () => {
    test = await get<KollectConnectionTest>('kollectconnectiontest', name);
    return test.status?.phase === 'Succeeded' || test.status?.phase === 'Failed';
  }, 90_000, () => operator?.proc.exitCode === null);
  return test!;
}

/** On a failure, what the inventory and the operator said. */
async function explain<T>(what: Promise<T>): Promise<T> {
  try {
    return await what;
  } catch (err) {
    const status = await inventory().then((i) => JSON.stringify(i.status, null, 1), (e: unknown) => String(e));
    process.stdout.write(`--- inventory status ---\n${status.slice(0, 8000)}\n--- operator (last 6000 chars) ---\n${operator?.output().slice(-6000) ?? '(none)'}\n`);
    throw err;
  }
}

describe('one inventory, every sink type', () => {
  beforeAll(async () => {
    await installCrds();
    await kubectl(['create', 'namespace', ns]);
    const docs: unknown[] = [
      { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectProfile', metadata: { name: 'cms' }, spec: { apiVersion: 'v1', kind: 'ConfigMap', attributes: [{ name: 'mode', jsonPath: '{.data.mode}' }] } },
      { apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectTarget', metadata: { name: 'cms' }, spec: { profileRef: { name: 'cms' }, namespaces: [ns], labelSelector: { matchLabels: { 'kollect-e2e': id } } } },
    ];
    for (const f of SINK_FIXTURES) {
      const d = sinkDescriptors[f.type]!;
      const spec = await f.spec(`${id}-${f.type}`);
      specs.set(f.type, spec);
      const ctx = f.context(spec);
      const secret = f.secret();
      // Sinks may use only Secrets that opt in (docs/sinks.md#credentials).
      const labels = { [SINK_CREDENTIALS_LABEL]: SINK_CREDENTIALS_VALUE };
      docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `sink-${f.type}`, namespace: ns, labels }, stringData: secret });
      if (ctx.caPem) docs.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `sink-${f.type}-ca`, namespace: ns, labels }, stringData: { 'ca.crt': ctx.caPem } });
      docs.push({
        apiVersion: 'kollect.dev/v1alpha1', kind: d.kind, metadata: { name: f.type },
        spec: { type: f.type, [f.type]: spec, secretRef: { name: `sink-${f.type}` }, ...(ctx.caPem ? { tls: { caSecretRef: { name: `sink-${f.type}-ca` } } } : {}), maxAttempts: 3 },
      });
    }
    const refs = (kind: string) => SINK_FIXTURES.filter((f) => sinkDescriptors[f.type]!.kind === kind).map((f) => ({ name: f.type }));
    docs.push({
      apiVersion: 'kollect.dev/v1alpha1', kind: 'KollectInventory', metadata: { name: 'everything' },
      spec: {
        cluster, exportMinInterval: '2s', targetRefs: [{ name: 'cms' }],
        snapshotSinkRefs: refs('KollectSnapshotSink'), databaseSinkRefs: refs('KollectDatabaseSink'), eventSinkRefs: refs('KollectEventSink'),
      },
    });
    const file = path.join(endpoints().runDir, `all-sinks-${id}.yaml`);
    writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'));
    await kubectl(['-n', ns, 'apply', '-f', file]);
    for (let i = 0; i < 12; i++) {
      await kubectl(['-n', ns, 'create', 'configmap', `cm-${i}`, `--from-literal=mode=m${i}`]);
      await kubectl(['-n', ns, 'label', 'configmap', `cm-${i}`, `kollect-e2e=${id}`]);
    }
    operator = runEntry('worker/operator.ts', {
      KUBECONFIG: service('kube').kubeconfig, TEMPORAL_ADDRESS: service('temporal').address, KOLLECT_TASK_QUEUE: `all-${id}`,
      KOLLECT_HTTP_PORT: String(await freePort()), KOLLECT_HTTP_HOST: '127.0.0.1', KOLLECT_WATCH_NAMESPACES: ns,
      KOLLECT_STORE_URL: service('postgres').url,
    });
  }, 300_000);

  afterAll(async () => {
    operator?.proc.kill('SIGKILL');
    await startService(fixture(STOPPED).service).catch(() => undefined);
    await Promise.all(SINK_FIXTURES.map(async (f) => { await f.cleanup?.(specs.get(f.type) as never).catch(() => undefined); }));
    await kubectl(['delete', 'namespace', ns, '--wait=false']).catch(() => undefined);
  });

  it('covers every sink type of the registry', () => {
    expect(SINK_FIXTURES.map((f) => f.type).sort()).toEqual(SINKS.map((d) => d.type).sort());
  });

  it('exports the inventory to every sink, each Ready with a preview and reachable', async () => {
    const all = SINK_FIXTURES.map((f) => f.type);
    await explain(waitFor('every sink holds the inventory', async () => (await converged(all)).length === 0, 240_000, () => operator?.proc.exitCode === null));
    await explain(waitFor('status: Synced and SinkReachable', async () => {
      const inv = await inventory();
      const c = (t: string) => inv.status?.conditions?.find((x) => x.type === t)?.status;
      return c('Synced') === 'True' && c('SinkReachable') === 'True' && (inv.status?.sinkExports ?? []).length === all.length;
    }, 60_000));
    for (const t of all) {
      const sink = await get<KollectSink>(sinkDescriptors[t]!.kind, t);
      expect(sink.status?.conditions?.find((c) => c.type === 'Ready'), t).toMatchObject({ status: 'True', reason: 'Resolved' });
      expect(sink.status?.preview?.endpoint, t).toBeTruthy();
      expect(sink.status?.preview?.location, t).toBeTruthy();
    }
    for (const t of all) {
      const test = await connectionTest(t);
      expect(test.status, `${t}: ${test.status?.message}`).toMatchObject({ phase: 'Succeeded', sinkType: t });
      expect(test.status?.latencyMs).toBeGreaterThanOrEqual(0);
    }
  }, 420_000);

  it('keeps the other sinks converging while one server is down, then the stopped one catches up', async () => {
    const others = SINK_FIXTURES.map((f) => f.type).filter((t) => t !== STOPPED);
    await stopService(fixture(STOPPED).service);
    try {
      await kubectl(['-n', ns, 'patch', 'configmap', 'cm-1', '--type=merge', '-p', '{"data":{"mode":"changed"}}']);
      await kubectl(['-n', ns, 'delete', 'configmap', 'cm-2']);
      await kubectl(['-n', ns, 'create', 'configmap', 'cm-new', '--from-literal=mode=fresh']);
      await kubectl(['-n', ns, 'label', 'configmap', 'cm-new', `kollect-e2e=${id}`]);
      await explain(waitFor('the other sinks converge', async () => (await converged(others)).length === 0, 180_000, () => operator?.proc.exitCode === null));
      await explain(waitFor(`${STOPPED} reports its error`, async () => {
        const inv = await inventory();
        const s = inv.status?.sinkExports?.find((x) => x.name === STOPPED);
        const reachable = inv.status?.conditions?.find((c) => c.type === 'SinkReachable');
        return s?.reason === 'Unreachable' && !!s.lastError && reachable?.status === 'False' && reachable.message.includes(STOPPED);
      }, 120_000));
      const inv = await inventory();
      for (const t of others) {
        const s = inv.status!.sinkExports!.find((x) => x.name === t)!;
        expect(s.lastError, t).toBeFalsy();
        expect(s.exportedVersion, t).toBeGreaterThan(0);
      }
      const failed = await connectionTest(STOPPED);
      expect(failed.status?.phase).toBe('Failed');
      expect(failed.status?.message).toMatch(new RegExp(`^${STOPPED} `));
    } finally {
      await startService(fixture(STOPPED).service);
    }
    await explain(waitFor(`${STOPPED} catches up`, async () => (await converged([STOPPED, ...others])).length === 0, 240_000, () => operator?.proc.exitCode === null));
    await explain(waitFor('status: Synced and SinkReachable again', async () => {
      const i = await inventory();
      const c = (t: string) => i.status?.conditions?.find((x) => x.type === t)?.status;
      return c('Synced') === 'True' && c('SinkReachable') === 'True';
    }, 120_000));
  }, 600_000);
});
