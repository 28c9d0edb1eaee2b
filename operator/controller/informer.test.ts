/**
 * The informer against an in-process fake API server (testing/fake-apiserver.ts): client-node's
 * real Watch, ListWatch and typed CoreV1Api over a real socket, with failures injected on
 * purpose. test/cluster/informer.test.ts runs the same informer against a real kube-apiserver.
 */
import assert from 'node:assert/strict';
import { test as nodeTest, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject, V1ConfigMap } from '@kubernetes/client-node';
import { Informer, type InformerOptions } from './informer.ts';
import { keyOf } from './keys.ts';
import { configMaps, upscaleJobs } from './resources.ts';
import { CREATED_AT, FakeApiServer } from './testing/fake-apiserver.ts';
import type { Wire } from './wire.ts';

/** Every test is bounded, so a broken restart fails the test instead of hanging the run. */
const test = (name: string, fn: (t: TestContext) => Promise<void>): void => {
  nodeTest(name, { timeout: 15_000 }, fn);
};

/** Polls `fn` until it is true; fails with `what` after `timeoutMs`. */
async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Fast timings for tests: restarts within tens of ms, the watchdog off unless a test sets it. */
const FAST = { backoff: { initialMs: 10, maxMs: 40 }, silenceMs: 60_000 } as const;

async function setup(t: TestContext, opts: Partial<InformerOptions<V1ConfigMap>> = {}) {
  const fake = await FakeApiServer.start();
  const changes: Wire<V1ConfigMap>[] = [];
  const errors: unknown[] = [];
  const make = () => {
    const inf = new Informer<V1ConfigMap>({ kubeConfig: fake.kubeConfig(), resource: configMaps, namespace: 'ns', ...FAST, ...opts });
    inf.on('change', (obj) => changes.push(obj));
    inf.on('error', (err) => errors.push(err));
    t.after(() => inf.stop());
    return inf;
  };
  t.after(() => fake.close());
  return { fake, changes, errors, make };
}

const names = (objs: readonly { metadata?: { name?: string } }[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();

/** Creates, updates and deletes `name` on the fake server, each time waiting for the informer to see it. */
async function addUpdateDelete(fake: FakeApiServer, inf: Informer<V1ConfigMap>, name: string): Promise<void> {
  fake.create(name, { data: { v: '1' } });
  await until(`${name} to appear`, () => inf.get('ns', name) !== undefined);
  const added = inf.get('ns', name)?.metadata?.resourceVersion;
  fake.update(name, { data: { v: '2' } });
  await until(`${name} to change`, () => inf.get('ns', name)?.metadata?.resourceVersion !== added);
  fake.delete(name);
  await until(`${name} to be gone`, () => inf.get('ns', name) === undefined);
}

test('the first list fills the cache and resolves synced', async (t) => {
  const { fake, changes, make } = await setup(t);
  fake.create('a', { data: { v: '1' } });
  fake.create('b');
  const inf = make();
  assert.equal(inf.hasSynced(), false);
  inf.start();
  await inf.synced();
  assert.equal(inf.hasSynced(), true);
  assert.deepEqual(names(inf.list()), ['a', 'b']);
  assert.deepEqual(names(inf.list('ns')), ['a', 'b']);
  assert.deepEqual(inf.list('other'), []);
  assert.deepEqual(inf.get('ns', 'a')?.data, { v: '1' });
  assert.equal(inf.get('ns', 'zzz'), undefined);
  assert.deepEqual(changes.map(keyOf).sort(), ['ns/a', 'ns/b']);
});

test('watch events add, update and delete cache entries and each fires change', async (t) => {
  const { fake, changes, make } = await setup(t);
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  await addUpdateDelete(fake, inf, 'a');
  assert.deepEqual(
    changes.map((c) => c.data?.['v']),
    ['1', '2', '2'],
    'one change per add, update and delete; the delete carries the last state',
  );
  assert.equal(inf.stats().lists, 1);
});

test('objects from the LIST and from the WATCH have the same form: string timestamps, apiVersion and kind', async (t) => {
  const { fake, make } = await setup(t);
  fake.create('listed');
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  fake.create('watched');
  await until('watched to appear', () => inf.get('ns', 'watched') !== undefined);
  const listed = inf.get('ns', 'listed');
  const watched = inf.get('ns', 'watched');
  // CoreV1Api deserialized the LIST into V1ConfigMap models with Date timestamps; the cache has strings.
  assert.equal(listed?.metadata?.creationTimestamp, CREATED_AT);
  assert.equal(watched?.metadata?.creationTimestamp, CREATED_AT);
  assert.equal(Object.getPrototypeOf(listed), Object.prototype);
  assert.deepEqual({ apiVersion: listed?.apiVersion, kind: listed?.kind }, { apiVersion: 'v1', kind: 'ConfigMap' });
  assert.deepEqual(Object.keys(listed ?? {}).sort(), Object.keys(watched ?? {}).sort());
  assert.deepEqual(Object.keys(listed?.metadata ?? {}).sort(), Object.keys(watched?.metadata ?? {}).sort());
});

test('the label selector reaches both LIST and WATCH, and bookmarks are asked for and counted', async (t) => {
  const { fake, make } = await setup(t, { labelSelector: 'app=upscale' });
  fake.create('mine', {}, { app: 'upscale' });
  fake.create('theirs', {}, { app: 'other' });
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  assert.deepEqual(names(inf.list()), ['mine']);
  assert.equal(fake.requests.listQueries[0]?.get('labelSelector'), 'app=upscale');
  const wq = fake.requests.watchQueries[0];
  assert.equal(wq?.get('labelSelector'), 'app=upscale');
  assert.equal(wq?.get('allowWatchBookmarks'), 'true');
  fake.bookmark();
  await until('the bookmark to be counted', () => inf.stats().bookmarks === 1);
});

test('a failing LIST is retried with back-off until it succeeds', async (t) => {
  const { fake, errors, make } = await setup(t);
  fake.create('a');
  fake.failLists(3);
  const inf = make();
  inf.start();
  await inf.synced();
  assert.equal(errors.length, 3);
  assert.match(String(errors[0]), /listing v1 configmaps in namespace ns/);
  assert.equal(inf.stats().errorRestarts, 3);
  assert.equal(fake.requests.lists, 4);
  assert.deepEqual(names(inf.list()), ['a']);
});

test('a dropped watch is restarted and the changes made meanwhile arrive', async (t) => {
  const { fake, errors, make } = await setup(t);
  fake.create('a');
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  // Cut the stream and refuse the next two watches, so the informer is down for a while.
  fake.failWatches(2);
  fake.dropWatches();
  fake.create('b');
  fake.delete('a');
  await until('b to arrive and a to go', () => inf.get('ns', 'b') !== undefined && inf.get('ns', 'a') === undefined);
  assert.ok(errors.length >= 3, `one error for the reset and two for the refusals, got ${errors.length}`);
  // Resumed from the last resourceVersion: no second LIST was needed.
  assert.equal(inf.stats().lists, 1);
  assert.ok(Number(fake.requests.watchQueries.at(-1)?.get('resourceVersion')) > 0);
});

test('an expired resourceVersion on resume relists and reports objects deleted meanwhile', async (t) => {
  const { fake, changes, make } = await setup(t);
  fake.create('a');
  fake.create('b');
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  fake.stall(true);
  fake.delete('b');
  fake.create('c');
  fake.compact();
  fake.stall(false);
  fake.dropWatches();
  await until('the relist', () => inf.stats().lists === 2);
  assert.deepEqual(names(inf.list()), ['a', 'c']);
  assert.ok(changes.some((c) => c.metadata?.name === 'b' && inf.get('ns', 'b') === undefined), 'the deletion of b was reported');
});

test('a stream silent for silenceMs is replaced by a fresh list that sees what it missed', async (t) => {
  const { fake, changes, make } = await setup(t, { silenceMs: 1000 });
  fake.create('a', { data: { v: '1' } });
  fake.create('b');
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  fake.stall(true);
  fake.update('a', { data: { v: 'missed' } });
  fake.delete('b');
  await sleep(50);
  assert.equal(inf.get('ns', 'a')?.data?.['v'], '1', 'precondition: the stalled stream did not deliver');
  const before = changes.length;
  fake.stall(false);
  await until('the relist to see the update', () => inf.get('ns', 'a')?.data?.['v'] === 'missed', 3000);
  // The fresh ListWatch knows nothing of b; only the informer's own diff can report it gone.
  assert.equal(inf.get('ns', 'b'), undefined);
  assert.deepEqual(changes.slice(before).map(keyOf).sort(), ['ns/a', 'ns/b']);
  assert.ok(inf.stats().silenceRestarts >= 1);
  assert.ok(inf.stats().lists >= 2);
});

test('bookmarks keep a quiet stream from being taken for a stuck one', async (t) => {
  const { fake, make } = await setup(t, { silenceMs: 1000 });
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  // 1.5 s in all, longer than silenceMs: without the bookmarks the watchdog would relist.
  for (let i = 0; i < 15; i++) {
    fake.bookmark();
    await sleep(100);
  }
  assert.equal(inf.stats().silenceRestarts, 0);
  assert.equal(inf.stats().lists, 1);
});

test('healthy turns false while failing longer than the bound, and true once a watch is open again', async (t) => {
  const { fake, make } = await setup(t, { unhealthyAfterMs: 500 });
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  assert.equal(inf.healthy(), true);
  fake.failWatches(1_000_000);
  fake.dropWatches();
  await sleep(20);
  assert.equal(inf.healthy(), true, 'a short outage is not unhealthy');
  await until('unhealthy', () => !inf.healthy());
  fake.failWatches(0);
  await until('healthy again', () => inf.healthy());
});

test('transform trims every object, listed or watched, once, before it is cached or reported', async (t) => {
  const seen: unknown[] = [];
  const transform = (obj: Wire<V1ConfigMap>): Wire<V1ConfigMap> => {
    seen.push(obj.metadata?.creationTimestamp);
    const { data: _data, ...kept } = obj;
    return { ...kept, metadata: { ...obj.metadata, labels: { trimmed: 'yes' } } };
  };
  const { fake, changes, make } = await setup(t, { transform, pageSize: 1 });
  fake.create('listed', { data: { v: '1' } });
  fake.create('listed-too', { data: { v: '1' } });
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  await addUpdateDelete(fake, inf, 'watched');
  for (const obj of [...inf.list(), ...changes]) {
    assert.equal(obj.data, undefined, `${obj.metadata?.name ?? ''} is trimmed`);
    assert.deepEqual(obj.metadata?.labels, { trimmed: 'yes' });
  }
  // Once per object state (two listed, the watched one's add, update and delete); wire JSON, not `Date`s.
  assert.deepEqual(seen, [CREATED_AT, CREATED_AT, CREATED_AT, CREATED_AT, CREATED_AT]);
  assert.equal(changes.length, 5);
});

test('a LIST of many objects is read in pages', async (t) => {
  const { fake, make } = await setup(t, { pageSize: 2 });
  for (const n of ['a', 'b', 'c', 'd', 'e']) fake.create(n);
  const inf = make();
  inf.start();
  await inf.synced();
  assert.deepEqual(names(inf.list()), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(fake.requests.lists, 3);
  assert.deepEqual(
    fake.requests.listQueries.map((q) => q.get('limit')),
    ['2', '2', '2'],
  );
  assert.equal(inf.stats().lists, 1);
});

test('throwing change and error handlers are skipped and break neither the cache nor the restart', async (t) => {
  const { fake, make } = await setup(t);
  fake.create('a');
  fake.failLists(1);
  const inf = make();
  inf.on('change', () => {
    throw new Error('handler bug');
  });
  inf.on('error', () => {
    throw new Error('listener bug');
  });
  inf.start();
  await inf.synced();
  assert.deepEqual(names(inf.list()), ['a']);
});

test('stop before the first list rejects synced; after stop no change is reported', async (t) => {
  const { fake, changes, make } = await setup(t);
  fake.failLists(1_000_000);
  const early = make();
  early.start();
  await early.stop();
  await assert.rejects(early.synced(), /stopped before its first list/);

  fake.failLists(0);
  const inf = make();
  inf.start();
  await inf.synced();
  await until('the watch to open', () => fake.openWatches() === 1);
  await inf.stop();
  const before = changes.length;
  fake.create('late');
  await sleep(50);
  assert.equal(changes.length, before);
  assert.equal(inf.get('ns', 'late'), undefined);
  assert.throws(() => inf.start(), /already started/);
});

test('custom resources list and watch as plain JSON through CustomObjectsApi', async (t) => {
  const fake = await FakeApiServer.start({ path: '/apis/upscale.dev/v1alpha1/namespaces/videos/upscalejobs', apiVersion: 'upscale.dev/v1alpha1', kind: 'UpscaleJob', namespace: 'videos' });
  t.after(() => fake.close());
  fake.create('trailer', { apiVersion: 'upscale.dev/v1alpha1', kind: 'UpscaleJob', spec: { input: 's3://b/in.mp4' } });
  const inf = new Informer({ kubeConfig: fake.kubeConfig(), resource: upscaleJobs, namespace: 'videos', ...FAST });
  t.after(() => inf.stop());
  inf.start();
  await inf.synced();
  assert.equal(inf.description, 'upscale.dev/v1alpha1 upscalejobs in namespace videos');
  const job = inf.get('videos', 'trailer') as (KubernetesObject & { spec?: unknown }) | undefined;
  assert.deepEqual(job?.spec, { input: 's3://b/in.mp4' });
  assert.equal(job?.kind, 'UpscaleJob');
  await until('the watch to open', () => fake.openWatches() === 1);
  fake.delete('trailer');
  await until('the job to be gone', () => inf.get('videos', 'trailer') === undefined);
});
