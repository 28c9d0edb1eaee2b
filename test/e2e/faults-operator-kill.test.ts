/**
 * Fault injection (issue 11) in the operator itself: the operator SIGKILLs itself right after its
 * N-th API write (the test-only UPSCALE_FAULT_DIE_AFTER_WRITES hook, operator/controller/fault-writes.ts),
 * so each crash lands exactly between two writes of a reconcile: after creating a Job and before the
 * status that records it, between progress writes, during assembly. N is drawn per life from a
 * seeded generator (printed; replay with UPSCALE_FAULT_SEED). One job runs through the kills, then a
 * clean operator finishes it. Nothing may be created twice (one Job per step, uids stable across
 * lives), no finished shard rerun (one pod per index), and every frame is in the output once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, before } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { useS3 } from '../s3/harness.ts';
import { assertFramesMatchSource, decodedFrames } from './media-checks.ts';
import { apply, exampleJob, operatorKubeconfig, startOperator, storageSecret, upload } from './operator-support.ts';
import { seededRandom } from './faults-support.ts';

const cluster = await useCluster();
const s3 = await useS3();
const INDEX = 'batch.kubernetes.io/job-completion-index';
const COMPONENT = 'app.kubernetes.io/component';
let kubeconfig = '';

before(async () => {
  await ensureCrd(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
});

interface Uj { status?: { phase?: string; message?: string; frames?: { total?: number; done?: number } } }

test('the operator killed right after 1-3 random API writes, up to 5 times: the job succeeds, nothing created twice, every frame once', { timeout: 600_000 }, async (t) => {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  const bucket = await s3.bucket(t);
  const source = await clip('tiny-basic');
  await upload(s3, bucket, 'in.mp4', source);
  await storageSecret(cluster, ns, s3);
  const shards = CLIP_FRAMES['tiny-basic'] / 2;
  await apply(cluster, ns, await exampleJob('crashy', bucket, s3, { sharding: { framesPerShard: 2, parallelism: 3 }, backoffLimitPerShard: 0 }));
  const phase = async (): Promise<Uj['status']> => ((await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name: 'crashy' })) as Uj).status;

  const random = seededRandom(1117);
  t.diagnostic(`seed ${random.seed} (replay with UPSCALE_FAULT_SEED=${random.seed})`);
  const uids = new Map<string, string>(); // Job name -> uid, over every life
  const kills: string[] = [];
  const recordJobs = async () => {
    for (const j of (await cluster.batch.listNamespacedJob({ namespace: ns })).items) {
      const name = j.metadata?.name ?? '';
      const seen = uids.get(name);
      assert.ok(seen === undefined || seen === j.metadata?.uid, `Job ${name} was recreated (uid ${seen} -> ${j.metadata?.uid}) after kills ${kills.join(', ')}`);
      uids.set(name, j.metadata?.uid ?? '');
    }
  };
  for (let life = 0; life < 5; life++) {
    // A small job makes few writes (pod events are batched, progress-only status rate-limited):
    // 1-3 writes per life keeps the kills inside the job's life.
    const n = 1 + Math.floor(random.next() * 3);
    const op = startOperator(t, kubeconfig, ns, ['--no-leader-elect'], { UPSCALE_FAULT_DIE_AFTER_WRITES: String(n) });
    const ended = await waitFor(`operator life ${life} (dies after ${n} writes) or the job to finish`, async () => {
      if (op.child.signalCode !== null || op.child.exitCode !== null) return 'exited';
      return (await phase())?.phase === 'Succeeded' ? 'succeeded' : undefined;
    }, 180_000, 100);
    await recordJobs();
    if (ended === 'succeeded') {
      await op.kill();
      break;
    }
    // 'exit' can come before the last of its stderr is read.
    const said = await waitFor(`operator life ${life} to say after which write it died`, async () => /killing itself after API write (\d+) \((\w+)\)/.exec(op.logs()) ?? undefined, 5_000, 100).catch(() => null);
    assert.equal(op.child.signalCode, 'SIGKILL', `operator life ${life} ended by ${op.child.signalCode ?? `exit ${op.child.exitCode}`}, not its own SIGKILL:\n${op.logs().slice(-3000)}`);
    assert.ok(said, `operator life ${life} died without saying after which write:\n${op.logs().slice(-2000)}`);
    assert.equal(Number(said[1]), n, `operator life ${life} died after write ${said[1]}, not ${n}`);
    kills.push(`${n}:${said[2]}@${(await phase())?.phase ?? 'none'}`);
  }
  t.diagnostic(`kills (writes:last write@phase): ${kills.join(', ')}`);
  assert.ok(kills.length >= 3, `the operator was killed at least 3 times (${kills.length})`);

  const clean = startOperator(t, kubeconfig, ns, ['--no-leader-elect']);
  const done = await waitFor('UpscaleJob crashy finished', async () => {
    const s = await phase();
    return s?.phase === 'Succeeded' || s?.phase === 'Failed' ? s : undefined;
  }, 300_000, 500);
  assert.equal(done.phase, 'Succeeded', `job ended ${done.phase}: ${done.message}\n${clean.logs().slice(-3000)}`);
  assert.deepEqual(done.frames, { total: CLIP_FRAMES['tiny-basic'], done: CLIP_FRAMES['tiny-basic'] });
  await recordJobs();

  const jobs = (await cluster.batch.listNamespacedJob({ namespace: ns })).items;
  for (const component of ['probe', 'shards', 'assemble']) {
    assert.equal(jobs.filter((j) => j.metadata?.labels?.[COMPONENT] === component).length, 1, `one ${component} Job`);
  }
  assert.equal(uids.size, jobs.length, `every Job seen during the kills still exists: ${[...uids.keys()].join(', ')}`);
  const pods = (await cluster.core.listNamespacedPod({ namespace: ns })).items;
  for (const component of ['probe', 'assemble']) assert.equal(pods.filter((p) => p.metadata?.labels?.[COMPONENT] === component).length, 1, `one ${component} pod`);
  const perIndex = new Map<string, number>();
  for (const p of pods.filter((p) => p.metadata?.labels?.[COMPONENT] === 'shards')) perIndex.set(p.metadata?.annotations?.[INDEX] ?? '?', (perIndex.get(p.metadata?.annotations?.[INDEX] ?? '?') ?? 0) + 1);
  assert.equal(perIndex.size, shards);
  for (const [index, count] of perIndex) assert.equal(count, 1, `shard ${index} ran ${count} times`);

  const body = await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'out.mp4' }))).Body?.transformToByteArray();
  const out = join(await mkdtemp(join(tmpdir(), 'faults-operator-')), 'out.mp4');
  await writeFile(out, body ?? new Uint8Array());
  assert.equal(await decodedFrames(out), CLIP_FRAMES['tiny-basic']);
  await assertFramesMatchSource(out, source, { width: 64, height: 48 }, { minPsnr: 20 });
  const left = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'out.mp4.upscale/' }));
  assert.equal(left.KeyCount ?? 0, 0, 'intermediates are deleted after success');
});
