import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpscaleJobStatus } from '../api/upscalejob.ts';
import { mergeConditions, phaseConditions, statusWriteDelay } from './status.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const INTERVAL = 5000;

function running(done: number, total = 1000): UpscaleJobStatus {
  const message = `${done} of ${total} shards done`;
  return {
    phase: 'Running',
    message,
    conditions: mergeConditions(undefined, phaseConditions('Running', 'ShardsRunning', message), new Date(T0), 1),
    shards: { total, succeeded: done, running: total - done },
    progress: `${((100 * done) / total).toFixed(1)}%`,
  };
}

test('a shard count that moves only the message and progress waits for the interval after the last write', () => {
  assert.equal(statusWriteDelay(running(1), running(2), T0, T0 + 1000, INTERVAL), 4000);
  assert.equal(statusWriteDelay(running(1), running(2), T0, T0 + 5000, INTERVAL), 0);
});

test('1,000 shards finishing one every 10 ms cost one status write per interval, not one per shard', () => {
  let written = running(0);
  let lastWrite: number | undefined = T0;
  let writes = 0;
  for (let done = 1; done <= 1000; done++) {
    const now = T0 + done * 10;
    const delay = statusWriteDelay(written, running(done), lastWrite, now, INTERVAL);
    if (delay === 0) {
      written = running(done);
      lastWrite = now;
      writes++;
    }
  }
  // 10 s of shards finishing with a 5 s interval: two writes.
  assert.equal(writes, 2);
});

test('a phase change is written at once, however recent the last write', () => {
  const assembling: UpscaleJobStatus = { ...running(1000), phase: 'Assembling', message: 'assembling s3://b/out.mp4', conditions: mergeConditions(undefined, phaseConditions('Assembling', 'CreatedAssemble', 'assembling'), new Date(T0), 1) };
  assert.equal(statusWriteDelay(running(999), assembling, T0, T0 + 1, INTERVAL), 0);
});

test('a new condition reason in the same phase is written at once', () => {
  const waiting: UpscaleJobStatus = { ...running(0), conditions: mergeConditions(undefined, phaseConditions('Running', 'WaitingForQueue', 'waiting for admission'), new Date(T0), 1) };
  assert.equal(statusWriteDelay(running(0), waiting, T0, T0 + 1, INTERVAL), 0);
});

test('the first write of a job never waits, and an unchanged status is not written', () => {
  assert.equal(statusWriteDelay(undefined, running(0), undefined, T0, INTERVAL), 0);
  assert.equal(statusWriteDelay(running(3), running(3), T0, T0 + 1, INTERVAL), undefined);
  assert.equal(statusWriteDelay(running(3), running(4), undefined, T0, INTERVAL), 0);
});
