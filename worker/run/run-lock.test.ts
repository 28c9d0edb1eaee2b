/**
 * The run lock on real files: one holder at a time, a clear refusal naming the output and the
 * holder's pid, release on the holder's end, and take-over of a lock whose process is gone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { acquireRunLock, lockPathFor } from './run-lock.ts';

const run = promisify(execFile);

test('a second lock on one output is refused naming the output and the holder, until released', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'run-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const output = join(dir, 'out.mkv');
  const held = await acquireRunLock(output);
  assert.equal(held.path, join(dir, '.out.mkv.upscale.lock'));
  assert.equal((JSON.parse(await readFile(held.path, 'utf8')) as { pid: number }).pid, process.pid);
  const error = await acquireRunLock(output).then(
    () => assert.fail('expected a refusal'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError);
  assert.equal(exitCodeFor(error), 2);
  assert.match(error.message, new RegExp(`^output ${dir}/out\\.mkv is being written by another upscale run \\(pid ${process.pid}, since `));
  await held.release();
  assert.equal(existsSync(held.path), false);
  const again = await acquireRunLock(output);
  await again.release();
});

test('a lock left by a dead process is taken over; S3 outputs lock in a private directory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'run-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const output = join(dir, 'out.mkv');
  const dead = Number((await run(process.execPath, ['-e', 'console.log(process.pid)'])).stdout.trim());
  const path = await lockPathFor(output);
  await writeFile(path, `${JSON.stringify({ pid: dead, host: os.hostname(), nonce: 'old', output, since: new Date(0).toISOString() })}\n`);
  const stale: number[] = [];
  const lock = await acquireRunLock(output, { onStale: (s) => stale.push(s.pid) });
  assert.deepEqual(stale, [dead]);
  assert.equal((JSON.parse(await readFile(path, 'utf8')) as { pid: number }).pid, process.pid);
  await lock.release();

  const s3Lock = await acquireRunLock('s3://bucket/videos/out.mkv');
  assert.ok(s3Lock.path.startsWith(join(tmpdir(), 'upscale-locks-')), s3Lock.path);
  await assert.rejects(acquireRunLock('s3://bucket/videos/out.mkv'), /is being written by another upscale run/);
  await s3Lock.release();
});
