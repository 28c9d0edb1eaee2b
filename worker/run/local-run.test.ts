/**
 * runLocal's assembly beside its shards (real ffmpeg, the real model on the CPU): shards go into the
 * output while later ones are still upscaled; an assembly that fails while shards remain stops them
 * at once, with the assembly's error, instead of after every shard has been upscaled for an output
 * that cannot be written.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { clip } from '../../test/fixtures/clips.ts';
import { UpscaleError } from '../errors.ts';
import { Storage } from '../storage/storage.ts';
import { upscaleSettingsSchema } from '../task.ts';
import { runLocal } from './local-run.ts';

test('an assembly that fails while shards remain stops them, with its own error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'local-run-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const output = join(dir, 'out.mkv');
  const storage = new Storage();
  t.after(() => storage.close());
  let planned: { jobId: string; shards: number } | undefined;
  const running = runLocal(
    { input: await clip('basic'), output, settings: upscaleSettingsSchema.parse({ model: 'realesr-general-x4v3', ep: 'cpu', codec: 'ffv1', encoder: 'cpu' }), shardFrames: 6, overwrite: false, keepIntermediates: false, workers: 1 },
    storage,
    pino({ level: 'silent' }),
    {
      // Someone else writes the output once the run has checked it: the assembly refuses to replace it.
      onPlan: (plan) => {
        planned = plan;
        void writeFile(output, 'not ours');
      },
    },
  );
  const error = await running.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, String(error));
  assert.equal(error.code, 'AlreadyExists', error.message);
  assert.equal(await readFile(output, 'utf8'), 'not ours');
  // 8 shards planned; the run stopped at the first (or the second, if the first was committing).
  assert.equal(planned?.shards, 8);
  const shardsDir = join(`${output}.upscale`, planned.jobId, 'shards');
  const committed = (await readdir(shardsDir).catch(() => [])).filter((f) => f.endsWith('.json'));
  assert.ok(committed.length <= 2, `${committed.length} shards were committed after the assembly failed`);
});

test('shards go into the output while later shards are still upscaled', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'local-run-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const storage = new Storage();
  t.after(() => storage.close());
  const lines: { msg: string; shard?: unknown }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(text) as { msg: string });
      done();
    },
  });
  const result = await runLocal(
    { input: await clip('tiny-basic'), output: join(dir, 'out.mkv'), settings: upscaleSettingsSchema.parse({ model: 'realesr-general-x4v3', ep: 'cpu', codec: 'ffv1', encoder: 'cpu' }), shardFrames: 3, overwrite: false, keepIntermediates: false, workers: 1 },
    storage,
    pino({ level: 'debug' }, sink),
  );
  assert.equal(result.assemble.frames, 12);
  const messages = lines.map((l) => l.msg);
  const lastShardDone = messages.lastIndexOf('Finished shard');
  // Shard 1 (frames 3-6) was streamed into the output before the last shard finished.
  const streamed = lines.findIndex((l) => l.msg === 'Streamed shard into the output' && JSON.stringify(l.shard) === '[3,6]');
  assert.ok(lastShardDone > 0 && streamed >= 0 && streamed < lastShardDone, `streamed at line ${streamed}, last shard done at ${lastShardDone}: ${messages.join(' | ')}`);
});
