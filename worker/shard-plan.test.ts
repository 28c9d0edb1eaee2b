import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultShardCount, planProblem, planShards, type ShardPlanOptions } from './shard-plan.ts';

const spans = (o: ShardPlanOptions): [number, number][] => planShards(o).map((s) => [s.start, s.end]);

describe('planShards', () => {
  const cases: { name: string; opts: ShardPlanOptions; want: [number, number][] }[] = [
    { name: 'a one-frame video is one shard', opts: { frameCount: 1, workers: 8 }, want: [[0, 1]] },
    {
      name: 'an explicit shard length cuts fixed lengths and leaves the remainder to the last shard',
      opts: { frameCount: 48, shardFrames: 17 },
      want: [[0, 17], [17, 34], [34, 48]],
    },
    { name: 'a shard length that divides the count leaves no stub', opts: { frameCount: 48, shardFrames: 16 }, want: [[0, 16], [16, 32], [32, 48]] },
    { name: 'a shard length beyond the video gives one shard', opts: { frameCount: 48, shardFrames: 1000 }, want: [[0, 48]] },
    { name: 'an explicit count spreads frames evenly', opts: { frameCount: 48, shardCount: 3 }, want: [[0, 16], [16, 32], [32, 48]] },
    { name: 'uneven counts differ by at most one frame', opts: { frameCount: 10, shardCount: 3 }, want: [[0, 4], [4, 7], [7, 10]] },
    { name: 'a count equal to the frames gives one frame each', opts: { frameCount: 3, shardCount: 3 }, want: [[0, 1], [1, 2], [2, 3]] },
    {
      name: 'a long film gets four shards per worker, the last wave half as long (100,000 = 6 x 14,286 less 2 + 2 x 7,143)',
      opts: { frameCount: 100_000, workers: 2 },
      want: [[0, 14286], [14286, 28572], [28572, 42858], [42858, 57144], [57144, 71429], [71429, 85714], [85714, 92857], [92857, 100000]],
    },
    {
      name: 'a short clip gets one wave: under 10% start-up (1000 frames at 10 s x 10 fps) would idle 2 of 4 workers',
      opts: { frameCount: 2500, workers: 4 },
      want: [[0, 625], [625, 1250], [1250, 1875], [1875, 2500]],
    },
    {
      name: 'a shorter clip fills workers only down to 30% start-up (334 frames)',
      opts: { frameCount: 999, workers: 4 },
      want: [[0, 500], [500, 999]],
    },
    { name: 'a clip shorter than that is a single shard', opts: { frameCount: 333, workers: 4 }, want: [[0, 333]] },
    {
      name: 'no start-up cost allows one shard per frame but not more than balance asks for',
      opts: { frameCount: 48, workers: 3, startupSeconds: 0 },
      want: [[0, 5], [5, 10], [10, 15], [15, 20], [20, 25], [25, 29], [29, 33], [33, 37], [37, 41], [41, 44], [44, 46], [46, 48]],
    },
    {
      name: 'the last wave stays full length when half of it would break the 30% start-up bound',
      // 10 s x 10 fps: 1000 frames for 10%, 334 for 30%; 8,000 frames on 2 workers is 4 waves of 1000.
      opts: { frameCount: 8000, workers: 2, fillStartupFraction: 0.1 },
      want: [[0, 1000], [1000, 2000], [2000, 3000], [3000, 4000], [4000, 5000], [5000, 6000], [6000, 7000], [7000, 8000]],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = spans(c.opts);
      assert.deepEqual(got, c.want);
      assert.equal(planProblem(planShards(c.opts), c.opts.frameCount), undefined);
      assert.deepEqual(planShards(c.opts).map((s) => s.index), got.map((_, i) => i));
    });
  }

  it('covers every frame exactly once for many sizes', () => {
    for (let n = 1; n <= 300; n += 7) {
      for (const o of [{ shardFrames: 5 }, { shardCount: Math.min(n, 7) }, { workers: 3, startupSeconds: 0.1 }]) {
        const plan = planShards({ frameCount: n, ...o });
        assert.equal(planProblem(plan, n), undefined, `n=${n} ${JSON.stringify(o)}`);
      }
    }
  });

  it('gives the default plan at most four runs of lengths, none longer than the one before', () => {
    for (const frameCount of [1, 47, 999, 2_500, 14_400, 100_003, 172_800]) {
      for (const workers of [1, 2, 3, 7, 16, 64]) {
        for (const startupSeconds of [0, 1.2, 10]) {
          const lengths = planShards({ frameCount, workers, startupSeconds, framesPerSecond: 27 }).map((s) => s.end - s.start);
          const runs = lengths.filter((l, i) => i === 0 || l !== lengths[i - 1]).length;
          const where = `${frameCount} frames, ${workers} workers, ${startupSeconds} s`;
          assert.ok(runs <= 4, `${where}: ${runs} runs`);
          assert.ok(lengths.every((l, i) => i === 0 || l <= lengths[i - 1]!), where);
        }
      }
    }
  });

  const bad: { name: string; opts: ShardPlanOptions; msg: RegExp }[] = [
    { name: 'zero frames', opts: { frameCount: 0 }, msg: /frameCount must be a positive integer/ },
    { name: 'fractional frames', opts: { frameCount: 2.5 }, msg: /frameCount/ },
    { name: 'both overrides', opts: { frameCount: 10, shardFrames: 2, shardCount: 2 }, msg: /mutually exclusive/ },
    { name: 'more shards than frames', opts: { frameCount: 2, shardCount: 3 }, msg: /exceeds the 2 frames/ },
    { name: 'zero shard length', opts: { frameCount: 10, shardFrames: 0 }, msg: /shardFrames/ },
    { name: 'zero workers', opts: { frameCount: 10, workers: 0 }, msg: /workers/ },
    { name: 'zero throughput', opts: { frameCount: 10, framesPerSecond: 0 }, msg: /framesPerSecond must be positive/ },
    { name: 'start-up fraction above one', opts: { frameCount: 10, maxStartupFraction: 2 }, msg: /maxStartupFraction/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}`, () => assert.throws(() => planShards(c.opts), c.msg));
  }
});

describe('defaultShardCount', () => {
  it('grows with workers until start-up would dominate', () => {
    const base = { frameCount: 20_000, startupSeconds: 5, framesPerSecond: 20 }; // min shard 1000 frames
    assert.equal(defaultShardCount({ ...base, workers: 1 }), 4);
    assert.equal(defaultShardCount({ ...base, workers: 4 }), 16);
    assert.equal(defaultShardCount({ ...base, workers: 5 }), 20);
  });

  it('plans whole waves: a multiple of the workers, up to shardsPerWorker each', () => {
    const base = { frameCount: 20_000, startupSeconds: 5, framesPerSecond: 20 }; // 20 shards of >= 1000 frames
    assert.equal(defaultShardCount({ ...base, workers: 6 }), 18); // 3 waves, not 20 (a fourth of 2)
    assert.equal(defaultShardCount({ ...base, workers: 8 }), 16); // 2 waves, not 20
    assert.equal(defaultShardCount({ ...base, workers: 11 }), 11); // 1 wave, not 20 (a second of 9)
  });

  it('fills workers the 10% rule would leave idle, down to 30% start-up', () => {
    const base = { frameCount: 20_000, startupSeconds: 5, framesPerSecond: 20 }; // 59 shards of >= 334 frames
    assert.equal(defaultShardCount({ ...base, workers: 16 }), 16);
    assert.equal(defaultShardCount({ ...base, workers: 50 }), 50);
    assert.equal(defaultShardCount({ ...base, workers: 64 }), 59);
    assert.equal(defaultShardCount({ ...base, workers: 64, fillStartupFraction: 0.1 }), 20); // the old rule
    assert.equal(defaultShardCount({ ...base, frameCount: 40, workers: 64 }), 1);
    assert.throws(() => defaultShardCount({ ...base, fillStartupFraction: 0 }), /fillStartupFraction must be in \(0, 1\]/);
  });
});

describe('planProblem', () => {
  const cases: { name: string; shards: { start: number; end: number }[]; n: number; want: RegExp | undefined }[] = [
    { name: 'a sound plan', shards: [{ start: 0, end: 5 }, { start: 5, end: 9 }], n: 9, want: undefined },
    { name: 'a gap', shards: [{ start: 0, end: 5 }, { start: 6, end: 9 }], n: 9, want: /shard 1 starts at frame 6, expected 5/ },
    { name: 'an overlap', shards: [{ start: 0, end: 5 }, { start: 4, end: 9 }], n: 9, want: /starts at frame 4/ },
    { name: 'an empty shard', shards: [{ start: 0, end: 0 }, { start: 0, end: 9 }], n: 9, want: /empty/ },
    { name: 'a short plan', shards: [{ start: 0, end: 5 }], n: 9, want: /end at frame 5, the source has 9/ },
    { name: 'out of order', shards: [{ start: 5, end: 9 }, { start: 0, end: 5 }], n: 9, want: /shard 0 starts at frame 5/ },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      const got = planProblem(c.shards, c.n);
      if (c.want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '', c.want);
    });
  }

  it('checks a segment from its first frame', () => {
    assert.equal(planProblem([{ start: 5, end: 10 }, { start: 10, end: 15 }], 15, 5), undefined);
    assert.match(planProblem([{ start: 0, end: 15 }], 15, 5) ?? '', /shard 0 starts at frame 0, expected 5/);
    assert.match(planProblem([{ start: 5, end: 14 }], 15, 5) ?? '', /end at frame 14, the segment ends at 15/);
  });
});
