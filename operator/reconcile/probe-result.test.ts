import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planFromAnnotation, planFromMessage } from './probe-result.ts';

const message = (summary: Record<string, unknown>): string =>
  JSON.stringify({ ok: true, step: 'probe', jobId: 'j', shards: 3, frames: 90, shardFrames: [[30, 3]], reused: false, summary: { input: 's3://in/a.mkv', frames: 90, ...summary } });

test("the probe pod's summary gives the plan the source's size, rate and bit depth, and the annotation keeps them", () => {
  const plan = planFromMessage(message({ width: 640, height: 360, fps: 23.976, bitDepth: 10, codec: 'hevc' }));
  assert.deepEqual(plan, { frames: 90, shards: 3, shardFrames: [[30, 3]], width: 640, height: 360, fps: 23.976, bitDepth: 10 });
  assert.deepEqual(planFromAnnotation(JSON.stringify(plan)), plan);
  // A probe from before the bit depth was reported: the plan has none (the 8-bit default applies).
  assert.equal(planFromMessage(message({ width: 640 }))?.bitDepth, undefined);
  // An odd figure does not cost the plan: it only decides the default codec.
  assert.equal(planFromMessage(message({ bitDepth: 0 }))?.shards, 3);
});
