/**
 * Soak (not a test: too slow for CI): `npm run soak [-- --jobs 20 --shards 4 --parallelism 2 --shard-seconds 2]`
 * on the test cluster. Applies `--jobs` small UpscaleJobs at once, whose total parallelism is above
 * the cluster's GPUs, with the trivial worker (`trivial-worker.sh`, the agent's command annotation),
 * and until all have succeeded samples, 500 ms apart:
 * - GPU assignments: each running container's NVIDIA_VISIBLE_DEVICES (/proc/<pid>/environ, pids
 *   from the node agent's pid files) by node; two live containers holding one device of one node
 *   is oversubscription, and so is a node whose running pods limit more GPUs than it has;
 * - the operator's RSS (/proc/<pid>/status VmRSS; VmHWM at the end).
 * Prints the figures; exits 1 when a job failed or a GPU was oversubscribed.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { COMMAND_ANNOTATION } from '../cluster/agent/command-override.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { useCluster, waitFor, type TestCluster } from '../cluster/harness.ts';
import { clusterPaths } from '../cluster/paths.ts';
import { apply, operatorKubeconfig, startOperator } from '../e2e/operator-support.ts';
import { describeHeap, heapMiB, rssMiB } from './operator-memory.ts';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20' },
    shards: { type: 'string', default: '4' },
    parallelism: { type: 'string', default: '2' },
    'shard-seconds': { type: 'string', default: '2' },
  },
});
const jobs = Number(values.jobs);
const shards = Number(values.shards);
const parallelism = Number(values.parallelism);
const shardSeconds = Number(values['shard-seconds']);
for (const [flag, v] of Object.entries({ jobs, shards, parallelism, 'shard-seconds': shardSeconds })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`soak: --${flag} must be a whole number >= 1, got ${String(v)}`);
}

function soakJob(name: string): Record<string, unknown> {
  return {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name },
    spec: {
      input: `s3://soak/${name}.mp4`,
      output: `s3://soak/${name}-out.mp4`,
      sharding: { shards, parallelism },
      podTemplate: { metadata: { annotations: { [COMMAND_ANNOTATION]: JSON.stringify(['/bin/sh', '/app/test/bench/trivial-worker.sh', String(shardSeconds)]) } } },
    },
  };
}

/** (node, device) -> pod names of live containers holding it, from the agent's pid files. */
async function deviceHolders(pods: V1Pod[]): Promise<Map<string, string[]>> {
  const byUid = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
  const dir = clusterPaths().containers;
  const holders = new Map<string, string[]>();
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    const pod = byUid.get(file.split('_')[0] ?? '');
    if (pod === undefined) continue;
    try {
      const { pid } = JSON.parse(await readFile(join(dir, file), 'utf8')) as { pid: number };
      const env = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
      const devices = env.find((e) => e.startsWith('NVIDIA_VISIBLE_DEVICES='))?.slice('NVIDIA_VISIBLE_DEVICES='.length) ?? '';
      for (const d of devices.split(',').filter(Boolean)) {
        const key = `${pod.spec?.nodeName ?? '?'}/${d}`;
        holders.set(key, [...(holders.get(key) ?? []), pod.metadata?.name ?? '']);
      }
    } catch {
      // The container exited between the listing and the read.
    }
  }
  return holders;
}

async function gpuCapacity(cluster: TestCluster): Promise<Map<string, number>> {
  return new Map((await cluster.core.listNode()).items.map((n) => [n.metadata?.name ?? '', Number(n.status?.allocatable?.['nvidia.com/gpu'] ?? 0)]));
}

const afters: Array<() => unknown> = [];
const context = { name: 'soak', after: (fn: () => unknown) => void afters.push(fn) } as unknown as TestContext;
let failed = false;
try {
  const cluster = await useCluster();
  await ensureCrd(cluster);
  const kubeconfig = await operatorKubeconfig(cluster);
  const ns = await cluster.namespace(context);
  const capacity = await gpuCapacity(cluster);
  const gpus = [...capacity.values()].reduce((a, b) => a + b, 0);
  // The operator's defaults (status at most every 5 s per job, a 15 s lease renewed within 10 s),
  // not the e2e tests' 4 s lease, which a loaded machine loses.
  const op = startOperator(context, kubeconfig, ns, ['--status-interval-ms', '5000', '--lease-duration', '15', '--renew-deadline', '10', '--retry-period', '2'], { UPSCALE_LOG_LEVEL: 'info' });
  const port = await op.port();
  const pid = op.child.pid ?? 0;
  const start = await rssMiB(pid);
  const startHeap = await heapMiB(port);
  console.log(`Soak: ${jobs} jobs x ${shards} shards at parallelism ${parallelism} (${jobs * parallelism} pods wanted at once, ${gpus} GPUs on ${capacity.size} nodes), trivial worker ${shardSeconds} s per shard`);
  const names = Array.from({ length: jobs }, (_, i) => `soak-${i}`);
  const began = performance.now();
  await apply(cluster, ns, ...names.map(soakJob));
  let peakRss = start.rss;
  let samples = 0;
  let peakBusy = 0;
  const oversubscribed: string[] = [];
  await waitFor(`${jobs} UpscaleJobs to succeed`, async () => {
    samples++;
    if (op.child.exitCode !== null || op.child.signalCode !== null) throw new Error(`the operator exited (${op.child.exitCode ?? op.child.signalCode}):\n${op.logs().slice(-3000)}`);
    peakRss = Math.max(peakRss, (await rssMiB(pid)).rss);
    const pods = (await cluster.core.listNamespacedPod({ namespace: ns })).items;
    const holders = await deviceHolders(pods);
    peakBusy = Math.max(peakBusy, holders.size);
    for (const [device, names] of holders) if (names.length > 1) oversubscribed.push(`${device} held by ${names.join(' and ')}`);
    const limits = new Map<string, number>();
    for (const p of pods.filter((p) => p.status?.phase === 'Running')) {
      const n = (p.spec?.containers ?? []).reduce((s, c) => s + Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0), 0);
      limits.set(p.spec?.nodeName ?? '?', (limits.get(p.spec?.nodeName ?? '?') ?? 0) + n);
    }
    for (const [node, n] of limits) if (n > (capacity.get(node) ?? 0)) oversubscribed.push(`${node}: running pods limit ${n} GPUs of ${capacity.get(node) ?? 0}`);
    const list = (await cluster.custom.listNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs' })) as { items: Array<{ metadata?: { name?: string }; status?: { phase?: string; message?: string } }> };
    const bad = list.items.find((j) => j.status?.phase === 'Failed');
    if (bad !== undefined) throw new Error(`UpscaleJob ${ns}/${bad.metadata?.name ?? ''} failed: ${bad.status?.message ?? ''}`);
    return list.items.filter((j) => j.status?.phase === 'Succeeded').length === jobs;
  }, 1_800_000, 500);
  const seconds = (performance.now() - began) / 1000;
  const end = await rssMiB(pid);
  const endHeap = await heapMiB(port);
  console.log(`  all ${jobs} Succeeded in ${seconds.toFixed(1)} s (${samples} samples, 500 ms apart)`);
  console.log(`  GPUs held at once, peak          ${peakBusy} of ${gpus}; oversubscribed: ${oversubscribed.length === 0 ? 'never' : oversubscribed.slice(0, 5).join('; ')}`);
  console.log(`  operator RSS start/peak/end      ${start.rss.toFixed(0)} / ${Math.max(peakRss, end.peak).toFixed(0)} / ${end.rss.toFixed(0)} MiB (peak = VmHWM)`);
  console.log(`  operator at start                ${describeHeap(startHeap)}`);
  console.log(`  operator at the end              ${describeHeap(endHeap)}`);
  failed = oversubscribed.length > 0;
} catch (error) {
  console.error(`soak: ${(error as Error).message}`);
  failed = true;
} finally {
  for (const fn of afters.reverse()) await fn();
}
process.exit(failed ? 1 : 0);
