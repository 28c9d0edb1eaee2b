/**
 * The operator with Kueue v0.17 (a local process, test/kueue/harness.ts) on the test cluster: the
 * shard Job of an UpscaleJob whose pods carry `kueue.x-k8s.io/queue-name` is queued and admitted
 * by Kueue against a ClusterQueue's GPU quota, and suspending such a job goes through its
 * Workload's `spec.active`, never the Job's `spec.suspend` (../../shared/research/kueue.md).
 *
 * Each test gets a namespace labelled for the harness's (namespace-scoped) Kueue webhooks and its
 * own ResourceFlavor, ClusterQueue (`namespaceSelector: {}`) and LocalQueue `gpu-queue`. Kueue's
 * quota for a Job is min(parallelism, completions) x per-pod requests (limits stand in for missing
 * requests), so a shard Job with parallelism 2 and 1 GPU per shard needs 2 GPUs; the probe and
 * assemble Jobs are queued too (the podTemplate labels reach every step) and need cpu/memory.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { useS3 } from '../s3/harness.ts';
import { KUEUE_GROUP, KUEUE_QUEUE_LABEL, KUEUE_VERSION, useKueue } from '../kueue/harness.ts';
import { decodedFrames } from './media-checks.ts';
import { apply, exampleJob, operatorKubeconfig, startOperator, storageSecret, upload } from './operator-support.ts';

const cluster = await useCluster();
const s3 = await useS3();
const kueue = await useKueue(cluster);
let kubeconfig = '';
const INDEX = 'batch.kubernetes.io/job-completion-index';
const QUEUE = 'gpu-queue';
/** Two GPUs; cpu and memory far above what the probe and assemble pods (500m / 512Mi each) ask. */
const QUOTA = { 'nvidia.com/gpu': '2', cpu: '32', memory: '128Gi' };

before(async () => {
  await ensureCrd(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
});

interface Condition { type: string; status: string; reason?: string; message?: string }
interface Uj {
  metadata: { uid: string };
  status?: { phase?: string; reason?: string; message?: string; shards?: { total?: number; succeeded?: number }; conditions?: Condition[]; output?: string };
}
interface Workload {
  metadata: { name: string; ownerReferences?: Array<{ kind: string; uid: string; name: string }>; labels?: Record<string, string> };
  spec: { active?: boolean; queueName?: string; podSets: Array<{ name: string; count: number }> };
  status?: { conditions?: Condition[]; admission?: { clusterQueue: string } };
}

async function getJob(ns: string, name: string): Promise<Uj> {
  return (await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name })) as Uj;
}

async function waitPhase(ns: string, name: string, phases: string[], timeoutMs = 300_000): Promise<Uj> {
  return waitFor(`UpscaleJob ${ns}/${name} in phase ${phases.join('|')}`, async () => {
    const j = await getJob(ns, name);
    if (j.status?.phase === 'Failed' && !phases.includes('Failed')) throw new Error(`job failed: ${j.status.message}`);
    return phases.includes(j.status?.phase ?? '') ? j : undefined;
  }, timeoutMs, 500);
}

async function shardJobOf(ns: string, name: string): Promise<V1Job | undefined> {
  const jobs = await cluster.batch.listNamespacedJob({ namespace: ns, labelSelector: `app.kubernetes.io/component=shards,upscale.dev/job=${name}` });
  return jobs.items[0];
}
async function shardPods(ns: string, name?: string): Promise<V1Pod[]> {
  const selector = `app.kubernetes.io/component=shards${name === undefined ? '' : `,upscale.dev/job=${name}`}`;
  return (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}
async function workloads(ns: string): Promise<Workload[]> {
  return ((await cluster.custom.listNamespacedCustomObject({ group: KUEUE_GROUP, version: KUEUE_VERSION, namespace: ns, plural: 'workloads' })) as { items: Workload[] }).items;
}
async function workloadOf(ns: string, job: V1Job): Promise<Workload | undefined> {
  return (await workloads(ns)).find((w) => w.metadata.labels?.['kueue.x-k8s.io/job-uid'] === job.metadata?.uid);
}
const isTrue = (w: Workload | undefined, type: string) => (w?.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
const active = (p: V1Pod) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

/** A queued UpscaleJob: the example with the queue label on its pods, 6 shards of 8 frames ('basic'), output `<name>.mp4`. */
async function queuedJob(name: string, bucket: string, parallelism: number): Promise<Record<string, unknown>> {
  return exampleJob(name, bucket, s3, {
    output: `s3://${bucket}/${name}.mp4`,
    sharding: { framesPerShard: 8, parallelism },
    podTemplate: { metadata: { labels: { [KUEUE_QUEUE_LABEL]: QUEUE } } },
  });
}

async function setUp(t: TestContext): Promise<{ ns: string; bucket: string }> {
  await cluster.waitGpusIdle();
  const ns = await kueue.namespace(t);
  await kueue.queue(t, ns, { name: QUEUE, quota: QUOTA });
  const bucket = await s3.bucket(t);
  await upload(s3, bucket, 'in.mp4', await clip('basic'));
  await storageSecret(cluster, ns, s3);
  return { ns, bucket };
}

async function outputFrames(bucket: string, key: string): Promise<number> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const file = join(await mkdtemp(join(tmpdir(), 'upscale-kueue-out-')), key);
  await writeFile(file, await res.Body!.transformToByteArray());
  return decodedFrames(file);
}

const secondsOf = (s: string | Date | undefined) => (s === undefined ? NaN : new Date(s).getTime() / 1000);

test('two queued UpscaleJobs on a 2-GPU ClusterQueue: Kueue admits their shard Jobs one after the other', { timeout: 900_000 }, async (t) => {
  const { ns, bucket } = await setUp(t);
  const op = startOperator(t, kubeconfig, ns);
  const names = ['first', 'second'];
  await apply(cluster, ns, ...(await Promise.all(names.map((n) => queuedJob(n, bucket, 2)))));

  // Sample while they run: shard pods per job, each job's status, the Workloads.
  let peak = 0;
  let overlap = '';
  const waited: string[] = [];
  const admitted = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const pods = (await shardPods(ns)).filter(active);
        peak = Math.max(peak, pods.length);
        const running = new Set(pods.map((p) => p.metadata?.labels?.['upscale.dev/job'] ?? '?'));
        if (running.size > 1 && overlap === '') overlap = pods.map((p) => p.metadata?.name).join(', ');
        for (const name of names) {
          const j = await getJob(ns, name);
          const other = names.find((n) => n !== name)!;
          if (/Kueue/.test(j.status?.message ?? '') && running.has(other)) waited.push(`${name} waited (${j.status?.message}) while ${other} ran`);
        }
        for (const w of await workloads(ns)) if (isTrue(w, 'Admitted')) admitted.add(w.metadata.name);
      } catch (err) {
        t.diagnostic(`sample failed: ${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  try {
    for (const name of names) await waitPhase(ns, name, ['Succeeded'], 780_000);
  } finally {
    sampling = false;
    await sampler;
  }
  t.diagnostic(`peak shard pods at once: ${peak}; ${waited[0] ?? 'no wait seen'}`);

  assert.ok(peak <= 2, `${peak} shard pods ran at once on a 2-GPU quota`);
  assert.equal(peak, 2, 'each admitted shard Job runs its 2 pods in parallel');
  assert.equal(overlap, '', `shard pods of both jobs ran at once: ${overlap}`);
  assert.ok(waited.length > 0, 'one job\'s status said it waits for Kueue while the other one\'s shards ran');
  assert.match(waited[0] ?? '', new RegExp(`waiting for admission by Kueue queue ${QUEUE}`));

  const shardJobs = await Promise.all(names.map(async (n) => (await shardJobOf(ns, n))!));
  for (const job of shardJobs) {
    const w = await workloadOf(ns, job);
    assert.ok(w !== undefined, `Job ${job.metadata?.name} has a Workload`);
    assert.deepEqual(w.metadata.ownerReferences?.map((o) => [o.kind, o.uid]), [['Job', job.metadata?.uid]], 'the Workload is owned by the shard Job (a top-level workload)');
    assert.equal(w.spec.queueName, QUEUE);
    assert.equal(w.spec.podSets[0]?.count, 2, 'the Workload asks for min(parallelism, completions) = 2 pods');
    assert.ok(admitted.has(w.metadata.name), `Workload ${w.metadata.name} was admitted`);
    assert.ok(isTrue(w, 'Finished'), `Workload ${w.metadata.name} is Finished`);
    assert.equal(job.spec?.completions, 6);
  }

  // Strictly one after the other: the later job's first shard pod was created after the earlier
  // job's last shard pod ended (creation and finish times are whole seconds).
  const spans = await Promise.all(names.map(async (n) => {
    const pods = await shardPods(ns, n);
    return {
      name: n,
      start: Math.min(...pods.map((p) => secondsOf(p.metadata?.creationTimestamp))),
      end: Math.max(...pods.map((p) => secondsOf(p.status?.containerStatuses?.[0]?.state?.terminated?.finishedAt))),
    };
  }));
  spans.sort((a, b) => a.start - b.start);
  const [early, late] = spans as [typeof spans[0], typeof spans[0]];
  t.diagnostic(`${early.name} shards ${early.start}-${early.end}, ${late.name} shards ${late.start}-${late.end}`);
  assert.ok(late.start >= early.end - 1, `${late.name}'s shards started at ${late.start}, before ${early.name}'s ended at ${early.end}`);

  for (const name of names) {
    const j = await getJob(ns, name);
    assert.equal(j.status?.output, `s3://${bucket}/${name}.mp4`);
    assert.equal(await outputFrames(bucket, `${name}.mp4`), CLIP_FRAMES['basic'], `${name}.mp4 has every frame`);
  }
  assert.doesNotMatch(op.logs(), /Updated shard Job/, 'the operator never writes a queued shard Job');
});

test('suspending a queued job deactivates its Workload; Kueue evicts it, finished shards stay; resume readmits and runs only the rest', { timeout: 900_000 }, async (t) => {
  const { ns, bucket } = await setUp(t);
  const op = startOperator(t, kubeconfig, ns);
  const name = 'paused';
  await apply(cluster, ns, await queuedJob(name, bucket, 2));
  const patch = async (spec: Record<string, unknown>) => {
    const res = await cluster.kubectl(['patch', 'upscalejob', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })]);
    assert.equal(res.code, 0, res.stderr);
  };

  await waitFor('a finished shard', async () => ((await getJob(ns, name)).status?.shards?.succeeded ?? 0) >= 1, 480_000, 300);
  const shardJob = (await shardJobOf(ns, name))!;
  const admittedWl = (await workloadOf(ns, shardJob))!;
  assert.ok(isTrue(admittedWl, 'Admitted'), 'the running shard Job is admitted');
  const suspendedAt = Date.now();
  await patch({ suspend: true });

  await waitPhase(ns, name, ['Suspended'], 60_000);
  const deactivated = await waitFor('the Workload deactivated and evicted', async () => {
    const w = await workloadOf(ns, shardJob);
    return w?.spec.active === false && isTrue(w, 'Evicted') && !isTrue(w, 'QuotaReserved') ? w : undefined;
  }, 60_000, 300);
  t.diagnostic(`evicted: ${JSON.stringify(deactivated.status?.conditions?.find((c) => c.type === 'Evicted'))}`);
  assert.match(op.logs(), /Deactivated Kueue Workload/);
  await waitFor('the shard Job suspended by Kueue and its running pods gone', async () => {
    const j = await shardJobOf(ns, name);
    return j?.spec?.suspend === true && (j.status?.active ?? 0) === 0 && (await shardPods(ns, name)).every((p) => !active(p));
  }, 90_000, 300);
  t.diagnostic(`suspended in ${((Date.now() - suspendedAt) / 1000).toFixed(1)} s`);
  const doneBefore = (await shardJobOf(ns, name))?.status?.completedIndexes ?? '';
  assert.notEqual(doneBefore, '', 'finished shards are kept on the suspended Job');
  const finishedIndexes = new Set((await shardPods(ns, name)).filter((p) => p.status?.phase === 'Succeeded').map((p) => p.metadata?.annotations?.[INDEX] ?? '?'));
  t.diagnostic(`finished before the suspension: indexes ${[...finishedIndexes].sort().join(',')} (completedIndexes ${doneBefore})`);
  assert.ok(finishedIndexes.size >= 1 && finishedIndexes.size < 6, `finished before the suspension: ${[...finishedIndexes].join(',')}`);

  // Stays put while suspended: inactive Workloads are not readmitted.
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal((await shardPods(ns, name)).filter(active).length, 0, 'no shard pods while suspended');
  assert.equal((await getJob(ns, name)).status?.phase, 'Suspended');

  const resumedAt = Date.now();
  await patch({ suspend: false });
  await waitFor('the Workload reactivated and readmitted', async () => {
    const w = await workloadOf(ns, shardJob);
    return w?.spec.active !== false && isTrue(w, 'Admitted');
  }, 120_000, 300);
  assert.match(op.logs(), /Reactivated Kueue Workload/);
  const done = await waitPhase(ns, name, ['Succeeded'], 600_000);
  assert.equal(done.status?.shards?.succeeded, 6);

  const after = (await shardJobOf(ns, name))!;
  assert.equal(after.metadata?.uid, shardJob.metadata?.uid, 'the same shard Job resumed');
  assert.equal(after.status?.completedIndexes, '0-5');
  const pods = await shardPods(ns, name);
  for (const index of finishedIndexes) {
    const runs = pods.filter((p) => p.metadata?.annotations?.[INDEX] === index);
    assert.equal(runs.length, 1, `shard ${index}, finished before the suspension, has ${runs.length} pods`);
  }
  const perIndex = [...Array(6).keys()].map((i) => pods.filter((p) => p.metadata?.annotations?.[INDEX] === String(i)).length);
  t.diagnostic(`pods per completion index: ${perIndex.join(',')}`);
  for (const p of pods) {
    const index = p.metadata?.annotations?.[INDEX] ?? '?';
    if (finishedIndexes.has(index)) continue;
    // Interrupted shards' pods were deleted by the suspension; what is left ran after the resume.
    assert.ok(secondsOf(p.metadata?.creationTimestamp) >= Math.floor(resumedAt / 1000), `shard ${index}'s pod ${p.metadata?.name} was created before the resume`);
  }

  // The operator never wrote the shard Job after creating it: no patch logged, and none of its
  // managedFields entries owns spec.suspend (Kueue's updates took it over).
  assert.doesNotMatch(op.logs(), /Updated shard Job/);
  t.diagnostic(op.logs().split('\n').filter((l) => /Kueue Workload/.test(l)).join('\n'));
  const owners = (after.metadata?.managedFields ?? []).filter((m) => JSON.stringify(m.fieldsV1 ?? {}).includes('"f:suspend"')).map((m) => `${m.manager}/${m.operation}`);
  t.diagnostic(`spec.suspend owned by: ${owners.join(', ')}`);
  assert.ok(owners.length > 0 && owners.every((o) => !o.startsWith('upscale-operator/')), `spec.suspend owners: ${owners.join(', ')}`);
  const operatorEntry = (after.metadata?.managedFields ?? []).find((m) => m.manager === 'upscale-operator');
  assert.ok(secondsOf(operatorEntry?.time) <= secondsOf(shardJob.metadata?.creationTimestamp) + 1, `the operator's last write to the shard Job (${String(operatorEntry?.time)}) is its creation`);
  assert.ok(secondsOf(operatorEntry?.time) < suspendedAt / 1000, 'the operator did not write the shard Job to suspend or resume it');

  assert.equal(await outputFrames(bucket, `${name}.mp4`), CLIP_FRAMES['basic']);
});
