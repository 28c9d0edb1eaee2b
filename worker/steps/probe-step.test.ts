import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getModel } from '../../models/catalogue.ts';
import { planShards } from '../shard-plan.ts';
import { planOptionsFor } from './probe-step.ts';

describe('planOptionsFor', () => {
  const vga = { displayWidth: 640, displayHeight: 480 };

  it('derives frames/s from the worker throughput and the model cost', () => {
    const options = planOptionsFor({ workers: 1, workerGflops: 110, model: 'realesr-general-x4v3' }, vga);
    const expected = 110e9 / (getModel('realesr-general-x4v3').flopsPerInputPixel * 640 * 480);
    assert.ok(Math.abs((options.framesPerSecond ?? 0) - expected) < 1e-9);
  });

  it('gives a slow CPU worker several shards of a short clip, so a crash loses little', () => {
    const options = planOptionsFor({ workers: 1, workerGflops: 110, model: 'realesr-general-x4v3' }, vga);
    assert.equal(planShards({ frameCount: 181, ...options }).length, 4);
    // Without the estimate the planner assumes 10 frames/s and keeps the clip in one shard.
    assert.equal(planShards({ frameCount: 181, ...planOptionsFor({ workers: 1 }, vga) }).length, 1);
  });

  it('keeps explicit overrides and ignores models it cannot cost', () => {
    assert.deepEqual(planOptionsFor({ workers: 3, shardFrames: 12, workerGflops: 100, model: '/models/mine.onnx' }, vga), { workers: 3, shardFrames: 12 });
  });
});
