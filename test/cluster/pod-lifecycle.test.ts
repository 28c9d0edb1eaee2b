/**
 * Pod lifecycle on the node agent: graceful deletion (SIGTERM, grace period, SIGKILL), eviction
 * with the DisruptionTarget condition, garbage collection of owned pods, activeDeadlineSeconds,
 * and the env and volumes a pod spec can name (secrets, config maps, downward API, the
 * projected ServiceAccount token used by a real kubectl inside the pod).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { readPod, useCluster, waitFor } from './harness.ts';
import { repoRoot } from './paths.ts';
import { shellPod } from './test-pods.ts';

const cluster = await useCluster();
const gone = async (ns: string, name: string) => (await readPod(cluster.core, ns, name)) === undefined;

/** A pod that records the signals it gets in a host folder (hostPath is used in place). */
function signalPod(name: string, dir: string, trap: string, grace: number) {
  const pod = shellPod(name, `${trap}; echo started > /out/state; while true; do sleep 0.2; done`, { terminationGracePeriodSeconds: grace });
  pod.spec!.volumes = [{ name: 'out', hostPath: { path: dir, type: 'Directory' } }];
  pod.spec!.containers[0]!.volumeMounts = [{ name: 'out', mountPath: '/out' }];
  return pod;
}

test('deleting a running pod delivers SIGTERM and the agent deletes it after exit', async (t) => {
  const ns = await cluster.namespace(t);
  const dir = mkdtempSync(join(tmpdir(), 'sigterm-'));
  await cluster.core.createNamespacedPod({ namespace: ns, body: signalPod('term', dir, `trap 'echo sigterm > /out/state; exit 0' TERM`, 30) });
  await waitFor('the pod to start', async () => existsSync(join(dir, 'state')) && readFileSync(join(dir, 'state'), 'utf8') === 'started\n');
  const started = Date.now();
  await cluster.core.deleteNamespacedPod({ namespace: ns, name: 'term' });
  await waitFor('the pod object to be deleted', () => gone(ns, 'term'));
  assert.equal(readFileSync(join(dir, 'state'), 'utf8'), 'sigterm\n');
  assert.ok(Date.now() - started < 20_000, 'the agent waited for the full grace period although the container had exited');
});

test('a container that ignores SIGTERM is killed after the grace period', async (t) => {
  const ns = await cluster.namespace(t);
  const dir = mkdtempSync(join(tmpdir(), 'sigkill-'));
  await cluster.core.createNamespacedPod({ namespace: ns, body: signalPod('stubborn', dir, `trap 'echo ignored-term > /out/state' TERM`, 3) });
  await waitFor('the pod to start', async () => existsSync(join(dir, 'state')));
  const started = Date.now();
  await cluster.core.deleteNamespacedPod({ namespace: ns, name: 'stubborn' });
  await waitFor('the pod object to be deleted', () => gone(ns, 'stubborn'));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 2_500, `deleted after ${elapsed} ms, before the 3 s grace period`);
  assert.equal(readFileSync(join(dir, 'state'), 'utf8'), 'ignored-term\n');
});

test('eviction through the Eviction API sets DisruptionTarget and fails the pod', async (t) => {
  const ns = await cluster.namespace(t);
  // A finalizer keeps the object after the agent's final delete so its last status can be read.
  const pod = shellPod('evictee', 'while true; do sleep 0.2; done', { terminationGracePeriodSeconds: 5 });
  pod.metadata!.finalizers = ['test.upscale-operator.io/hold'];
  await cluster.core.createNamespacedPod({ namespace: ns, body: pod });
  t.after(() =>
    cluster.core
      .patchNamespacedPod({ namespace: ns, name: 'evictee', body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch(() => undefined),
  );
  await waitFor('the pod to run', async () => (await readPod(cluster.core, ns, 'evictee'))?.status?.phase === 'Running');
  await cluster.core.createNamespacedPodEviction({ namespace: ns, name: 'evictee', body: { metadata: { name: 'evictee', namespace: ns } } });
  const final = await waitFor('the evicted pod to reach Failed', async () => {
    const p = await readPod(cluster.core, ns, 'evictee');
    return p?.status?.phase === 'Failed' ? p : undefined;
  });
  const cond = final.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
  assert.equal(cond?.status, 'True');
  assert.equal(cond?.reason, 'EvictionByEvictionAPI');
  assert.ok(final.metadata?.deletionTimestamp, 'the evicted pod has no deletion timestamp');
  assert.equal(final.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 143);
});

test('deleting an owner garbage-collects its pods', async (t) => {
  const ns = await cluster.namespace(t);
  const owner = await cluster.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'owner' } } });
  const pod = shellPod('owned', 'while true; do sleep 0.2; done', { terminationGracePeriodSeconds: 1 });
  pod.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' }];
  await cluster.core.createNamespacedPod({ namespace: ns, body: pod });
  await waitFor('the owned pod to run', async () => (await readPod(cluster.core, ns, 'owned'))?.status?.phase === 'Running');
  await cluster.core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner', propagationPolicy: 'Background' });
  await waitFor('the garbage collector to delete the owned pod', () => gone(ns, 'owned'), 90_000);
});

test('activeDeadlineSeconds fails a running pod with DeadlineExceeded', async (t) => {
  const ns = await cluster.namespace(t);
  const pod = shellPod('late', 'while true; do sleep 0.2; done', { terminationGracePeriodSeconds: 1, spec: { activeDeadlineSeconds: 3 } });
  await cluster.core.createNamespacedPod({ namespace: ns, body: pod });
  const failed = await waitFor('the pod to fail its deadline', async () => {
    const p = await readPod(cluster.core, ns, 'late');
    return p?.status?.phase === 'Failed' ? p : undefined;
  });
  assert.equal(failed.status?.reason, 'DeadlineExceeded');
  assert.notEqual(failed.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
});

test('env and volumes resolve secrets, config maps, downward API and the ServiceAccount token', async (t) => {
  const ns = await cluster.namespace(t);
  await cluster.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'creds' }, stringData: { key: 'AKIA-TEST', 'token.txt': 'tok' } } });
  await cluster.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'settings' }, data: { MODEL: 'realesrgan-x4', 'app.json': '{"tile":256}' } } });
  const kubectl = cluster.info.kubectl;
  const script = [
    'set -e',
    'echo "key=$ACCESS_KEY model=$MODEL pod=$POD_NAME tier=$TIER"',
    'echo "secret-file=$(cat /etc/creds/token.txt) config-file=$(cat /etc/settings/app.json)"',
    'echo "labels=$(cat /etc/podinfo/labels)"',
    'echo "scratch=$(echo hi > /scratch/f && cat /scratch/f)"',
    `${kubectl} get pods -n ${ns} 2>&1 || true`,
  ].join('\n');
  const pod = shellPod('wired', script, { labels: { tier: 'gold' } });
  const c = pod.spec!.containers[0]!;
  c.env = [
    { name: 'ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'key' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'TIER', valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } } },
  ];
  c.envFrom = [{ configMapRef: { name: 'settings' } }];
  c.volumeMounts = [
    { name: 'creds', mountPath: '/etc/creds', readOnly: true },
    { name: 'settings', mountPath: '/etc/settings' },
    { name: 'podinfo', mountPath: '/etc/podinfo' },
    { name: 'scratch', mountPath: '/scratch' },
  ];
  pod.spec!.volumes = [
    { name: 'creds', secret: { secretName: 'creds' } },
    { name: 'settings', configMap: { name: 'settings', items: [{ key: 'app.json', path: 'app.json' }] } },
    { name: 'podinfo', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
    { name: 'scratch', emptyDir: {} },
  ];
  await cluster.core.createNamespacedPod({ namespace: ns, body: pod });
  await waitFor('pod wired to succeed', async () => (await readPod(cluster.core, ns, 'wired'))?.status?.phase === 'Succeeded');
  const log = await cluster.core.readNamespacedPodLog({ namespace: ns, name: 'wired' });
  const lines = log.split('\n');
  assert.equal(lines[0], 'key=AKIA-TEST model=realesrgan-x4 pod=wired tier=gold');
  assert.equal(lines[1], 'secret-file=tok config-file={"tile":256}');
  assert.equal(lines[2], 'labels=app="cluster-test"');
  assert.equal(lines[3], 'tier="gold"');
  assert.equal(lines[4], 'scratch=hi');
  // kubectl in the pod authenticates with the projected token as the namespace's default ServiceAccount.
  assert.match(log, new RegExp(`pods is forbidden: User "system:serviceaccount:${ns}:default" cannot list resource "pods"`));
});

test('the image table runs node images and the project image with the repository as WORKDIR', async (t) => {
  const ns = await cluster.namespace(t);
  const script = 'console.log(JSON.stringify({ major: Number(process.versions.node.split(".")[0]), cwd: process.cwd() }))';
  const pods = [
    { metadata: { name: 'node-image' }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'node:24-slim', command: ['node', '-e', script] }] } },
    { metadata: { name: 'project-image' }, spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'ghcr.io/example/upscale-operator:dev', command: ['node', '-e', script] }] } },
  ];
  for (const body of pods) await cluster.core.createNamespacedPod({ namespace: ns, body });
  for (const name of ['node-image', 'project-image']) {
    await waitFor(`pod ${name} to succeed`, async () => (await readPod(cluster.core, ns, name))?.status?.phase === 'Succeeded');
  }
  const out = async (name: string) => JSON.parse(await cluster.core.readNamespacedPodLog({ namespace: ns, name })) as { major: number; cwd: string };
  assert.ok((await out('node-image')).major >= 24);
  assert.equal((await out('project-image')).cwd, repoRoot);
});

test('an image missing from the image table leaves the container waiting with ErrImagePull', async (t) => {
  const ns = await cluster.namespace(t);
  await cluster.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'unknown' }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } });
  const waiting = await waitFor('the container to wait with ErrImagePull', async () => {
    const w = (await readPod(cluster.core, ns, 'unknown'))?.status?.containerStatuses?.[0]?.state?.waiting;
    return w?.reason === 'ErrImagePull' ? w : undefined;
  });
  assert.match(waiting.message ?? '', /image nginx:1\.27 has no entry in the node agent's image table/);
  assert.equal((await readPod(cluster.core, ns, 'unknown'))?.status?.phase, 'Pending');
});
