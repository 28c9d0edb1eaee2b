import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { floatToHalf, floatsToHalfBytes, halfToFloat } from './float16.ts';
import { pseudoRandom } from './test-support/ncnn-fixture.ts';

// Node 24 implements Float16Array and Math.f16round; the project's TypeScript lib does not type them.
const runtime = globalThis as unknown as {
  Float16Array: new (buffer: ArrayBuffer) => ArrayLike<number>;
  Math: { f16round(x: number): number };
};

describe('float16', () => {
  it('decodes every fp16 bit pattern as the runtime Float16Array does', () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const expected = new runtime.Float16Array(bits.buffer);
    for (let i = 0; i < 65536; i++) {
      const want = expected[i] ?? NaN;
      assert.ok(Object.is(halfToFloat(i), want) || (Number.isNaN(want) && Number.isNaN(halfToFloat(i))), `bits 0x${i.toString(16)}`);
    }
  });

  it('rounds fp32 to fp16 to nearest even, as Math.f16round does', () => {
    const edge = [0, -0, 1, -1, 65504, 65519, 65520, 1e6, -1e6, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 0.1, 1 / 3, Infinity, -Infinity];
    const values = [...edge, ...pseudoRandom(20000, 9, 4), ...pseudoRandom(2000, 10, 1e-4), ...pseudoRandom(2000, 11, 70000)].map(Math.fround);
    for (const v of values) {
      assert.ok(Object.is(halfToFloat(floatToHalf(v)), runtime.Math.f16round(v)), `value ${v}`);
    }
    assert.ok(Number.isNaN(halfToFloat(floatToHalf(NaN))));
  });

  it('packs values as little-endian fp16 bytes', () => {
    assert.deepEqual([...floatsToHalfBytes(Float32Array.of(1, -2))], [0x00, 0x3c, 0x00, 0xc0]);
  });
});
