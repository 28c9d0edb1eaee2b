/**
 * runLocal's assembly beside its shards (real ffmpeg, the real model on the CPU): an assembly that
 * fails while shards remain stops them at once, with the assembly's error, instead of after every
 * shard has been upscaled for an output that cannot be written.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
