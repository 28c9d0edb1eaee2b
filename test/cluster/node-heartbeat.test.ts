/**
 * A node whose heartbeat stops: the node-lifecycle controller marks it NotReady (Unknown),
 * taints it unreachable, marks its pods not Ready, and the taint-eviction controller deletes
 * pods whose toleration runs out; resuming the heartbeat makes the node Ready again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node } from '@kubernetes/client-node';
import { readPod, useCluster, waitFor } from './harness.ts';
import { shellPod } from './test-pods.ts';

const cluster = await useCluster();

const ready = (n: V1Node) => n.status?.conditions?.find((c) => c.type === 'Ready');
const unreachable = (n: V1Node) => (n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable');

test('a node whose heartbeat stops goes NotReady and its pods are handled', async (t) => {
  const ns = await cluster.namespace(t);
  const node = (await cluster.nodeNames()).at(-1) ?? '';
  const onNode = { nodeSelector: { 'kubernetes.io/hostname': node } };
  const stays = shellPod('stays', 'while true; do sleep 0.2; done', { terminationGracePeriodSeconds: 1, spec: onNode });
  const leaves = shellPod('leaves', 'while true; do sleep 0.2; done', {
    terminationGracePeriodSeconds: 1,
    spec: { ...onNode, tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }] },
  });
  await cluster.core.createNamespacedPod({ namespace: ns, body: stays });
  await cluster.core.createNamespacedPod({ namespace: ns, body: leaves });
  await waitFor('both pods to run', async () => {
    const phases = await Promise.all(['stays', 'leaves'].map(async (n) => (await readPod(cluster.core, ns, n))?.status?.phase));
    return phases.every((p) => p === 'Running');
  });

  await cluster.setHeartbeatPaused(node, true);
  t.after(async () => {
    await cluster.setHeartbeatPaused(node, false);
    await waitFor(`node ${node} to be Ready again`, async () => {
      const n = await cluster.core.readNode({ name: node });
      return ready(n)?.status === 'True' && !unreachable(n);
    }, 120_000);
  });

  const notReady = await waitFor(`node ${node} to go NotReady`, async () => {
    const n = await cluster.core.readNode({ name: node });
    return ready(n)?.status === 'Unknown' && unreachable(n) ? n : undefined;
  }, 90_000);
  assert.equal(ready(notReady)?.reason, 'NodeStatusUnknown');

  await waitFor('the pod on the lost node to be marked not Ready', async () => {
    const p = await readPod(cluster.core, ns, 'stays');
    return p?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False');
  }, 60_000);
  await waitFor('the taint-eviction controller to delete the pod with a short toleration', async () => (await readPod(cluster.core, ns, 'leaves')) === undefined, 90_000);

  await cluster.setHeartbeatPaused(node, false);
  await waitFor(`node ${node} to be Ready again`, async () => {
    const n = await cluster.core.readNode({ name: node });
    return ready(n)?.status === 'True' && !unreachable(n);
  }, 90_000);
  assert.equal((await readPod(cluster.core, ns, 'stays'))?.status?.phase, 'Running');
});
