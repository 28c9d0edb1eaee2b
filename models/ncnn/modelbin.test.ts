import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../model-error.ts';
import { fixtureBin } from '../test-support/ncnn-fixture.ts';
import type { FixtureArray } from '../test-support/ncnn-fixture.ts';
import { NcnnWeightReader, TAG_FLOAT32_INT8_SCALED, TAG_INT8 } from './modelbin.ts';

function bin(...arrays: FixtureArray[]): Uint8Array {
  return fixtureBin([{ type: 'Any', name: 'any', tops: [], weights: arrays }]);
}

function invalid(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof ModelError && error.code === 'NcnnWeightsInvalid' && pattern.test(error.message);
}

describe('NcnnWeightReader', () => {
  it('reads tagged fp16 data padded to 4 bytes, then untagged fp32', () => {
    // 3 fp16 values take 6 bytes, padded to 8: the raw array starts at 4 + 8 = 12.
    const reader = new NcnnWeightReader(bin({ tagged: 'fp16', values: [0.5, -2, 65504] }, { raw: [1.25, -0.1] }), 'w.bin');
    assert.deepEqual([...reader.loadTagged(3, 'weights')], [0.5, -2, 65504]);
    assert.equal(reader.offset, 12);
    assert.deepEqual([...reader.loadRaw(2, 'bias')], [1.25, Math.fround(-0.1)]);
    assert.equal(reader.offset, 20);
    reader.assertFullyRead();
  });

  it('reads tagged fp32 data (tag 0)', () => {
    const reader = new NcnnWeightReader(bin({ tagged: 'fp32', values: [0.1, 3] }), 'w.bin');
    assert.deepEqual([...reader.loadTagged(2, 'weights')], [Math.fround(0.1), 3]);
    reader.assertFullyRead();
  });

  it('refuses int8 and other quantized storage, naming owner, offset and tag', () => {
    const int8 = new NcnnWeightReader(bin({ raw: [1] }, { tag: TAG_INT8, bytes: 8 }), 'q.bin');
    int8.loadRaw(1, 'first');
    assert.throws(
      () => int8.loadTagged(8, 'Convolution layer c (line 4) weights'),
      invalid(/q\.bin: Convolution layer c \(line 4\) weights at byte offset 4 has storage tag 0x000D4B38 \(int8-quantized weights\)/),
    );
    const scaled = new NcnnWeightReader(bin({ tag: TAG_FLOAT32_INT8_SCALED, bytes: 8 }), 'q.bin');
    assert.throws(() => scaled.loadTagged(2, 'w'), invalid(/tag 0x0002C056 \(fp32 weights with int8 scales\)/));
    const table = new NcnnWeightReader(bin({ tag: 0x01020304, bytes: 1024 + 4 }), 'q.bin');
    assert.throws(() => table.loadTagged(4, 'w'), invalid(/tag 0x01020304 \(table-quantized weights\)/));
  });

  it('reports a truncated file with the owner, the byte offset and the bytes left', () => {
    const full = bin({ tagged: 'fp16', values: [1, 2, 3, 4] }, { raw: [1, 2, 3] });
    const truncated = full.subarray(0, full.length - 5);
    const reader = new NcnnWeightReader(truncated, 'cut.bin');
    reader.loadTagged(4, 'Convolution layer Conv_0 (line 4) weights');
    assert.throws(
      () => reader.loadRaw(3, 'Convolution layer Conv_0 (line 4) bias'),
      invalid(/cut\.bin: Convolution layer Conv_0 \(line 4\) bias needs 12 bytes of fp32 data \(3 values\) at byte offset 12, but only 7 remain \(file is 19 bytes\)/),
    );
  });

  it('reports a file too short for even the type tag', () => {
    const reader = new NcnnWeightReader(new Uint8Array(2), 'tiny.bin');
    assert.throws(() => reader.loadTagged(1, 'w'), invalid(/w needs 4 bytes of type tag at byte offset 0, but only 2 remain/));
  });

  it('reports bytes left after the last layer as a .param/.bin mismatch', () => {
    const reader = new NcnnWeightReader(bin({ raw: [1, 2] }), 'long.bin');
    reader.loadRaw(1, 'x');
    assert.throws(() => reader.assertFullyRead(), invalid(/long\.bin: 4 bytes remain after the last layer's weights at byte offset 4/));
  });
});
