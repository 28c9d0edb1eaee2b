/**
 * The operator end to end on the test cluster: a real kube-apiserver, Job controller and scheduler,
 * GPU nodes whose pods are local processes running this checkout's `upscale` steps (real ffmpeg,
 * the real ONNX model on the CPU provider), the real S3 server, and the operator started as
 * `upscale operator` acting as its own ServiceAccount (the chart's RBAC file, not admin).
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, before, type TestContext } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PatchStrategy, setHeaderOptions, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { useS3 } from '../s3/harness.ts';
import { assertFramesMatchSource, decodedFrames, streamKinds, videoStream } from './media-checks.ts';
import { apply, exampleJob, flakyProxy, operatorKubeconfig, startOperator, storageSecret, upload } from './operator-support.ts';

const cluster = await useCluster();
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const s3 = await useS3();
let kubeconfig = '';
const INDEX = 'batch.kubernetes.io/job-completion-index';
const FAILURES = 'batch.kubernetes.io/job-index-failure-count';

before(async () => {
  await ensureCrd(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
});

interface Uj {
  metadata: { uid: string };
  status?: { phase?: string; progress?: string; message?: string; frames?: { total?: number; done?: number }; shards?: { total?: number; succeeded?: number }; conditions?: Array<{ type: string; status: string; reason?: string; message?: string }>; output?: string };
}

async function getJob(ns: string, name: string): Promise<Uj> {
  return (await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name })) as Uj;
}

async function waitPhase(ns: string, name: string, phases: string[], timeoutMs = 240_000): Promise<Uj> {
  return waitFor(`UpscaleJob ${ns}/${name} in phase ${phases.join('|')}`, async () => {
    const j = await getJob(ns, name);
    if (j.status?.phase === 'Failed' && !phases.includes('Failed')) throw new Error(`job failed: ${j.status.message}`);
    return phases.includes(j.status?.phase ?? '') ? j : undefined;
  }, timeoutMs, 500);
}

async function jobsOf(ns: string): Promise<V1Job[]> {
  return (await cluster.batch.listNamespacedJob({ namespace: ns })).items;
}
async function podsOf(ns: string, selector = 'app.kubernetes.io/component=shards'): Promise<V1Pod[]> {
  return (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
}

async function setUp(t: TestContext, clipName: 'tiny-basic' | 'tiny-hevc10' | 'basic'): Promise<{ ns: string; bucket: string; source: string }> {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  const bucket = await s3.bucket(t);
  const source = await clip(clipName);
  await upload(s3, bucket, 'in.mp4', source);
  await storageSecret(cluster, ns, s3);
  return { ns, bucket, source };
}

async function download(bucket: string, key: string): Promise<string> {
  const res = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const file = join(await mkdtemp(join(tmpdir(), 'upscale-op-out-')), key.replace(/\//g, '_'));
  await writeFile(file, await res.Body!.transformToByteArray());
  return file;
}

test('the example UpscaleJob runs end to end: progress, Succeeded, every frame at 4x with audio, GPUs never shared', { timeout: 600_000 }, async (t) => {
  const { ns, bucket, source } = await setUp(t, 'tiny-basic');
  // Pod Security admission at `restricted`: every pod the operator creates must be admitted.
  await cluster.core.patchNamespace({ name: ns, body: { metadata: { labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } } } }, mergePatch);
  const op = startOperator(t, kubeconfig, ns);
  const frames = CLIP_FRAMES['tiny-basic'];
  await apply(cluster, ns, await exampleJob('trailer-x4', bucket, s3, { sharding: { framesPerShard: 2, parallelism: 6 } }));

  // Sample the shard pods while they run: at most 4 per node (its GPUs), spread over both nodes.
  const perNodePeak = new Map<string, number>();
  const progressSeen = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const running = (await podsOf(ns)).filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
      const byNode = new Map<string, number>();
      for (const p of running) if (p.spec?.nodeName) byNode.set(p.spec.nodeName, (byNode.get(p.spec.nodeName) ?? 0) + 1);
      for (const [node, n] of byNode) perNodePeak.set(node, Math.max(perNodePeak.get(node) ?? 0, n));
      const got = await cluster.kubectl(['get', 'uj', '-n', ns]);
      for (const line of got.stdout.split('\n').slice(1)) if (line.trim()) progressSeen.add(line.replace(/\s+/g, ' ').trim());
      await new Promise((r) => setTimeout(r, 300));
    }
  })();
  const done = await cluster.kubectl(['wait', '-n', ns, '--for=condition=Complete', 'upscalejob/trailer-x4', '--timeout=300s']);
  sampling = false;
  await sampler;
  for (const line of (await cluster.kubectl(['get', 'uj', '-n', ns])).stdout.split('\n').slice(1)) if (line.trim()) progressSeen.add(line.replace(/\s+/g, ' ').trim());
  assert.equal(done.code, 0, `kubectl wait failed: ${done.stderr}\noperator log:\n${op.logs().slice(-4000)}`);

  const job = await getJob(ns, 'trailer-x4');
  assert.equal(job.status?.phase, 'Succeeded');
  assert.equal(job.status?.output, `s3://${bucket}/out.mp4`);
  assert.deepEqual(job.status?.frames, { total: frames, done: frames });
  const header = (await cluster.kubectl(['get', 'uj', '-n', ns])).stdout.split('\n')[0] ?? '';
  assert.match(header, /NAME\s+PHASE\s+PROGRESS\s+FPS\s+ETA\s+AGE/);
  assert.ok([...progressSeen].some((l) => / Running /.test(l)), `kubectl get uj never showed Running: ${[...progressSeen].join(' / ')}`);
  assert.ok([...progressSeen].some((l) => / Succeeded 100% /.test(l)), `kubectl get uj never showed Succeeded 100%: ${[...progressSeen].join(' / ')}`);

  for (const [node, peak] of perNodePeak) assert.ok(peak <= 4, `node ${node} ran ${peak} GPU pods at once, more than its 4 GPUs`);
  assert.equal(perNodePeak.size, 2, `shards ran on ${[...perNodePeak.keys()].join(', ')}: expected both nodes`);

  const out = await download(bucket, 'out.mp4');
  assert.equal(await decodedFrames(out), frames);
  const v = await videoStream(out);
  assert.equal(v.width, 256);
  assert.equal(v.height, 192);
  assert.deepEqual((await streamKinds(out)).sort(), ['audio', 'video']);
  // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
  await assertFramesMatchSource(out, source, { width: 64, height: 48 }, { minPsnr: 20 });
  const left = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'out.mp4.upscale/' }));
  assert.equal(left.KeyCount ?? 0, 0, 'intermediates are deleted after success');

  // Every child has owner references and the app.kubernetes.io labels.
  for (const j of await jobsOf(ns)) {
    assert.equal(j.metadata?.ownerReferences?.[0]?.uid, job.metadata.uid);
    assert.equal(j.metadata?.labels?.['app.kubernetes.io/managed-by'], 'upscale-operator');
  }
  // No credential anywhere a user or another tenant can read: operator logs, pod logs, pod specs,
  // events, the job's status.
  const podList = (await cluster.core.listNamespacedPod({ namespace: ns })).items;
  const podLogs = await Promise.all(podList.map(async (p) => (await cluster.kubectl(['logs', '-n', ns, p.metadata!.name!])).stdout));
  const events = (await cluster.kubectl(['get', 'events', '-n', ns, '-o', 'json'])).stdout;
  const readable = [op.logs(), ...podLogs, JSON.stringify(podList), events, JSON.stringify(job.status)].join('\n');
  for (const secret of [s3.info.secretAccessKey, 'X-Amz-Signature', 'X-Amz-Credential']) {
    assert.ok(!readable.includes(secret), `${secret === s3.info.secretAccessKey ? 'the secret key' : secret} appears in logs, pod specs, events or status`);
  }
  t.diagnostic(`credential scan: ${readable.length} characters of logs, pod specs, events and status, 0 hits`);

  // Health, readiness and the controller-runtime and domain metrics.
  const base = `http://127.0.0.1:${await op.port()}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.equal((await fetch(`${base}/readyz`)).status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /controller_runtime_reconcile_total\{controller="upscalejob",result="(success|requeue_after)"\} [1-9]/);
  assert.match(metrics, /workqueue_adds_total\{name="upscalejob",controller="upscalejob"\} [1-9]/);
  assert.match(metrics, /upscale_operator_jobs\{phase="Succeeded"\} 1/);
  assert.match(metrics, new RegExp(`upscale_operator_job_frames_done\\{namespace="${ns}",upscalejob="trailer-x4"\\} ${frames}`));
  assert.match(metrics, /upscale_operator_job_duration_seconds_count\{phase="Succeeded"\} 1/);
  assert.match(metrics, /leader_election_master_status\{name="upscale-operator"\} 1/);
  await waitFor('the work queue to drain', async () => /workqueue_depth\{name="upscalejob",controller="upscalejob"[^}]*\} 0\n/.test(await (await fetch(`${base}/metrics`)).text()), 15_000, 250);
});

test('the operator SIGKILLed mid-job and restarted: the job completes, no child created twice, no finished shard run again', { timeout: 600_000 }, async (t) => {
  const { ns, bucket } = await setUp(t, 'basic');
  const first = startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('killed', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 2 } }));
  // Kill it once some shards finished and others have not.
  await waitFor('a finished shard', async () => ((await getJob(ns, 'killed')).status?.shards?.succeeded ?? 0) >= 1, 240_000, 300);
  const before = await jobsOf(ns);
  await first.kill();
  await new Promise((r) => setTimeout(r, 2000));
  startOperator(t, kubeconfig, ns);
  await waitPhase(ns, 'killed', ['Succeeded']);

  const after = await jobsOf(ns);
  for (const component of ['probe', 'shards', 'assemble']) {
    assert.equal(after.filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === component).length, 1, `one ${component} Job`);
  }
  for (const j of before) assert.ok(after.some((a) => a.metadata?.uid === j.metadata?.uid), `Job ${j.metadata?.name} was not recreated`);
  const pods = await podsOf(ns);
  const perIndex = new Map<string, number>();
  for (const p of pods) perIndex.set(p.metadata?.annotations?.[INDEX] ?? '?', (perIndex.get(p.metadata?.annotations?.[INDEX] ?? '?') ?? 0) + 1);
  assert.equal(perIndex.size, 6);
  for (const [index, n] of perIndex) assert.equal(n, 1, `shard ${index} ran ${n} times`);
  const out = await download(bucket, 'out.mp4');
  assert.equal(await decodedFrames(out), CLIP_FRAMES['basic']);
});

test('the assemble Job starts during the shards\' last two waves (6 shards, 2 at a time), waits for them, and the job succeeds with every frame; a 10-bit source with no codec named comes out HEVC Main 10', { timeout: 600_000 }, async (t) => {
  // A 10-bit HEVC source in MKV (the key's .mp4 name does not matter: ffmpeg reads the content).
  const { ns, bucket, source } = await setUp(t, 'tiny-hevc10');
  startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('early', bucket, s3, { sharding: { shards: 6, parallelism: 2 }, encode: { crf: 23, preset: 'ultrafast' } }));
  const messages = new Set<string>();
  const done = await waitFor('UpscaleJob early finished', async () => {
    const j = await getJob(ns, 'early');
    if (j.status?.phase === 'Running') messages.add(j.status.message ?? '');
    return j.status?.phase === 'Succeeded' || j.status?.phase === 'Failed' ? j : undefined;
  }, 300_000, 250);
  const jobs = await jobsOf(ns);
  const shards = jobs.find((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'shards')!;
  const assemble = jobs.find((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'assemble')!;
  const seconds = (s: string | Date | undefined) => (s === undefined ? NaN : new Date(s).getTime() / 1000);
  const assembleCreated = seconds(assemble.metadata?.creationTimestamp);
  const shardsDone = seconds(shards.status?.completionTime);
  // The last two waves begin when every index but the last two (one wave) has had a pod: the
  // latest of their first pods' creations.
  const shardPods = await podsOf(ns);
  const firstPodOf = (index: string) => Math.min(...shardPods.filter((p) => p.metadata?.annotations?.[INDEX] === index).map((p) => seconds(p.metadata?.creationTimestamp)));
  const lastWaves = Math.max(...['0', '1', '2', '3'].map(firstPodOf));
  const assemblePods = await podsOf(ns, 'app.kubernetes.io/component=assemble');
  t.diagnostic(`last two waves from ${lastWaves}, assemble Job created ${assembleCreated}, shards completed ${shardsDone}; ${assemblePods.length} assemble pod(s), exit codes ${assemblePods.map((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode ?? '?').join(',')}`);

  const args = assemble.spec?.template.spec?.containers[0]?.args ?? [];
  assert.equal((JSON.parse(args[args.indexOf('--task') + 1] ?? '{}') as { waitForShards?: boolean }).waitForShards, true, 'the early assembly waits for the shards');
  assert.ok(assembleCreated < shardsDone, `the assemble Job (${assembleCreated}) was created before the shards completed (${shardsDone})`);
  assert.ok(assembleCreated >= lastWaves, `the assemble Job (${assembleCreated}) was not created before the last two waves began (${lastWaves})`);
  assert.equal(jobs.filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'assemble').length, 1, 'one assemble Job');
  assert.ok([...messages].some((m) => /^\d of 6 shards done; assembly started$/.test(m)), `while Running the status said: ${[...messages].join(' / ')}`);

  assert.equal(done.status?.phase, 'Succeeded', `job ended ${done.status?.phase}: ${done.status?.message}`);
  const out = await download(bucket, 'out.mp4');
  assert.equal(await decodedFrames(out), CLIP_FRAMES['tiny-hevc10']);
  // x265's noise at 64x48 swamps this clip's neighbouring-frame differences, so the frame order is
  // checked by the example job's test (H.264); here each frame's PSNR against its own source frame.
  await assertFramesMatchSource(out, source, { width: 64, height: 48 }, { minPsnr: 20, minCompared: 0 });
  // upscale run's default for a deep source; before, the operator gave every job without a codec H.264 (High 10 here).
  const video = await videoStream(out);
  assert.deepEqual([video.codec_name, video['profile'], video.pix_fmt], ['hevc', 'Main 10', 'yuv420p10le']);
});

test('a deleted shard pod is replaced; an evicted one is replaced without using a retry', { timeout: 600_000 }, async (t) => {
  const { ns, bucket } = await setUp(t, 'basic');
  startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('disrupted', bucket, s3, { sharding: { framesPerShard: 24, parallelism: 2 }, backoffLimitPerShard: 1 }));
  const running = await waitFor('two running shard pods', async () => {
    const pods = (await podsOf(ns)).filter((p) => p.status?.phase === 'Running');
    return pods.length === 2 ? pods : undefined;
  }, 240_000, 200);
  const deleted = running.find((p) => p.metadata?.annotations?.[INDEX] === '0')!;
  const evicted = running.find((p) => p.metadata?.annotations?.[INDEX] === '1')!;
  await cluster.core.deleteNamespacedPod({ namespace: ns, name: deleted.metadata!.name! });
  await cluster.core.createNamespacedPodEviction({ namespace: ns, name: evicted.metadata!.name!, body: { metadata: { name: evicted.metadata!.name!, namespace: ns } } });
  const done = await waitPhase(ns, 'disrupted', ['Succeeded']);
  assert.equal(done.status?.phase, 'Succeeded');
  const pods = await podsOf(ns);
  const replacements = (index: string) => pods.filter((p) => p.metadata?.annotations?.[INDEX] === index && p.metadata?.uid !== deleted.metadata?.uid && p.metadata?.uid !== evicted.metadata?.uid);
  assert.ok(replacements('0').length >= 1, 'the deleted pod was replaced');
  assert.ok(replacements('1').length >= 1, 'the evicted pod was replaced');
  const story = await cluster.kubectl(['events', '-n', ns, '--for', 'upscalejob/disrupted']);
  t.diagnostic(story.stdout);
  for (const reason of ['ProbeStarted', 'Probed', 'ShardsStarted', 'ShardRetried', 'ShardsSucceeded', 'AssembleStarted', 'Succeeded']) {
    assert.match(story.stdout, new RegExp(`\\b${reason}\\b`), `kubectl events --for upscalejob/disrupted lacks ${reason}:\n${story.stdout}${story.stderr}`);
  }
  const evictedReplacement = replacements('1').at(-1)!;
  assert.equal(evictedReplacement.metadata?.annotations?.[FAILURES], '0', 'an eviction does not count against the shard\'s retries');
  const out = await download(bucket, 'out.mp4');
  assert.equal(await decodedFrames(out), CLIP_FRAMES['basic']);
});

test('a text file as input fails the job at once with the worker\'s message and no retries', { timeout: 300_000 }, async (t) => {
  const ns = await cluster.namespace(t);
  const bucket = await s3.bucket(t);
  const file = join(await mkdtemp(join(tmpdir(), 'upscale-text-')), 'notes.txt');
  await writeFile(file, 'this is not a video\n'.repeat(100));
  await upload(s3, bucket, 'in.mp4', file);
  await storageSecret(cluster, ns, s3);
  startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('text-input', bucket, s3));
  const failed = await waitPhase(ns, 'text-input', ['Failed'], 120_000);
  t.diagnostic(`status.message: ${failed.status?.message ?? ''}`);
  assert.equal(failed.status?.conditions?.find((c) => c.type === 'Failed')?.status, 'True');
  assert.match(failed.status?.message ?? '', /^probe s3:\/\/.*\/in\.mp4: not a video file/);
  const probePods = await podsOf(ns, 'app.kubernetes.io/component=probe');
  assert.equal(probePods.length, 1, 'a permanent error is not retried');
  assert.equal((await jobsOf(ns)).filter((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'shards').length, 0);
});

test('a shard that fails every time (storage gone) fails the job after its retries, naming the shard', { timeout: 600_000 }, async (t) => {
  const { ns, bucket } = await setUp(t, 'tiny-basic');
  const proxy = await flakyProxy(t, s3.info.endpoint);
  startOperator(t, kubeconfig, ns);
  const manifest = await exampleJob('storage-lost', bucket, s3, { sharding: { shards: 1, parallelism: 1 }, backoffLimitPerShard: 1 });
  (manifest['spec'] as { storage: { endpoint: string } }).storage.endpoint = proxy.endpoint;
  await apply(cluster, ns, manifest);
  await waitFor('the probe to finish', async () => (await jobsOf(ns)).some((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'shards'), 120_000, 200);
  proxy.refuse();
  const failed = await waitPhase(ns, 'storage-lost', ['Failed'], 300_000);
  t.diagnostic(`status.message: ${failed.status?.message ?? ''}`);
  assert.equal(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'ShardFailed');
  assert.match(failed.status?.message ?? '', /^shard 0 failed 2 time\(s\), past backoffLimitPerShard/);
  const pods = await podsOf(ns);
  assert.equal(pods.length, 2, 'one try and one retry (backoffLimitPerShard: 1)');
  assert.ok(pods.every((p) => p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode === 3), 'lost storage is a transient failure (exit 3)');
});

test('shard pods no node can take (more GPUs than any node has) show an Unschedulable condition with the scheduler\'s reason', { timeout: 300_000 }, async (t) => {
  const { ns, bucket } = await setUp(t, 'tiny-basic');
  startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('too-big', bucket, s3, { resources: { gpusPerShard: 8 } }));
  const stuck = await waitFor('the Unschedulable condition', async () => {
    const j = await getJob(ns, 'too-big');
    const c = j.status?.conditions?.find((x) => x.type === 'Unschedulable');
    return c?.status === 'True' ? { job: j, condition: c } : undefined;
  }, 180_000, 500);
  t.diagnostic(`Unschedulable: ${stuck.condition.message ?? ''}`);
  assert.equal(stuck.job.status?.phase, 'Running');
  assert.match(stuck.condition.message ?? '', /Insufficient nvidia\.com\/gpu/);
  await cluster.custom.deleteNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name: 'too-big' });
  await waitFor('the job\'s pods to be garbage-collected', async () => (await podsOf(ns)).length === 0, 120_000, 500);
});

test('suspend mid-job stops the shard pods and keeps finished shards; resume runs only the rest, and a changed parallelism applies', { timeout: 600_000 }, async (t) => {
  const { ns, bucket, source } = await setUp(t, 'basic');
  startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('paused', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 1 } }));
  const patch = (spec: Record<string, unknown>) =>
    cluster.kubectl(['patch', 'upscalejob', 'paused', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })]);
  await waitFor('a finished shard', async () => ((await getJob(ns, 'paused')).status?.shards?.succeeded ?? 0) >= 1, 240_000, 300);
  assert.equal((await patch({ suspend: true })).code, 0);
  await waitPhase(ns, 'paused', ['Suspended'], 60_000);
  await waitFor('no running shard pods', async () => (await podsOf(ns)).every((p) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' || p.metadata?.deletionTimestamp !== undefined) || undefined, 60_000, 300);
  const shardJob = (await jobsOf(ns)).find((j) => j.metadata?.labels?.['app.kubernetes.io/component'] === 'shards')!;
  const doneBefore = shardJob.status?.completedIndexes ?? '';
  assert.notEqual(doneBefore, '');
  const succeededPods = new Set((await podsOf(ns)).filter((p) => p.status?.phase === 'Succeeded').map((p) => p.metadata?.annotations?.[INDEX]));

  assert.equal((await patch({ suspend: false, sharding: { parallelism: 3 } })).code, 0);
  await waitFor('the shard Job resumed with parallelism 3', async () => {
    const j = (await jobsOf(ns)).find((x) => x.metadata?.labels?.['app.kubernetes.io/component'] === 'shards');
    return j?.spec?.suspend === false && j.spec.parallelism === 3;
  }, 60_000, 300);
  await waitPhase(ns, 'paused', ['Succeeded']);
  const pods = await podsOf(ns);
  for (const index of succeededPods) {
    const runs = pods.filter((p) => p.metadata?.annotations?.[INDEX] === index && p.status?.phase === 'Succeeded').length;
    assert.equal(runs, 1, `shard ${index}, finished before the suspension, ran again`);
  }
  const out = await download(bucket, 'out.mp4');
  assert.equal(await decodedFrames(out), CLIP_FRAMES['basic']);
  // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
  await assertFramesMatchSource(out, source, { width: 160, height: 120 }, { minPsnr: 20 });
});

test('deleting a running job leaves no pods, Jobs or intermediates; with storage unreachable the finalizer still goes', { timeout: 600_000 }, async (t) => {
  const { ns, bucket } = await setUp(t, 'basic');
  const proxy = await flakyProxy(t, s3.info.endpoint);
  startOperator(t, kubeconfig, ns, ['--cleanup-timeout-seconds', '60']);
  const ok = await exampleJob('deleted', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 1 } });
  const lost = await exampleJob('deleted-offline', bucket, s3, { output: `s3://${bucket}/other.mp4`, sharding: { framesPerShard: 8, parallelism: 1 } });
  (lost['spec'] as { storage: { endpoint: string } }).storage.endpoint = proxy.endpoint;
  await apply(cluster, ns, ok, lost);
  const finished = async (name: string) => ((await getJob(ns, name)).status?.shards?.succeeded ?? 0) >= 1;
  await waitFor('a finished shard of each job', async () => (await finished('deleted')) && (await finished('deleted-offline')), 300_000, 300);
  const listed = async (prefix: string) => (await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).KeyCount ?? 0;
  assert.ok((await listed('out.mp4.upscale/')) > 0, 'the running job has intermediates');

  proxy.refuse();
  const started = Date.now();
  for (const name of ['deleted', 'deleted-offline']) {
    await cluster.custom.deleteNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name });
  }
  await waitFor('both UpscaleJobs to be gone', async () => {
    const list = (await cluster.custom.listNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs' })) as { items: unknown[] };
    return list.items.length === 0;
  }, 120_000, 500);
  t.diagnostic(`both deletions finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await waitFor('no Jobs or pods left', async () => (await jobsOf(ns)).length === 0 && (await cluster.core.listNamespacedPod({ namespace: ns })).items.length === 0, 120_000, 500);
  assert.equal(await listed('out.mp4.upscale/'), 0, 'the intermediates of the deleted job are gone');
  assert.equal(await listed('out.mp4'), 0, 'no output was published');
});

test('the operator\'s ServiceAccount can do exactly the documented set: no Secrets, nothing beyond its own objects', async () => {
  const { stdout, code, stderr } = await cluster.kubectl(['auth', 'can-i', '--list', '-n', 'default'], { kubeconfig });
  assert.equal(code, 0, stderr);
  const rows = stdout.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s{2,}/));
  const granted = new Map<string, string>();
  for (const [resource, , , verbs] of rows) if (resource !== undefined) granted.set(resource, verbs ?? '');
  const expected: Record<string, string> = {
    'upscalejobs.upscale.dev': '[get list watch patch update delete]',
    'upscalejobs.upscale.dev/status': '[get patch update]',
    'upscalejobs.upscale.dev/finalizers': '[update]',
    'jobs.batch': '[get list watch create patch delete]',
    pods: '[get list watch]',
    'events.events.k8s.io': '[create patch]',
    'leases.coordination.k8s.io': '[get create update]',
    'workloads.kueue.x-k8s.io': '[get list patch]',
  };
  for (const [resource, verbs] of Object.entries(expected)) assert.equal(granted.get(resource), verbs, `${resource}: ${granted.get(resource) ?? 'none'}`);
  // Everything else is what every authenticated ServiceAccount gets (discovery, self reviews).
  const extra = [...granted.keys()].filter((r) => !(r in expected) && !/^(selfsubject\w+\.authorization\.k8s\.io|selfsubjectreviews\.authentication\.k8s\.io|selfsubjectaccessreviews|selfsubjectrulesreviews|clustertrustbundles\.certificates\.k8s\.io)$/.test(r) && r !== '');
  assert.deepEqual(extra.filter((r) => !r.startsWith('[')), [], `unexpected grants: ${extra.join(', ')}`);
  for (const verb of ['get', 'list']) {
    const secret = await cluster.kubectl(['auth', 'can-i', verb, 'secrets', '-n', 'default'], { kubeconfig });
    assert.equal(secret.stdout.trim(), 'no', `the operator can ${verb} Secrets`);
  }
});

test('activeDeadlineSeconds fails a job and stops its Jobs; ttlSecondsAfterFinished deletes a finished one', { timeout: 300_000 }, async (t) => {
  const { ns, bucket } = await setUp(t, 'basic');
  startOperator(t, kubeconfig, ns);
  const slow = await exampleJob('deadline', bucket, s3, { sharding: { framesPerShard: 24, parallelism: 1 }, activeDeadlineSeconds: 8 });
  const quick = await exampleJob('short-lived', bucket, s3, { output: `s3://${bucket}/quick.mp4`, sharding: { shards: 1, parallelism: 1 }, ttlSecondsAfterFinished: 3 });
  await apply(cluster, ns, slow, quick);
  const failed = await waitPhase(ns, 'deadline', ['Failed'], 120_000);
  assert.equal(failed.status?.conditions?.find((c) => c.type === 'Failed')?.reason, 'DeadlineExceeded');
  await waitFor('the deadline job\'s running Jobs to be gone', async () => (await jobsOf(ns)).every((j) => j.metadata?.ownerReferences?.[0]?.name !== 'deadline' || j.status?.conditions?.some((c) => c.status === 'True' && (c.type === 'Complete' || c.type === 'Failed'))), 60_000, 500);
  await waitFor('the finished job to be deleted after its TTL', async () => {
    try {
      await getJob(ns, 'short-lived');
      return false;
    } catch (error) {
      return (error as { code?: number }).code === 404;
    }
  }, 240_000, 500);
});
