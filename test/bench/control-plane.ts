/**
 * Benchmark (not a test): the control plane with many shards, on the test cluster (real
 * kube-apiserver, etcd, scheduler, Job controller; pods run by the node agent), with a trivial
 * worker (`trivial-worker.sh`, selected per pod by the agent's command annotation) so the cluster
 * and the operator are measured, not the model.
 *
 *   node test/bench/control-plane.ts [--shards 1000] [--jobs 100 --job-shards 100] [--shard-seconds 1]
 *     [--lease-duration 15 --renew-deadline 10] [--json FILE]
 *
 * 1. One UpscaleJob with `--shards` shards at full parallelism: seconds from apply to every shard
 *    pod created (a pod watch) and to Succeeded; API requests over the job's life from the API
 *    server's `apiserver_request_total` (before/after, all clients), per shard, by verb and
 *    resource; API writes per shard split by client from the API server's audit log (the
 *    operator's ServiceAccount vs the Job controller, scheduler, node agent...); the operator's
 *    peak RSS and reconcile p99 over the job.
 * 2. `--jobs` UpscaleJobs of `--job-shards` shards at once: the operator's peak RSS
 *    (/proc/<pid>/status VmHWM) and reconcile p99 (controller_runtime_reconcile_time_seconds).
 * Pod capacity is the agent's nodes x pods per node (`AGENT_NODES=10 npm run cluster:start` for
 * 1,100); a larger request is capped to it and the report says so.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { parseArgs } from 'node:util';
import { LABEL_COMPONENT, OWNED_SELECTOR } from '../../operator/reconcile/names.ts';
import { COMMAND_ANNOTATION } from '../cluster/agent/command-override.ts';
import { ensureCrd } from '../cluster/crd-support.ts';
import { useCluster, waitFor, type TestCluster } from '../cluster/harness.ts';
import { clusterPaths } from '../cluster/paths.ts';
import { apply, OPERATOR_NAMESPACE, OPERATOR_SA, operatorKubeconfig, startOperator, type RunningOperator } from '../e2e/operator-support.ts';
import { auditLinesSince, auditOffset, countWrites, total, type WritesByClient } from './audit-writes.ts';
import { describeHeap, heapMiB, rssMiB } from './operator-memory.ts';
import { counterDelta, histogramQuantile, parseProm, type Sample } from './prom-text.ts';

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);

/** What the bench's own cleanups hang on (the e2e helpers take a test context). */
class Cleanups {
  readonly #fns: Array<() => unknown> = [];
  readonly context = { name: 'bench', after: (fn: () => unknown) => void this.#fns.push(fn) } as unknown as TestContext;
  async run(): Promise<void> {
    for (const fn of this.#fns.reverse()) await fn();
  }
}

async function apiserverMetrics(cluster: TestCluster): Promise<Sample[]> {
  const res = await cluster.kubectl(['get', '--raw', '/metrics']);
  if (res.code !== 0) throw new Error(`reading the API server's /metrics failed: ${res.stderr}`);
  return parseProm(res.stdout);
}

async function operatorMetrics(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return parseProm(await res.text());
}

function trivialJob(name: string, shards: number, shardSeconds: number): Record<string, unknown> {
  return {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name },
    spec: {
      input: `s3://bench/${name}.mp4`,
      output: `s3://bench/${name}-out.mp4`,
      sharding: { shards, parallelism: shards },
      resources: { gpusPerShard: 0 },
      podTemplate: { metadata: { annotations: { [COMMAND_ANNOTATION]: JSON.stringify(['/bin/sh', '/app/test/bench/trivial-worker.sh', String(shardSeconds)]) } } },
    },
  };
}

async function phaseOf(cluster: TestCluster, ns: string, name: string): Promise<string | undefined> {
  const obj = (await cluster.custom.getNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs', name })) as { status?: { phase?: string; message?: string } };
  if (obj.status?.phase === 'Failed') throw new Error(`UpscaleJob ${ns}/${name} failed: ${obj.status.message ?? ''}`);
  return obj.status?.phase;
}

/**
 * When the last of the job's first `expected` shard pods was created, from their
 * creationTimestamps (whole seconds; a watch can drop under this load, the objects cannot).
 */
async function lastShardPodCreated(cluster: TestCluster, ns: string, expected: number): Promise<number> {
  const pods = (await cluster.core.listNamespacedPod({ namespace: ns, labelSelector: `${OWNED_SELECTOR},${LABEL_COMPONENT}=shards` })).items;
  const times = pods.map((p) => new Date(p.metadata?.creationTimestamp ?? 0).getTime()).sort((a, b) => a - b);
  return times[Math.min(expected, times.length) - 1] ?? NaN;
}

/** Writes of the operator's own Events in a namespace: one create per Event plus one update per repeat of a series. */
async function operatorEventWrites(cluster: TestCluster, ns: string): Promise<number> {
  const events = (await cluster.core.listNamespacedEvent({ namespace: ns })).items;
  const mine = events.filter((e) => (e.reportingComponent ?? e.source?.component ?? '').includes('upscale'));
  return mine.reduce((n, e) => n + Math.max(1, e.series?.count ?? e.count ?? 1), 0);
}

async function podCapacity(cluster: TestCluster): Promise<{ nodes: number; pods: number }> {
  const nodes = (await cluster.core.listNode()).items;
  return { nodes: nodes.length, pods: nodes.reduce((n, node) => n + Number(node.status?.allocatable?.['pods'] ?? 0), 0) };
}

interface OneJobResult {
  shards: number;
  secondsToAllPodsCreated: number;
  secondsToSucceeded: number;
  requestsPerShard: number;
  writesPerShard: number;
  operatorWritesPerShard: number;
  upscaleJobStatusWrites: number;
  byVerbResource: Record<string, number>;
  /** From the audit log: writes in the job's namespace by client, and the operator's Lease writes. */
  writesByClient: WritesByClient;
  auditWritesPerShard: number;
  /** The operator's own writes in the job's namespace (Jobs, UpscaleJob status and finalizer, Events), per shard. */
  auditOperatorWritesPerShard: number;
  operatorLeaseWrites: number;
  operatorPeakRssMiB: number;
  reconcileP99Seconds: number | undefined;
  reconciles: number;
}

const OPERATOR_USER = `system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;

/** p99 and count of the reconciles between two scrapes of the operator's metrics. */
function reconcileStats(before: Sample[], after: Sample[]): { p99: number | undefined; count: number } {
  const buckets = [...counterDelta(before, after, 'controller_runtime_reconcile_time_seconds_bucket', (l) => l['le'] ?? '')].map(([le, value]): Sample => ({ name: 'controller_runtime_reconcile_time_seconds_bucket', labels: { le }, value }));
  const count = [...counterDelta(before, after, 'controller_runtime_reconcile_time_seconds_count', () => '')].reduce((n, [, v]) => n + v, 0);
  return { p99: histogramQuantile(buckets, 'controller_runtime_reconcile_time_seconds', 0.99), count };
}

async function oneJob(cluster: TestCluster, ns: string, op: RunningOperator, port: number, shards: number, shardSeconds: number): Promise<OneJobResult> {
  const auditLog = clusterPaths().auditLog;
  const auditFrom = await auditOffset(auditLog);
  const opBefore = await operatorMetrics(port);
  const before = await apiserverMetrics(cluster);
  const began = performance.now();
  const beganWall = Date.now();
  await apply(cluster, ns, trivialJob('wide', shards, shardSeconds));
  await waitFor(`UpscaleJob wide to succeed`, async () => (await phaseOf(cluster, ns, 'wide')) === 'Succeeded', 1_800_000, 1000);
  const succeeded = performance.now();
  // creationTimestamp has whole seconds: the apply time is rounded down to match.
  const allCreated = await lastShardPodCreated(cluster, ns, shards);
  const after = await apiserverMetrics(cluster);
  const opAfter = await operatorMetrics(port);
  const reconciles = reconcileStats(opBefore, opAfter);
  const writesByClient = countWrites(await auditLinesSince(auditLog, auditFrom), (namespace, user) => namespace === ns || (user === OPERATOR_USER && namespace === OPERATOR_NAMESPACE));
  const leaseWrites = Object.entries(writesByClient[OPERATOR_USER] ?? {}).filter(([k]) => k.endsWith(' leases')).reduce((n, [, v]) => n + v, 0);
  const delta = counterDelta(before, after, 'apiserver_request_total', (l) => `${l['verb']} ${l['resource']}${l['subresource'] ? `/${l['subresource']}` : ''}`);
  const sum = (keep: (verb: string, resource: string) => boolean): number => [...delta].filter(([k]) => keep(k.split(' ')[0] ?? '', k.split(' ')[1] ?? '')).reduce((n, [, v]) => n + v, 0);
  const operatorResources = new Set(['upscalejobs', 'upscalejobs/status']);
  const operatorEvents = await operatorEventWrites(cluster, ns);
  return {
    shards,
    secondsToAllPodsCreated: (allCreated - Math.floor(beganWall / 1000) * 1000) / 1000,
    secondsToSucceeded: (succeeded - began) / 1000,
    requestsPerShard: sum(() => true) / shards,
    writesPerShard: sum((verb) => WRITE_VERBS.has(verb)) / shards,
    // Writes only the operator makes: its UpscaleJob (finalizer, status), its Events, and the Jobs it creates.
    operatorWritesPerShard: (sum((verb, resource) => WRITE_VERBS.has(verb) && operatorResources.has(resource)) + sum((verb, resource) => verb === 'POST' && resource === 'jobs') + operatorEvents) / shards,
    upscaleJobStatusWrites: sum((verb, resource) => WRITE_VERBS.has(verb) && resource === 'upscalejobs/status'),
    byVerbResource: Object.fromEntries([...delta].sort((a, b) => b[1] - a[1])),
    writesByClient,
    auditWritesPerShard: (total(writesByClient) - leaseWrites) / shards,
    auditOperatorWritesPerShard: (total(writesByClient, OPERATOR_USER) - leaseWrites) / shards,
    operatorLeaseWrites: leaseWrites,
    operatorPeakRssMiB: (await rssMiB(op.child.pid ?? 0)).peak,
    reconcileP99Seconds: reconciles.p99,
    reconciles: reconciles.count,
  };
}

interface FleetResult {
  jobs: number;
  shardsPerJob: number;
  seconds: number;
  operatorRssMiB: number;
  operatorPeakRssMiB: number;
  /** The V8 heap at the end, after the jobs succeeded. */
  operatorHeapMiB: { used: number; total: number; external: number };
  /** CPU (user + system) the operator used over the run. */
  operatorCpuSeconds: number;
  reconcileP99Seconds: number | undefined;
  reconciles: number;
}

async function fleet(cluster: TestCluster, ns: string, op: RunningOperator, port: number, jobs: number, shardsPerJob: number, shardSeconds: number): Promise<FleetResult> {
  const before = await operatorMetrics(port);
  const began = performance.now();
  const names = Array.from({ length: jobs }, (_, i) => `fleet-${i}`);
  for (let i = 0; i < names.length; i += 20) await apply(cluster, ns, ...names.slice(i, i + 20).map((n) => trivialJob(n, shardsPerJob, shardSeconds)));
  let rss = 0;
  const pid = op.child.pid ?? 0;
  await waitFor(
    `${jobs} UpscaleJobs to succeed`,
    async () => {
      rss = Math.max(rss, (await rssMiB(pid)).rss);
      const list = (await cluster.custom.listNamespacedCustomObject({ group: 'upscale.dev', version: 'v1alpha1', namespace: ns, plural: 'upscalejobs' })) as { items: Array<{ metadata?: { name?: string }; status?: { phase?: string } }> };
      const mine = list.items.filter((j) => j.metadata?.name?.startsWith('fleet-') === true);
      const failed = mine.find((j) => j.status?.phase === 'Failed');
      if (failed !== undefined) throw new Error(`UpscaleJob ${ns}/${failed.metadata?.name ?? ''} failed`);
      return mine.filter((j) => j.status?.phase === 'Succeeded').length === jobs;
    },
    3_600_000,
    2000,
  );
  const seconds = (performance.now() - began) / 1000;
  const after = await operatorMetrics(port);
  const mem = await rssMiB(pid);
  // Only this run's reconciles: subtract the histogram before it.
  const r = reconcileStats(before, after);
  return { jobs, shardsPerJob, seconds, operatorRssMiB: Math.max(rss, mem.rss), operatorPeakRssMiB: mem.peak, operatorHeapMiB: await heapMiB(port), operatorCpuSeconds: cpuSeconds(after) - cpuSeconds(before), reconcileP99Seconds: r.p99, reconciles: r.count };
}

/** The operator's CPU seconds so far (user + system), from its /metrics. */
function cpuSeconds(samples: readonly Sample[]): number {
  return samples.find((s) => s.name === 'process_cpu_seconds_total')?.value ?? NaN;
}

/** Runs the section; returns its JSON. */
export async function controlPlaneBench(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      shards: { type: 'string', default: '1000' },
      jobs: { type: 'string', default: '100' },
      'job-shards': { type: 'string', default: '100' },
      'shard-seconds': { type: 'string', default: '1' },
      // The operator's defaults; a starved machine may need longer (the figures say which ran).
      'lease-duration': { type: 'string', default: '15' },
      'renew-deadline': { type: 'string', default: '10' },
    },
    allowPositionals: false,
  });
  const cluster = await useCluster();
  const capacity = await podCapacity(cluster);
  const wanted = Number(values.shards);
  const shards = Math.min(wanted, capacity.pods);
  const shardSeconds = Number(values['shard-seconds']);
  const cleanups = new Cleanups();
  let stopping = false;
  try {
    await ensureCrd(cluster);
    const kubeconfig = await operatorKubeconfig(cluster);
    const ns = await cluster.namespace(cleanups.context);
    // The operator's defaults (status at most every 5 s per job, a 15 s lease renewed within 10 s,
    // info logs), not the e2e tests' faster ones.
    const lease = { duration: Number(values['lease-duration']), renewDeadline: Number(values['renew-deadline']) };
    const op = startOperator(cleanups.context, kubeconfig, ns, ['--status-interval-ms', '5000', '--lease-duration', String(lease.duration), '--renew-deadline', String(lease.renewDeadline), '--retry-period', String(Math.min(2, lease.renewDeadline / 5))], { UPSCALE_LOG_LEVEL: 'info' });
    const port = await op.port();
    // The operator's log, for a look after the run (and its tail in the error when it dies).
    const logFile = join(tmpdir(), `bench-control-plane-operator-${process.pid}.log`);
    cleanups.context.after(() => writeFile(logFile, op.logs()));
    op.child.once('exit', (code, signal) => {
      if (!stopping) console.error(`The operator exited (${code ?? signal}) during the benchmark; its log: ${logFile}\n${op.logs().slice(-3000)}`);
    });
    console.log(`Control plane: ${capacity.nodes} nodes, ${capacity.pods} pod slots; trivial worker (${shardSeconds} s per shard); operator Lease ${lease.duration} s, renewed within ${lease.renewDeadline} s`);
    const wide = shards > 0 ? await oneJob(cluster, ns, op, port, shards, shardSeconds) : undefined;
    if (wide !== undefined) {
      console.log(`one job, ${shards} shards at parallelism ${shards}${shards < wanted ? ` (capped from ${wanted} by pod capacity)` : ''}:`);
      console.log(`  apply -> all shard pods created  ${wide.secondsToAllPodsCreated.toFixed(1)} s`);
      console.log(`  apply -> Succeeded               ${wide.secondsToSucceeded.toFixed(1)} s`);
      console.log(`  API requests per shard           ${wide.requestsPerShard.toFixed(2)} (all clients)`);
      console.log(`  API writes per shard             ${wide.writesPerShard.toFixed(2)} (all clients, whole cluster)`);
      console.log(`  operator writes per shard        ${wide.operatorWritesPerShard.toFixed(3)} (UpscaleJob status ${wide.upscaleJobStatusWrites} writes in ${wide.secondsToSucceeded.toFixed(0)} s)`);
      for (const [k, v] of Object.entries(wide.byVerbResource).slice(0, 14)) console.log(`    ${k.padEnd(34)}${String(v).padStart(7)}${(v / shards).toFixed(2).padStart(8)} /shard`);
      console.log(`  API writes per shard, audit log  ${wide.auditWritesPerShard.toFixed(2)} in the job's namespace, by client:`);
      for (const [user, rows] of Object.entries(wide.writesByClient).sort((a, b) => total({ u: b[1] }) - total({ u: a[1] }))) {
        const n = total({ u: rows });
        console.log(`    ${(user === OPERATOR_USER ? `${user} (operator)` : user).padEnd(70)}${String(n).padStart(7)}${(n / shards).toFixed(3).padStart(8)} /shard  ${Object.entries(rows).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      }
      console.log(`  operator writes per shard        ${wide.auditOperatorWritesPerShard.toFixed(3)} (goal < 5: ${wide.auditOperatorWritesPerShard < 5 ? 'met' : 'not met'}; Jobs, UpscaleJob status/finalizer, Events; plus ${wide.operatorLeaseWrites} Lease renewals)`);
      console.log(`  operator peak RSS                ${wide.operatorPeakRssMiB.toFixed(0)} MiB`);
      console.log(`  reconcile p99                    ${wide.reconcileP99Seconds === undefined ? 'n/a' : `<= ${wide.reconcileP99Seconds} s`} over ${wide.reconciles} reconciles`);
    }
    const jobs = Number(values.jobs);
    const perJob = Math.min(Number(values['job-shards']), capacity.pods);
    const many = jobs > 0 ? await fleet(cluster, ns, op, port, jobs, perJob, shardSeconds) : undefined;
    if (many !== undefined) {
      console.log(`${jobs} jobs x ${perJob} shards (${jobs * perJob} pods): ${many.seconds.toFixed(0)} s`);
      console.log(`  operator RSS                     ${many.operatorRssMiB.toFixed(0)} MiB (peak ${many.operatorPeakRssMiB.toFixed(0)} MiB; goal < 256: ${many.operatorPeakRssMiB < 256 ? 'met' : 'not met'})`);
      console.log(`  operator at the end              ${describeHeap(many.operatorHeapMiB)}; ${many.operatorCpuSeconds.toFixed(0)} s CPU over the run`);
      console.log(`  reconcile p99                    ${many.reconcileP99Seconds === undefined ? 'n/a' : `<= ${many.reconcileP99Seconds} s`} over ${many.reconciles} reconciles`);
    }
    stopping = true;
    await op.stop();
    return { bench: 'control-plane', capacity, requestedShards: wanted, shardSeconds, lease, oneJob: wide, fleet: many };
  } finally {
    await cleanups.run();
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const jsonAt = args.indexOf('--json');
  const file = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;
  const result = await controlPlaneBench(args);
  console.log(JSON.stringify(result));
  if (file !== undefined) await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
}
