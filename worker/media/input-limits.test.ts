import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_INPUT_LIMITS, frameSizeRefusal, inputLimitsSchema, keptStreams, megapixels, refusedPictureIn } from './input-limits.ts';

describe('input limits', () => {
  it('default to 8192x8192 pixels and 64 streams', () => {
    assert.deepEqual(inputLimitsSchema.parse({}), DEFAULT_INPUT_LIMITS);
    assert.equal(frameSizeRefusal(8192, 8192, DEFAULT_INPUT_LIMITS.maxPixels), undefined);
    assert.match(frameSizeRefusal(8193, 8192, DEFAULT_INPUT_LIMITS.maxPixels) ?? '', /8193x8192 \(64 MP\), above the limit of 64 MP \(67108864 pixels\)/);
  });

  it('refuse limits ffmpeg itself cannot honour, naming the field', () => {
    const parsed = inputLimitsSchema.safeParse({ maxPixels: 2 ** 28 + 1 });
    assert.equal(parsed.success, false);
    assert.deepEqual(parsed.error?.issues[0]?.path, ['maxPixels']);
    assert.equal(inputLimitsSchema.safeParse({ maxStreams: -1 }).success, false);
  });

  it('read the picture size ffmpeg refused from its stderr', () => {
    assert.deepEqual(
      refusedPictureIn(['[png @ 0x1] [IMGUTILS @ 0x2] Picture size 16000x16000 exceeds specified max pixel count 67108864, see the documentation']),
      { width: 16000, height: 16000, beyondFfmpeg: false },
    );
    assert.deepEqual(refusedPictureIn(['[mjpeg @ 0x1] [IMGUTILS @ 0x2] Picture size 30000x30000 is invalid']), { width: 30000, height: 30000, beyondFfmpeg: true });
    assert.equal(refusedPictureIn(['moov atom not found']), undefined);
  });

  it('keep streams in file order and list the rest', () => {
    const streams = [{ index: 5 }, { index: 1 }, { index: 3 }];
    assert.deepEqual(keptStreams(streams, 2), { kept: [{ index: 1 }, { index: 3 }], dropped: [{ index: 5 }] });
    assert.deepEqual(keptStreams(streams, 0).kept, []);
  });

  it('write megapixels readably', () => {
    assert.equal(megapixels(8192 * 8192), '64 MP');
    assert.equal(megapixels(640 * 480), '0.3 MP');
    assert.equal(megapixels(50_000), '0.05 MP');
  });
});
