/**
 * GPU pods end to end: the real scheduler places pods by free `nvidia.com/gpu`, the node agent
 * runs them as processes with device indices, and reports exit codes and termination messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { readPod, useCluster, waitFor } from './harness.ts';
import { shellPod } from './test-pods.ts';

const cluster = await useCluster();

function terminated(pod: V1Pod | undefined) {
  return pod?.status?.containerStatuses?.[0]?.state?.terminated;
}

test('a one-GPU pod is scheduled, runs and succeeds with its termination message', async (t) => {
  const ns = await cluster.namespace(t);
  const script = 'echo "node=$KUBE_AGENT_NODE devices=$NVIDIA_VISIBLE_DEVICES cuda=$CUDA_VISIBLE_DEVICES" > /dev/termination-log; echo done';
  await cluster.core.createNamespacedPod({ namespace: ns, body: shellPod('gpu-ok', script, { gpus: 1 }) });
  const pod = await waitFor('pod gpu-ok to succeed', async () => {
    const p = await readPod(cluster.core, ns, 'gpu-ok');
    return p?.status?.phase === 'Succeeded' ? p : undefined;
  });
  const nodes = await cluster.nodeNames();
  assert.ok(nodes.includes(pod.spec?.nodeName ?? ''), `pod ran on ${pod.spec?.nodeName}, not an agent node`);
  assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
  const term = terminated(pod);
  assert.equal(term?.exitCode, 0);
  assert.equal(term?.reason, 'Completed');
  assert.match(term?.message ?? '', new RegExp(`^node=${pod.spec?.nodeName} devices=([0-3]) cuda=\\1\\n$`));
  const logs = await cluster.core.readNamespacedPodLog({ namespace: ns, name: 'gpu-ok' });
  assert.equal(logs, 'done\n');
});

test('a failing pod reaches Failed with its exit code and log fallback message', async (t) => {
  const ns = await cluster.namespace(t);
  await cluster.core.createNamespacedPod({
    namespace: ns,
    body: shellPod('gpu-fail', 'echo "cannot open model" >&2; exit 3', { gpus: 1, terminationMessagePolicy: 'FallbackToLogsOnError' }),
  });
  const pod = await waitFor('pod gpu-fail to fail', async () => {
    const p = await readPod(cluster.core, ns, 'gpu-fail');
    return p?.status?.phase === 'Failed' ? p : undefined;
  });
  const term = terminated(pod);
  assert.equal(term?.exitCode, 3);
  assert.equal(term?.reason, 'Error');
  assert.equal(term?.message, 'cannot open model\n');
  assert.equal(pod.status?.containerStatuses?.[0]?.restartCount, 0);
});

test('OnFailure restarts a failing container and counts restarts', async (t) => {
  const ns = await cluster.namespace(t);
  // The emptyDir survives restarts: the first run fails, the second succeeds.
  const pod = shellPod('flaky', 'if [ -f /work/ran ]; then echo second; exit 0; fi; touch /work/ran; echo first; exit 1', { restartPolicy: 'OnFailure' });
  pod.spec!.volumes = [{ name: 'work', emptyDir: {} }];
  pod.spec!.containers[0]!.volumeMounts = [{ name: 'work', mountPath: '/work' }];
  await cluster.core.createNamespacedPod({ namespace: ns, body: pod });
  const done = await waitFor('pod flaky to succeed after a restart', async () => {
    const p = await readPod(cluster.core, ns, 'flaky');
    return p?.status?.phase === 'Succeeded' ? p : undefined;
  }, 90_000);
  const status = done.status?.containerStatuses?.[0];
  assert.equal(status?.restartCount, 1);
  assert.equal(status?.lastState?.terminated?.exitCode, 1);
  assert.equal(status?.state?.terminated?.exitCode, 0);
  const previous = await cluster.kubectl(['logs', '-n', ns, 'flaky', '--previous']);
  assert.equal(previous.stdout, 'first\n');
});

test('a pod asking for more GPUs than any node has stays Pending as Unschedulable', async (t) => {
  const ns = await cluster.namespace(t);
  await cluster.core.createNamespacedPod({ namespace: ns, body: shellPod('too-big', 'true', { gpus: 5 }) });
  const cond = await waitFor('the scheduler to mark too-big Unschedulable', async () => {
    const p = await readPod(cluster.core, ns, 'too-big');
    return p?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  });
  assert.match(cond.message ?? '', /Insufficient nvidia\.com\/gpu/);
  const pod = await readPod(cluster.core, ns, 'too-big');
  assert.equal(pod?.status?.phase, 'Pending');
  assert.equal(pod?.spec?.nodeName, undefined);
});

test('eight one-GPU pods on 2x4 GPUs get eight distinct devices and a ninth waits', async (t) => {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  const script = 'echo "devices=$NVIDIA_VISIBLE_DEVICES"; while true; do sleep 1; done';
  const names = Array.from({ length: 8 }, (_, i) => `gpu-${i}`);
  await Promise.all(names.map((name) => cluster.core.createNamespacedPod({ namespace: ns, body: shellPod(name, script, { gpus: 1, terminationGracePeriodSeconds: 1 }) })));
  const assignments = await waitFor('eight pods to run and print their devices', async () => {
    const out: string[] = [];
    for (const name of names) {
      const p = await readPod(cluster.core, ns, name);
      if (p?.status?.phase !== 'Running') return undefined;
      const log = await cluster.core.readNamespacedPodLog({ namespace: ns, name });
      const m = /^devices=(\d+)$/m.exec(log);
      if (!m) return undefined;
      out.push(`${p.spec?.nodeName}/${m[1]}`);
    }
    return out;
  }, 120_000);
  assert.equal(new Set(assignments).size, 8, `assignments: ${assignments.join(', ')}`);
  const nodes = await cluster.nodeNames();
  assert.deepEqual([...new Set(assignments.map((a) => a.split('/')[0]))].sort(), nodes);

  await cluster.core.createNamespacedPod({ namespace: ns, body: shellPod('gpu-8', script, { gpus: 1, terminationGracePeriodSeconds: 1 }) });
  const cond = await waitFor('the ninth pod to be Unschedulable', async () => {
    const p = await readPod(cluster.core, ns, 'gpu-8');
    return p?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
  });
  assert.match(cond.message ?? '', /Insufficient nvidia\.com\/gpu/);

  // Freeing one device lets the ninth pod run on the device the deleted pod held.
  const freed = assignments[0] ?? '';
  await cluster.core.deleteNamespacedPod({ namespace: ns, name: 'gpu-0' });
  const ninth = await waitFor('the ninth pod to run', async () => {
    const p = await readPod(cluster.core, ns, 'gpu-8');
    if (p?.status?.phase !== 'Running') return undefined;
    const m = /^devices=(\d+)$/m.exec(await cluster.core.readNamespacedPodLog({ namespace: ns, name: 'gpu-8' }));
    return m ? `${p.spec?.nodeName}/${m[1]}` : undefined;
  }, 120_000);
  assert.equal(ninth, freed);
});
