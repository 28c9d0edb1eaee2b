import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BucketRateLimiter, ItemExponentialRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter } from './rate-limiter.ts';

/** A clock the test moves by hand. */
function manualClock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('a failing key doubles its delay from the base up to the cap', () => {
  const l = new ItemExponentialRateLimiter(5, 1_000_000);
  const delays = Array.from({ length: 20 }, () => l.when('a'));
  assert.deepEqual(delays.slice(0, 5), [5, 10, 20, 40, 80]);
  assert.equal(delays[17], 5 * 2 ** 17); // 655 360 ms, still under 1000 s
  assert.equal(delays[18], 1_000_000);
  assert.equal(l.retries('a'), 20);
});

test('huge failure counts stay at the cap instead of overflowing', () => {
  const l = new ItemExponentialRateLimiter(5, 1_000_000);
  for (let i = 0; i < 2000; i++) l.when('a');
  assert.equal(l.when('a'), 1_000_000);
});

test('keys back off independently and forget resets only the one key', () => {
  const l = new ItemExponentialRateLimiter(5, 1000);
  l.when('a');
  l.when('a');
  assert.equal(l.when('b'), 5);
  l.forget('a');
  assert.equal(l.retries('a'), 0);
  assert.equal(l.when('a'), 5);
  assert.equal(l.when('b'), 10);
});

test('the bucket lets a burst through, then spaces retries at 1/qps', () => {
  const clock = manualClock();
  const l = new BucketRateLimiter(10, 100, clock.now);
  for (let i = 0; i < 100; i++) assert.equal(l.when(`k${i}`), 0, `burst item ${i}`);
  // Tokens go into debt as Go's Reserve does: the 101st waits 100 ms, the 102nd 200 ms.
  assert.equal(Math.round(l.when('x')), 100);
  assert.equal(Math.round(l.when('y')), 200);
  // One second later 10 tokens came back, paying off the debt of 2 and 8 more.
  clock.advance(1000);
  for (let i = 0; i < 8; i++) assert.equal(l.when(`z${i}`), 0);
  assert.equal(Math.round(l.when('w')), 100);
});

test('the bucket never saves more than the burst however long it idles', () => {
  const clock = manualClock();
  const l = new BucketRateLimiter(10, 3, clock.now);
  clock.advance(3_600_000);
  assert.deepEqual([l.when('a'), l.when('a'), l.when('a')], [0, 0, 0]);
  assert.equal(Math.round(l.when('a')), 100);
});

test('max-of takes the longest delay and counts the failure in every limiter', () => {
  const clock = manualClock();
  const exp = new ItemExponentialRateLimiter(5, 1000);
  const bucket = new BucketRateLimiter(1, 1, clock.now);
  const l = new MaxOfRateLimiter(exp, bucket);
  assert.equal(l.when('a'), 5); // bucket had its one token
  assert.equal(Math.round(l.when('a')), 1000); // bucket now in debt 1 s; exp says 10 ms
  assert.equal(exp.retries('a'), 2);
  assert.equal(l.retries('a'), 2);
  l.forget('a');
  assert.equal(l.retries('a'), 0);
});

test('the default limiter is client-go\'s: 5 ms per key first, bucket of 100 at 10 qps', () => {
  const clock = manualClock();
  const l = defaultControllerRateLimiter({ now: clock.now });
  assert.equal(l.when('a'), 5);
  assert.equal(l.when('a'), 10);
  // 98 more distinct keys use up the bucket (2 tokens already spent by 'a').
  for (let i = 0; i < 98; i++) assert.equal(l.when(`k${i}`), 5);
  // Now the bucket dominates a fresh key's 5 ms.
  assert.equal(Math.round(l.when('fresh')), 100);
  l.forget('a');
  assert.equal(l.retries('a'), 0);
});
