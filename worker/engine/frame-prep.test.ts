import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameProblem, prepareFrame } from './frame-prep.ts';

describe('frameProblem', () => {
  const frame = { data: new Uint8Array(4 * 2 * 3), width: 4, height: 2, index: 7 };
  it('accepts a well-formed frame and crop', () => {
    assert.equal(frameProblem(frame, { x: 1, y: 0, width: 3, height: 2 }), undefined);
  });
  it('names a wrong byte count, a bad bit depth and a crop outside the frame', () => {
    assert.match(frameProblem({ ...frame, data: new Uint8Array(5) }, undefined) ?? '', /holds 5 bytes, but 4x2 packed RGB at 8 bits needs 24/);
    assert.match(frameProblem({ ...frame, bitDepth: 16 }, undefined) ?? '', /needs 48/);
    assert.match(frameProblem({ ...frame, bitDepth: 10 as 8 }, undefined) ?? '', /bit depth 10/);
    assert.match(frameProblem(frame, { x: 2, y: 0, width: 3, height: 2 }) ?? '', /crop 3x2\+2\+0 does not fit inside 4x2/);
  });
});

describe('prepareFrame', () => {
  it('crops packed RGB rows and keeps the index', () => {
    const data = Uint8Array.from({ length: 4 * 2 * 3 }, (_, i) => i);
    const out = prepareFrame({ data, width: 4, height: 2, index: 3 }, { x: 1, y: 1, width: 2, height: 1 });
    assert.deepEqual({ ...out, data: [...out.data] }, { data: [15, 16, 17, 18, 19, 20], width: 2, height: 1, index: 3, bitDepth: 8 });
  });
  it('passes an uncropped 8-bit frame through without copying', () => {
    const frame = { data: new Uint8Array(12), width: 2, height: 2, index: 0 };
    assert.equal(prepareFrame(frame, undefined).data, frame.data);
  });
  it('keeps a 16-bit frame 16-bit for a uint16 model, cropping 6-byte pixels', () => {
    const data = Uint8Array.from({ length: 3 * 2 * 6 }, (_, i) => i);
    const out = prepareFrame({ data, width: 3, height: 2, index: 1, bitDepth: 16 }, { x: 2, y: 1, width: 1, height: 1 }, 16);
    assert.deepEqual({ ...out, data: [...out.data] }, { data: [30, 31, 32, 33, 34, 35], width: 1, height: 1, index: 1, bitDepth: 16 });
    assert.equal(prepareFrame({ data, width: 3, height: 2, index: 1, bitDepth: 16 }, undefined, 16).data, data);
  });
  it('dithers a 16-bit frame for an 8-bit model', () => {
    const words = new Uint16Array(4 * 4 * 3).fill(Math.round((100.5 * 65535) / 255));
    const out = prepareFrame({ data: new Uint8Array(words.buffer), width: 4, height: 4, index: 0, bitDepth: 16 }, undefined, 8);
    assert.equal(out.bitDepth, 8);
    assert.deepEqual(new Set(out.data), new Set([100, 101]));
  });
});
