/**
 * Bring-your-own models: the converted models pass, models that break the I/O contract are rejected
 * with the file and the problem named, and the engine loads a model by path or through a fetch.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { modelPath } from '../../models/catalogue.ts';
import { encodeOnnxModel } from '../../models/onnx/schema.ts';
import { UpscaleError } from '../errors.ts';
import { createEngine } from './engine.ts';
import { channelsFirstModel, floatInputModel, nearestUpscaler, writeModel } from './test-models.ts';
import { validateModel } from './validate-model.ts';

function invalid(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof UpscaleError, String(error));
    assert.equal(error.code, 'InvalidInput');
    assert.match(error.message, pattern);
    return true;
  };
}

describe('validateModel', () => {
  it('accepts both converted models and finds their scale by running them', async () => {
    // x4plus in fp32: its fp16 graph takes seconds to prepare for the CPU.
    for (const [id, precision] of [['realesr-general-x4v3', 'fp16'], ['RealESRGAN_x4plus', 'fp32']] as const) {
      const result = await validateModel(await readFile(modelPath(id, precision)), `${id} ${precision}`);
      assert.deepEqual(result, { scale: 4, inputName: 'input', outputName: 'output' });
    }
  });

  it('finds a scale other than 4', async () => {
    assert.equal((await validateModel(encodeOnnxModel(nearestUpscaler(2)), 'x2.onnx')).scale, 2);
  });

  it('rejects a float32 input, naming the file and the tensor', async () => {
    await assert.rejects(validateModel(encodeOnnxModel(floatInputModel()), '/models/float.onnx'), invalid(/validating model \/models\/float\.onnx: its input "input" is float32, expected uint8/));
  });

  it('rejects a channels-first layout', async () => {
    await assert.rejects(validateModel(encodeOnnxModel(channelsFirstModel()), 'nchw.onnx'), invalid(/nchw\.onnx: its input "input" has 3 in the last dimension|its input "input" has a fixed height or width/));
  });

  it('rejects bytes that are not an ONNX model', async () => {
    await assert.rejects(validateModel(new TextEncoder().encode('not a model'), 'junk.onnx'), invalid(/validating model junk\.onnx: ONNX Runtime cannot load it: /));
  });
});

describe('engine with a bring-your-own model', () => {
  let dir: string;
  const log = pino({ level: 'silent' });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byo-model-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a converted model given by path, as built', async () => {
    const engine = await createEngine({ model: { path: modelPath('realesr-general-x4v3', 'fp32') }, provider: 'cpu' }, { logger: log });
    try {
      assert.equal(engine.info.precision, 'as-built');
      assert.equal(engine.info.modelScale, 4);
      const out = await engine.upscale({ data: new Uint8Array(10 * 6 * 3).fill(200), width: 10, height: 6, index: 0 });
      assert.deepEqual([out.width, out.height], [40, 24]);
    } finally {
      await engine.close();
    }
  });

  it('reads a URI through the fetch function it is given', async () => {
    const bytes = encodeOnnxModel(nearestUpscaler(3));
    const asked: string[] = [];
    const fetchModel = async (uri: string): Promise<Uint8Array> => {
      asked.push(uri);
      return bytes;
    };
    const engine = await createEngine({ model: { uri: 's3://models/x3.onnx' }, provider: 'cpu' }, { logger: log, fetchModel });
    try {
      const data = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => i);
      const out = await engine.upscale({ data, width: 2, height: 2, index: 0 });
      assert.deepEqual([out.width, out.height], [6, 6]);
      assert.deepEqual([...out.data.subarray(0, 3)], [0, 1, 2]);
      assert.deepEqual(asked, ['s3://models/x3.onnx']);
    } finally {
      await engine.close();
    }
  });

  it('rejects a wrong model with a clear error before starting', async () => {
    const path = await writeModel(join(dir, 'float.onnx'), floatInputModel());
    await assert.rejects(createEngine({ model: { path }, provider: 'cpu' }, { logger: log }), invalid(new RegExp(`validating model ${path.replaceAll('.', '\\.')}: its input "input" is float32`)));
  });

  it('names a missing file, and a URI without a fetch function', async () => {
    await assert.rejects(createEngine({ model: { path: join(dir, 'missing.onnx') }, provider: 'cpu' }, { logger: log }), (error: unknown) => {
      assert.ok(error instanceof UpscaleError);
      assert.equal(error.code, 'NotFound');
      assert.match(error.message, /missing\.onnx: the file does not exist/);
      return true;
    });
    await assert.rejects(createEngine({ model: { uri: 's3://b/m.onnx' }, provider: 'cpu' }, { logger: log }), /reading model s3:\/\/b\/m\.onnx: a model URI needs a fetch function/);
  });
});
