/**
 * The operator's event recorder (operator/controller/events.ts) against the real kube-apiserver:
 * repeats of one event become one events.k8s.io/v1 Event whose series counts them, different notes
 * become different Events, `kubectl describe` shows them on the object they are about, and all of
 * it is written by a ServiceAccount that may only `create` and `patch` events, as the chart grants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthorizationV1Api, EventsV1Api, type EventsV1Event, type KubeConfig } from '@kubernetes/client-node';
import { EventRecorder, REPORTING_CONTROLLER, kubeEventSink, type EventRegarding, type EventSink } from '../../operator/controller/events.ts';
import { useCluster, waitFor } from './harness.ts';

const cluster = await useCluster();
const WRITER = 'event-writer';
const events = cluster.kc.makeApiClient(EventsV1Api);

/** Whether the ServiceAccount behind `kc` may `verb` events.k8s.io events in `namespace`. */
async function may(kc: KubeConfig, namespace: string, verb: string): Promise<boolean> {
  const review = await kc.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { namespace, verb, group: 'events.k8s.io', resource: 'events' } } },
  });
  return review.status?.allowed === true;
}

/** A ServiceAccount with a Role of only `create` and `patch` on events.k8s.io events; its KubeConfig. */
async function eventWriter(namespace: string): Promise<KubeConfig> {
  await cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: WRITER } } });
  await cluster.rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: WRITER }, rules: [{ apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] }] },
  });
  await cluster.rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: WRITER },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: WRITER },
      subjects: [{ kind: 'ServiceAccount', name: WRITER, namespace }],
    },
  });
  const kc = await cluster.serviceAccount(namespace, WRITER);
  // RBAC caches are informer-fed: the binding may take a moment to apply.
  await waitFor('the ServiceAccount to be allowed to create and patch events', async () => (await may(kc, namespace, 'create')) && may(kc, namespace, 'patch'));
  assert.equal(await may(kc, namespace, 'list'), false, 'the writer must not be able to read events');
  return kc;
}

/** A sink that counts the API requests it passes on. */
function counting(sink: EventSink): EventSink & { requests: string[] } {
  const requests: string[] = [];
  return {
    requests,
    create: (event) => (requests.push('create'), sink.create(event)),
    patch: (event, series) => (requests.push('patch'), sink.patch(event, series)),
  };
}

async function configMapRef(namespace: string, name: string): Promise<EventRegarding> {
  const cm = await cluster.core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { k: 'v' } } });
  const { uid, resourceVersion } = cm.metadata ?? {};
  assert.ok(uid && resourceVersion);
  return { apiVersion: 'v1', kind: 'ConfigMap', name, namespace, uid, resourceVersion };
}

async function eventsAbout(namespace: string, uid: string): Promise<EventsV1Event[]> {
  const list = await events.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.regarding?.uid === uid);
}

test('50 identical warnings are one Event whose series counts them, written with create and patch only', async (t) => {
  const ns = await cluster.namespace(t);
  const sink = counting(kubeEventSink(await eventWriter(ns)));
  const warnings: object[] = [];
  const recorder = new EventRecorder({ sink, reportingInstance: 'events-test', log: { warn: (o) => warnings.push(o) } });
  const cm = await configMapRef(ns, 'flappy');

  const note = 'shard 3 of 8 exited with code 137 reading https://minio:9000/in/a.mp4?X-Amz-Signature=deadbeef';
  for (let i = 0; i < 50; i++) recorder.event(cm, 'Warning', 'ShardFailed', 'Shard', note);
  await recorder.flush();
  assert.deepEqual(warnings, []);
  assert.deepEqual(sink.requests, ['create', 'patch']);
  t.diagnostic(`API requests for 50 repeats: ${sink.requests.length} (${sink.requests.join(', ')})`);

  const found = await eventsAbout(ns, cm.uid);
  assert.equal(found.length, 1, `events: ${JSON.stringify(found.map((e) => e.note))}`);
  const [ev] = found;
  assert.equal(ev?.series?.count, 50);
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.reason, 'ShardFailed');
  assert.equal(ev.action, 'Shard');
  assert.equal(ev.reportingController, REPORTING_CONTROLLER);
  assert.equal(ev.reportingInstance, 'events-test');
  assert.equal(ev.note, 'shard 3 of 8 exited with code 137 reading https://minio:9000/in/a.mp4?<redacted>');
  assert.deepEqual({ ...ev.regarding }, { ...cm });
  // client-node hands MicroTimes back as the strings the API server sent.
  assert.match(String(ev.eventTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  assert.match(String(ev.series.lastObservedTime), /\.\d{6}Z$/);

  const described = await cluster.kubectl(['describe', 'configmap', 'flappy', '-n', ns]);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /Warning\s+ShardFailed\s.*\(x50 over .*\)\s+upscale\.dev\/upscale-operator\s/);
  assert.match(described.stdout, /shard 3 of 8 exited with code 137 reading https:\/\/minio:9000\/in\/a\.mp4\?<redacted>/);
  assert.doesNotMatch(described.stdout, /deadbeef/);
});

test('three different notes are three Events, each counting its own repeats', async (t) => {
  const ns = await cluster.namespace(t);
  const sink = counting(kubeEventSink(await eventWriter(ns)));
  const recorder = new EventRecorder({ sink, reportingInstance: 'events-test' });
  const cm = await configMapRef(ns, 'shards');

  // The third note is 2000 bytes of UTF-8: cut to the API server's 1024-byte limit, not refused.
  const notes = ['shard 1 failed: exit code 1', 'shard 2 failed: exit code 2', `shard 3 failed: ${'é'.repeat(1000)}`];
  for (const note of [...notes, ...notes]) recorder.event(cm, 'Warning', 'ShardFailed', 'Shard', note);
  await recorder.flush();
  // The first create was already on its way; the other two were still queued at the flush and
  // went out carrying their series, so only the first needs a patch.
  assert.deepEqual(sink.requests, ['create', 'create', 'create', 'patch']);

  const found = await eventsAbout(ns, cm.uid);
  assert.equal(found.length, 3);
  const byNote = new Map(found.map((e) => [e.note?.slice(0, 16), e]));
  for (const note of notes) assert.equal(byNote.get(note.slice(0, 16))?.series?.count, 2, note.slice(0, 16));
  const long = byNote.get('shard 3 failed: ')?.note ?? '';
  assert.ok(Buffer.byteLength(long) <= 1024 && long.endsWith('…'), `${Buffer.byteLength(long)} bytes`);

  const described = await cluster.kubectl(['describe', 'configmap', 'shards', '-n', ns]);
  assert.equal(described.code, 0, described.stderr);
  assert.match(described.stdout, /shard 1 failed: exit code 1/);
  assert.match(described.stdout, /shard 2 failed: exit code 2/);
  assert.equal(described.stdout.match(/ShardFailed/g)?.length, 3);
});
