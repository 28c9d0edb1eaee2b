/**
 * startFfmpeg runs exactly the ffmpeg it is given: one process per job (after the encoder table,
 * read once per process), no `ffmpeg -formats` capability check of fluent-ffmpeg's before it (one more ffmpeg start on every short job's path).
 * FFMPEG_PATH points at a wrapper that records each start and runs the real ffmpeg.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { execFileSync } from 'node:child_process';

const dir = mkdtempSync(join(tmpdir(), 'ffmpeg-run-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const starts = join(dir, 'starts.log');
const real = execFileSync('sh', ['-c', 'command -v ffmpeg'], { encoding: 'utf8' }).trim();
const wrapper = join(dir, 'ffmpeg');
writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${starts}'\nexec '${real}' "$@"\n`);
chmodSync(wrapper, 0o755);
// fluent-ffmpeg reads FFMPEG_PATH once per process, at its first command: set before the import.
process.env['FFMPEG_PATH'] = wrapper;
const { startFfmpeg } = await import('./ffmpeg-run.ts');
const { availableEncoders } = await import('./encoders.ts');

test('a job with -f formats starts one ffmpeg, without a -formats check first', async () => {
  // Every run reads the encoder table (ffmpeg-tables.ts), which fluent-ffmpeg is given for its
  // "-strict experimental" step instead of its own `-encoders` run: read first, as a run does, so
  // the job's own starts are counted.
  await availableEncoders();
  assert.deepEqual(readFileSync(starts, 'utf8').trim().split('\n'), ['-encoders']);
  const out = join(dir, 'out.nut');
  const job = startFfmpeg({
    inputs: [{ source: 'testsrc2=size=32x24:rate=5:duration=0.4', options: ['-f', 'lavfi'] }],
    output: out,
    outputOptions: ['-c:v', 'ffv1', '-f', 'nut'],
  });
  await job.done;
  await job.exited;
  const lines = readFileSync(starts, 'utf8').trim().split('\n').slice(1);
  assert.equal(lines.length, 1, `ffmpeg starts: ${lines.join(' | ')}`);
  assert.match(lines[0] ?? '', /-f lavfi -i testsrc2/);
  assert.doesNotMatch(lines[0] ?? '', /-formats/);
});

test('an unknown format is still refused, by ffmpeg, naming it', async () => {
  const job = startFfmpeg({
    inputs: [{ source: 'whatever', options: ['-f', 'no_such_demuxer'] }],
    output: join(dir, 'x.nut'),
    outputOptions: ['-f', 'nut'],
  });
  await assert.rejects(job.done);
  await job.exited;
  assert.ok(job.stderr.some((l) => l.includes('no_such_demuxer')), job.stderr.join('\n'));
});

test('kill() before ffmpeg was spawned still stops it (fluent-ffmpeg spawns later, and its own kill then does nothing)', { timeout: 30_000 }, async () => {
  // Ten minutes of frames: without the kill this would run far past the test's timeout.
  const job = startFfmpeg({
    inputs: [{ source: 'testsrc2=size=64x48:rate=25:duration=600', options: ['-re', '-f', 'lavfi'] }],
    output: join(dir, 'killed.nut'),
    outputOptions: ['-c:v', 'ffv1', '-f', 'nut'],
  });
  job.kill();
  const began = Date.now();
  await assert.rejects(job.done, /SIGKILL/);
  await job.exited;
  assert.ok(Date.now() - began < 10_000, `stopped after ${Date.now() - began} ms`);
});
