/**
 * `settings.model: s3://bucket/model.onnx` in the shard step, against the real S3 server: the
 * worker fetches the model with its own storage credentials, validates it and upscales with it; a
 * missing object is NotFound (exit 2) and an object that is not a model is InvalidInput (exit 2).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { modelPath } from '../../models/catalogue.ts';
import { clip } from '../../test/fixtures/clips.ts';
import { useS3 } from '../../test/s3/harness.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { Storage } from '../storage/storage.ts';
import { parseTask, probeTaskSchema, shardTaskSchema } from '../task.ts';
import { checkModel } from './engine-options.ts';
import { runProbeStep } from './probe-step.ts';
import { runShardStep } from './shard-step.ts';

const s3 = await useS3();
const log = pino({ level: 'silent' });

/** A probed one-shard job on a tiny local clip, its output beside it in a scratch directory. */
async function plannedJob(t: TestContext, storage: Storage): Promise<{ version: 1; jobId: string; input: string; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 's3-model-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const common = { version: 1 as const, jobId: 's3-model', input: await clip('tiny-basic'), output: join(dir, 'out.mkv') };
  await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 1 } }, 'test'), storage, log);
  return common;
}

async function failure(promise: Promise<unknown>): Promise<UpscaleError> {
  const error = await promise.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, String(error));
  return error;
}

test('upscales a shard with an s3:// model fetched with the worker credentials', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const model = `s3://${bucket}/models/general-x4v3.onnx`;
  await storage.write(model, await readFile(modelPath('realesr-general-x4v3', 'fp32')));
  await checkModel(model, storage);

  const common = await plannedJob(t, storage);
  const task = parseTask(shardTaskSchema, { ...common, step: 'shard', shard: 0, settings: { model, ep: 'cpu', codec: 'ffv1', encoder: 'cpu' } }, 'test');
  const result = await runShardStep(task, storage, log);
  assert.deepEqual([result.frames, result.skipped], [12, false]);
});

test('fails a shard permanently on a missing s3:// model and on an object that is no model', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const missing = `s3://${bucket}/models/missing.onnx`;
  const checked = await failure(checkModel(missing, storage));
  assert.equal(checked.code, 'NotFound');
  assert.match(checked.message, new RegExp(`model ${missing} does not exist`));

  const common = await plannedJob(t, storage);
  const shard = (model: string) => parseTask(shardTaskSchema, { ...common, step: 'shard', shard: 0, settings: { model, ep: 'cpu' } }, 'test');
  const notFound = await failure(runShardStep(shard(missing), storage, log));
  assert.equal(notFound.code, 'NotFound');
  assert.equal(exitCodeFor(notFound), 2);
  assert.match(notFound.message, new RegExp(`^shard: reading s3://${bucket}/models/missing\\.onnx: object not found`));

  const bogus = `s3://${bucket}/models/bogus.onnx`;
  await storage.write(bogus, 'this is not an ONNX model');
  const invalid = await failure(runShardStep(shard(bogus), storage, log));
  assert.equal(invalid.code, 'InvalidInput');
  assert.equal(exitCodeFor(invalid), 2);
  assert.match(invalid.message, new RegExp(`validating model ${bogus}`));
});

test('refuses an https model with a clear permanent error', async (t) => {
  const storage = new Storage();
  t.after(() => storage.close());
  const error = await failure(checkModel('https://models.example/x4.onnx?sig=SECRET', storage));
  assert.equal(error.code, 'Unsupported');
  assert.match(error.message, /^model https:\/\/models\.example\/x4\.onnx\?<redacted>: models are read from a local path, file:\/\/ or s3:\/\//);
});
