import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ItemExponentialRateLimiter } from './rate-limiter.ts';
import { WorkQueue, type QueueMetrics } from './workqueue.ts';

/** Whether `p` has settled, without waiting for it beyond one macrotask. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  return done;
}

test('repeated adds of a waiting key coalesce into one', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), 'a');
  assert.equal(await q.get(), 'b');
  assert.equal(q.len(), 0);
});

test('a key is never handed to two workers; re-added while processing it comes back after done', async () => {
  const q = new WorkQueue();
  q.add('a');
  const first = await q.get();
  assert.equal(first, 'a');
  q.add('a');
  q.add('a');
  assert.equal(q.len(), 0, 'the re-added key waits for done, not in the queue');
  const second = q.get();
  assert.equal(await settled(second), false);
  q.done('a');
  assert.equal(await second, 'a');
  q.done('a');
  // Processed once more only: the two re-adds coalesced.
  assert.equal(await settled(q.get()), false);
});

test('a key not re-added while processing is not handed out again', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.done(await q.get() as string);
  assert.equal(q.len(), 0);
  assert.equal(await settled(q.get()), false);
});

test('waiting workers get keys in FIFO order as they are added', async () => {
  const q = new WorkQueue();
  const w1 = q.get();
  const w2 = q.get();
  q.add('x');
  q.add('y');
  q.add('z');
  assert.deepEqual(await Promise.all([w1, w2]), ['x', 'y']);
  assert.equal(await q.get(), 'z');
});

test('delayed adds keep the earliest deadline per key', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const q = new WorkQueue({ now: () => Date.now() });
  q.addAfter('a', 1000);
  q.addAfter('a', 100); // earlier: replaces
  q.addAfter('b', 100);
  q.addAfter('b', 1000); // later: ignored
  t.mock.timers.tick(99);
  assert.equal(q.len(), 0);
  t.mock.timers.tick(1);
  assert.equal(q.len(), 2);
  // Neither the replaced 1000 ms timer of a nor the ignored one of b fires later.
  q.done((await q.get()) as string);
  q.done((await q.get()) as string);
  t.mock.timers.tick(2000);
  assert.equal(q.len(), 0);
});

test('a burst of batched adds within the window is handed out once, at the first call\'s deadline, and counts no retry', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  let retries = 0;
  const metrics: QueueMetrics = { add: () => undefined, depth: () => undefined, queueDuration: () => undefined, workDuration: () => undefined, retry: () => void retries++ };
  const q = new WorkQueue({ now: () => Date.now(), metrics });
  for (let i = 0; i < 1000; i++) {
    q.addBatched('job', 1000);
    t.mock.timers.tick(0.5);
  }
  // 500 ms of events: none handed out yet, the deadline is the first call's (1000 ms), not postponed.
  assert.equal(q.len(), 0);
  t.mock.timers.tick(499);
  assert.equal(q.len(), 0);
  t.mock.timers.tick(1);
  assert.equal(q.len(), 1);
  const key = await q.get();
  assert.equal(key, 'job');
  // Events while it is processed are folded into one more pass, a window later.
  q.addBatched('job', 1000);
  q.addBatched('job', 1000);
  q.done('job');
  t.mock.timers.tick(1000);
  assert.equal(q.len(), 1);
  q.done((await q.get()) as string);
  t.mock.timers.tick(5000);
  assert.equal(q.len(), 0);
  assert.equal(retries, 0);
});

test('a batched add of a key already waiting changes nothing; a window of 0 adds at once', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const q = new WorkQueue({ now: () => Date.now() });
  q.add('a');
  q.addBatched('a', 1000);
  q.addBatched('b', 0);
  assert.equal(q.len(), 2);
  q.done((await q.get()) as string);
  q.done((await q.get()) as string);
  t.mock.timers.tick(2000);
  assert.equal(q.len(), 0, 'no delayed add of a was left behind');
});

test('a delay of zero or less adds at once', () => {
  const q = new WorkQueue();
  q.addAfter('a', 0);
  q.addAfter('b', -5);
  assert.equal(q.len(), 2);
});

test('rate-limited adds wait for the limiter\'s delay, and forget resets it', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const q = new WorkQueue({ rateLimiter: new ItemExponentialRateLimiter(100, 10_000), now: () => Date.now() });
  q.addRateLimited('a');
  assert.equal(q.numRequeues('a'), 1);
  t.mock.timers.tick(99);
  assert.equal(q.len(), 0);
  t.mock.timers.tick(1);
  assert.equal(q.len(), 1);
  q.addRateLimited('b');
  q.addRateLimited('b');
  assert.equal(q.numRequeues('b'), 2);
  q.forget('b');
  assert.equal(q.numRequeues('b'), 0);
});

test('shutDown releases waiting workers, ignores adds and drops delayed adds', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const q = new WorkQueue();
  const waiting = q.get();
  q.addAfter('later', 50);
  q.shutDown();
  assert.equal(await waiting, undefined);
  q.add('a');
  assert.equal(q.len(), 0);
  assert.equal(await q.get(), undefined);
  t.mock.timers.tick(100);
  assert.equal(q.len(), 0);
  assert.equal(q.shuttingDown(), true);
});

test('keys still waiting at shutdown are not handed out', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.shutDown();
  assert.equal(await q.get(), undefined);
});

test('shutDownWithDrain resolves only after the keys in flight are done', async () => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  const a = await q.get();
  const b = await q.get();
  q.add('a'); // re-added while in flight: dropped by the shutdown, not requeued
  const drained = q.shutDownWithDrain();
  const drainedToo = q.shutDownWithDrain();
  q.done(a as string);
  assert.equal(await settled(drained), false);
  q.done(b as string);
  assert.equal(await settled(drained), true);
  assert.equal(await settled(drainedToo), true, 'every caller is told');
  assert.equal(q.len(), 0);
});

test('shutDownWithDrain with nothing in flight resolves at once', async () => {
  const q = new WorkQueue();
  await q.shutDownWithDrain();
});

test('the metrics hooks see adds, depth, queue and work durations and retries', async () => {
  let clock = 0;
  const seen = { adds: 0, depth: [] as number[], queue: [] as number[], work: [] as number[], retries: 0 };
  const metrics: QueueMetrics = {
    add: () => seen.adds++,
    depth: (n) => seen.depth.push(n),
    queueDuration: (s) => seen.queue.push(s),
    workDuration: (s) => seen.work.push(s),
    retry: () => seen.retries++,
  };
  const q = new WorkQueue({ metrics, now: () => clock });
  q.add('a');
  q.add('a'); // coalesced: not an add
  q.add('b');
  clock = 2500;
  const a = await q.get();
  clock = 2750;
  q.done(a as string);
  q.addAfter('c', 0);
  assert.equal(seen.adds, 3);
  assert.deepEqual(seen.depth, [1, 2, 1, 2]);
  assert.deepEqual(seen.queue, [2.5]);
  assert.deepEqual(seen.work, [0.25]);
  assert.equal(seen.retries, 1);
});

test('a pending delayed add does not keep the process alive', () => {
  const url = new URL('./workqueue.ts', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { WorkQueue } from ${JSON.stringify(url)}; new WorkQueue().addAfter('a', 600000);`], {
    timeout: 20_000,
    encoding: 'utf8',
  });
  assert.equal(r.error, undefined, 'the child exited on its own');
  assert.equal(r.status, 0, r.stderr);
});
