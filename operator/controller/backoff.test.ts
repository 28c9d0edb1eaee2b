import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from './backoff.ts';

test('delays double from 1 s and stay at 30 s without jitter', () => {
  const b = new Backoff({ random: () => 0 });
  assert.deepEqual(Array.from({ length: 8 }, () => b.next()), [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

test('jitter only shortens a delay, by at most the jitter fraction', () => {
  const high = new Backoff({ random: () => 0.999999, jitter: 0.2 });
  const d = high.next();
  assert.ok(d > 800 && d <= 1000, String(d));
  const real = new Backoff();
  for (let i = 0; i < 50; i++) {
    const v = real.next();
    assert.ok(v > 0 && v <= 30_000, String(v));
  }
});

test('reset starts over from the initial delay', () => {
  const b = new Backoff({ initialMs: 10, maxMs: 100, random: () => 0 });
  b.next();
  b.next();
  assert.equal(b.next(), 40);
  b.reset();
  assert.equal(b.next(), 10);
});
