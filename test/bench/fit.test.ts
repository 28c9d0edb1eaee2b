import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLine, fitPlane } from './fit.ts';

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

test('a plane through exact points gives each variable its own coefficient', () => {
  // y = 0.5 + 2 x1 + 0.25 x2, the two variables varied independently.
  const f = fitPlane([[1, 0, 2.5], [2, 4, 5.5], [4, 1, 8.75], [3, 8, 8.5]]);
  assert.ok(Math.abs(f.intercept - 0.5) < 1e-9 && Math.abs(f.a - 2) < 1e-9 && Math.abs(f.b - 0.25) < 1e-9, JSON.stringify(f));
  assert.ok(Math.abs(f.r2 - 1) < 1e-12 && f.maxRelativeResidual < 1e-9);
});

test('a plane is refused when one variable is a multiple of the other', () => {
  assert.throws(() => fitPlane([[1, 2, 3], [2, 4, 5], [3, 6, 8]]), /three points whose \(x1, x2\) do not lie on one line, got 3 point/);
});
