import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../model-error.ts';
import { allLayersFixture, fixtureBin, fixtureParam, pseudoRandom } from '../test-support/ncnn-fixture.ts';
import type { FixtureLayer } from '../test-support/ncnn-fixture.ts';
import { readNcnnModel } from './layers.ts';
import type { NcnnModel } from './layers.ts';
import { NcnnWeightReader } from './modelbin.ts';
import { parseNcnnParam } from './param.ts';

function read(layers: readonly FixtureLayer[], bin: Uint8Array = fixtureBin(layers)): NcnnModel {
  return readNcnnModel(parseNcnnParam(fixtureParam(layers), 'net.param'), new NcnnWeightReader(bin, 'net.bin'));
}

function fails(code: ModelError['code'], pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof ModelError && error.code === code && pattern.test(error.message);
}

const input: FixtureLayer = { type: 'Input', name: 'in0', tops: ['data'] };

describe('readNcnnModel', () => {
  it('reads every supported layer and its weights in ncnn load order', () => {
    const layers = allLayersFixture();
    const model = read(layers);
    assert.equal(model.input, 'data');
    assert.equal(model.output, 'output');
    assert.deepEqual(
      model.ops.map((op) => op.kind),
      ['split', 'conv', 'prelu', 'split', 'conv', 'concat', 'conv', 'weighted-sum', 'prelu', 'conv', 'pixel-shuffle', 'resize-nearest', 'weighted-sum'],
    );
    const conv0 = model.ops[1];
    assert.ok(conv0?.kind === 'conv');
    assert.deepEqual([conv0.outChannels, conv0.inChannels, conv0.kernel, conv0.pads], [8, 3, [3, 3], [1, 1, 1, 1]]);
    assert.deepEqual(conv0.activation, { type: 'leaky-relu', slope: 0.1 });
    // Biases are raw fp32: read back exactly; fp16 weights are within fp16 rounding.
    assert.deepEqual([...(conv0.bias ?? [])], pseudoRandom(8, 2, 0.1).map(Math.fround));
    const expected = pseudoRandom(216, 1, 0.3);
    conv0.weights.forEach((w, i) => assert.ok(Math.abs(w - (expected[i] ?? 0)) <= 2 ** -11, `weight ${i}`));
    const conv2 = model.ops[6];
    assert.ok(conv2?.kind === 'conv');
    assert.deepEqual([conv2.inChannels, conv2.bias, conv2.activation.type], [16, null, 'none']);
    const sum = model.ops[7];
    assert.ok(sum?.kind === 'weighted-sum');
    assert.deepEqual(sum.coefficients, [0.5, 1]);
  });

  it('refuses an unknown layer type, naming the type, the layer and its line', () => {
    const layers: FixtureLayer[] = [input, { type: 'Pooling', name: 'pool0', bottoms: ['data'], tops: ['out'], params: '0=0 1=2' }];
    assert.throws(() => read(layers), fails('NcnnLayerUnsupported', /converting Pooling layer pool0 \(line 4\): layer type "Pooling" is not supported \(supported: Input, Split, Convolution/));
  });

  it('names the layer and byte offset when the .bin is truncated', () => {
    const layers = allLayersFixture();
    const bin = fixtureBin(layers);
    // conv0 (tag + 216 fp16 + 8 fp32) and prelu0 (8 fp32) take 4 + 432 + 32 + 32 = 500 bytes; conv1's
    // tag follows, then its fp32 weights from byte 504. Cut in the middle of them.
    assert.throws(
      () => read(layers, bin.subarray(0, 600)),
      fails('NcnnWeightsInvalid', /net\.bin: Convolution layer conv1 \(line 8\) weights needs 2304 bytes of fp32 data \(576 values\) at byte offset 504, but only 96 remain/),
    );
  });

  it('refuses a .bin longer than the .param needs', () => {
    const layers = allLayersFixture();
    const bin = fixtureBin(layers);
    const longer = new Uint8Array(bin.length + 8);
    longer.set(bin);
    assert.throws(() => read(layers, longer), fails('NcnnWeightsInvalid', /8 bytes remain after the last layer's weights/));
  });

  it('refuses layer options the converter does not implement', () => {
    const conv = (params: string): FixtureLayer[] => [
      input,
      { type: 'Convolution', name: 'c', bottoms: ['data'], tops: ['out'], params, weights: [{ tagged: 'fp32', values: pseudoRandom(27, 1, 1) }] },
    ];
    assert.throws(() => read(conv('0=1 1=3 6=27 9=4')), fails('NcnnLayerUnsupported', /Convolution layer c \(line 4\): fused activation_type 4 is not supported/));
    assert.throws(() => read(conv('0=1 1=3 6=27 8=1')), fails('NcnnLayerUnsupported', /int8 quantization/));
    assert.throws(() => read(conv('0=1 1=3 4=-233 6=27')), fails('NcnnLayerUnsupported', /automatic "same" padding/));
    assert.throws(() => read(conv('0=2 1=3 6=27')), fails('NcnnLayerUnsupported', /weight_data_size 27 is not num_output 2 x kernel 3x3/));
    const eltwise: FixtureLayer[] = [input, { type: 'Split', name: 's', bottoms: ['data'], tops: ['a', 'b'] }, { type: 'Eltwise', name: 'e', bottoms: ['a', 'b'], tops: ['out'], params: '0=0' }];
    assert.throws(() => read(eltwise), fails('NcnnLayerUnsupported', /Eltwise layer e \(line 5\): operation 0 is not supported \(only 1, sum\)/));
    const interp: FixtureLayer[] = [input, { type: 'Interp', name: 'i', bottoms: ['data'], tops: ['out'], params: '0=2 1=2.0 2=2.0' }];
    assert.throws(() => read(interp), fails('NcnnLayerUnsupported', /Interp layer i \(line 4\): resize_type 2 is not supported \(only 1, nearest\)/));
    const sub: FixtureLayer[] = [input, { type: 'Split', name: 's', bottoms: ['data'], tops: ['a', 'b'] }, { type: 'BinaryOp', name: 'b', bottoms: ['a', 'b'], tops: ['out'], params: '0=1' }];
    assert.throws(() => read(sub), fails('NcnnLayerUnsupported', /BinaryOp layer b \(line 5\): operation 1 is not supported/));
  });

  it('requires one Input layer and one output blob', () => {
    assert.throws(() => read([{ type: 'Input', name: 'a', tops: ['x'] }, { type: 'Input', name: 'b', tops: ['y'] }]), fails('NcnnLayerUnsupported', /exactly one Input layer, found 2/));
    assert.throws(() => read([input, { type: 'Split', name: 's', bottoms: ['data'], tops: ['a', 'b'] }]), fails('NcnnLayerUnsupported', /exactly one output blob, found 2 \(a, b\)/));
  });
});
