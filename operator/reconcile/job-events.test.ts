import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { createdEvent, transitionEvents } from './job-events.ts';

const failedPod = (index: number, message: string): V1Pod => ({
  metadata: { name: `p${index}`, annotations: { 'batch.kubernetes.io/job-completion-index': String(index) }, creationTimestamp: new Date('2026-12-01T12:00:00Z') },
  status: { phase: 'Failed', containerStatuses: [{ name: 'worker', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 3, message } } }] },
});

test('each step the job takes is one event, with a stable reason', () => {
  assert.deepEqual(transitionEvents({ phase: 'Probing' }, { phase: 'Running', frames: { total: 90 }, shards: { total: 3 } }, []).map((e) => e.reason), ['Probed']);
  assert.deepEqual(transitionEvents({ phase: 'Running' }, { phase: 'Assembling', shards: { total: 3 } }, []).map((e) => e.reason), ['ShardsSucceeded']);
  // The early assembly finished in the same reconcile as the shards: the story still says the shards succeeded.
  assert.deepEqual(transitionEvents({ phase: 'Running' }, { phase: 'Succeeded', shards: { total: 3 } }, []).map((e) => e.reason), ['ShardsSucceeded', 'Succeeded']);
  assert.deepEqual(transitionEvents({ phase: 'Assembling' }, { phase: 'Succeeded', message: 'wrote s3://a/b.mp4' }, []).map((e) => [e.type, e.reason, e.note]), [['Normal', 'Succeeded', 'wrote s3://a/b.mp4']]);
  assert.deepEqual(transitionEvents({ phase: 'Running' }, { phase: 'Suspended' }, []).map((e) => e.reason), ['Suspended']);
  assert.deepEqual(transitionEvents({ phase: 'Suspended' }, { phase: 'Running' }, []).map((e) => e.reason), ['Resumed']);
  assert.equal(createdEvent('shards', 'clip-shards').reason, 'ShardsStarted');
  assert.equal(createdEvent('probe', 'clip-probe').reason, 'ProbeStarted');
});

test('a failure is a Warning with the Failed condition\'s reason and the message', () => {
  const [e] = transitionEvents({ phase: 'Running' }, { phase: 'Failed', message: 'shard 2 failed', conditions: [{ type: 'Failed', status: 'True', reason: 'ShardFailed' }] }, []);
  assert.deepEqual(e, { type: 'Warning', reason: 'ShardFailed', action: 'Shard', note: 'shard 2 failed' });
});

test('a shard retry is a Warning naming the shard and the worker\'s error, once per new failure', () => {
  const pods = [failedPod(4, JSON.stringify({ ok: false, message: 'shard: S3 server unavailable' }))];
  const events = transitionEvents({ phase: 'Running', shards: { failed: 0 } }, { phase: 'Running', shards: { failed: 1 } }, pods);
  assert.deepEqual(events, [{ type: 'Warning', reason: 'ShardRetried', action: 'Shard', note: 'shard 4 failed and is retried: shard: S3 server unavailable' }]);
  assert.deepEqual(transitionEvents({ phase: 'Running', shards: { failed: 1 } }, { phase: 'Running', shards: { failed: 1 } }, pods), [], 'no new failure, no event');
});

test('nothing changed, nothing told', () => {
  assert.deepEqual(transitionEvents({ phase: 'Running', progress: '10%' }, { phase: 'Running', progress: '20%' }, []), []);
});
