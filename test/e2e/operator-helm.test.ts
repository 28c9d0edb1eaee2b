/**
 * The operator as users install it: `helm install` of charts/upscale-operator into the test
 * cluster. Its two replicas run as pods (the node agent maps the project's image to this checkout),
 * in-cluster as the chart's ServiceAccount; one leads, and an UpscaleJob runs to Succeeded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLIP_FRAMES, REPO, clip } from '../fixtures/clips.ts';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { useS3 } from '../s3/harness.ts';
import { apply, exampleJob, storageSecret, upload } from './operator-support.ts';

const cluster = await useCluster();
const s3 = await useS3();

test('helm install: two operator replicas in the cluster, one leader, and a job that succeeds', { timeout: 600_000 }, async (t) => {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  const release = `up-${randomBytes(3).toString('hex')}`;
  const opNs = `${release}-system`;
  const bucket = await s3.bucket(t);
  await upload(s3, bucket, 'in.mp4', await clip('tiny-basic'));
  await storageSecret(cluster, ns, s3);
  const chart = join(REPO, 'charts/upscale-operator');
  const installed = await cluster.helm(['install', release, chart, '-n', opNs, '--create-namespace', '--wait', '--timeout', '120s',
    '--set', 'image.tag=dev', '--set', `watchNamespace=${ns}`, '--set', 'metrics.port=0', '--set', 'leaderElection.leaseDuration=4',
    '--set', 'leaderElection.renewDeadline=3', '--set', 'leaderElection.retryPeriod=0.5', '--set', 'statusIntervalMs=1000']);
  t.after(async () => {
    await cluster.helm(['uninstall', release, '-n', opNs, '--wait']);
    await cluster.core.deleteNamespace({ name: opNs }).catch(() => undefined);
  });
  assert.equal(installed.code, 0, installed.stderr);

  const pods = await waitFor('two running operator pods', async () => {
    const list = (await cluster.core.listNamespacedPod({ namespace: opNs, labelSelector: `app.kubernetes.io/instance=${release}` })).items;
    return list.filter((p) => p.status?.phase === 'Running').length === 2 ? list : undefined;
  }, 120_000, 500);
  assert.ok(pods.every((p) => p.spec?.serviceAccountName === `${release}-upscale-operator`));

  await apply(cluster, ns, await exampleJob('via-helm', bucket, s3, { sharding: { framesPerShard: 4, parallelism: 3 } }));
  await waitFor('Succeeded', async () => {
    const j = (await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name: 'via-helm' })) as { status?: { phase?: string; message?: string; frames?: { done?: number } } };
    if (j.status?.phase === 'Failed') throw new Error(`failed: ${j.status.message}`);
    return j.status?.phase === 'Succeeded' ? j : undefined;
  }, 300_000, 500);

  const logs = await Promise.all(pods.map(async (p) => (await cluster.kubectl(['logs', '-n', opNs, p.metadata!.name!])).stdout));
  const leaders = logs.filter((l) => l.includes('"msg":"Became leader"'));
  assert.equal(leaders.length, 1, 'exactly one replica led');
  const follower = logs.find((l) => !l.includes('"msg":"Became leader"')) ?? '';
  assert.doesNotMatch(follower, /"msg":"Created Job"/, 'the follower created nothing');
  assert.match(leaders[0] ?? '', /"kubeconfig":"[^"]*"/);
  t.diagnostic(`frames: ${CLIP_FRAMES['tiny-basic']}`);
});
