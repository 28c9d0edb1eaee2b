import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planShards } from '../shard-plan.ts';
import { planCoversExactly, planFileSchema, planSpan, shardRanges, toPlanFile } from './plan-file.ts';

describe('plan file', () => {
  it('round-trips a shard plan through JSON and back to ranges', () => {
    const ranges = planShards({ frameCount: 48, shardCount: 3 });
    const file = planFileSchema.parse(JSON.parse(JSON.stringify(toPlanFile(48, ranges))));
    assert.deepEqual(shardRanges(file), ranges);
    assert.equal(planCoversExactly(file), true);
  });

  const cases: [string, [number, number][], number, boolean][] = [
    ['a gap between shards', [[0, 10], [11, 20]], 20, false],
    ['an overlap between shards', [[0, 10], [9, 20]], 20, false],
    ['a plan that stops short of the last frame', [[0, 10], [10, 19]], 20, false],
    ['a plan that runs past the last frame', [[0, 10], [10, 21]], 20, false],
    ['an empty shard', [[0, 10], [10, 10], [10, 20]], 20, false],
    ['a plan that does not start at frame 0', [[1, 20]], 20, false],
    ['one shard of one frame', [[0, 1]], 1, true],
  ];
  for (const [name, shards, frameCount, ok] of cases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      assert.equal(planCoversExactly({ version: 1, frameCount, shards }), ok);
    });
  }

  it('moves shards planned over a segment of 20 frames to start at its first frame', () => {
    const file = planFileSchema.parse(JSON.parse(JSON.stringify(toPlanFile(100, planShards({ frameCount: 20, shardCount: 2 }), { first: 30, end: 50 }))));
    assert.deepEqual(file.shards, [[30, 40], [40, 50]]);
    assert.deepEqual(planSpan(file), { first: 30, end: 50 });
    assert.equal(planCoversExactly(file), true);
  });

  it('writes no segment for one that is the whole source', () => {
    const file = toPlanFile(20, planShards({ frameCount: 20, shardCount: 1 }), { first: 0, end: 20 });
    assert.equal(file.segment, undefined);
  });

  const segmentCases: [string, [number, number], [number, number][], boolean][] = [
    ['a segment covered exactly', [5, 15], [[5, 10], [10, 15]], true],
    ['shards that start before the segment', [5, 15], [[0, 10], [10, 15]], false],
    ['shards that stop short of the segment end', [5, 15], [[5, 14]], false],
    ['a segment past the last source frame', [5, 25], [[5, 25]], false],
  ];
  for (const [name, segment, shards, ok] of segmentCases) {
    it(`${ok ? 'accepts' : 'rejects'} ${name}`, () => {
      assert.equal(planCoversExactly({ version: 1, frameCount: 20, segment, shards }), ok);
    });
  }
});
