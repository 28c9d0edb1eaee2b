/**
 * Random specs and random child states through the schema and `decide`: valid specs never crash
 * it, its output is always well-formed, invalid specs are refused by the schema with a path, and
 * the same input always gives the same decision. Seeded, so a failure is reproducible (the seed
 * and case number are in the message).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { PHASES, upscaleJobSpecSchema, type UpscaleJob } from '../api/upscalejob.ts';
import { operatorConfigSchema } from '../config.ts';
import { decide, type Decision } from './decide.ts';
import { decideDeletion } from './deletion.ts';
import { countIndexes } from './indexes.ts';
import { queuedByKueue } from './job-specs.ts';
import { ANNOTATION_PLAN, CLEANUP_FINALIZER, LABEL_COMPONENT } from './names.ts';
import { jobFailure, jobSucceeded, type Observed } from './observed.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);
const CASES = Number(process.env['FUZZ_CASES'] ?? 3000);

/** mulberry32: small, fast, good enough to drive a fuzzer. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test(`decide survives ${CASES} random specs and child states (seed ${SEED})`, (t) => {
  const r = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const maybe = <T>(v: () => T): T | undefined => (r() < 0.5 ? v() : undefined);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const weird = () => pick<unknown>([-1, 0, 1, 2.5, 1e12, '', 'x', null, true, [], {}, 'auto', 's3://b/k', '0', 64, 3]);
  /** Mostly one of the sensible values, sometimes anything: enough valid specs to exercise decide. */
  const mostly = <T>(xs: readonly T[]): unknown => (r() < 0.08 ? weird() : pick(xs));
  const config = operatorConfigSchema.parse({});
  let valid = 0;

  for (let n = 0; n < CASES; n++) {
    const where = `seed ${SEED} case ${n}`;
    const raw: Record<string, unknown> = {
      input: mostly(['s3://in/a.mp4', 's3://in/a.mp4', 'https://cdn.example/a.mp4', 'ftp://x/y', 's3://in/']),
      output: mostly(['s3://out/b.mp4', 's3://out/b.mkv', 's3://out/b.mp4', 'https://x/y.mp4', 's3://in/a.mp4']),
    };
    if (r() < 0.7) raw['model'] = mostly(['realesr-general-x4v3', 'RealESRGAN_x4plus', 's3://m/x.onnx', 'nope']);
    if (r() < 0.7) raw['scale'] = mostly([2, 3, 4, 4, 1]);
    if (r() < 0.6) raw['encode'] = { codec: mostly(['h264', 'hevc', 'av1', 'ffv1', 'vp8']), crf: maybe(() => mostly([0, 18, 51, 63, 64])), preset: maybe(() => mostly(['medium', '8', 'Bogus!'])) };
    if (r() < 0.6) raw['sharding'] = { framesPerShard: maybe(() => mostly([1, 300, 25, 0])), ...(r() < 0.2 ? { shards: mostly([1, 7, 0]) } : {}), parallelism: maybe(() => mostly([1, 8, 10_000, 0])) };
    if (r() < 0.4) raw['resources'] = { gpusPerShard: maybe(() => mostly([0, 1, 2, 17])), gpuResourceName: maybe(() => mostly(['nvidia.com/gpu', 'amd.com/gpu', 'gpu'])), cpu: maybe(() => mostly(['4', '3500m', 2, 'lots'])), memory: maybe(() => mostly(['16Gi', '1e3'])) };
    if (r() < 0.3) raw['podTemplate'] = { metadata: { labels: maybe(() => mostly([{ 'kueue.x-k8s.io/queue-name': 'q' }, { a: 'b' }])) }, spec: maybe(() => ({ tolerations: mostly([[{ key: 'k', operator: 'Exists' }]]) })) };
    for (const field of ['suspend', 'overwrite', 'keepIntermediates', 'backoffLimitPerShard', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) {
      if (r() < 0.3) raw[field] = field === 'suspend' || field === 'overwrite' || field === 'keepIntermediates' ? mostly([true, false]) : mostly([0, 1, 30, 86_400]);
    }
    const parsed = upscaleJobSpecSchema.safeParse(raw);
    if (!parsed.success) {
      assert.ok(parsed.error.issues.length > 0 && parsed.error.issues.every((i) => Array.isArray(i.path)), where);
      continue;
    }
    valid += 1;
    const job: UpscaleJob = {
      apiVersion: 'upscale.dev/v1alpha1',
      kind: 'UpscaleJob',
      metadata: { name: pick(['a', 'clip-x4', 'n'.repeat(200)]), namespace: 'ns', uid: `uid-${n}`, generation: int(1, 5), creationTimestamp: '2026-12-01T11:00:00Z', finalizers: r() < 0.5 ? [CLEANUP_FINALIZER] : [] },
      spec: parsed.data,
    };
    if (r() < 0.5) job.status = { phase: pick(PHASES), startTime: '2026-12-01T11:00:00Z', ...(r() < 0.5 ? { completionTime: '2026-12-01T11:30:00Z' } : {}) };
    const cond = () => pick([[], [{ type: 'Complete', status: 'True' }], [{ type: 'Failed', status: 'True', reason: pick(['PodFailurePolicy', 'FailedIndexes', 'DeadlineExceeded', 'BackoffLimitExceeded']), lastTransitionTime: new Date('2026-12-01T11:59:59Z') }], [{ type: 'FailureTarget', status: 'True' }]]);
    const child = (name: string, extra: Partial<NonNullable<V1Job['spec']>> = {}, annotations: Record<string, string> = {}): V1Job => ({
      metadata: { name, uid: `${name}-${n}`, annotations },
      spec: { template: {}, ...extra },
      status: { conditions: cond(), completedIndexes: pick(['', '0', '0-2,5', 'junk', '0-99999']), failedIndexes: pick(['', '1', 'x']), active: int(0, 3), failed: int(0, 5), ...(r() < 0.7 ? { startTime: pick([new Date('2026-12-01T11:10:00Z'), '2026-12-01T11:10:00Z']) as Date } : {}) },
    });
    const planNote = pick([JSON.stringify({ frames: 100, shards: 4, shardFrames: [[25, 4]] }), JSON.stringify({ frames: 10, shards: 3 }), 'not json', '{}']);
    const observed = {
      ...(r() < 0.7 ? { probe: child('p') } : {}),
      ...(r() < 0.5 ? { shards: child('s', { completions: int(1, 6), parallelism: int(1, 6), suspend: r() < 0.3 }, { [ANNOTATION_PLAN]: planNote }) } : {}),
      ...(r() < 0.3 ? { assemble: child('a') } : {}),
      pods: [] as V1Pod[],
    };
    const probeOwner = observed.probe;
    if (probeOwner !== undefined && r() < 0.6) {
      observed.pods.push({
        metadata: { name: 'pp', ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'p', uid: probeOwner.metadata!.uid! }], creationTimestamp: new Date('2026-12-01T11:05:00Z') },
        status: { phase: pick(['Succeeded', 'Failed', 'Running']), containerStatuses: [{ name: 'worker', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: pick([0, 2, 3]), message: pick([JSON.stringify({ ok: true, step: 'probe', shards: 4, summary: { frames: 100 }, shardFrames: [[25, 4]] }), '{"ok":false,"message":"bad"}', 'garbage', '']) } } }] },
      });
    }
    const now = new Date(pick([Date.parse('2026-12-01T12:00:00Z'), Date.parse('2026-12-03T00:00:00Z')]));
    const d = decide(job, observed, now, config);
    assert.ok(d.status.phase !== undefined && (PHASES as readonly string[]).includes(d.status.phase), `${where}: phase ${String(d.status.phase)}`);
    assert.ok(d.create.every((c) => (c.metadata?.name?.length ?? 99) <= 52 && c.metadata?.ownerReferences?.[0]?.uid === job.metadata.uid), `${where}: a created Job is unowned or misnamed`);
    assert.ok(JSON.stringify(d.status).length < 8192, `${where}: status stays small`);
    assert.ok(d.requeueAfterMs === undefined || (Number.isFinite(d.requeueAfterMs) && d.requeueAfterMs >= 0), `${where}: requeue ${d.requeueAfterMs}`);
    assert.deepEqual(decide(job, observed, now, config), d, `${where}: not deterministic`);
    assertAssemblyRules(job, observed, d, where);
    const del = decideDeletion(job, observed, '2026-12-01T11:59:00Z', now, config);
    assert.ok(del.releaseFinalizer || del.create.length > 0 || del.requeueAfterMs !== undefined || !(job.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER), `${where}: a deletion that neither progresses nor waits`);
  }
  t.diagnostic(`${valid} of ${CASES} random specs valid and decided; the rest refused by the schema with a path`);
  assert.ok(valid > CASES / 20, `only ${valid} of ${CASES} random specs were valid: the generator is too hostile to test decide`);
});

/**
 * The early assembly's invariants: an assemble Job is never created before the shards' last two
 * waves run (some index started, at most `parallelism` without a pod) on an un-suspended, admitted
 * shard Job; it waits for the shards
 * exactly when they have not succeeded; a Failed decision leaves no step Job running; a queued
 * job's Jobs are never written (no shard patch, no suspend set on a created Job).
 */
function assertAssemblyRules(job: UpscaleJob, observed: Observed, d: Decision, where: string): void {
  const running = (j: V1Job | undefined) => j !== undefined && !jobSucceeded(j) && jobFailure(j) === undefined;
  const { shards } = observed;
  for (const created of d.create.filter((c) => c.metadata?.labels?.[LABEL_COMPONENT] === 'assemble')) {
    assert.ok(shards !== undefined && observed.assemble === undefined, `${where}: an assemble Job created without shards, or twice`);
    const args = created.spec?.template.spec?.containers[0]?.args ?? [];
    const task = JSON.parse(args[args.indexOf('--task') + 1] ?? '{}') as { waitForShards?: boolean };
    if (jobSucceeded(shards)) {
      assert.equal(task.waitForShards, false, `${where}: an assemble Job after the shards succeeded waits for them`);
      continue;
    }
    assert.equal(task.waitForShards, true, `${where}: an early assemble Job does not wait for the shards`);
    assert.ok(!job.spec.suspend && shards.spec?.suspend !== true && jobFailure(shards) === undefined, `${where}: an assemble Job created for stopped shards`);
    const started = countIndexes(shards.status?.completedIndexes) + (shards.status?.active ?? 0);
    assert.ok(started > 0 && started >= (shards.spec?.completions ?? Infinity) - (shards.spec?.parallelism ?? 1), `${where}: an assemble Job created before the last two waves run`);
  }
  const terminalBefore = job.status?.phase === 'Succeeded' || job.status?.phase === 'Failed';
  if (d.status.phase === 'Failed' && !terminalBefore && shards !== undefined) {
    for (const child of [shards, observed.assemble]) {
      const name = child?.metadata?.name;
      if (running(child) && name !== undefined) assert.ok(d.deleteJobs.includes(name), `${where}: Failed (${d.summary}) but Job ${name} is left running`);
    }
  }
  if (queuedByKueue(job)) {
    assert.equal(d.patchShards, undefined, `${where}: a queued shard Job is patched`);
    assert.ok(d.create.every((c) => c.spec?.suspend !== false), `${where}: a queued Job created un-suspended`);
  }
}
