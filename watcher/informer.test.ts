import { describe, it, expect, afterEach } from 'vitest';
import {
  Informer, compileInformerConfig, isGone, backoffDelay, resourcePath,
  ADD, UPDATE, DELETE, LIST_DONE, RELIST, OLD_RESOURCE_VERSION, NETWORK_ERROR, BACKOFF, WATCH_RESTART, WATCH_START,
  type InformerEvent, type InformerConfigInput,
} from './informer.js';
import { FakeKube, apiError } from './fake-kube.js';

const resource = { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true, namespace: 'ns' };
const fast: InformerConfigInput = { pageSize: 2, backoff: { initialMs: 2, maxMs: 10 }, watchTimeoutSeconds: { min: 300, max: 600 } };

const started: Informer[] = [];
function start(kube: FakeKube, cfg: InformerConfigInput = fast): { inf: Informer; events: InformerEvent[]; until: (pred: (e: InformerEvent) => boolean, n?: number) => Promise<void> } {
  const inf = new Informer(resource, kube, compileInformerConfig({ ...fast, ...cfg }));
  const events: InformerEvent[] = [];
  const waiters: { pred: (e: InformerEvent) => boolean; n: number; resolve: () => void }[] = [];
  inf.on((e) => {
    events.push(e);
    for (const w of [...waiters]) if (events.filter(w.pred).length >= w.n) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  started.push(inf);
  inf.start();
  const until = (pred: (e: InformerEvent) => boolean, n = 1): Promise<void> =>
    events.filter(pred).length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ pred, n, resolve }));
  return { inf, events, until };
}
const is = (t: InformerEvent['type']) => (e: InformerEvent) => e.type === t;

afterEach(async () => { await Promise.all(started.splice(0).map((i) => i.stop())); });

describe('Informer', () => {
  it('lists page by page, then watches from the list resourceVersion with bookmarks and a randomised timeout', async () => {
    const kube = new FakeKube();
    for (const n of ['a', 'b', 'c', 'd', 'e']) kube.put(n);
    const watch = kube.nextWatch();
    const { inf, events } = start(kube);
    const w = await watch;
    expect(kube.listCalls.map((q) => q.continue)).toEqual([undefined, '2', '4']);
    expect(kube.listCalls.every((q) => q.limit === 2)).toBe(true);
    const done = events.find(is(LIST_DONE));
    expect(done).toMatchObject({ reason: 'initial', objects: 5, pages: 3, resourceVersion: '105' });
    expect(events.filter(is(ADD))).toHaveLength(5);
    expect(w.query).toMatchObject({ resourceVersion: '105', allowWatchBookmarks: true });
    expect(Number(w.query.timeoutSeconds)).toBeGreaterThanOrEqual(300);
    expect(Number(w.query.timeoutSeconds)).toBeLessThanOrEqual(600);
    expect(inf.synced).toBe(true);
    // list items come without apiVersion/kind; the informer restores them
    expect([...inf.objects()][0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  });

  it('applies watch events to the cache and resumes from the newest resourceVersion (bookmarks included) after a server close', async () => {
    const kube = new FakeKube();
    kube.put('a');
    const first = kube.nextWatch();
    const { inf, events, until } = start(kube);
    const w = await first;
    w.push('ADDED', { metadata: { name: 'b', namespace: 'ns', uid: 'uid-b', resourceVersion: '200' } });
    w.push('MODIFIED', { metadata: { name: 'a', namespace: 'ns', uid: 'uid-a', resourceVersion: '201' }, data: { x: '1' } });
    w.push('DELETED', { metadata: { name: 'b', namespace: 'ns', uid: 'uid-b', resourceVersion: '202' } });
    w.push('BOOKMARK', { metadata: { resourceVersion: '250' } });
    const second = kube.nextWatch();
    w.end();
    const w2 = await second;
    expect(w2.query.resourceVersion).toBe('250');
    await until(is(WATCH_RESTART));
    expect(events.filter((e) => e.type === ADD || e.type === UPDATE || e.type === DELETE).map((e) => `${e.type}:${(e as { object: { metadata: { name: string } } }).object.metadata.name}`))
      .toEqual(['add:a', 'add:b', 'update:a', 'delete:b']);
    expect(events.find(is(WATCH_RESTART))).toMatchObject({ reason: 'closed' });
    expect(kube.listCalls).toHaveLength(1); // no relist for a normal close
    expect(inf.size).toBe(1);
    expect(inf.get('uid-a')).toMatchObject({ data: { x: '1' } });
  });

  it('relists on a 410 ERROR event in the stream and reconciles what changed during the gap', async () => {
    const kube = new FakeKube();
    kube.put('keep'); kube.put('gone'); kube.put('changed');
    const first = kube.nextWatch();
    const { events, until } = start(kube);
    const w = await first;
    // While the watch is broken: one object deleted, one changed, one created.
    kube.objects.delete('gone');
    kube.put('changed', { data: { v: '2' } });
    kube.put('new');
    w.push('ERROR', { kind: 'Status', status: 'Failure', code: 410, reason: 'Expired', message: 'too old resource version: 103 (150)' });
    await until((e) => e.type === LIST_DONE && e.reason === 'gone');
    expect(events.find(is(OLD_RESOURCE_VERSION))).toMatchObject({ resourceVersion: '103', message: expect.stringContaining('too old') as unknown });
    expect(events.find(is(RELIST))).toMatchObject({ reason: 'gone' });
    expect(events.find(is(WATCH_RESTART))).toMatchObject({ reason: 'gone' });
    const after = events.slice(events.findIndex(is(RELIST)));
    const names = after.filter((e) => e.type === ADD || e.type === UPDATE || e.type === DELETE).map((e) => `${e.type}:${(e as { object: { metadata: { name: string } } }).object.metadata.name}`);
    expect(names.sort()).toEqual(['add:new', 'delete:gone', 'update:changed']);
    expect(after.find(is(LIST_DONE))).toMatchObject({ objects: 3 });
  });

  it('relists when the watch request itself answers 410 Gone', async () => {
    const kube = new FakeKube();
    kube.put('a');
    kube.watchScript.push(apiError(410, 'Expired'));
    const { events, until } = start(kube);
    await until(is(LIST_DONE), 2);
    expect(events.filter(is(LIST_DONE)).map((e) => (e as { reason: string }).reason)).toEqual(['initial', 'gone']);
    expect(events.some(is(OLD_RESOURCE_VERSION))).toBe(true);
  });

  it('does not relist in a tight loop when every watch right after a list answers 410', async () => {
    const kube = new FakeKube();
    kube.put('a');
    kube.watchScript.push(apiError(410), apiError(410), apiError(410));
    const { events, until } = start(kube);
    await until(is(LIST_DONE), 4);
    const kinds = events.filter((e) => e.type === LIST_DONE || e.type === BACKOFF).map((e) => e.type);
    expect(kinds).toEqual([LIST_DONE, BACKOFF, LIST_DONE, BACKOFF, LIST_DONE, BACKOFF, LIST_DONE]);
  });

  it('backs off with jitter on 429 and network errors, then re-watches from the same resourceVersion without relisting', async () => {
    const kube = new FakeKube();
    kube.put('a');
    kube.watchScript.push(apiError(429, 'TooManyRequests', 5), apiError(0, 'ECONNREFUSED'), apiError(503));
    const ok = kube.nextWatch(); // the scripted failures open no stream
    const { events } = start(kube);
    const w = await ok;
    expect(w.query.resourceVersion).toBe('101');
    expect(kube.listCalls).toHaveLength(1);
    expect(events.filter(is(NETWORK_ERROR)).map((e) => (e as { status: number }).status)).toEqual([429, 0, 503]);
    expect(events.filter(is(WATCH_RESTART)).map((e) => (e as { reason: string }).reason)).toEqual(['throttled', 'network', 'error']);
    const delays = events.filter(is(BACKOFF)) as { delayMs: number; attempt: number }[];
    expect(delays.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(delays[0]!.delayMs).toBeGreaterThanOrEqual(5); // honours Retry-After
    for (const d of delays) expect(d.delayMs).toBeLessThanOrEqual(10);
  });

  it('keeps retrying a failing list (CRD not installed yet, apiserver down) and syncs when it recovers', async () => {
    const kube = new FakeKube();
    kube.put('a');
    kube.listScript.push(apiError(404, 'NotFound'), apiError(0, 'ECONNRESET'), apiError(500));
    const { events, until, inf } = start(kube);
    await until(is(LIST_DONE));
    expect(events.filter(is(NETWORK_ERROR)).map((e) => (e as { phase: string }).phase)).toEqual(['list', 'list', 'list']);
    expect(inf.synced).toBe(true);
  });

  it('restarts a watch that stays silent past the inactivity timeout', async () => {
    const kube = new FakeKube();
    const { events, until } = start(kube, { inactivityTimeoutMs: 30 });
    await until((e) => e.type === WATCH_RESTART && e.reason === 'inactivity');
    expect(kube.listCalls).toHaveLength(1);
    expect(events.filter(is(WATCH_START)).length).toBeGreaterThanOrEqual(2);
  });

  it('relists periodically as a safety net, catching changes a broken watch never delivered', async () => {
    const kube = new FakeKube();
    kube.put('a');
    const { events, until } = start(kube, { relistIntervalMs: 40 });
    await until(is(WATCH_START));
    kube.objects.delete('a'); // "missed" delete
    await until((e) => e.type === LIST_DONE && e.reason === 'periodic');
    expect(events.find(is(RELIST))).toMatchObject({ reason: 'periodic' });
    expect(events.filter(is(DELETE))).toHaveLength(1);
  });

  it('survives a listener that throws', async () => {
    const kube = new FakeKube();
    kube.put('a');
    const inf = new Informer(resource, kube, compileInformerConfig(fast));
    started.push(inf);
    inf.on(() => { throw new Error('listener bug'); });
    const seen: string[] = [];
    inf.on((e) => seen.push(e.type));
    const w = kube.nextWatch();
    inf.start();
    await w;
    expect(seen).toContain(LIST_DONE);
  });

  it('stops promptly, in the middle of a backoff or a watch', async () => {
    const kube = new FakeKube();
    kube.listScript.push(apiError(500));
    const inf = new Informer(resource, kube, compileInformerConfig({ backoff: { initialMs: 60_000, maxMs: 60_000 } }));
    inf.start();
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    await inf.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('informer helpers', () => {
  it('recognises 410 in errors and in watch ERROR status objects', () => {
    expect(isGone(apiError(410))).toBe(true);
    expect(isGone({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' })).toBe(true);
    expect(isGone({ kind: 'Status', code: 500, reason: 'InternalError' })).toBe(false);
    expect(isGone(apiError(429))).toBe(false);
  });
  it('draws backoff delays with jitter under an exponential cap', () => {
    const b = { initialMs: 500, maxMs: 30_000 };
    expect(backoffDelay(1, b, () => 0)).toBe(250);
    expect(backoffDelay(1, b, () => 1)).toBe(500);
    expect(backoffDelay(4, b, () => 1)).toBe(4000);
    expect(backoffDelay(20, b, () => 1)).toBe(30_000);
  });
  it('builds core, group, namespaced and cluster-wide paths', () => {
    expect(resourcePath(resource)).toBe('/api/v1/namespaces/ns/configmaps');
    expect(resourcePath({ apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true })).toBe('/apis/apps/v1/deployments');
    expect(resourcePath({ apiVersion: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, namespace: 'ignored' })).toBe('/api/v1/nodes');
  });
  it('names a bad option', () => {
    expect(() => compileInformerConfig({ pageSize: 0 })).toThrow(/pageSize must be a positive number/);
    expect(() => compileInformerConfig({ watchTimeoutSeconds: { min: 10, max: 5 } })).toThrow(/watchTimeoutSeconds.max/);
  });
});

describe('Informer shutdown races', () => {
  it('stops promptly when stop() arrives while the list is in flight', async () => {
    const kube = new FakeKube();
    kube.put('a');
    let releaseList!: () => void;
    const gate = new Promise<void>((r) => { releaseList = r; });
    const request = kube.request.bind(kube);
    kube.request = async <T,>(...args: Parameters<FakeKube['request']>): Promise<T> => { await gate; return request<T>(...args); };
    const inf = new Informer(resource, kube, compileInformerConfig(fast));
    inf.start();
    await new Promise((r) => setTimeout(r, 10));
    const stopped = inf.stop();
    releaseList();
    const t0 = Date.now();
    await stopped;
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(kube.watchCalls).toHaveLength(0);
  });
});
