import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { upscaleJobSpecSchema, type UpscaleJob, type UpscaleJobSpecInput, type UpscaleJobStatus } from '../api/upscalejob.ts';
import { operatorConfigSchema } from '../config.ts';
import { decideDeletion, wantsFinalizer } from './deletion.ts';
import { CLEANUP_FINALIZER } from './names.ts';

const config = operatorConfigSchema.parse({ cleanupTimeoutSeconds: 60 });
const DELETED = '2026-12-01T12:00:00Z';
const NOW = new Date('2026-12-01T12:00:10Z');

function job(spec: Partial<UpscaleJobSpecInput> = {}, status: UpscaleJobStatus = { phase: 'Running' }, finalizers = [CLEANUP_FINALIZER]): UpscaleJob {
  return {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name: 'clip', namespace: 'media', uid: 'u-1', finalizers },
    spec: upscaleJobSpecSchema.parse({ input: 's3://a/in.mp4', output: 's3://a/out.mp4', ...spec }),
    status,
  };
}
function child(name: string, condition?: string, status: NonNullable<V1Job['status']> = {}): V1Job {
  return { metadata: { name, uid: `uid-${name}` }, status: { ...status, conditions: condition ? [{ type: condition, status: 'True', message: `${condition} message` }] : [] } };
}
function pod(owner: V1Job, phase: string): V1Pod {
  return { metadata: { name: `${owner.metadata!.name}-x`, ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: owner.metadata!.name!, uid: owner.metadata!.uid! }] }, status: { phase } };
}

test('deleting a running job stops its Jobs first and waits for their pods before cleaning up', () => {
  const shards = child('clip-shards');
  const d = decideDeletion(job(), { probe: child('clip-probe', 'Complete'), shards, pods: [pod(shards, 'Running')] }, DELETED, NOW, config);
  assert.deepEqual(d.deleteJobs, ['clip-shards']);
  assert.deepEqual(d.create, []);
  assert.equal(d.releaseFinalizer, false);
  assert.equal(d.requeueAfterMs, 1000);
});

test('once the pods stopped, a cleanup Job deletes the intermediates with the job\'s own Secret', () => {
  const d = decideDeletion(job({ storage: { secretRef: { name: 's3' } } }), { pods: [] }, DELETED, NOW, config);
  const cleanup = d.create[0]!;
  assert.equal(cleanup.metadata?.name, 'clip-cleanup');
  const c = cleanup.spec!.template.spec!.containers[0]!;
  assert.equal(c.args?.[0], 'cleanup');
  assert.equal(c.env?.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')?.valueFrom?.secretKeyRef?.name, 's3');
  assert.equal(cleanup.metadata?.labels?.['kueue.x-k8s.io/queue-name'], undefined, 'a deletion never waits for a queue');
  assert.equal(d.releaseFinalizer, false);
});

test('the finalizer is released when the cleanup finished', () => {
  const d = decideDeletion(job(), { cleanup: child('clip-cleanup', 'Complete'), pods: [] }, DELETED, NOW, config);
  assert.equal(d.releaseFinalizer, true);
  assert.equal(d.reason, 'CleanedUp');
});

test('a failed cleanup (storage unreachable) releases the finalizer with a warning naming the prefix', () => {
  const d = decideDeletion(job(), { cleanup: child('clip-cleanup', 'Failed'), pods: [] }, DELETED, NOW, config);
  assert.equal(d.releaseFinalizer, true);
  assert.equal(d.reason, 'CleanupFailed');
  assert.match(d.message ?? '', /s3:\/\/a\/out\.mp4\.upscale\/u-1\//);
});

test('a cleanup past its bound is abandoned: a finalizer never blocks deletion forever', () => {
  const late = new Date(Date.parse(DELETED) + 61_000);
  const d = decideDeletion(job(), { cleanup: child('clip-cleanup'), pods: [] }, DELETED, late, config);
  assert.equal(d.releaseFinalizer, true);
  assert.equal(d.reason, 'CleanupTimedOut');
});

test('nothing to clean: a succeeded job or one that keeps its intermediates is released at once', () => {
  assert.equal(decideDeletion(job({}, { phase: 'Succeeded' }), { pods: [] }, DELETED, NOW, config).reason, 'CleanupNotNeeded');
  assert.equal(decideDeletion(job({ keepIntermediates: true }), { pods: [] }, DELETED, NOW, config).releaseFinalizer, true);
  assert.equal(wantsFinalizer(job({ keepIntermediates: true })), false);
  assert.equal(wantsFinalizer(job({}, { phase: 'Succeeded' })), false);
  assert.equal(wantsFinalizer(job()), true);
});

test('a job without the finalizer is left to the garbage collector', () => {
  const d = decideDeletion(job({}, { phase: 'Running' }, []), { pods: [] }, DELETED, NOW, config);
  assert.equal(d.releaseFinalizer, false);
  assert.deepEqual(d.create, []);
});

test('deleting a job in its last wave stops the early assemble Job with the shards, and waits for its pod too', () => {
  const shards = child('clip-shards', undefined, { active: 1, completedIndexes: '0-2' });
  const assemble = child('clip-assemble', undefined, { active: 1 });
  const d = decideDeletion(job(), { probe: child('clip-probe', 'Complete'), shards, assemble, pods: [pod(assemble, 'Running')] }, DELETED, NOW, config);
  assert.deepEqual(d.deleteJobs, ['clip-shards', 'clip-assemble']);
  assert.deepEqual(d.create, [], 'no cleanup while the assembly pod may still write');
  assert.equal(d.requeueAfterMs, 1000);
});
