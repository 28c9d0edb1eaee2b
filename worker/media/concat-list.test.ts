import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatList, quoteConcatPath } from './concat-list.ts';
import { buildFrameIndex } from './frame-index.ts';

describe('concatList', () => {
  it('writes shards in the given order with exact microsecond spans', () => {
    const index = buildFrameIndex(Array.from({ length: 48 }, (_, i) => i * 800), new Set([0]), 800);
    const text = concatList(index, { num: 1, den: 19184 }, [
      { path: '/s/000000.nut', start: 0, end: 17 },
      { path: '/s/000001.nut', start: 17, end: 31 },
      { path: '/s/000002.nut', start: 31, end: 48 },
    ]);
    assert.equal(
      text,
      "ffconcat version 1.0\nfile '/s/000000.nut'\nduration 708924us\nfile '/s/000001.nut'\nduration 583820us\nfile '/s/000002.nut'\nduration 708924us\n",
    );
  });

  it('never accumulates rounding: shard offsets are rounded absolute times', () => {
    // 1/90000 s ticks of 3003 (29.97 fps) are 33366.67 us: per-shard rounding alone would drift.
    const n = 3000;
    const index = buildFrameIndex(Array.from({ length: n }, (_, i) => 1234 + i * 3003), new Set([0]), 3003);
    const shards = Array.from({ length: n }, (_, i) => ({ path: `/s/${i}.nut`, start: i, end: i + 1 }));
    const durations = [...concatList(index, { num: 1, den: 90000 }, shards).matchAll(/duration (\d+)us/g)].map((m) => Number(m[1]));
    const total = durations.reduce((a, b) => a + b, 0);
    assert.equal(total, Math.round((n * 3003 * 1e6) / 90000));
    let offset = 0;
    durations.forEach((d, i) => {
      assert.ok(Math.abs(offset - (i * 3003 * 1e6) / 90000) <= 0.5, `shard ${i} offset ${offset}`);
      offset += d;
    });
  });

  it('spans variable frame durations, including the last frame', () => {
    const index = buildFrameIndex([0, 40, 120, 130], new Set([0]), 50);
    const text = concatList(index, { num: 1, den: 1000 }, [
      { path: '/a', start: 0, end: 2 },
      { path: '/b', start: 2, end: 4 },
    ]);
    assert.match(text, /file '\/a'\nduration 120000us\nfile '\/b'\nduration 60000us\n$/);
  });
});

describe('quoteConcatPath', () => {
  it('escapes single quotes', () => assert.equal(quoteConcatPath("/x/it's.nut"), "'/x/it'\\''s.nut'"));
});
