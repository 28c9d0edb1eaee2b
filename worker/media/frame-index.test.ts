import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFrameIndex, frameCount, isVariableFrameRate, keyframeAtOrBefore, previousKeyframe, ptsAt, ptsList } from './frame-index.ts';

describe('buildFrameIndex', () => {
  it('sorts decode-order timestamps into display order and compresses constant steps', () => {
    const decodeOrder = [0, 3200, 1600, 800, 2400, 6400, 4800, 4000, 5600];
    const idx = buildFrameIndex(decodeOrder, new Set([0, 4000]), 800);
    assert.deepEqual(idx, { ptsRuns: [[0, 800, 9]], endPts: 7200, keyframes: [0, 5] });
    assert.equal(frameCount(idx), 9);
    assert.deepEqual(ptsList(idx, 0, 9), [0, 800, 1600, 2400, 3200, 4000, 4800, 5600, 6400]);
  });

  it('keeps every timestamp of a variable-rate stream', () => {
    const pts = [10, 20, 30, 45, 60, 61, 100];
    const idx = buildFrameIndex(pts, new Set([10]), 5);
    assert.deepEqual(pts.map((_, i) => ptsAt(idx, i)), pts);
    assert.equal(ptsAt(idx, 7), 105, 'frame count gives the end of the last frame');
    assert.deepEqual(ptsList(idx, 2, 6), [30, 45, 60, 61]);
    assert.throws(() => ptsAt(idx, 8), /outside 0..7/);
  });

  it('always lets decoding start at frame 0, even without a flagged keyframe there', () => {
    assert.deepEqual(buildFrameIndex([5, 6, 7], new Set([7]), 1).keyframes, [0, 2]);
  });

  it('refuses duplicate timestamps', () => {
    assert.throws(() => buildFrameIndex([0, 1, 1, 2], new Set(), 1), /frames 1 and 2 share timestamp 1/);
  });
});

describe('keyframes', () => {
  const idx = buildFrameIndex(Array.from({ length: 48 }, (_, i) => i * 10), new Set([0, 120, 240, 360]), 10);
  const cases: [number, number, number][] = [
    [0, 0, 0],
    [11, 0, 0],
    [12, 12, 0],
    [17, 12, 0],
    [30, 24, 12],
    [47, 36, 24],
  ];
  for (const [frame, at, prev] of cases) {
    it(`frame ${frame} seeks to keyframe ${at}, falling back to ${prev}`, () => {
      assert.equal(keyframeAtOrBefore(idx, frame), at);
      assert.equal(previousKeyframe(idx, at), prev);
    });
  }
});

describe('isVariableFrameRate', () => {
  const cases: { name: string; pts: number[]; vfr: boolean }[] = [
    { name: 'constant 800-tick frames', pts: [0, 800, 1600, 2400, 3200], vfr: false },
    { name: 'Matroska millisecond jitter at 23.976 fps', pts: [0, 42, 83, 125, 167, 209, 250, 292, 334, 375, 417], vfr: false },
    { name: 'a single frame', pts: [0], vfr: false },
    { name: 'a 3003/4503 mix', pts: [0, 3003, 6006, 9009, 12012, 16515, 19518], vfr: true },
    { name: 'a dropped frame in a constant stream', pts: [0, 40, 80, 160, 200, 240, 280], vfr: true },
  ];
  for (const c of cases) {
    it(`${c.vfr ? 'flags' : 'does not flag'} ${c.name}`, () => {
      assert.equal(isVariableFrameRate(buildFrameIndex(c.pts, new Set([c.pts[0]!]), 1)), c.vfr);
    });
  }
});
