/**
 * Fault injection (issue 11) on the test cluster: shard pods' processes SIGKILLed at seeded random
 * moments through the node agent's pid files (`.cluster/run/containers/<pod-uid>_<container>.pid`),
 * as a container killed by the OOM killer or a crashing runtime would be. Each killed pod counts as
 * one failure of its shard (exit 137), so every index is killed at most once and the job has one
 * retry per shard. The job must succeed with every frame, and no finished shard may run again: an
 * index never killed has exactly one pod, a killed one exactly two.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test, before } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { clusterPaths } from '../cluster/paths.ts';
import { useS3 } from '../s3/harness.ts';
import { assertFramesMatchSource, decodedFrames } from './media-checks.ts';
import { apply, exampleJob, operatorKubeconfig, startOperator, storageSecret, upload } from './operator-support.ts';
import { seededRandom } from './faults-support.ts';

const cluster = await useCluster();
const s3 = await useS3();
const INDEX = 'batch.kubernetes.io/job-completion-index';
let kubeconfig = '';

before(async () => {
  await ensureCrd(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
});

interface Uj { status?: { phase?: string; message?: string } }

test('shard pod processes SIGKILLed at random moments: the job succeeds, every frame once, no finished shard rerun', { timeout: 600_000 }, async (t) => {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  const bucket = await s3.bucket(t);
  const source = await clip('basic');
  await upload(s3, bucket, 'in.mp4', source);
  await storageSecret(cluster, ns, s3);
  startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('killed', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 2 }, backoffLimitPerShard: 1 }));

  const random = seededRandom(1105);
  const pidDir = clusterPaths().containers;
  const killed = new Map<string, string>(); // index -> pod uid
  const phase = async (): Promise<string> => ((await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name: 'killed' })) as Uj).status?.phase ?? '';
  const began = Date.now();
  while (killed.size < 3 && Date.now() - began < 240_000 && !['Succeeded', 'Failed', 'Assembling'].includes(await phase())) {
    await sleep(random.between(800, 3000));
    const running = (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=shards' })).items
      .filter((p) => p.status?.phase === 'Running' && !killed.has(p.metadata?.annotations?.[INDEX] ?? ''));
    const victim = running[Math.floor(random.next() * running.length)];
    if (victim === undefined) continue;
    const uid = victim.metadata?.uid ?? '';
    const file = (await readdir(pidDir).catch(() => [] as string[])).find((n) => n.startsWith(`${uid}_`));
    if (file === undefined) continue;
    const { pid } = JSON.parse(await readFile(join(pidDir, file), 'utf8')) as { pid: number };
    try {
      process.kill(-pid, 'SIGKILL');
      killed.set(victim.metadata?.annotations?.[INDEX] ?? '', uid);
    } catch {
      // It finished between the listing and the kill.
    }
  }
  const done = await waitFor('UpscaleJob killed finished', async () => {
    const p = await phase();
    return p === 'Succeeded' || p === 'Failed' ? p : undefined;
  }, 300_000, 500);
  t.diagnostic(`seed ${random.seed}: killed shard pods of indexes ${[...killed.keys()].join(',')}`);
  assert.equal(done, 'Succeeded');
  assert.ok(killed.size >= 2, `at least 2 shard pods were killed (${killed.size})`);

  const pods = (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=shards' })).items;
  const perIndex = new Map<string, number>();
  for (const p of pods) perIndex.set(p.metadata?.annotations?.[INDEX] ?? '', (perIndex.get(p.metadata?.annotations?.[INDEX] ?? '') ?? 0) + 1);
  for (const [index, n] of perIndex) assert.equal(n, killed.has(index) ? 2 : 1, `shard ${index}: ${n} pods`);
  assert.equal(perIndex.size, CLIP_FRAMES['basic'] / 8);

  const body = await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'out.mp4' }))).Body?.transformToByteArray();
  const out = join(await mkdtemp(join(tmpdir(), 'faults-cluster-')), 'out.mp4');
  await writeFile(out, body ?? new Uint8Array());
  assert.equal(await decodedFrames(out), CLIP_FRAMES['basic']);
  // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
  await assertFramesMatchSource(out, source, { width: 160, height: 120 });
});
