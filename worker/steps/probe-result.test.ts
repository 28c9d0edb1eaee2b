import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planShards } from '../shard-plan.ts';
import { toPlanFile, type PlanFile } from './plan-file.ts';
import { TERMINATION_MESSAGE_BYTES, probeStepResult, resultBytes, shardFrameRuns } from './probe-result.ts';

// A realistic summary with a long S3 key, as probeSummary gives it.
const summary = {
  input: `s3://videos/${'season-01/'.repeat(20)}episode-01.mkv`,
  codec: 'h264',
  width: 1920,
  height: 1080,
  frames: 0,
  fps: 23.976,
  vfr: false,
  bitDepth: 8,
  duration: 5423.418,
  audio: 2,
  subtitles: 3,
};

function plan(frameCount: number, options: { shardFrames?: number; shardCount?: number }): PlanFile {
  return toPlanFile(frameCount, planShards({ frameCount, ...options }));
}

/** Frames done from completed shard indexes, as a controller computes them from `shardFrames`. */
function framesDone(runs: [number, number][], completed: number[]): number {
  const sizes = runs.flatMap(([frames, count]) => Array<number>(count).fill(frames));
  return completed.reduce((sum, index) => sum + (sizes[index] ?? 0), 0);
}

describe('probe step result', () => {
  it('run-length encodes shard sizes in plan order', () => {
    assert.deepEqual(shardFrameRuns(plan(3750, { shardFrames: 300 })), [[300, 12], [150, 1]]);
    assert.deepEqual(shardFrameRuns(plan(10, { shardCount: 3 })), [[4, 1], [3, 2]]);
    assert.deepEqual(shardFrameRuns({ version: 1, frameCount: 7, shards: [[0, 2], [2, 5], [5, 7]] }), [[2, 1], [3, 1], [2, 1]]);
  });

  it('keeps shards and summary, and adds frames and shardFrames a controller can count progress with', () => {
    const p = plan(3750, { shardFrames: 300 });
    const result = probeStepResult('job-1', p, false, { ...summary, frames: 3750 });
    assert.deepEqual(
      { step: result.step, jobId: result.jobId, shards: result.shards, frames: result.frames, reused: result.reused },
      { step: 'probe', jobId: 'job-1', shards: 13, frames: 3750, reused: false },
    );
    assert.deepEqual(result.shardFrames, [[300, 12], [150, 1]]);
    assert.equal(result.summary['codec'], 'h264');
    assert.equal(framesDone(result.shardFrames ?? [], [0, 12]), 450);
    assert.equal(framesDone(result.shardFrames ?? [], [...Array(13).keys()]), 3750);
  });

  it('fits a 10,000-shard plan of fixed-length shards in 4 KiB with shardFrames', () => {
    const p = plan(9_999 * 240 + 17, { shardFrames: 240 });
    assert.equal(p.shards.length, 10_000);
    const result = probeStepResult('job-with-a-long-name-0123456789-0123456789-0123456789-012345', p, true, summary);
    assert.deepEqual(result.shardFrames, [[240, 9_999], [17, 1]]);
    assert.ok(resultBytes(result) <= TERMINATION_MESSAGE_BYTES, `${resultBytes(result)} bytes`);
  });

  it('an even split of any length is two runs: the longer shards come first', () => {
    const p = plan(15_000, { shardCount: 10_000 });
    assert.deepEqual(shardFrameRuns(p), [[2, 5000], [1, 5000]]);
    assert.ok(resultBytes(probeStepResult('job-1', p, false, summary)) <= TERMINATION_MESSAGE_BYTES);
  });

  it('drops shardFrames but keeps frames when 10,000 uneven shards would not fit', () => {
    // A plan written by hand (or an older planner) whose sizes alternate: 10,000 runs.
    const p: PlanFile = { version: 1, frameCount: 0, shards: [] };
    for (let i = 0; i < 10_000; i++) {
      const start = p.frameCount;
      p.frameCount += i % 2 === 0 ? 1 : 2;
      p.shards.push([start, p.frameCount]);
    }
    assert.equal(shardFrameRuns(p).length, 10_000);
    const result = probeStepResult('job-1', p, false, summary);
    assert.equal('shardFrames' in result, false);
    assert.equal(result.frames, 15_000);
    assert.equal(result.shards, 10_000);
    assert.ok(resultBytes(result) <= TERMINATION_MESSAGE_BYTES, `${resultBytes(result)} bytes`);
  });

  it('keeps shardFrames up to the limit and shortens an overlong input name', () => {
    const alternating: PlanFile = { version: 1, frameCount: 0, shards: [] };
    for (let i = 0; i < 300; i++) {
      const start = alternating.frameCount;
      alternating.frameCount += i % 2 === 0 ? 240 : 241;
      alternating.shards.push([start, alternating.frameCount]);
    }
    const result = probeStepResult('job-1', alternating, false, summary);
    assert.equal(result.shardFrames?.length, 300, 'about 300 runs still fit');
    assert.ok(resultBytes(result) <= TERMINATION_MESSAGE_BYTES);

    const long = probeStepResult('job-1', alternating, false, { ...summary, input: `https://cdn.example/${'x'.repeat(5000)}.mp4` });
    assert.ok(resultBytes(long) <= TERMINATION_MESSAGE_BYTES, `${resultBytes(long)} bytes`);
    assert.match(String(long.summary['input']), /^https:\/\/cdn\.example\/x+\.\.\.$/);
  });
});

describe('probeStepResult of a segment plan', () => {
  it('counts the segment frames, not the source frames', () => {
    const p = toPlanFile(3750, planShards({ frameCount: 250, shardFrames: 100 }), { first: 1000, end: 1250 });
    const result = probeStepResult('job-seg', p, false, { ...summary, frames: 3750 });
    assert.equal(result.frames, 250);
    assert.deepEqual(result.shardFrames, [[100, 2], [50, 1]]);
  });
});
