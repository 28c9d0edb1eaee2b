/**
 * Inspections whose ffprobe starts before the file is written (inspect.ts `prepare*`, ffprobe-run.ts
 * `standbyFfprobe`): with real ffprobe, on a NUT shard with B-frames and an MP4 with audio written
 * with `+faststart`, what the waiting ffprobe reads from stdin equals what `inspectShard` and
 * `inspectMedia` read by path (the assembly gives it only MP4/MOV written with `+faststart`); a
 * missing file rejects naming it and its ffprobe ends; a cancelled one is stopped; a file above the
 * pipe limit is read by path (its waiting ffprobe is stopped) with the same answer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { clip } from '../../test/fixtures/clips.ts';
import { alive } from '../../test/fixtures/processes.ts';
import { standbyFfprobe } from './ffprobe-run.ts';
import { inspectMedia, inspectShard, PIPE_LIMIT_BYTES, type PreparedInspection, prepareMediaInspection, prepareShardInspection } from './inspect.ts';

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
  const { starts, result } = await recordedInspection(() => prepareShardInspection('encode'), missing);
  assert.equal(result.status, 'rejected');
  const error = result.reason as NodeJS.ErrnoException;
  assert.ok(error.code === 'ENOENT' && error.message.includes(missing), error.message);
  assert.equal(starts.length, 1, starts.map((s) => s.args).join('\n'));
  assert.match(starts[0]?.args ?? '', /-i pipe:0$/);
  await until(async () => !alive(starts[0]?.pid ?? 0));
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
  const { starts, result } = await recordedInspection(() => prepareMediaInspection('assemble'), big);
  assert.equal(result.status, 'fulfilled');
  const got = result.value;
  assert.equal(starts.length, 2, starts.map((s) => s.args).join('\n'));
  assert.match(starts[0]?.args ?? '', /-i pipe:0$/);
  assert.ok(starts[1]?.args.endsWith(`-i file:${big}`), starts[1]?.args);
  // The standby is stopped, not left waiting on its input.
  await until(async () => !alive(starts[0]?.pid ?? 0));
  assert.deepEqual(got, await inspectMedia(big, 'assemble'));
  assert.equal(got.video.packets, 144);
});

/**
 * Prepares an inspection and inspects `path` with an ffprobe that records its process id and
 * arguments (the pipe's input, or the file's path). It inspects only once the prepared ffprobe has
 * started, so a standby that is stopped at once still leaves its line, and the lines come in the
 * order the ffprobes were started.
 */
async function recordedInspection<T>(prepare: () => PreparedInspection<T>, path: string): Promise<{ starts: { pid: number; args: string }[]; result: PromiseSettledResult<T> }> {
  const log = join(dir, `starts-${Date.now()}.log`);
  const recording = join(dir, 'ffprobe');
  await writeFile(recording, `#!/bin/sh\necho "$$ $*" >> '${log}'\nexec ffprobe "$@"\n`);
  await chmod(recording, 0o755);
  const read = async () => (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  process.env['FFPROBE_PATH'] = recording;
  let result: PromiseSettledResult<T>;
  try {
    const prepared = prepare();
    await until(async () => (await read()).length > 0);
    [result] = await Promise.allSettled([prepared.inspect(path)]);
  } finally {
    delete process.env['FFPROBE_PATH'];
  }
  const starts = (await read()).map((line) => ({ pid: Number(line.slice(0, line.indexOf(' '))), args: line.slice(line.indexOf(' ') + 1) }));
  return { starts, result };
}


async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not so within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
