import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { collectionPath, configMaps, jobs, pods, upscaleJobs } from './resources.ts';
import { FakeApiServer } from './testing/fake-apiserver.ts';

const kc = new KubeConfig();
kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });

test('each resource watches the API path of its group, in one namespace or in all', () => {
  assert.equal(jobs(kc, 'videos').path, '/apis/batch/v1/namespaces/videos/jobs');
  assert.equal(jobs(kc, undefined).path, '/apis/batch/v1/jobs');
  assert.equal(pods(kc, 'videos').path, '/api/v1/namespaces/videos/pods');
  assert.equal(pods(kc, undefined).path, '/api/v1/pods');
  assert.equal(configMaps(kc, 'videos').path, '/api/v1/namespaces/videos/configmaps');
  assert.equal(upscaleJobs(kc, 'videos').path, '/apis/upscale.dev/v1alpha1/namespaces/videos/upscalejobs');
  assert.equal(upscaleJobs(kc, undefined).path, '/apis/upscale.dev/v1alpha1/upscalejobs');
  assert.equal(jobs(kc, undefined).description, 'batch/v1 jobs in all namespaces');
});

test('a namespace is escaped into the path', () => {
  assert.equal(collectionPath('/api/v1', 'pods', 'a/b'), '/api/v1/namespaces/a%2Fb/pods');
});

test('a typed list page carries the resourceVersion, continue token and list kind', async (t) => {
  const fake = await FakeApiServer.start();
  t.after(() => fake.close());
  for (const n of ['a', 'b', 'c']) fake.create(n);
  const res = configMaps(fake.kubeConfig(), 'ns');
  const first = await res.listPage({ limit: 2 });
  assert.equal(first.kind, 'ConfigMapList');
  assert.equal(first.items.length, 2);
  assert.ok(first.continue);
  const second = await res.listPage({ limit: 2, continue: first.continue });
  assert.equal(second.items.length, 1);
  assert.equal(second.continue, undefined);
  assert.equal(second.resourceVersion, first.resourceVersion);
});

test('a failed list rejects with the API status code', async (t) => {
  const fake = await FakeApiServer.start();
  t.after(() => fake.close());
  fake.failLists(1);
  await assert.rejects(configMaps(fake.kubeConfig(), 'ns').listPage({}), (err: { code?: number }) => err.code === 500);
});
