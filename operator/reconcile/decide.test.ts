/**
 * `decide` as a table of plain-English cases: an UpscaleJob, the children the caches hold, the
 * time -> what to create or delete and the status. No cluster: the observations are the objects the
 * Job controller and the node writes, built by the small helpers below.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { upscaleJobSpecSchema, type UpscaleJob, type UpscaleJobSpecInput, type UpscaleJobStatus } from '../api/upscalejob.ts';
import { operatorConfigSchema } from '../config.ts';
import { decide, type Decision } from './decide.ts';
import { shardJob } from './job-specs.ts';
import { childName } from './names.ts';
import type { Observed } from './observed.ts';

const config = operatorConfigSchema.parse({ workerImage: 'example.com/upscale-operator:test' });
const NOW = new Date('2026-12-01T12:00:00Z');
const T0 = '2026-12-01T11:59:00Z';

function job(spec: Partial<UpscaleJobSpecInput> = {}, status?: UpscaleJobStatus): UpscaleJob {
  const j: UpscaleJob = {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name: 'trailer', namespace: 'media', uid: '0a1b2c3d-0000-4000-8000-000000000001', generation: 1, creationTimestamp: T0 },
    spec: upscaleJobSpecSchema.parse({ input: 's3://footage/in.mp4', output: 's3://footage/out.mp4', ...spec }),
  };
  if (status !== undefined) j.status = status;
  return j;
}

let podSeq = 0;
function childJob(name: string, conditions: Array<{ type: string; reason?: string; message?: string }> = [], status: NonNullable<V1Job['status']> = {}): V1Job {
  return {
    metadata: { name, namespace: 'media', uid: `uid-${name}` },
    spec: { template: {} },
    status: { ...status, conditions: conditions.map((c) => ({ ...c, status: 'True', type: c.type })) },
  };
}
function pod(owner: V1Job, phase: string, opts: { message?: string; exitCode?: number; index?: number; unschedulable?: string } = {}): V1Pod {
  podSeq += 1;
  const p: V1Pod = {
    metadata: {
      name: `${owner.metadata!.name}-${podSeq}`,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: owner.metadata!.name!, uid: owner.metadata!.uid! }],
      annotations: opts.index === undefined ? {} : { 'batch.kubernetes.io/job-completion-index': String(opts.index) },
      creationTimestamp: new Date(NOW.getTime() - 1000 * (100 - podSeq)),
    },
    status: { phase },
  };
  if (opts.message !== undefined || opts.exitCode !== undefined) {
    p.status!.containerStatuses = [{ name: 'worker', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: opts.exitCode ?? 0, message: opts.message ?? '' } } }];
  }
  if (opts.unschedulable !== undefined) p.status!.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: opts.unschedulable }];
  return p;
}
const probeOk = JSON.stringify({ ok: true, step: 'probe', jobId: 'x', shards: 4, reused: false, summary: { frames: 1000, width: 640, height: 360 }, shardFrames: [[300, 3], [100, 1]] });
const plan = { frames: 1000, shards: 4, shardFrames: [[300, 3], [100, 1]] as Array<[number, number]>, width: 640, height: 360 };
const condition = (d: Decision, type: string) => d.status.conditions?.find((c) => c.type === type);

function shardsWith(status: NonNullable<V1Job['status']>, conditions: Array<{ type: string; reason?: string; message?: string }> = [], spec: Partial<UpscaleJobSpecInput> = {}): V1Job {
  const built = shardJob(job(spec), config, plan);
  built.metadata!.uid = 'uid-shards';
  built.status = { ...status, conditions: conditions.map((c) => ({ ...c, status: 'True' })) };
  return built;
}

const probeDone = childJob('trailer-probe', [{ type: 'Complete' }], { succeeded: 1 });

test('a new job creates its probe Job and says it is probing', () => {
  const d = decide(job(), { pods: [] }, NOW, config);
  assert.equal(d.create.length, 1);
  assert.equal(d.create[0]!.metadata!.name, 'trailer-probe');
  assert.equal(d.status.phase, 'Probing');
  assert.equal(d.status.startTime, T0);
  assert.equal(condition(d, 'Ready')?.status, 'False');
});

test('a suspended new job creates nothing', () => {
  const d = decide(job({ suspend: true }), { pods: [] }, NOW, config);
  assert.deepEqual(d.create, []);
  assert.equal(d.status.phase, 'Suspended');
  assert.equal(condition(d, 'Suspended')?.status, 'True');
});

test('a running probe creates nothing more and reports a pod no node can take', () => {
  const probe = childJob('trailer-probe', [], { active: 1 });
  const d = decide(job(), { probe, pods: [pod(probe, 'Pending', { unschedulable: '0/2 nodes are available: 2 Insufficient cpu.' })] }, NOW, config);
  assert.deepEqual(d.create, []);
  assert.equal(d.status.phase, 'Probing');
  assert.match(condition(d, 'Unschedulable')?.message ?? '', /Insufficient cpu/);
});

test('a finished probe creates the Indexed shard Job from the plan in its termination message', () => {
  const d = decide(job({ sharding: { parallelism: 8 } }), { probe: probeDone, pods: [pod(probeDone, 'Succeeded', { message: probeOk })] }, NOW, config);
  assert.equal(d.create.length, 1);
  const shards = d.create[0]!;
  assert.equal(shards.metadata!.name, 'trailer-shards');
  assert.equal(shards.spec!.completionMode, 'Indexed');
  assert.equal(shards.spec!.completions, 4);
  assert.equal(shards.spec!.parallelism, 4, 'never more pods than shards');
  assert.equal(shards.spec!.backoffLimitPerIndex, 3);
  assert.equal(d.status.phase, 'Running');
  assert.deepEqual(d.status.frames, { total: 1000, done: 0 });
});

test('a probe that failed with the worker\'s permanent error fails the job with the worker\'s message', () => {
  const probe = childJob('trailer-probe', [{ type: 'Failed', reason: 'PodFailurePolicy', message: 'Container worker ... exit code 2' }]);
  const message = JSON.stringify({ ok: false, step: 'probe', code: 'InvalidInput', kind: 'permanent', message: 'probe: s3://footage/in.mp4 is not a video: no video stream' });
  const d = decide(job(), { probe, pods: [pod(probe, 'Failed', { message, exitCode: 2 })] }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.equal(condition(d, 'Failed')?.reason, 'ProbeFailed');
  assert.match(d.status.message ?? '', /not a video: no video stream/);
  assert.deepEqual(d.create, []);
});

test('a finished probe whose pod is gone is probed again instead of guessing the plan', () => {
  const d = decide(job(), { probe: probeDone, pods: [] }, NOW, config);
  assert.deepEqual(d.deleteJobs, ['trailer-probe']);
  assert.deepEqual(d.create, []);
});

test('running shards report frames from completed indexes, fps and ETA, and requeue for fresh progress', () => {
  const shards = shardsWith({ startTime: new Date(NOW.getTime() - 60_000), completedIndexes: '0,2', active: 1 });
  const d = decide(job(), { probe: probeDone, shards, pods: [] }, NOW, config);
  // 4 shards, 4 at a time: one wave, so the assembly starts beside it.
  assert.deepEqual(d.create.map((c) => c.metadata?.name), ['trailer-assemble']);
  assert.equal(d.status.phase, 'Running');
  assert.deepEqual(d.status.frames, { total: 1000, done: 600 });
  assert.deepEqual(d.status.shards, { total: 4, succeeded: 2, failed: 0, running: 1 });
  assert.equal(d.status.progress, '60%');
  assert.equal(d.status.fps, '10.0');
  assert.equal(d.status.eta, '40s');
  assert.ok(d.requeueAfterMs !== undefined && d.requeueAfterMs <= 5000);
});

test('shard pods waiting for free GPUs show as Unschedulable', () => {
  const shards = shardsWith({ active: 2 });
  const d = decide(job(), { shards, pods: [pod(shards, 'Pending', { index: 1, unschedulable: '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.' })] }, NOW, config);
  assert.match(condition(d, 'Unschedulable')?.message ?? '', /nvidia.com\/gpu/);
  assert.equal(d.status.phase, 'Running');
});

test('a shard that exited 2 fails the job at once with the worker\'s message and the shard\'s number', () => {
  const shards = shardsWith({ failedIndexes: '1' }, [{ type: 'Failed', reason: 'PodFailurePolicy', message: 'Container worker for pod x failed with exit code 2' }]);
  const message = JSON.stringify({ ok: false, step: 'shard', code: 'NotFound', message: 'shard: model s3://m/x.onnx not found' });
  const d = decide(job(), { shards, pods: [pod(shards, 'Failed', { index: 1, exitCode: 2, message })] }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.match(d.status.message ?? '', /shard 1 failed permanently: shard: model s3:\/\/m\/x.onnx not found/);
});

test('a shard that failed every retry fails the job naming the shard', () => {
  const shards = shardsWith({ failedIndexes: '2', failed: 4 }, [{ type: 'Failed', reason: 'FailedIndexes', message: 'Job has failed indexes' }]);
  const message = JSON.stringify({ ok: false, step: 'shard', code: 'Unavailable', message: 'shard: storage unreachable' });
  const pods = [0, 1, 2, 3].map(() => pod(shards, 'Failed', { index: 2, exitCode: 3, message }));
  const d = decide(job(), { shards, pods }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.equal(condition(d, 'Failed')?.reason, 'ShardFailed');
  assert.match(d.status.message ?? '', /^shard 2 failed 4 time\(s\).*storage unreachable/);
});

test('all shards done creates the assemble Job', () => {
  const shards = shardsWith({ completedIndexes: '0-3', succeeded: 4, startTime: new Date(NOW.getTime() - 100_000), completionTime: new Date(NOW.getTime() - 1000) }, [{ type: 'Complete' }]);
  const d = decide(job(), { shards, pods: [] }, NOW, config);
  assert.equal(d.create[0]?.metadata?.name, 'trailer-assemble');
  assert.equal(d.status.phase, 'Assembling');
  assert.equal(d.status.progress, '100%');
  assert.equal(d.status.eta, undefined);
  const assembling = decide(job({}, { ...d.status, eta: '40s' }), { shards, pods: [] }, new Date(NOW.getTime() + 30_000), config);
  assert.equal(assembling.status.eta, undefined, 'no stale ETA while assembling');
  assert.equal(assembling.status.fps, d.status.fps);
});

test('a finished assembly makes the job Succeeded, Complete and Ready, with the output', () => {
  const shards = shardsWith({ completedIndexes: '0-3' }, [{ type: 'Complete' }]);
  const assemble = childJob('trailer-assemble', [{ type: 'Complete' }]);
  const d = decide(job(), { shards, assemble, pods: [] }, NOW, config);
  assert.equal(d.status.phase, 'Succeeded');
  assert.equal(condition(d, 'Complete')?.status, 'True');
  assert.equal(condition(d, 'Ready')?.status, 'True');
  assert.equal(d.status.output, 's3://footage/out.mp4');
  assert.equal(d.status.completionTime, NOW.toISOString());
  assert.equal(d.status.eta, undefined);
});

test('a succeeded job stays succeeded when its children are gone, and is deleted after its TTL', () => {
  const done: UpscaleJobStatus = { phase: 'Succeeded', completionTime: new Date(NOW.getTime() - 10_000).toISOString() };
  const kept = decide(job({ ttlSecondsAfterFinished: 60 }, done), { pods: [] }, NOW, config);
  assert.deepEqual(kept.create, []);
  assert.equal(kept.deleteSelf, undefined);
  assert.equal(kept.requeueAfterMs, 50_000);
  const gone = decide(job({ ttlSecondsAfterFinished: 5 }, done), { pods: [] }, NOW, config);
  assert.equal(gone.deleteSelf, true);
});

test('suspending a running job suspends its shard Job; resuming un-suspends it', () => {
  const running = shardsWith({ active: 2, completedIndexes: '0' });
  const d = decide(job({ suspend: true }), { shards: running, pods: [] }, NOW, config);
  assert.deepEqual(d.patchShards, { suspend: true });
  assert.equal(d.status.phase, 'Suspended');
  const suspended = shardsWith({ completedIndexes: '0' }, [], { suspend: true });
  const r = decide(job(), { shards: suspended, pods: [] }, NOW, config);
  assert.deepEqual(r.patchShards, { suspend: false });
});

test('a Kueue-queued shard Job is created suspended and its suspend is never written', () => {
  const queued = { podTemplate: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'gpu-queue' } } } };
  const d = decide(job(queued), { probe: probeDone, pods: [pod(probeDone, 'Succeeded', { message: probeOk })] }, NOW, config);
  assert.equal(d.create[0]?.spec?.suspend, true);
  assert.equal(d.create[0]?.metadata?.labels?.['kueue.x-k8s.io/queue-name'], 'gpu-queue');
  const waiting = shardsWith({}, [], { ...queued });
  waiting.spec!.suspend = true;
  const w = decide(job(queued), { shards: waiting, pods: [] }, NOW, config);
  assert.equal(w.patchShards, undefined);
  assert.match(w.status.message ?? '', /Kueue/);
});

test('a job past its activeDeadlineSeconds fails and stops its running Jobs', () => {
  const running = shardsWith({ active: 2 });
  const d = decide(job({ activeDeadlineSeconds: 30 }), { shards: running, pods: [] }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.equal(condition(d, 'Failed')?.reason, 'DeadlineExceeded');
  assert.deepEqual(d.deleteJobs, [childName('trailer', 'shards')]);
});

test('conditions keep their transition time while their status holds', () => {
  const first = decide(job(), { pods: [] }, NOW, config);
  const later = new Date(NOW.getTime() + 60_000);
  const second = decide(job({}, first.status), { probe: childJob('trailer-probe', [], { active: 1 }), pods: [] }, later, config);
  assert.equal(condition(second, 'Failed')?.lastTransitionTime, condition(first, 'Failed')?.lastTransitionTime);
});

test('the same observation always gives the same decision', () => {
  const observed: Observed = { probe: probeDone, pods: [pod(probeDone, 'Succeeded', { message: probeOk })] };
  assert.deepEqual(decide(job(), observed, NOW, config), decide(job(), observed, NOW, config));
});

test('a step that just failed waits a moment for its pod\'s message before judging, then fails with what it has', () => {
  const justNow = new Date(NOW.getTime() - 2000);
  const probe = childJob('trailer-probe', [{ type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }]);
  probe.status!.conditions![0]!.lastTransitionTime = justNow;
  const early = decide(job(), { probe, pods: [] }, NOW, config);
  assert.equal(early.status.phase, 'Probing');
  assert.equal(early.requeueAfterMs, 2000);
  const late = decide(job(), { probe, pods: [] }, new Date(NOW.getTime() + 20_000), config);
  assert.equal(late.status.phase, 'Failed');
  assert.match(late.status.message ?? '', /backoff limit/);
});

test('a probe that just completed is not re-run while its pod has not reached the cache', () => {
  const probe = childJob('trailer-probe', [{ type: 'Complete' }], { completionTime: new Date(NOW.getTime() - 1000) });
  const d = decide(job(), { probe, pods: [] }, NOW, config);
  assert.deepEqual(d.deleteJobs, []);
  assert.equal(d.requeueAfterMs, 2000);
});

test('a changed parallelism reaches the running shard Job, capped at its shard count', () => {
  const running = shardsWith({ active: 4 });
  assert.equal(running.spec?.parallelism, 4);
  assert.deepEqual(decide(job({ sharding: { parallelism: 2 } }), { shards: running, pods: [] }, NOW, config).patchShards, { parallelism: 2 });
  assert.equal(decide(job({ sharding: { parallelism: 64 } }), { shards: running, pods: [] }, NOW, config).patchShards, undefined, 'already at the shard count');
});

test('suspending a Kueue-queued job deactivates its Workload instead of writing the Job; resuming reactivates it', () => {
  const queued = { podTemplate: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'gpu-queue' } } } };
  const admitted = shardsWith({ active: 2 }, [], queued);
  admitted.spec!.suspend = false;
  const s = decide(job({ ...queued, suspend: true }), { shards: admitted, pods: [] }, NOW, config);
  assert.equal(s.status.phase, 'Suspended');
  assert.equal(s.workloadActive, false);
  assert.equal(s.patchShards, undefined, 'the Job\'s suspend belongs to Kueue');
  const evicted = shardsWith({}, [], queued);
  evicted.spec!.suspend = true;
  const r = decide(job(queued, { phase: 'Suspended' }), { shards: evicted, pods: [] }, NOW, config);
  assert.equal(r.workloadActive, true);
  assert.equal(r.patchShards, undefined);
  const running = decide(job(queued, { phase: 'Running' }), { shards: admitted, pods: [] }, NOW, config);
  assert.equal(running.workloadActive, undefined, 'a running queued job does not read its Workload');
});

/** The task of a created assemble Job, as its pod will read it. */
function assembleTask(d: Decision): Record<string, unknown> | undefined {
  const created = d.create.find((c) => c.metadata?.name === 'trailer-assemble');
  const args = created?.spec?.template.spec?.containers[0]?.args;
  return args === undefined ? undefined : (JSON.parse(args[args.indexOf('--task') + 1]!) as Record<string, unknown>);
}
const earlyAssemble = () => childJob('trailer-assemble', [], { active: 1 });
const queued = { podTemplate: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'gpu-queue' } } } };

test('more than a wave of shards still waiting for a slot: no assemble Job yet (an idle assembly pod would hold a node slot)', () => {
  // 4 shards, 1 at a time: 1 done, 1 running, 2 waiting (two waves).
  const one = { sharding: { parallelism: 1 } };
  const d = decide(job(one), { shards: shardsWith({ completedIndexes: '0', active: 1 }, [], one), pods: [] }, NOW, config);
  assert.deepEqual(d.create, []);
  assert.equal(d.status.message, '1 of 4 shards done');
  // A shard Job whose pods are not made yet: none started.
  assert.deepEqual(decide(job(), { shards: shardsWith({}), pods: [] }, NOW, config).create, []);
});

test('the last two waves running (at most parallelism shards without a pod) create the assemble Job that waits for the shards; the job stays Running', () => {
  const cases = [['0,1', 2, 4], ['0-2', 1, 4], ['', 4, 4], ['', 2, 2], ['0', 1, 2], ['0,1', 1, 1]] as const;
  for (const [completedIndexes, active, parallelism] of cases) {
    const spec = { sharding: { parallelism } };
    const shards = shardsWith({ completedIndexes, active }, [], spec);
    const d = decide(job(spec), { shards, pods: [] }, NOW, config);
    assert.deepEqual(d.create.map((c) => c.metadata?.name), ['trailer-assemble'], `${completedIndexes} done, ${active} running, ${parallelism} at a time`);
    assert.equal(assembleTask(d)?.['waitForShards'], true);
    assert.equal(d.status.phase, 'Running');
    assert.match(d.status.message ?? '', /shards done; assembly started$/);
  }
});

test('an early assemble Job is kept while the shards run, and reused (not created again) once they succeed', () => {
  const running = decide(job(), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }), assemble: earlyAssemble(), pods: [] }, NOW, config);
  assert.deepEqual(running.create, []);
  assert.deepEqual(running.deleteJobs, []);
  assert.equal(running.status.message, '3 of 4 shards done; assembly started');
  const done = shardsWith({ completedIndexes: '0-3', succeeded: 4 }, [{ type: 'Complete' }]);
  const assembling = decide(job(), { shards: done, assemble: earlyAssemble(), pods: [] }, NOW, config);
  assert.deepEqual(assembling.create, []);
  assert.equal(assembling.status.phase, 'Assembling');
});

test('shards succeeded with no assemble Job (the early one was deleted, or an older operator ran the shards): it is created without waiting', () => {
  const done = shardsWith({ completedIndexes: '0-3', succeeded: 4 }, [{ type: 'Complete' }]);
  const d = decide(job(), { shards: done, pods: [] }, NOW, config);
  assert.equal(assembleTask(d)?.['waitForShards'], false);
  assert.equal(d.status.phase, 'Assembling');
});

test('failed shards delete the early assemble Job: it would wait forever', () => {
  const shards = shardsWith({ failedIndexes: '1' }, [{ type: 'Failed', reason: 'PodFailurePolicy', message: 'exit code 2' }]);
  const message = JSON.stringify({ ok: false, step: 'shard', code: 'NotFound', message: 'shard: model not found' });
  const d = decide(job(), { shards, assemble: earlyAssemble(), pods: [pod(shards, 'Failed', { index: 1, exitCode: 2, message })] }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.deepEqual(d.deleteJobs, ['trailer-assemble']);
  const deadline = shardsWith({}, [{ type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }]);
  assert.deepEqual(decide(job(), { shards: deadline, assemble: earlyAssemble(), pods: [] }, NOW, config).deleteJobs, ['trailer-assemble']);
});

test('suspending while shards remain deletes the early assemble Job; after the resume the last two waves make it again', () => {
  const d = decide(job({ suspend: true }), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }), assemble: earlyAssemble(), pods: [] }, NOW, config);
  assert.equal(d.status.phase, 'Suspended');
  assert.deepEqual(d.deleteJobs, ['trailer-assemble']);
  assert.deepEqual(d.create, []);
  const gone = decide(job({ suspend: true }), { shards: shardsWith({ completedIndexes: '0-2' }, [], { suspend: true }), pods: [] }, NOW, config);
  assert.deepEqual([gone.create, gone.deleteJobs], [[], []], 'suspended: none created');
  const resuming = decide(job({}, { phase: 'Suspended' }), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }, [], { suspend: true }), pods: [] }, NOW, config);
  assert.deepEqual([resuming.create, resuming.patchShards], [[], { suspend: false }], 'not while the shard Job is still suspended, whatever pods it counts');
  const resumed = decide(job({}, { phase: 'Suspended' }), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }), pods: [] }, NOW, config);
  assert.equal(assembleTask(resumed)?.['waitForShards'], true);
});

test('an assemble Job already being deleted is not deleted again', () => {
  const going = earlyAssemble();
  going.metadata!.deletionTimestamp = new Date(NOW.getTime() - 1000);
  const d = decide(job({ suspend: true }), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }), assemble: going, pods: [] }, NOW, config);
  assert.deepEqual(d.deleteJobs, []);
});

test('a Kueue-queued shard Job waiting for admission gets no assemble Job; one evicted by Kueue loses its early one', () => {
  const waiting = shardsWith({}, [], queued);
  waiting.spec!.suspend = true;
  const w = decide(job(queued), { shards: waiting, pods: [] }, NOW, config);
  assert.deepEqual(w.create, []);
  const evicted = shardsWith({ completedIndexes: '0-2' }, [], queued);
  evicted.spec!.suspend = true;
  const e = decide(job(queued), { shards: evicted, assemble: earlyAssemble(), pods: [] }, NOW, config);
  assert.match(e.status.message ?? '', /Kueue/);
  assert.deepEqual(e.deleteJobs, ['trailer-assemble']);
  assert.equal(e.patchShards, undefined);
});

test('a Kueue-queued job\'s early assemble Job carries the queue label and no suspend of its own: Kueue owns both', () => {
  const admitted = shardsWith({ completedIndexes: '0-1', active: 2 }, [], queued);
  admitted.spec!.suspend = false;
  const d = decide(job(queued), { shards: admitted, pods: [] }, NOW, config);
  const created = d.create[0]!;
  assert.equal(created.metadata?.labels?.['kueue.x-k8s.io/queue-name'], 'gpu-queue');
  assert.equal(created.spec?.suspend, undefined);
  assert.equal(d.patchShards, undefined);
});

test('an early assemble Job that fails while the shards run fails the job and stops the shards', () => {
  const failed = childJob('trailer-assemble', [{ type: 'Failed', reason: 'PodFailurePolicy', message: 'exit code 2' }]);
  const message = JSON.stringify({ ok: false, step: 'assemble', code: 'Conflict', message: 'assemble: s3://footage/out.mp4 exists' });
  const d = decide(job(), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }), assemble: failed, pods: [pod(failed, 'Failed', { exitCode: 2, message })] }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.equal(condition(d, 'Failed')?.reason, 'AssembleFailed');
  assert.match(d.status.message ?? '', /out\.mp4 exists/);
  assert.deepEqual(d.deleteJobs, ['trailer-shards']);
  assert.deepEqual(d.create, []);
});

test('a job past its deadline with an early assemble Job stops both', () => {
  const d = decide(job({ activeDeadlineSeconds: 30 }), { shards: shardsWith({ completedIndexes: '0-2', active: 1 }), assemble: earlyAssemble(), pods: [] }, NOW, config);
  assert.equal(d.status.phase, 'Failed');
  assert.deepEqual(d.deleteJobs.sort(), ['trailer-assemble', 'trailer-shards']);
  assert.deepEqual(d.create, []);
});
