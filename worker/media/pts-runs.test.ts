import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ptsRuns } from './pts-runs.ts';

describe('ptsRuns', () => {
  it('groups constant steps and starts a run at each change', () => {
    assert.deepEqual(ptsRuns([0, 10, 20, 25, 30, 100]), [[0, 10, 3], [25, 5, 2], [100, 0, 1]]);
  });

  it('gives no runs for no timestamps and one run for one', () => {
    assert.deepEqual(ptsRuns([]), []);
    assert.deepEqual(ptsRuns([7]), [[7, 0, 1]]);
  });

  it('expands back to the timestamps it was given, whatever their steps', () => {
    const pts = [3, 4, 9, 10, 11, 12, 20, 21, 40, 41, 42, 1000];
    const back = ptsRuns(pts).flatMap(([first, delta, count]) => Array.from({ length: count }, (_, k) => first + k * delta));
    assert.deepEqual(back, pts);
  });
});
