import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLine } from './fit.ts';

test('a line through exact points is found with r² 1 and no residual', () => {
  const f = fitLine([[1, 3], [2, 5], [4, 9]]);
  assert.ok(Math.abs(f.intercept - 1) < 1e-12 && Math.abs(f.slope - 2) < 1e-12);
  assert.ok(Math.abs(f.r2 - 1) < 1e-12);
  assert.ok(f.maxRelativeResidual < 1e-12);
});

test('a point off the line lowers r² and shows as a residual', () => {
  const f = fitLine([[1, 3], [2, 5], [4, 12]]);
  assert.ok(f.r2 < 0.99, String(f.r2));
  assert.ok(f.maxRelativeResidual > 0.05, String(f.maxRelativeResidual));
});

test('fewer than two distinct x is refused with a clear error', () => {
  assert.throws(() => fitLine([[1, 2], [1, 3]]), /at least two distinct x, got 2 point/);
});
