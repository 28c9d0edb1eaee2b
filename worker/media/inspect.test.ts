/**
 * Inspections whose ffprobe starts before the file is written (inspect.ts `prepare*`, ffprobe-run.ts
 * `standbyFfprobe`): with real ffprobe, on a NUT shard with B-frames and an MP4 with audio written
 * with `+faststart`, what the waiting ffprobe reads from stdin equals what `inspectShard` and
 * `inspectMedia` read by path (the assembly gives it only MP4/MOV written with `+faststart`); a
 * missing file rejects naming it; a cancelled one is stopped; a file above the pipe limit is read by
 * path (its waiting ffprobe is stopped) with the same answer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { clip } from '../../test/fixtures/clips.ts';
import { standbyFfprobe } from './ffprobe-run.ts';
import { inspectMedia, inspectShard, PIPE_LIMIT_BYTES, prepareMediaInspection, prepareShardInspection } from './inspect.ts';

const run = promisify(execFile);
let dir = '';
let nut = '';
let faststart = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inspect-test-'));
  const source = await clip('tiny-bframes');
  nut = join(dir, 'shard.nut');
  faststart = join(dir, 'front.mp4');
  await run('ffmpeg', ['-v', 'error', '-i', source, '-map', '0:v', '-c', 'copy', '-f', 'nut', nut]);
  await run('ffmpeg', ['-v', 'error', '-i', source, '-map', '0', '-c', 'copy', '-movflags', '+faststart', faststart]);
});
after(() => rm(dir, { recursive: true, force: true }));

test('a waiting ffprobe reads a NUT shard as inspectShard does by path', async () => {
  const prepared = prepareShardInspection('encode');
  const got = await prepared.inspect(nut);
  assert.deepEqual(got, await inspectShard(nut, 'encode'));
  assert.equal(got.packets, 12);
  assert.match(got.extradataHash, /^MD5:[0-9a-f]{32}$/);
});

test('a waiting ffprobe reads a +faststart MP4 as inspectMedia does by path', async () => {
  const prepared = prepareMediaInspection('assemble');
  const got = await prepared.inspect(faststart);
  assert.deepEqual(got, await inspectMedia(faststart, 'assemble'));
  assert.equal(got.video.packets, 12);
  assert.equal(got.audio.length, 1);
  assert.ok(got.video.declaredDuration !== null && got.video.declaredDuration > 0);
});

test('a missing file rejects naming it, and its ffprobe is stopped', async () => {
  const missing = join(dir, 'missing.nut');
  await assert.rejects(prepareShardInspection('encode').inspect(missing), (error: NodeJS.ErrnoException) => error.code === 'ENOENT' && error.message.includes(missing));
});

test('a cancelled standby ffprobe is stopped before it reads anything', async () => {
  const standby = standbyFfprobe(['-protocol_whitelist', 'pipe', '-show_entries', 'stream=codec_name', '-of', 'compact', '-i', 'pipe:0']);
  standby.cancel();
  const result = await standby.run(nut);
  assert.equal(result.signal, 'SIGTERM');
  assert.equal(result.stdout, '');
  await assert.rejects(standby.run(nut), /runs once/);
});

test('a file above the pipe limit is inspected by path, with the same answer', async () => {
  const big = join(dir, 'big.mp4');
  // testsrc2 lossless: some 3.4 MB a second at 1920x1080; 6 s is above the 16 MiB limit.
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=s=1920x1080:r=24', '-t', '6', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-movflags', '+faststart', big]);
  assert.ok((await stat(big)).size > PIPE_LIMIT_BYTES);
  // An ffprobe that records how it was started: the pipe's input, or the file's path.
  const starts = join(dir, 'starts.log');
  const recording = join(dir, 'ffprobe');
  await writeFile(recording, `#!/bin/sh\necho "$*" >> '${starts}'\nexec ffprobe "$@"\n`);
  await chmod(recording, 0o755);
  process.env['FFPROBE_PATH'] = recording;
  let got;
  try {
    got = await prepareMediaInspection('assemble').inspect(big);
  } finally {
    delete process.env['FFPROBE_PATH'];
  }
  const lines = (await readFile(starts, 'utf8')).trim().split('\n');
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0] ?? '', /-i pipe:0$/);
  assert.ok(lines[1]?.endsWith(`-i file:${big}`), lines[1]);
  assert.deepEqual(got, await inspectMedia(big, 'assemble'));
  assert.equal(got.video.packets, 144);
});
