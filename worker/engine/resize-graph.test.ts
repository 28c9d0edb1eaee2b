import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { modelPath } from '../../models/catalogue.ts';
import { decodeOnnxModel, encodeOnnxModel } from '../../models/onnx/schema.ts';
import type { OnnxModel } from '../../models/onnx/schema.ts';
import { appendOutputResize, opsetRaiseProblem, OUTPUT_SIZE_INPUT } from './resize-graph.ts';
import { nearestUpscaler } from './test-models.ts';

const withOpset = (model: OnnxModel, version: number): OnnxModel => ({ ...model, opsetImport: [{ domain: '', version }] });

describe('opsetRaiseProblem', () => {
  it('allows raising the converted models (opset 17) to 18', async () => {
    const model = decodeOnnxModel(await readFile(modelPath('realesr-general-x4v3', 'fp16'))) as OnnxModel;
    assert.equal(opsetRaiseProblem(model), undefined);
  });

  it('refuses models below opset 13 and graphs with ops whose axes moved in opset 18', () => {
    assert.match(opsetRaiseProblem(withOpset(nearestUpscaler(4), 11)) ?? '', /uses opset 11/);
    const reduce = nearestUpscaler(4);
    reduce.graph.node.push({ name: 'mean', opType: 'ReduceMean', input: ['r'], output: ['m'], attribute: [] });
    assert.match(opsetRaiseProblem(reduce) ?? '', /node "mean" \(ReduceMean\) changed meaning in opset 18/);
    assert.equal(opsetRaiseProblem(withOpset(reduce, 18)), undefined);
  });
});

describe('appendOutputResize', () => {
  it('adds an output_size input that sets the output size, applied to the model output', async () => {
    const bytes = appendOutputResize(await readFile(modelPath('realesr-general-x4v3', 'fp32')));
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    assert.deepEqual(session.inputNames, ['input', OUTPUT_SIZE_INPUT]);
    const image = Uint8Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 53) & 255);
    const run = async (h: number, w: number): Promise<ort.Tensor> =>
      (await session.run({ input: new ort.Tensor('uint8', image, [1, 10, 12, 3]), [OUTPUT_SIZE_INPUT]: new ort.Tensor('int64', BigInt64Array.of(BigInt(h), BigInt(w)), [2]) })).output as ort.Tensor;
    assert.deepEqual((await run(20, 24)).dims, [1, 20, 24, 3]);
    assert.deepEqual((await run(15, 18)).dims, [1, 15, 18, 3]);
    // At the native size the Resize is the identity: the result equals the unmodified model.
    const plain = await ort.InferenceSession.create(await readFile(modelPath('realesr-general-x4v3', 'fp32')), { intraOpNumThreads: 1 });
    const native = (await plain.run({ input: new ort.Tensor('uint8', image, [1, 10, 12, 3]) })).output as ort.Tensor;
    assert.deepEqual((await run(40, 48)).data, native.data);
    await session.release();
    await plain.release();
  });

  it('resizes a uint16 model in float and returns uint16 that matches the uint8 model to a level', async () => {
    const deep = await ort.InferenceSession.create(appendOutputResize(await readFile(modelPath('realesr-general-x4v3', 'fp32', 'uint16'))), { intraOpNumThreads: 1 });
    const shallow = await ort.InferenceSession.create(appendOutputResize(await readFile(modelPath('realesr-general-x4v3', 'fp32'))), { intraOpNumThreads: 1 });
    const image = Uint8Array.from({ length: 12 * 10 * 3 }, (_, i) => (i * 53) & 255);
    const size = new ort.Tensor('int64', BigInt64Array.of(15n, 18n), [2]);
    const out16 = (await deep.run({ input: new ort.Tensor('uint16', Uint16Array.from(image, (v) => v * 257), [1, 10, 12, 3]), [OUTPUT_SIZE_INPUT]: size })).output as ort.Tensor;
    const out8 = (await shallow.run({ input: new ort.Tensor('uint8', image, [1, 10, 12, 3]), [OUTPUT_SIZE_INPUT]: size })).output as ort.Tensor;
    assert.equal(out16.type, 'uint16');
    assert.deepEqual(out16.dims, [1, 15, 18, 3]);
    const a = out16.data as Uint16Array;
    const b = out8.data as Uint8Array;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] ?? 0) / 257 - (b[i] ?? 0)));
    // Both round once; the uint8 graph resizes already-rounded samples, so allow one level.
    assert.ok(worst <= 1, `uint16 and uint8 resized outputs differ by ${worst} levels`);
    await deep.release();
    await shallow.release();
  });

  it('keeps the rest of the model unchanged and raises its opset', () => {
    const original = nearestUpscaler(4);
    const changed = decodeOnnxModel(appendOutputResize(encodeOnnxModel(original))) as OnnxModel;
    assert.equal(changed.opsetImport[0]?.version, 18);
    assert.equal(changed.graph.node.length, original.graph.node.length + 1);
    assert.equal(changed.graph.node.at(-1)?.opType, 'Resize');
    assert.deepEqual(changed.graph.output.map((o) => o.name), ['output']);
  });
});
