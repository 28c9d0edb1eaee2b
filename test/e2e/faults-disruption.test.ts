/**
 * Disruptions (issue 11) on the test cluster: a shard pod preempted by a higher-priority pod (the
 * scheduler sets DisruptionTarget, reason PreemptionByScheduler, then deletes it), and at the same
 * time the node of another shard going NotReady mid-shard (the node agent stops heartbeating: after the 20 s
 * node-monitor grace the node-lifecycle controller taints it unreachable, and once the pods'
 * toleration of that taint runs out the taint-eviction controller sets DisruptionTarget and
 * deletes them). `backoffLimitPerShard: 0`, so a disruption counted as a failure would fail the job
 * at once; the pod failure policy ignores DisruptionTarget, so the job must succeed with no index
 * failure recorded. The shards run the trivial worker (the model is not the point), 30 s each, so
 * that they are still running when their node is lost.
 */
import assert from 'node:assert/strict';
import { test, before } from 'node:test';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { shellPod } from '../cluster/test-pods.ts';
import { COMMAND_ANNOTATION } from '../cluster/agent/command-override.ts';
import { apply, operatorKubeconfig, startOperator } from './operator-support.ts';

const cluster = await useCluster();
const INDEX = 'batch.kubernetes.io/job-completion-index';
const FAILURES = 'batch.kubernetes.io/job-index-failure-count';
const SHARD_SECONDS = 30;
let kubeconfig = '';

before(async () => {
  await ensureCrd(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
});

interface Uj { status?: { phase?: string; message?: string; shards?: { total?: number; succeeded?: number } } }

const ready = (n: V1Node) => n.status?.conditions?.find((c) => c.type === 'Ready');
const unreachable = (n: V1Node) => (n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable');

test('one shard pod preempted, another on a node lost mid-shard: the job succeeds without using a retry', { timeout: 300_000 }, async (t) => {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  // One replica, no Lease: this test is about pods, and a 4 s lease can be lost on a loaded machine.
  startOperator(t, kubeconfig, ns, ['--no-leader-elect']);
  await apply(cluster, ns, {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name: 'disrupted' },
    spec: {
      input: 's3://disruption/in.mp4',
      output: 's3://disruption/out.mp4',
      sharding: { shards: 2, parallelism: 2 },
      backoffLimitPerShard: 0,
      // The job's own toleration of an unreachable node wins over the operator's 30 s default
      // (tolerations.ts), which would make this test wait 30 s longer for the eviction.
      podTemplate: {
        metadata: { annotations: { [COMMAND_ANNOTATION]: JSON.stringify(['/bin/sh', '/app/test/bench/trivial-worker.sh', String(SHARD_SECONDS)]) } },
        spec: { tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }] },
      },
    },
  });
  const shardPods = async (): Promise<V1Pod[]> => (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=shards' })).items;
  const running = (pods: V1Pod[]) => pods.filter((p) => p.status?.phase === 'Running' && p.metadata?.deletionTimestamp === undefined);
  const reasons = new Map<string, string>(); // pod uid -> DisruptionTarget reason, as seen while it terminated
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const p of await shardPods()) {
        const c = p.status?.conditions?.find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
        if (c) reasons.set(p.metadata?.uid ?? '', c.reason ?? '');
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  t.after(async () => {
    watching = false;
    await watcher;
  });

  // Both shards preempted or lost at once, on different nodes: 3-GPU blockers leave one GPU per
  // node, so shard 0 and shard 1 land on different nodes, and the blocker on the lost node keeps
  // shard 0's replacement off it. (One disruption per index: the Job controller delays a pod's
  // replacement 10 s after its index's first failure, ignored or not, and 20 s after a second.)
  const nodes = await cluster.nodeNames();
  for (const [i, node] of nodes.entries()) {
    await cluster.core.createNamespacedPod({ namespace: ns, body: shellPod(`blocker-${i}`, 'sleep 600', { gpus: 3, terminationGracePeriodSeconds: 1, spec: { nodeSelector: { 'kubernetes.io/hostname': node } } }) });
  }
  const first = await waitFor('both shard pods running', async () => (running(await shardPods()).length === 2 ? running(await shardPods()) : undefined), 120_000, 200);
  const preempted = first.find((p) => p.metadata?.annotations?.[INDEX] === '0')!;
  const lost = first.find((p) => p.metadata?.annotations?.[INDEX] === '1')!;
  const nodeP = preempted.spec?.nodeName ?? '';
  const nodeL = lost.spec?.nodeName ?? '';
  assert.notEqual(nodeP, nodeL, 'the blockers spread the shards over both nodes');
  // Admitted as built: the job's 1 s for unreachable, the operator's 30 s for not-ready, and no
  // 300 s from the DefaultTolerationSeconds admission plugin.
  const tolerated = (key: string) => lost.spec?.tolerations?.filter((t) => t.key === key).map((t) => `${t.effect} ${t.tolerationSeconds}`);
  assert.deepEqual([tolerated('node.kubernetes.io/unreachable'), tolerated('node.kubernetes.io/not-ready')], [['NoExecute 1'], ['NoExecute 30']]);

  // Preemption: a 4-GPU pod of a higher PriorityClass pinned to shard 0's node.
  const priorityClass = `urgent-${ns}`;
  const created = await cluster.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: priorityClass }, value: 1_000_000, description: 'a test pod that preempts shard pods' }) });
  assert.equal(created.code, 0, created.stderr);
  t.after(() => cluster.kubectl(['delete', 'priorityclass', priorityClass, '--ignore-not-found']));
  await cluster.core.createNamespacedPod({ namespace: ns, body: shellPod('urgent', 'sleep 3', { gpus: 4, terminationGracePeriodSeconds: 1, spec: { priorityClassName: priorityClass, nodeSelector: { 'kubernetes.io/hostname': nodeP } } }) });
  // Node loss: shard 1's node stops heartbeating while the shard runs.
  await cluster.setHeartbeatPaused(nodeL, true);
  const lostAt = Date.now();
  t.after(async () => {
    await cluster.setHeartbeatPaused(nodeL, false);
    await waitFor(`node ${nodeL} to be Ready again`, async () => {
      const n = await cluster.core.readNode({ name: nodeL });
      return ready(n)?.status === 'True' && !unreachable(n);
    }, 120_000);
  });

  const replaced = (index: string, gone: V1Pod) => async () => running(await shardPods()).find((p) => p.metadata?.annotations?.[INDEX] === index && p.metadata?.uid !== gone.metadata?.uid);
  const r0 = await waitFor(`shard 0 preempted on ${nodeP} and replaced`, replaced('0', preempted), 90_000, 200);
  assert.equal(reasons.get(preempted.metadata?.uid ?? ''), 'PreemptionByScheduler', 'the preempted pod carried DisruptionTarget');
  const r1 = await waitFor(`node ${nodeL} NotReady and shard 1 moved off it`, replaced('1', lost), 120_000, 200);
  t.diagnostic(`shard 1 ran again on ${r1.spec?.nodeName} ${((Date.now() - lostAt) / 1000).toFixed(1)} s after ${nodeL}'s heartbeat stopped`);
  assert.notEqual(r1.spec?.nodeName, nodeL);
  assert.notEqual(r0.spec?.nodeName, nodeL);
  assert.equal(reasons.get(lost.metadata?.uid ?? ''), 'DeletionByTaintManager', 'the pod on the lost node carried DisruptionTarget');
  await cluster.setHeartbeatPaused(nodeL, false);

  const done = await waitFor('UpscaleJob disrupted finished', async () => {
    const s = ((await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name: 'disrupted' })) as Uj).status;
    return s?.phase === 'Succeeded' || s?.phase === 'Failed' ? s : undefined;
  }, 180_000, 500);
  assert.equal(done.phase, 'Succeeded', `job ended ${done.phase}: ${done.message}`);
  const job = (await cluster.batch.listNamespacedJob({ namespace: ns, labelSelector: 'app.kubernetes.io/component=shards' })).items[0];
  assert.equal(job?.status?.failed ?? 0, 0, 'no shard pod counted as failed');
  assert.equal(job?.status?.failedIndexes ?? '', '', 'no failed index');
  for (const p of await shardPods()) assert.equal(p.metadata?.annotations?.[FAILURES] ?? '0', '0', `pod ${p.metadata?.name} of shard ${p.metadata?.annotations?.[INDEX]} was created as a retry`);
});
