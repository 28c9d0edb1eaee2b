/**
 * A bring-your-own model is checked by the probe step, so a model with the wrong dtype or layout
 * fails the job before any shard pod is scheduled (exit 2, naming the model); a model that follows
 * the I/O contract, and every catalogue model, pass.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import pino from 'pino';
import { clip } from '../../test/fixtures/clips.ts';
import { channelsFirstModel, floatInputModel, nearestUpscaler, writeModel } from '../engine/test-models.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { Storage } from '../storage/storage.ts';
import { parseTask, probeTaskSchema } from '../task.ts';
import { runProbeStep } from './probe-step.ts';

const log = pino({ level: 'silent' });

async function probeWith(t: TestContext, model: string, dir: string) {
  const storage = new Storage();
  t.after(() => storage.close());
  const task = parseTask(probeTaskSchema, { version: 1, jobId: 'probe-model', step: 'probe', input: await clip('tiny-basic'), output: join(dir, 'out.mkv'), plan: { shardCount: 1, model } }, 'test');
  return runProbeStep(task, storage, log);
}

test('the probe step refuses a custom model with the wrong dtype or layout before any shard runs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'probe-model-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, m, why] of [
    ['float.onnx', floatInputModel(), /float32, expected uint8/],
    ['nchw.onnx', channelsFirstModel(), /\[N, 3, H, W\]/],
  ] as const) {
    const path = await writeModel(join(dir, name), m);
    const error = await probeWith(t, path, dir).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof UpscaleError, `${name}: expected a failure`);
    assert.equal(error.code, 'InvalidInput');
    assert.equal(exitCodeFor(error), 2);
    assert.match(error.message, new RegExp(name.replace('.', '\\.')));
    assert.match(error.message, why);
  }
});

test('a custom model that follows the contract, and a catalogue model, pass the probe', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'probe-model-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = await writeModel(join(dir, 'x2.onnx'), nearestUpscaler(2));
  assert.equal((await probeWith(t, good, dir)).result.shards, 1);
  const other = await mkdtemp(join(tmpdir(), 'probe-model-'));
  t.after(() => rm(other, { recursive: true, force: true }));
  assert.equal((await probeWith(t, 'realesr-general-x4v3', other)).result.shards, 1);
});
