/**
 * An Indexed Job with a pod failure policy on the real Job controller and the node agent:
 * every pod sees its completion index (env from a fieldRef to the index annotation), a failing
 * index is retried within `backoffLimitPerIndex`, and an evicted pod (DisruptionTarget) is
 * ignored rather than counted against its index.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { useCluster, waitFor } from './harness.ts';

const cluster = await useCluster();

const FAILURES = 'batch.kubernetes.io/job-index-failure-count';
const INDEX = 'batch.kubernetes.io/job-completion-index';

const script = `
echo "index=$JOB_COMPLETION_INDEX failures=$FAILURES" > /dev/termination-log
case "$JOB_COMPLETION_INDEX" in
  1) if [ "$FAILURES" = "0" ]; then exit 1; fi ;;
  2) if [ -z "$RELEASE" ]; then while true; do sleep 0.2; done; fi ;;
esac
exit 0`;

function job(name: string): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      completions: 3,
      parallelism: 3,
      completionMode: 'Indexed',
      backoffLimitPerIndex: 1,
      podFailurePolicy: {
        rules: [
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'FailIndex', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
        ],
      },
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 2,
          containers: [
            {
              name: 'main',
              image: 'busybox:1.37',
              command: ['sh', '-c', script],
              env: [
                { name: 'FAILURES', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${FAILURES}']` } } },
                { name: 'RELEASE', valueFrom: { configMapKeyRef: { name: 'job-control', key: 'release', optional: true } } },
              ],
            },
          ],
        },
      },
    },
  };
}

test('an Indexed Job retries a failing index and ignores an evicted pod', async (t) => {
  const ns = await cluster.namespace(t);
  await cluster.batch.createNamespacedJob({ namespace: ns, body: job('shards') });
  const pods = async (): Promise<V1Pod[]> => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=shards' })).items;
  const index = (p: V1Pod) => p.metadata?.annotations?.[INDEX];

  // Index 1 fails once and succeeds on its retry; index 2 runs until it is evicted.
  const running = await waitFor('index 1 to succeed on retry while index 2 runs', async () => {
    const all = await pods();
    const retried = all.some((p) => index(p) === '1' && p.metadata?.annotations?.[FAILURES] === '1' && p.status?.phase === 'Succeeded');
    const two = all.find((p) => index(p) === '2' && p.status?.phase === 'Running');
    return retried && two;
  }, 120_000);

  await cluster.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'job-control' }, data: { release: 'yes' } } });
  await cluster.core.createNamespacedPodEviction({
    namespace: ns,
    name: running.metadata?.name ?? '',
    body: { metadata: { name: running.metadata?.name ?? '', namespace: ns } },
  });

  const done = await waitFor('the Job to complete', async () => {
    const j = await cluster.batch.readNamespacedJob({ namespace: ns, name: 'shards' });
    const failed = j.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed) throw new Error(`the Job failed: ${failed.reason}: ${failed.message}`);
    return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
  }, 120_000);
  assert.equal(done.status?.succeeded, 3);
  assert.equal(done.status?.completedIndexes, '0-2');
  assert.equal(done.status?.failedIndexes ?? '', '');
  assert.equal(done.status?.failed, 1, 'only index 1 counts a failure; the evicted pod is ignored');

  const succeeded = (await pods()).filter((p) => p.status?.phase === 'Succeeded');
  assert.deepEqual(succeeded.map(index).sort(), ['0', '1', '2']);
  for (const p of succeeded) {
    const message = p.status?.containerStatuses?.[0]?.state?.terminated?.message ?? '';
    assert.equal(message, `index=${index(p)} failures=${p.metadata?.annotations?.[FAILURES]}\n`);
  }
  const replacement = succeeded.find((p) => index(p) === '2');
  assert.notEqual(replacement?.metadata?.uid, running.metadata?.uid);
  assert.equal(replacement?.metadata?.annotations?.[FAILURES], '0', 'the eviction counted against index 2');
});
