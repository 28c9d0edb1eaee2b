/**
 * The trimmed objects the caches keep give reconcile the same answers as the full objects the API
 * server sends: `decide` is run on both, for each step of a job's life.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1ManagedFieldsEntry, V1Pod } from '@kubernetes/client-node';
import { upscaleJobSpecSchema, type UpscaleJob, type UpscaleJobSpecInput } from '../api/upscalejob.ts';
import { operatorConfigSchema } from '../config.ts';
import { toWire } from '../controller/wire.ts';
import { cachedJob, cachedObject, cachedPod } from './cached-fields.ts';
import { decide } from './decide.ts';
import { probeJob, shardJob } from './job-specs.ts';
import { ownerUidIndex } from './names.ts';
import type { Observed } from './observed.ts';

const config = operatorConfigSchema.parse({ workerImage: 'example.com/upscale-operator:test' });
const NOW = new Date('2026-12-01T12:00:00Z');
const T0 = '2026-12-01T11:59:00Z';
const plan = { frames: 1000, shards: 4, shardFrames: [[300, 3], [100, 1]] as Array<[number, number]>, width: 640, height: 360 };
const probeOk = JSON.stringify({ ok: true, step: 'probe', jobId: 'x', shards: 4, reused: false, summary: { frames: 1000, width: 640, height: 360 }, shardFrames: [[300, 3], [100, 1]] });

function upscaleJob(spec: Partial<UpscaleJobSpecInput> = {}): UpscaleJob {
  return {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name: 'trailer', namespace: 'media', uid: '0a1b2c3d-0000-4000-8000-000000000001', generation: 1, creationTimestamp: T0 },
    spec: upscaleJobSpecSchema.parse({ input: 's3://footage/in.mp4', output: 's3://footage/out.mp4', ...spec }),
  };
}

/** What server-side apply and the controllers add to every object. */
const managedFields: V1ManagedFieldsEntry[] = [
  { manager: 'upscale-operator', operation: 'Update', apiVersion: 'batch/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {} } }, 'f:spec': { 'f:template': {} } } },
  { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'batch/v1', subresource: 'status', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:active': {} } } },
];

/** A child Job as the API server sends it: the operator's spec, the Job controller's status. */
function served(built: V1Job, uid: string, status: NonNullable<V1Job['status']>): V1Job {
  return { ...built, apiVersion: 'batch/v1', kind: 'Job', metadata: { ...built.metadata, uid, resourceVersion: '7', creationTimestamp: new Date(T0), managedFields }, spec: { ...built.spec!, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } } }, status };
}

let seq = 0;
/** A pod of `owner` as the API server sends it: the template's spec, full container statuses. */
function podOf(owner: V1Job, phase: string, opts: { message?: string; exitCode?: number; index?: number; unschedulable?: string } = {}): V1Pod {
  seq++;
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${owner.metadata!.name}-${seq}`,
      namespace: 'media',
      uid: `pod-uid-${seq}`,
      resourceVersion: String(100 + seq),
      labels: { ...owner.spec!.template.metadata?.labels },
      annotations: { ...(opts.index === undefined ? {} : { 'batch.kubernetes.io/job-completion-index': String(opts.index) }), 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"copy"}' },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: owner.metadata!.name!, uid: owner.metadata!.uid!, controller: true }],
      creationTimestamp: new Date(NOW.getTime() - 1000 * (100 - seq)),
      managedFields,
    },
    spec: { ...owner.spec!.template.spec!, nodeName: 'gpu-node-1' },
    status: {
      phase,
      hostIP: '10.0.0.7',
      podIP: '10.1.2.3',
      podIPs: [{ ip: '10.1.2.3' }],
      qosClass: 'Burstable',
      startTime: new Date(T0),
      conditions: [{ type: 'Initialized', status: 'True', lastTransitionTime: new Date(T0) }],
    },
  };
  if (opts.message !== undefined || opts.exitCode !== undefined) {
    const terminated = { exitCode: opts.exitCode ?? 0, message: opts.message ?? '', reason: opts.exitCode ? 'Error' : 'Completed', startedAt: new Date(T0), finishedAt: new Date(T0), containerID: 'containerd://abc' };
    pod.status!.containerStatuses = [{ name: 'worker', image: 'example.com/upscale-operator:test', imageID: 'sha256:0123', containerID: 'containerd://abc', ready: false, restartCount: 0, started: false, state: { terminated }, volumeMounts: [{ name: 'scratch', mountPath: '/scratch' }] }];
  }
  if (opts.unschedulable !== undefined) pod.status!.conditions = [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: opts.unschedulable }];
  return pod;
}

const job = upscaleJob({ sharding: { parallelism: 2 } });
const probe = served(probeJob(job, config), 'uid-probe', { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] });
const runningShards = served(shardJob(job, config, plan), 'uid-shards', { active: 2, completedIndexes: '0', startTime: new Date(T0) });
const failedShards = served(shardJob(job, config, plan), 'uid-shards', { failed: 1, failedIndexes: '2', conditions: [{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: 'exit code 2' }] });
const permanent = JSON.stringify({ ok: false, step: 'shard', code: 'InvalidInput', kind: 'permanent', message: 'shard 2: frame 512 is corrupt' });

const cases: Array<{ name: string; observed: Observed; spec?: Partial<UpscaleJobSpecInput> }> = [
  { name: 'a finished probe: the plan is read from its pod\'s termination message', observed: { probe, pods: [podOf(probe, 'Succeeded', { message: probeOk })] } },
  { name: 'a probe pod no node can take', observed: { probe: served(probeJob(job, config), 'uid-probe', { active: 1 }), pods: [podOf(probe, 'Pending', { unschedulable: '0/2 nodes are available: 2 Insufficient nvidia.com/gpu.' })] } },
  { name: 'running shards: progress from the shard Job, a parallelism change to patch', observed: { probe, shards: runningShards, pods: [podOf(runningShards, 'Running', { index: 1 }), podOf(runningShards, 'Succeeded', { index: 0, message: '{"ok":true}' })] }, spec: { sharding: { parallelism: 3 } } },
  { name: 'a shard that failed permanently: the worker\'s own message', observed: { probe, shards: failedShards, pods: [podOf(failedShards, 'Failed', { index: 2, exitCode: 2, message: permanent })] } },
];

/** The observation with each Job and pod mapped (to wire JSON, and trimmed or not), typed as reconcile reads the caches. */
function mapped(o: Observed, job: (j: V1Job) => unknown, pod: (p: V1Pod) => unknown): Observed {
  const out: Observed = { pods: o.pods.map((p) => pod(p) as V1Pod) };
  for (const k of ['probe', 'shards', 'assemble'] as const) if (o[k] !== undefined) out[k] = job(o[k]) as V1Job;
  return out;
}

for (const c of cases) {
  test(`trimmed objects decide as full ones: ${c.name}`, () => {
    const uj = upscaleJob({ sharding: { parallelism: 2 }, ...c.spec });
    // Both as wire JSON: only the trim differs.
    const full = mapped(c.observed, toWire, toWire);
    const trimmed = mapped(c.observed, (j) => cachedJob(toWire(j)), (p) => cachedPod(toWire(p)));
    assert.deepEqual(decide(uj, trimmed, NOW, config), decide(uj, full, NOW, config));
  });
}

test('a cached pod keeps its owner, index and exit, and drops managedFields, spec and container details', () => {
  const pod = podOf(failedShards, 'Failed', { index: 2, exitCode: 2, message: permanent });
  const trimmed = cachedPod(toWire(pod));
  assert.equal(trimmed.metadata?.managedFields, undefined);
  assert.equal(trimmed.spec, undefined);
  assert.deepEqual(trimmed.metadata?.annotations, { 'batch.kubernetes.io/job-completion-index': '2' }, 'kubectl\'s last-applied copy is dropped');
  assert.deepEqual(trimmed.metadata?.ownerReferences, toWire(pod).metadata?.ownerReferences);
  assert.equal(ownerUidIndex(trimmed), ownerUidIndex(toWire(pod)));
  assert.deepEqual(trimmed.status, { phase: 'Failed', startTime: T0, containerStatuses: [{ name: 'worker', ready: false, restartCount: 0, state: toWire(pod).status!.containerStatuses![0]!.state! }] });
  assert.ok(JSON.stringify(trimmed).length < JSON.stringify(toWire(pod)).length / 2, `trimmed ${JSON.stringify(trimmed).length} bytes of ${JSON.stringify(toWire(pod)).length}`);
});

test('a cached Job keeps counts, suspend and the plan annotation, and drops its pod template', () => {
  const trimmed = cachedJob(toWire(runningShards));
  assert.equal(trimmed.metadata?.managedFields, undefined);
  assert.equal(trimmed.spec?.template, undefined);
  assert.equal(trimmed.spec?.selector, undefined);
  assert.equal(trimmed.spec?.parallelism, runningShards.spec?.parallelism);
  assert.equal(trimmed.spec?.suspend, runningShards.spec?.suspend);
  assert.deepEqual(trimmed.metadata?.annotations, runningShards.metadata?.annotations);
  assert.deepEqual(trimmed.status, toWire(runningShards.status));
});

test('a cached UpscaleJob keeps spec and status and drops managedFields and kubectl\'s last-applied copy', () => {
  const uj = { ...upscaleJob(), metadata: { ...upscaleJob().metadata, managedFields, annotations: { team: 'video', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, status: { phase: 'Running' } };
  const trimmed = cachedObject(toWire(uj)) as Record<string, unknown> & { metadata?: { managedFields?: unknown; annotations?: unknown } };
  assert.equal(trimmed.metadata?.managedFields, undefined);
  assert.deepEqual(trimmed.metadata?.annotations, { team: 'video' });
  assert.deepEqual(trimmed['spec'], toWire(uj).spec);
  assert.deepEqual(trimmed['status'], uj.status);
});
