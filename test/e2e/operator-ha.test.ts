/**
 * The operator as a platform team runs it: two replicas behind a leader-election Lease, SIGKILL
 * and SIGTERM of the leader, a leader whose event loop stalls past its renew deadline, and
 * readiness while the API server is out of reach. Real API server, Job controller, node agent,
 * worker, S3 server; the operator runs as its ServiceAccount with the chart's RBAC.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { test, before, type TestContext } from 'node:test';
import { CoordinationV1Api, type V1Job } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { useCluster, waitFor } from '../cluster/harness.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { useS3 } from '../s3/harness.ts';
import { apply, exampleJob, flakyProxy, operatorKubeconfig, startOperator, storageSecret, tempFile, upload, type RunningOperator } from './operator-support.ts';

const cluster = await useCluster();
const s3 = await useS3();
const coordination = cluster.kc.makeApiClient(CoordinationV1Api);
const LEASE = 'upscale-operator';
const INDEX = 'batch.kubernetes.io/job-completion-index';
let kubeconfig = '';

before(async () => {
  await ensureCrd(cluster);
  kubeconfig = await operatorKubeconfig(cluster);
});

async function setUp(t: TestContext): Promise<{ ns: string; bucket: string }> {
  await cluster.waitGpusIdle();
  const ns = await cluster.namespace(t);
  const bucket = await s3.bucket(t);
  await upload(s3, bucket, 'in.mp4', await clip('basic'));
  await storageSecret(cluster, ns, s3);
  return { ns, bucket };
}

async function holder(ns: string): Promise<string> {
  try {
    return (await coordination.readNamespacedLease({ namespace: ns, name: LEASE })).spec?.holderIdentity ?? '';
  } catch {
    return '';
  }
}

/** The identity an operator logged when it started leading, if it did. */
function leaderIdentity(op: RunningOperator): string | undefined {
  return /"identity":"([^"]+)"[^\n]*"msg":"Became leader"/.exec(op.logs())?.[1];
}

async function phase(ns: string, name: string): Promise<string | undefined> {
  const j = (await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name })) as { status?: { phase?: string; shards?: { succeeded?: number } } };
  return j.status?.phase;
}
async function shardsDone(ns: string, name: string): Promise<number> {
  const j = (await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name })) as { status?: { shards?: { succeeded?: number } } };
  return j.status?.shards?.succeeded ?? 0;
}
const ACTIONS = /"msg":"(Created Job|Updated UpscaleJob phase|Deleted Job|Updated shard Job|Added finalizer|Removed finalizer)"/;

test('two replicas: only the leader acts; SIGKILL of the leader mid-job hands over within the lease, nothing created twice or redone', { timeout: 600_000 }, async (t) => {
  const { ns, bucket } = await setUp(t);
  const a = startOperator(t, kubeconfig, ns);
  await waitFor('a leader', async () => leaderIdentity(a), 30_000, 100);
  const b = startOperator(t, kubeconfig, ns);
  await waitFor('the second replica to be ready', async () => (await fetch(`http://127.0.0.1:${await b.port()}/readyz`)).status === 200, 30_000, 200);
  assert.equal(await holder(ns), leaderIdentity(a));
  await apply(cluster, ns, await exampleJob('ha', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 2 } }));
  await waitFor('a finished shard', async () => (await shardsDone(ns, 'ha')) >= 1, 240_000, 300);
  assert.doesNotMatch(b.logs(), ACTIONS, 'the follower wrote nothing');
  assert.equal(leaderIdentity(b), undefined);
  const jobsBefore = (await cluster.batch.listNamespacedJob({ namespace: ns })).items;

  const killedAt = Date.now();
  await a.kill();
  await waitFor('the follower to take over', async () => leaderIdentity(b), 30_000, 100);
  const takeover = (Date.now() - killedAt) / 1000;
  t.diagnostic(`take-over after SIGKILL: ${takeover.toFixed(1)} s (lease duration 4 s)`);
  assert.ok(takeover < 4 + 2, `took ${takeover} s`);
  await waitFor('Succeeded', async () => (await phase(ns, 'ha')) === 'Succeeded', 300_000, 500);

  const jobs = (await cluster.batch.listNamespacedJob({ namespace: ns })).items;
  for (const c of ['probe', 'shards', 'assemble']) assert.equal(jobs.filter((j: V1Job) => j.metadata?.labels?.['app.kubernetes.io/component'] === c).length, 1, `one ${c} Job`);
  for (const j of jobsBefore) assert.ok(jobs.some((x) => x.metadata?.uid === j.metadata?.uid), `${j.metadata?.name} kept its uid`);
  const pods = (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/component=shards' })).items;
  const runs = new Map<string, number>();
  for (const p of pods) runs.set(p.metadata?.annotations?.[INDEX] ?? '?', (runs.get(p.metadata?.annotations?.[INDEX] ?? '?') ?? 0) + 1);
  assert.equal(runs.size, CLIP_FRAMES['basic'] / 8);
  for (const [index, n] of runs) assert.equal(n, 1, `shard ${index} ran ${n} times`);
});

test('SIGTERM of the leader: clean exit 0, the lease released, the next replica leads at once', { timeout: 300_000 }, async (t) => {
  const { ns, bucket } = await setUp(t);
  const a = startOperator(t, kubeconfig, ns, ['--lease-duration', '15', '--renew-deadline', '10', '--retry-period', '0.5']);
  await waitFor('a leader', async () => leaderIdentity(a), 30_000, 100);
  const b = startOperator(t, kubeconfig, ns, ['--lease-duration', '15', '--renew-deadline', '10', '--retry-period', '0.5']);
  await waitFor('the follower to sync', async () => (await fetch(`http://127.0.0.1:${await b.port()}/readyz`)).status === 200, 30_000, 200);
  await apply(cluster, ns, await exampleJob('term', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 2 } }));
  await waitFor('shards running', async () => (await phase(ns, 'term')) === 'Running', 120_000, 200);
  const sent = Date.now();
  const code = await a.stop();
  const exitSeconds = (Date.now() - sent) / 1000;
  assert.equal(code, 0, a.logs().slice(-2000));
  assert.match(a.logs(), /"msg":"Released leader lease"/);
  await waitFor('the follower to lead', async () => leaderIdentity(b), 10_000, 50);
  const handover = (Date.now() - sent) / 1000;
  t.diagnostic(`SIGTERM: exit after ${exitSeconds.toFixed(2)} s, next leader after ${handover.toFixed(2)} s (lease duration 15 s)`);
  assert.ok(handover < 5, `hand-over took ${handover} s: the lease was not released`);
  await waitFor('Succeeded', async () => (await phase(ns, 'term')) === 'Succeeded', 300_000, 500);
});

test('a leader whose event loop stalls past its renew deadline never acts again; the other replica takes over', { timeout: 300_000 }, async (t) => {
  const { ns, bucket } = await setUp(t);
  const hooks = { UPSCALE_OPERATOR_TEST_HOOKS: '1', UPSCALE_TEST_BLOCK_MS: '9000' };
  const a = startOperator(t, kubeconfig, ns, [], hooks);
  await waitFor('a leader', async () => leaderIdentity(a), 30_000, 100);
  const b = startOperator(t, kubeconfig, ns);
  await apply(cluster, ns, await exampleJob('stall', bucket, s3, { sharding: { framesPerShard: 8, parallelism: 2 } }));
  await waitFor('shards running', async () => (await phase(ns, 'stall')) === 'Running', 120_000, 200);
  const actionsBefore = a.logs().split('\n').filter((l) => ACTIONS.test(l)).length;
  a.child.kill('SIGUSR2');
  await waitFor('the other replica to lead', async () => leaderIdentity(b), 30_000, 100);
  const exit = await a.stop();
  const after = a.logs().split('\n');
  const unblocked = after.findIndex((l) => l.includes('Unblocked the event loop'));
  assert.ok(unblocked > 0, 'the hook ran');
  const actedAfter = after.slice(unblocked).filter((l) => ACTIONS.test(l));
  assert.deepEqual(actedAfter, [], 'the stalled leader acted after its deadline');
  assert.ok(after.slice(unblocked).some((l) => l.includes('Lost leadership')), 'it noticed the loss');
  t.diagnostic(`stalled leader: ${actionsBefore} actions before the stall, 0 after; exit code ${exit}`);
  await waitFor('Succeeded under the new leader', async () => (await phase(ns, 'stall')) === 'Succeeded', 300_000, 500);
});

test('/readyz is false until the caches have synced (API server unreachable at start), /healthz stays up', { timeout: 120_000 }, async (t) => {
  const ns = await cluster.namespace(t);
  const server = new URL(cluster.kc.getCurrentCluster()!.server);
  const proxy = await flakyProxy(t, `https://${server.host}`);
  proxy.refuse();
  const doc = parseYaml(await readFile(kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of doc.clusters) c.cluster.server = `https://127.0.0.1:${proxy.port}`;
  const file = await tempFile('kubeconfig', stringifyYaml(doc));
  await writeFile(file, stringifyYaml(doc));
  const op = startOperator(t, file, ns);
  const base = `http://127.0.0.1:${await op.port()}`;
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready before the first list');
  assert.equal((await fetch(`${base}/healthz`)).status, 200, 'alive while it retries');
  proxy.accept();
  await waitFor('ready after the caches synced', async () => (await fetch(`${base}/readyz`)).status === 200, 60_000, 200);
});
