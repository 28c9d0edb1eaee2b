import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exifOrientation, orientationFilter, swapsAxes } from './exif-orientation.ts';

/** A TIFF header + IFD0 with one SHORT entry (tag, value), in either byte order. */
function tiff(tag: number, value: number, le: boolean): Buffer {
  const b = Buffer.alloc(26);
  b.write(le ? 'II' : 'MM', 0, 'latin1');
  const u16 = (v: number, at: number): number => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  const u32 = (v: number, at: number): number => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  u16(42, 2);
  u32(8, 4);
  u16(1, 8);
  u16(tag, 10);
  u16(3, 12);
  u32(1, 14);
  u16(value, 18);
  return b;
}

function jpeg(t: Buffer, before: Buffer[] = []): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), t]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), ...before, app1, Buffer.from([0xff, 0xda, 0, 2])]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, data, Buffer.alloc(4)]);
}

describe('exifOrientation', () => {
  it('reads a JPEG APP1 Exif segment in both byte orders, after an APP0', () => {
    const app0 = Buffer.from([0xff, 0xe0, 0, 4, 0, 0]);
    assert.equal(exifOrientation(jpeg(tiff(0x0112, 6, false), [app0])), 6);
    assert.equal(exifOrientation(jpeg(tiff(0x0112, 8, true))), 8);
  });
  it('reads a PNG eXIf chunk before IDAT', () => {
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', Buffer.alloc(13)), chunk('eXIf', tiff(0x0112, 3, true)), chunk('IDAT', Buffer.alloc(4))]);
    assert.equal(exifOrientation(png), 3);
  });
  it('reads a WebP EXIF chunk, with or without the Exif prefix', () => {
    for (const body of [tiff(0x0112, 5, true), Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff(0x0112, 5, true)])]) {
      const exif = Buffer.alloc(8);
      exif.write('EXIF', 0, 'latin1');
      exif.writeUInt32LE(body.length, 4);
      const vp8x = Buffer.concat([Buffer.from('VP8X', 'latin1'), Buffer.from([10, 0, 0, 0]), Buffer.alloc(10)]);
      const riff = Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'), vp8x, exif, body]);
      assert.equal(exifOrientation(riff), 5);
    }
  });
  it('gives 1 for no EXIF, another tag, an out-of-range value, or a truncated segment', () => {
    assert.equal(exifOrientation(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2])), 1);
    assert.equal(exifOrientation(jpeg(tiff(0x0110, 6, true))), 1);
    assert.equal(exifOrientation(jpeg(tiff(0x0112, 9, true))), 1);
    assert.equal(exifOrientation(jpeg(tiff(0x0112, 6, true)).subarray(0, 20)), 1);
    assert.equal(exifOrientation(Buffer.from('not an image')), 1);
  });
});

describe('orientationFilter', () => {
  it('turns each orientation upright; 5-8 swap the axes', () => {
    assert.deepEqual(orientationFilter(1), []);
    assert.deepEqual(orientationFilter(3), ['hflip', 'vflip']);
    assert.deepEqual(orientationFilter(6), ['transpose=1']);
    assert.deepEqual(orientationFilter(8), ['transpose=2']);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((o) => swapsAxes(o as 1)), [false, false, false, false, true, true, true, true]);
  });
});
