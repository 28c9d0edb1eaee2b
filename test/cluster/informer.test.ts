/**
 * The operator's informer (operator/controller/informer.ts) against the real kube-apiserver: it
 * lists and follows ConfigMaps and Jobs, survives a failed LIST, cut connections and refused
 * reconnects (through a TCP proxy between it and the API server, so the failures are real socket
 * errors), replaces a stalled stream with a fresh list, and keeps one healthy watch open past
 * client-node 2.0.0's 30-second abort (#3020) while bookmarks arrive.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { Informer, type InformerOptions } from '../../operator/controller/informer.ts';
import { configMaps, jobs, type ResourceFactory } from '../../operator/controller/resources.ts';
import { useCluster, waitFor } from './harness.ts';

const cluster = await useCluster();
const LABEL = 'test.upscale-operator.io/informer';

/**
 * A TCP proxy in front of the API server. TLS passes through untouched (the serving cert is for
 * 127.0.0.1, where the proxy listens). client-node opens a connection per request, so cutting
 * connections cuts exactly the requests in flight.
 */
class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #refusing = false;

  private constructor(target: URL) {
    this.#server = createServer((client) => {
      if (this.#refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(Number(target.port), target.hostname);
      const pair = { client, upstream };
      this.#pairs.add(pair);
      const end = () => {
        this.#pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(target: URL): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    const addr = this.#server.address();
    if (addr === null || typeof addr === 'string') throw new Error('proxy is not listening');
    return addr.port;
  }

  /** A copy of `kc` whose cluster is reached through this proxy. */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const out = new KubeConfig();
    out.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${this.port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return out;
  }

  /** Resets every open connection. */
  cut(): void {
    for (const { client, upstream } of this.#pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
  }

  /** While refusing, new connections are closed as soon as they are accepted. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Open connections stop forwarding the server's bytes but stay open: a stuck stream. */
  stall(): void {
    for (const { upstream, client } of this.#pairs) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** `factory` whose first LIST fails, as an API server that is briefly unavailable. */
function failingFirstList<T extends KubernetesObject>(factory: ResourceFactory<T>): ResourceFactory<T> {
  return (kc, namespace) => {
    const resource = factory(kc, namespace);
    let failed = false;
    return {
      ...resource,
      listPage: async (q) => {
        if (!failed) {
          failed = true;
          throw Object.assign(new Error('injected LIST failure'), { code: 503 });
        }
        return resource.listPage(q);
      },
    };
  };
}

const FAST = { backoff: { initialMs: 100, maxMs: 1000 } } as const;

function startInformer(t: TestContext, opts: InformerOptions<V1ConfigMap>): { inf: Informer<V1ConfigMap>; errors: unknown[] } {
  const inf = new Informer<V1ConfigMap>(opts);
  const errors: unknown[] = [];
  inf.on('error', (err) => errors.push(err));
  t.after(() => inf.stop());
  inf.start();
  return { inf, errors };
}

async function createConfigMap(ns: string, name: string, data: Record<string, string> = {}, labelled = true): Promise<void> {
  await cluster.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, ...(labelled && { labels: { [LABEL]: 'yes' } }) }, data } });
}

const names = (objs: readonly { metadata?: { name?: string } }[]): string[] => objs.map((o) => o.metadata?.name ?? '').sort();
const RFC3339_SECONDS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

test('the informer lists a namespace\'s ConfigMaps by label and follows creates, updates and deletes', async (t) => {
  const ns = await cluster.namespace(t);
  await createConfigMap(ns, 'a', { v: '1' });
  await createConfigMap(ns, 'b');
  await createConfigMap(ns, 'unlabelled', {}, false);
  const changes: string[] = [];
  const { inf, errors } = startInformer(t, {
    kubeConfig: cluster.kc,
    resource: failingFirstList(configMaps),
    namespace: ns,
    labelSelector: `${LABEL}=yes`,
    ...FAST,
  });
  inf.on('change', (obj) => changes.push(obj.metadata?.name ?? ''));
  await inf.synced();
  assert.equal(errors.length, 1, 'the injected LIST failure was reported and retried');
  assert.match(String((errors[0] as Error).cause), /injected LIST failure/);
  assert.deepEqual(names(inf.list()), ['a', 'b']);

  const listed = inf.get(ns, 'a');
  assert.equal(listed?.kind, 'ConfigMap');
  assert.equal(listed?.apiVersion, 'v1');
  assert.match(String(listed?.metadata?.creationTimestamp), RFC3339_SECONDS);

  await createConfigMap(ns, 'c');
  await waitFor('c in the cache', async () => inf.get(ns, 'c'), 20_000, 50);
  const watched = inf.get(ns, 'c');
  assert.match(String(watched?.metadata?.creationTimestamp), RFC3339_SECONDS);
  assert.equal(typeof listed?.metadata?.creationTimestamp, typeof watched?.metadata?.creationTimestamp);

  await cluster.core.replaceNamespacedConfigMap({ namespace: ns, name: 'a', body: { metadata: { name: 'a', labels: { [LABEL]: 'yes' } }, data: { v: '2' } } });
  await waitFor('a updated', async () => inf.get(ns, 'a')?.data?.['v'] === '2', 20_000, 50);
  await cluster.core.deleteNamespacedConfigMap({ namespace: ns, name: 'b' });
  await waitFor('b gone', async () => inf.get(ns, 'b') === undefined, 20_000, 50);
  assert.deepEqual(names(inf.list()), ['a', 'c']);
  assert.ok(changes.includes('b'), 'the delete fired change');
  assert.ok(inf.healthy());
});

test('a Job informer over all namespaces sees a Job created and deleted', async (t) => {
  const ns = await cluster.namespace(t);
  const selector = `${LABEL}=${ns}`;
  const inf = new Informer({ kubeConfig: cluster.kc, resource: jobs, labelSelector: selector, ...FAST });
  t.after(() => inf.stop());
  inf.start();
  await inf.synced();
  assert.deepEqual(inf.list(), []);
  await cluster.batch.createNamespacedJob({
    namespace: ns,
    body: {
      metadata: { name: 'idle', labels: { [LABEL]: ns } },
      // Suspended: the test needs the object, not its pods.
      spec: { suspend: true, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox', command: ['true'] }] } } },
    },
  });
  await waitFor('the Job in the cache', async () => inf.get(ns, 'idle'), 20_000, 50);
  assert.equal(inf.get(ns, 'idle')?.spec?.suspend, true);
  await cluster.batch.deleteNamespacedJob({ namespace: ns, name: 'idle', propagationPolicy: 'Background' });
  await waitFor('the Job gone', async () => inf.get(ns, 'idle') === undefined, 30_000, 50);
});

test('cut connections and refused reconnects are survived, and changes made meanwhile arrive', async (t) => {
  const ns = await cluster.namespace(t);
  await createConfigMap(ns, 'a');
  const proxy = await TcpProxy.start(new URL(cluster.kc.getCurrentCluster()?.server ?? ''));
  t.after(() => proxy.close());
  const { inf, errors } = startInformer(t, { kubeConfig: proxy.kubeConfig(cluster.kc), resource: configMaps, namespace: ns, ...FAST, unhealthyAfterMs: 2000 });
  await inf.synced();
  await waitFor('the watch to open', async () => inf.stats().watches >= 1, 20_000, 50);

  proxy.refuse(true);
  proxy.cut();
  await createConfigMap(ns, 'made-while-down');
  await cluster.core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
  await waitFor('restarts to fail a few times', async () => errors.length >= 3, 30_000, 50);
  assert.ok(inf.get(ns, 'a'), 'precondition: nothing came through while the proxy refused');
  await waitFor('the informer to report itself unhealthy', async () => !inf.healthy(), 20_000, 50);

  proxy.refuse(false);
  await waitFor('the changes made meanwhile', async () => inf.get(ns, 'made-while-down') !== undefined && inf.get(ns, 'a') === undefined, 30_000, 50);
  await waitFor('healthy again', async () => inf.healthy(), 20_000, 50);
  assert.ok(inf.stats().errorRestarts >= 3);
});

test('a stream that stalls without closing is replaced by a fresh list', async (t) => {
  const ns = await cluster.namespace(t);
  await createConfigMap(ns, 'a', { v: '1' });
  await createConfigMap(ns, 'b');
  const proxy = await TcpProxy.start(new URL(cluster.kc.getCurrentCluster()?.server ?? ''));
  t.after(() => proxy.close());
  const { inf } = startInformer(t, { kubeConfig: proxy.kubeConfig(cluster.kc), resource: configMaps, namespace: ns, ...FAST, silenceMs: 3000 });
  await inf.synced();
  await waitFor('the watch to open', async () => inf.stats().watches >= 1, 20_000, 50);
  const listsBefore = inf.stats().lists;

  proxy.stall();
  await cluster.core.replaceNamespacedConfigMap({ namespace: ns, name: 'a', body: { metadata: { name: 'a' }, data: { v: 'missed' } } });
  await cluster.core.deleteNamespacedConfigMap({ namespace: ns, name: 'b' });
  await waitFor('the fresh list to repair the cache', async () => inf.get(ns, 'a')?.data?.['v'] === 'missed' && inf.get(ns, 'b') === undefined, 30_000, 50);
  assert.ok(inf.stats().silenceRestarts >= 1);
  assert.ok(inf.stats().lists > listsBefore);
});

test('one healthy watch stays open for over a minute and receives bookmarks (no 30 s abort)', { timeout: 180_000 }, async (t) => {
  const ns = await cluster.namespace(t);
  await createConfigMap(ns, 'ticker', { n: '0' });
  const { inf, errors } = startInformer(t, { kubeConfig: cluster.kc, resource: configMaps, namespace: ns });
  await inf.synced();
  await waitFor('the watch to open', async () => inf.stats().watches >= 1, 20_000, 50);
  const started = Date.now();
  let n = 0;
  while (Date.now() - started < 70_000) {
    await new Promise((r) => setTimeout(r, 10_000));
    n++;
    await cluster.core.replaceNamespacedConfigMap({ namespace: ns, name: 'ticker', body: { metadata: { name: 'ticker' }, data: { n: String(n) } } });
  }
  await waitFor('the last update', async () => inf.get(ns, 'ticker')?.data?.['n'] === String(n), 20_000, 50);
  const stats = inf.stats();
  t.diagnostic(`after ${Math.round((Date.now() - started) / 1000)} s: ${JSON.stringify(stats)}`);
  assert.deepEqual(errors, []);
  assert.equal(stats.watches, 1, 'the first watch connection was never replaced');
  assert.equal(stats.lists, 1);
  assert.ok(stats.bookmarks >= 1, 'the API server sent a bookmark within 70 s');
});
