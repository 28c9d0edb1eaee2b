/**
 * awaitShards' waiting rules, with check and stage functions that answer from a script: done shards
 * are staged in plan order, a storage hiccup is tried again, a permanent error or too many failed
 * rounds end the wait for every shard still waited for.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpscaleError } from '../errors.ts';
import type { ShardRange } from '../shard-plan.ts';
import type { ShardCheck, ShardManifest } from '../storage/shard-manifest.ts';
import { awaitShards, type ArrivalHooks } from './shard-arrivals.ts';

const ranges: ShardRange[] = [0, 1, 2].map((index) => ({ index, start: index * 4, end: index * 4 + 4 }));
const doneCheck = (range: ShardRange): ShardCheck => ({ done: true, manifest: { shard: range.index, start: range.start, end: range.end } as ShardManifest, media: `m${range.index}` });
const options = { pollMs: 5, checkConcurrency: 4, stageConcurrency: 2 };

/** Hooks whose check answers `answer(range, n)` for the n-th check of that shard. */
function scripted(answer: (range: ShardRange, call: number) => ShardCheck | Error): ArrivalHooks & { staged: number[] } {
  const calls = new Map<number, number>();
  const staged: number[] = [];
  return {
    staged,
    check: async (range) => {
      const call = (calls.get(range.index) ?? 0) + 1;
      calls.set(range.index, call);
      const got = answer(range, call);
      if (got instanceof Error) throw got;
      return got;
    },
    stage: async (manifest, media) => {
      staged.push(manifest.shard);
      return { path: `/staged/${media}`, start: manifest.start, end: manifest.end };
    },
  };
}

test('resolves each shard once it is done, after rounds where it was not', async () => {
  const hooks = scripted((range, call) => (call > range.index ? doneCheck(range) : { done: false, reason: 'no manifest' }));
  const arrivals = awaitShards(ranges, hooks, options);
  const got = await Promise.all(arrivals.arriving.map((a) => a.ready()));
  assert.deepEqual(got.map((s) => s.path), ['/staged/m0', '/staged/m1', '/staged/m2']);
  await arrivals.settled();
  assert.deepEqual(hooks.staged, [0, 1, 2]);
});

test('a transient storage error is tried again on the next round', async () => {
  const hooks = scripted((range, call) => (call <= 2 ? new UpscaleError('Unavailable', 'connection reset') : doneCheck(range)));
  const arrivals = awaitShards(ranges, hooks, options);
  assert.equal((await arrivals.arriving[2]?.ready())?.path, '/staged/m2');
  await arrivals.settled();
});

test('a permanent error ends the wait for every shard still waited for', async () => {
  const hooks = scripted((range) => (range.index === 0 ? doneCheck(range) : new UpscaleError('AccessDenied', 'wrong keys')));
  const arrivals = awaitShards(ranges, hooks, options);
  await assert.rejects(arrivals.arriving[1]!.ready(), /wrong keys/);
  await assert.rejects(arrivals.arriving[2]!.ready(), /wrong keys/);
  await arrivals.settled();
});

test('gives up after maxFailedRounds rounds in a row that all failed, with the last error', async () => {
  let calls = 0;
  const hooks = scripted(() => (calls++, new UpscaleError('Unavailable', 'S3 is down')));
  const arrivals = awaitShards(ranges, hooks, { ...options, maxFailedRounds: 3 });
  await assert.rejects(arrivals.arriving[0]!.ready(), /S3 is down/);
  await arrivals.settled();
  assert.equal(calls, 9, '3 rounds of 3 checks');
});

test('stop ends the polling; a shard never done stays pending and settled() resolves', async () => {
  const hooks = scripted((range) => (range.index === 0 ? doneCheck(range) : { done: false, reason: 'no manifest' }));
  const arrivals = awaitShards(ranges, hooks, options);
  await arrivals.arriving[0]!.ready();
  arrivals.stop();
  await arrivals.settled();
  const late = await Promise.race([arrivals.arriving[1]!.ready().then(() => 'resolved'), new Promise((r) => setTimeout(() => r('pending'), 50))]);
  assert.equal(late, 'pending');
});

test('each round checks only the lowest shards still waited for', async () => {
  const many: ShardRange[] = Array.from({ length: 10 }, (_, index) => ({ index, start: index, end: index + 1 }));
  const checked: number[] = [];
  // Shards 0 and 1 are done at once, every other one at its second check.
  const hooks = scripted((range, call) => {
    checked.push(range.index);
    return range.index < 2 || call > 1 ? doneCheck(range) : { done: false, reason: 'no manifest' };
  });
  const arrivals = awaitShards(many, hooks, { ...options, maxChecksPerRound: 3 });
  await Promise.all(arrivals.arriving.map((a) => a.ready()));
  await arrivals.settled();
  // Round 1: shards 0-2 (0 and 1 done); round 2: 2-4 (2 done); never a shard beyond the lowest three waiting.
  assert.deepEqual(checked.slice(0, 6), [0, 1, 2, 2, 3, 4]);
  assert.deepEqual(hooks.staged, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('a shard queued for staging when the wait ends rejects with the reason, never stays pending', { timeout: 10_000 }, async () => {
  // Shards 0 and 1 are done in round 1 and staged one at a time (shard 0's staging is held); round 2's
  // check of shard 2 fails for good while shard 1 still waits for its turn.
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const hooks = scripted((range, call) => (range.index < 2 ? doneCheck(range) : call === 1 ? { done: false, reason: 'no manifest' } : new UpscaleError('AccessDenied', 'wrong keys')));
  const staging: ArrivalHooks = {
    check: (range) => hooks.check(range),
    stage: async (manifest, media) => {
      if (manifest.shard === 0) await held;
      return hooks.stage(manifest, media);
    },
  };
  const arrivals = awaitShards(ranges, staging, { ...options, stageConcurrency: 1 });
  await assert.rejects(arrivals.arriving[2]!.ready(), /wrong keys/);
  release();
  assert.equal((await arrivals.arriving[0]!.ready()).path, '/staged/m0');
  await assert.rejects(arrivals.arriving[1]!.ready(), /wrong keys/);
  await arrivals.settled();
  assert.deepEqual(hooks.staged, [0]);
});
