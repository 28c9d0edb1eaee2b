import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertDepth, dither16To8, widen8To16 } from './sample-depth.ts';

const le16 = (values: readonly number[]): Uint8Array => {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(i * 2, v, true));
  return out;
};

describe('dither16To8', () => {
  it('gives 8-bit values widened by 257 back exactly', () => {
    const values = [0, 257, 257 * 100, 257 * 254, 65535, 257 * 7];
    assert.deepEqual([...dither16To8(le16(values), 2)], [0, 1, 100, 254, 255, 7]);
  });

  it('keeps the level between two 8-bit values on average, where rounding cannot', () => {
    // A flat 16x16 grey a quarter of the way from 8-bit 100 to 101.
    const level = 100.25;
    const v = Math.round((level * 65535) / 255);
    const width = 16;
    const out = dither16To8(le16(Array.from({ length: width * width * 3 }, () => v)), width);
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    const rounded = Math.round((v * 255) / 65535);
    assert.ok(Math.abs(mean - level) < 1 / 32, `dithered mean ${mean} is not within 1/32 of ${level}`);
    assert.ok(Math.abs(rounded - level) >= 0.25 - 1e-9, 'rounding would keep the level (the case is not testing anything)');
    assert.deepEqual(new Set(out), new Set([100, 101]));
  });

  it('is deterministic, so shards and retries of one frame agree', () => {
    const data = le16(Array.from({ length: 8 * 4 * 3 }, (_, i) => (i * 977) % 65536));
    assert.deepEqual(dither16To8(data, 8), dither16To8(data, 8));
  });
});

describe('widen8To16', () => {
  it('maps 0..255 onto 0..65535 (v x 257), little-endian', () => {
    const out = widen8To16(Uint8Array.of(0, 1, 128, 255));
    const view = new DataView(out.buffer);
    assert.deepEqual([0, 1, 2, 3].map((i) => view.getUint16(i * 2, true)), [0, 257, 32896, 65535]);
  });

  it('round-trips through the dither', () => {
    const bytes = Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => (i * 37) & 255);
    assert.deepEqual(dither16To8(widen8To16(bytes), 4), bytes);
    assert.equal(convertDepth(bytes, 4, 8, 8), bytes);
  });
});
