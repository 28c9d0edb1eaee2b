import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpscaleError } from '../errors.ts';
import { decideStill, jpegQscale, type StillChoices, type StillFacts, type StillSource } from './still-decision.ts';

const ENCODERS = new Set(['png', 'mjpeg', 'libwebp']);
function facts(output: string, extra: Partial<StillFacts> = {}): StillFacts {
  return { input: 'in.png', output, inputFormat: 'png', outputIsDirectory: false, sameFile: false, outputIsLocal: true, encoders: ENCODERS, modelScale: 4, ...extra };
}
/** The facts for a custom model, whose scale is unknown before it runs. */
function withoutScale(f: StillFacts): StillFacts {
  const { modelScale: _unknown, ...rest } = f;
  return rest;
}
const rgb: StillSource = { width: 97, height: 61, bitDepth: 8, alpha: false };
const rgba: StillSource = { ...rgb, alpha: true };

describe('decideStill refuses', () => {
  const cases: { name: string; f: StillFacts; c: StillChoices; code: string; message: RegExp }[] = [
    { name: 'a video extension', f: facts('x.mp4'), c: {}, code: 'Unsupported', message: /x\.mp4: the input in\.png is a still image \(png\) and x\.mp4 has a video extension: write a still image \(\.png, \.jpg, \.jpeg, \.webp\)/ },
    { name: 'an unknown extension', f: facts('x.tiff'), c: {}, code: 'Unsupported', message: /x\.tiff has an unsupported output extension/ },
    { name: 'no extension', f: facts('out'), c: {}, code: 'Unsupported', message: /out has an unsupported output extension/ },
    { name: 'a directory', f: facts('pics/', { outputIsDirectory: true }), c: {}, code: 'InvalidArgument', message: /pics\/ is a directory: name the output file, e\.g\. pics\/out\.png/ },
    { name: 'the input as output', f: facts('in.png', { sameFile: true }), c: {}, code: 'InvalidArgument', message: /in\.png is the input in\.png/ },
    { name: 'an object storage output', f: facts('s3://b/x.png', { outputIsLocal: false }), c: {}, code: 'Unsupported', message: /written to a local path only/ },
    { name: 'video options', f: facts('x.png'), c: { videoOptions: ['--codec', '--crf'] }, code: 'InvalidArgument', message: /^--codec, --crf: the input in\.png is a still image/ },
    { name: '--scale with --width', f: facts('x.png'), c: { scale: 2, width: 100 }, code: 'InvalidArgument', message: /--scale and --width\/--height/ },
    { name: '--quality for a PNG', f: facts('x.png'), c: { quality: 80 }, code: 'InvalidArgument', message: /--quality 80: x\.png is a PNG/ },
    { name: '--png-compression for a WebP', f: facts('x.webp'), c: { pngCompression: 9 }, code: 'InvalidArgument', message: /--png-compression 9: x\.webp is a WEBP, not a PNG/ },
    { name: 'only --width with a custom model', f: withoutScale(facts('x.png')), c: { width: 100 }, code: 'InvalidArgument', message: /--width: the model's scale is unknown .*give both --width and --height/ },
    { name: 'WebP without libwebp', f: facts('x.webp', { encoders: new Set(['png', 'mjpeg']) }), c: {}, code: 'Unsupported', message: /this ffmpeg has no libwebp encoder, which writes WEBP/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.throws(
        () => decideStill(c.f, c.c),
        (e: unknown) => e instanceof UpscaleError && e.code === c.code && c.message.test(e.message),
      );
    });
  }
});

describe('decideStill decides', () => {
  it('the input format at the model scale, odd sizes kept', () => {
    const d = decideStill(facts('x.png', { source: rgb }), {});
    assert.deepEqual([d.format, d.encoder, d.inputPixFmt, d.alpha], ['png', 'png', 'rgb24', 'none']);
    assert.deepEqual(d.size, { width: 388, height: 244 });
    assert.deepEqual(d.notes, []);
  });
  it('the format the extension names, with a note', () => {
    const d = decideStill(facts('x.JPEG', { source: rgb }), {});
    assert.equal(d.format, 'jpeg');
    assert.match(d.notes[0] ?? '', /writing jpeg for x\.JPEG \(the input is png\)/);
  });
  it('keeps alpha for PNG and WebP, drops it with a warning for JPEG', () => {
    assert.equal(decideStill(facts('x.png', { source: rgba }), {}).inputPixFmt, 'rgba');
    assert.match(decideStill(facts('x.webp', { source: rgba }), {}).notes.join(), /kept the alpha channel: resized with lanczos/);
    const jpeg = decideStill(facts('x.jpg', { source: rgba }), {});
    assert.equal(jpeg.alpha, 'drop');
    assert.match(jpeg.warnings.join(), /dropped the alpha channel: x\.jpg is a JPEG/);
  });
  it('says a 16-bit source is reduced to 8 bits', () => {
    assert.match(decideStill(facts('x.png', { source: { ...rgb, bitDepth: 16 } }), {}).warnings.join(), /reduced the 16-bit source to 8 bits/);
  });
  it('sizes from --scale, --width or --height', () => {
    assert.deepEqual(decideStill(facts('x.png', { source: rgb }), { scale: 2 }).size, { width: 194, height: 122 });
    assert.deepEqual(decideStill(facts('x.png', { source: rgb }), { width: 150 }).size, { width: 150, height: 94 });
    assert.deepEqual(decideStill(facts('x.png', { source: rgb }), { height: 101 }).size, { width: 161, height: 101 });
  });
  it('the encoder settings: quality 95 by default, PNG compression when given', () => {
    assert.deepEqual(decideStill(facts('x.jpg', { source: rgb }), {}).encoderArgs, ['-pix_fmt', 'yuvj444p', '-qmin', '1', '-qmax', '31', '-q:v', '2']);
    assert.deepEqual(decideStill(facts('x.webp', { source: rgb }), { quality: 70 }).encoderArgs, ['-pix_fmt', 'bgra', '-quality', '70']);
    assert.deepEqual(decideStill(facts('x.png', { source: rgb }), { pngCompression: 0 }).encoderArgs, ['-pix_fmt', 'rgb24', '-compression_level', '0']);
    assert.deepEqual([100, 95, 50, 1].map(jpegQscale), [1, 2, 11, 21]);
  });
  it('no size before the probe or for a model of unknown scale', () => {
    assert.equal(decideStill(facts('x.png'), {}).size, undefined);
    assert.equal(decideStill(withoutScale(facts('x.png', { source: rgb })), {}).size, undefined);
  });
});
