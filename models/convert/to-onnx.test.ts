import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as ort from 'onnxruntime-node';
import type { Precision } from '../catalogue.ts';
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME } from '../io-contract.ts';
import { ModelError } from '../model-error.ts';
import { readNcnnModel } from '../ncnn/layers.ts';
import type { NcnnModel } from '../ncnn/layers.ts';
import { NcnnWeightReader } from '../ncnn/modelbin.ts';
import { parseNcnnParam } from '../ncnn/param.ts';
import { TensorDataType, decodeOnnxModel, encodeOnnxModel } from '../onnx/schema.ts';
import type { OnnxModel } from '../onnx/schema.ts';
import { openCpuSession, psnr, runNcnnReference, runOnnx } from '../test-support/images.ts';
import type { RgbImage } from '../test-support/images.ts';
import { allLayersFixture, fixtureBin, fixtureParam, pseudoRandom } from '../test-support/ncnn-fixture.ts';
import { convFlopsPerInputPixel } from './flops.ts';
import { ncnnToOnnx } from './to-onnx.ts';

function randomImage(width: number, height: number, seed: number): RgbImage {
  return { width, height, data: Uint8Array.from(pseudoRandom(width * height * 3, seed, 0.5), (v) => Math.round((v + 0.5) * 255)) };
}

function convert(network: NcnnModel, precision: Precision, scale = 4): OnnxModel {
  return ncnnToOnnx(network, { precision, graphName: 'fixture', scale, producerVersion: 'test', docString: 'fixture', metadata: { 'upscale.model_id': 'fixture' } });
}

describe('ncnnToOnnx on a network with every supported layer', () => {
  const layers = allLayersFixture();
  let dir = '';
  let network: NcnnModel;
  const files = { param: '', bin: '', fp32: '', fp16: '' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'to-onnx-test-'));
    const bin = fixtureBin(layers);
    network = readNcnnModel(parseNcnnParam(fixtureParam(layers), 'fixture.param'), new NcnnWeightReader(bin, 'fixture.bin'));
    Object.assign(files, { param: join(dir, 'fixture.param'), bin: join(dir, 'fixture.bin'), fp32: join(dir, 'fp32.onnx'), fp16: join(dir, 'fp16.onnx') });
    await writeFile(files.param, fixtureParam(layers));
    await writeFile(files.bin, bin);
    await writeFile(files.fp32, encodeOnnxModel(convert(network, 'fp32')));
    await writeFile(files.fp16, encodeOnnxModel(convert(network, 'fp16')));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('matches Tencent ncnn running the same .param/.bin (fp32 within 1 level, fp16 >= 35 dB)', async () => {
    const image = randomImage(21, 13, 42);
    const reference = await runNcnnReference(files.param, files.bin, image, 4);
    const fp32 = await runOnnx(await openCpuSession(files.fp32), image);
    const maxDiff = fp32.data.reduce((m, v, i) => Math.max(m, Math.abs(v - (reference.data[i] ?? 0))), 0);
    assert.ok(maxDiff <= 1, `fp32 differs from ncnn by up to ${maxDiff} levels`);
    const fp16 = await runOnnx(await openCpuSession(files.fp16), image);
    assert.ok(psnr(fp16, reference) >= 35, `fp16 PSNR ${psnr(fp16, reference).toFixed(1)} dB`);
  });

  it('takes dynamic batch, height and width: each frame of a batch equals running it alone', async () => {
    const session = await openCpuSession(files.fp32);
    const a = randomImage(8, 5, 1);
    const b = randomImage(8, 5, 2);
    const batch = new Uint8Array([...a.data, ...b.data]);
    const result = await session.run({ [MODEL_INPUT_NAME]: new ort.Tensor('uint8', batch, [2, 5, 8, 3]) });
    const out = result[MODEL_OUTPUT_NAME];
    assert.ok(out);
    assert.deepEqual(out.dims, [2, 20, 32, 3]);
    assert.equal(out.type, 'uint8');
    const alone = await runOnnx(session, b);
    assert.deepEqual((out.data as Uint8Array).subarray(20 * 32 * 3), alone.data);
    const other = await runOnnx(session, randomImage(3, 7, 3));
    assert.deepEqual([other.width, other.height], [12, 28]);
  });

  it('declares the uint8 NHWC contract, stores fp16 weights in the fp16 variant, and records metadata', () => {
    const fp32 = convert(network, 'fp32');
    const io = [fp32.graph.input[0], fp32.graph.output[0]];
    assert.deepEqual(io.map((v) => v?.name), [MODEL_INPUT_NAME, MODEL_OUTPUT_NAME]);
    assert.deepEqual(io.map((v) => v?.type.tensorType.elemType), [TensorDataType.UINT8, TensorDataType.UINT8]);
    assert.deepEqual(io.map((v) => v?.type.tensorType.shape.dim), [
      [{ dimParam: 'N' }, { dimParam: 'H' }, { dimParam: 'W' }, { dimValue: 3 }],
      [{ dimParam: 'N' }, { dimParam: 'H*4' }, { dimParam: 'W*4' }, { dimValue: 3 }],
    ]);
    assert.deepEqual(fp32.metadataProps, [{ key: 'upscale.model_id', value: 'fixture' }]);
    const fp16 = convert(network, 'fp16');
    const weight = fp16.graph.initializer.find((t) => t.name === 'conv0.weight');
    assert.equal(weight?.dataType, TensorDataType.FLOAT16);
    assert.equal(weight.rawData.byteLength, 216 * 2);
  });

  it('counts conv FLOPs per input pixel, weighting each conv by its output area', () => {
    // conv0 3*8*9, conv1 8*8*9, conv2 16*8, conv3 8*48*9, all at input resolution.
    const macs = 216 + 576 + 128 + 3456;
    assert.equal(convFlopsPerInputPixel(decodeOnnxModel(encodeOnnxModel(convert(network, 'fp32')))), 2 * macs);
  });

  it('refuses a network whose scale differs from the expected one', () => {
    assert.throws(
      () => convert(network, 'fp32', 2),
      (e: unknown) => e instanceof ModelError && e.code === 'NcnnLayerUnsupported' && /network fixture: graph scales by 4x4, expected 2/.test(e.message),
    );
  });
});
