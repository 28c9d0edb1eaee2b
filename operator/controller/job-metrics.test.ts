import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { UpscaleJobStatus } from '../api/upscalejob.ts';
import { createJobMetrics } from './job-metrics.ts';

test('domain metrics are read from the cached statuses at every scrape', async () => {
  const jobs: Array<{ metadata: { namespace: string; name: string }; status?: UpscaleJobStatus }> = [
    { metadata: { namespace: 'a', name: 'one' }, status: { phase: 'Running', fps: '12.5', frames: { total: 100, done: 40 }, shards: { failed: 2 } } },
    { metadata: { namespace: 'a', name: 'two' }, status: { phase: 'Succeeded', frames: { total: 10, done: 10 } } },
    { metadata: { namespace: 'b', name: 'new' } },
  ];
  const registry = new Registry();
  const metrics = createJobMetrics(registry, () => jobs);
  metrics.observeFinished('Succeeded', 42);
  let text = await registry.metrics();
  assert.match(text, /upscale_operator_jobs\{phase="Running"\} 1/);
  assert.match(text, /upscale_operator_jobs\{phase="Succeeded"\} 1/);
  assert.match(text, /upscale_operator_jobs\{phase="Pending"\} 1/);
  assert.match(text, /upscale_operator_jobs\{phase="Failed"\} 0/);
  assert.match(text, /upscale_operator_job_frames_done\{namespace="a",upscalejob="one"\} 40/);
  assert.match(text, /upscale_operator_job_frames_per_second\{namespace="a",upscalejob="one"\} 12.5/);
  assert.doesNotMatch(text, /upscale_operator_job_frames_per_second\{namespace="a",upscalejob="two"\}/, 'only running jobs have a rate');
  assert.match(text, /upscale_operator_job_shard_failures\{namespace="a",upscalejob="one"\} 2/);
  assert.match(text, /upscale_operator_job_duration_seconds_count\{phase="Succeeded"\} 1/);
  jobs.splice(0, 1);
  text = await registry.metrics();
  assert.doesNotMatch(text, /upscalejob="one"/, 'a deleted job leaves no series behind');
});
