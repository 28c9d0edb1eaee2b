import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planShards } from '../shard-plan.ts';
import { planCoversExactly, planFileSchema, shardRanges, toPlanFile } from './plan-file.ts';

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
});
