import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpscaleError } from '../errors.ts';
import { decideOutput, outputSize, type OutputChoices, type OutputFacts, type SourceFacts } from './output-decision.ts';

const CPU = { h264: { encoder: 'libx264' }, hevc: { encoder: 'libx265' }, av1: { encoder: 'libsvtav1' }, ffv1: { encoder: 'ffv1' } } as const;

function facts(output: string, extra: Partial<OutputFacts> = {}): OutputFacts {
  return { output, input: 'in.mp4', outputIsDirectory: false, sameFile: false, encoders: CPU, modelScale: 4, ...extra };
}
const src8: SourceFacts = { width: 64, height: 48, bitDepth: 8, otherVideo: [] };
const src10: SourceFacts = { ...src8, bitDepth: 10 };

function refused(f: OutputFacts, c: OutputChoices, code: string, message: RegExp): void {
  assert.throws(
    () => decideOutput(f, c),
    (e: unknown) => e instanceof UpscaleError && e.code === code && message.test(e.message) && e.permanent,
  );
}

describe('decideOutput refuses', () => {
  const cases: { name: string; f: OutputFacts; c: OutputChoices; code: string; message: RegExp }[] = [
    { name: 'an .avi output', f: facts('x.avi'), c: {}, code: 'Unsupported', message: /-o\/--output x\.avi: unsupported output extension \(use one of \.mp4/ },
    { name: 'a .gif output', f: facts('x.gif'), c: {}, code: 'Unsupported', message: /x\.gif: unsupported output extension/ },
    { name: 'a .png output', f: facts('x.png'), c: {}, code: 'Unsupported', message: /x\.png: unsupported output extension for a video input: it names a still image format/ },
    { name: 'a .JPG output', f: facts('x.JPG'), c: {}, code: 'Unsupported', message: /x\.JPG: unsupported output extension for a video input/ },
    { name: 'an output without an extension', f: facts('out'), c: {}, code: 'Unsupported', message: /out: unsupported output extension/ },
    { name: 'a directory as output', f: facts('clips', { outputIsDirectory: true }), c: {}, code: 'InvalidArgument', message: /clips is a directory: name the output file/ },
    { name: 'the input as output', f: facts('in.mp4', { sameFile: true }), c: {}, code: 'InvalidArgument', message: /is the input in\.mp4.*even with --overwrite/ },
    { name: 'h264 named for .webm', f: facts('x.webm'), c: { codec: 'h264' }, code: 'Unsupported', message: /--codec h264 cannot be stored in x\.webm \(\.webm takes av1\)/ },
    { name: 'ffv1 into .mp4', f: facts('x.mp4'), c: { codec: 'ffv1' }, code: 'Unsupported', message: /--codec ffv1 cannot be stored in x\.mp4/ },
    { name: 'hevc into .webm', f: facts('x.webm'), c: { codec: 'hevc' }, code: 'Unsupported', message: /--codec hevc cannot be stored/ },
    { name: 'a bogus preset', f: facts('x.mp4'), c: { preset: 'bogus' }, code: 'InvalidArgument', message: /--preset bogus is not a preset of libx264 \(--codec h264\): use ultrafast/ },
    { name: 'an x264 preset for SVT-AV1', f: facts('x.mp4'), c: { codec: 'av1', preset: 'medium' }, code: 'InvalidArgument', message: /--preset medium is not a preset of libsvtav1.*use 0-13/ },
    { name: 'an x264 preset for a .webm (AV1 by default)', f: facts('x.webm'), c: { preset: 'slow' }, code: 'InvalidArgument', message: /libsvtav1/ },
    { name: 'CRF 60 for h264', f: facts('x.mp4'), c: { codec: 'h264', crf: 60 }, code: 'InvalidArgument', message: /--crf 60 is outside the CRF range of libx264 \(--codec h264\): use 0-51/ },
    { name: 'CRF 52 for hevc', f: facts('x.mkv'), c: { codec: 'hevc', crf: 52 }, code: 'InvalidArgument', message: /libx265.*0-51/ },
    { name: 'CRF 60 without a codec for .mp4 (h264 or hevc, both 0-51)', f: facts('x.mp4'), c: { crf: 60 }, code: 'InvalidArgument', message: /0-51/ },
    { name: 'a preset with lossless ffv1', f: facts('x.mkv'), c: { codec: 'ffv1', preset: 'fast' }, code: 'InvalidArgument', message: /ffv1.*lossless and takes no preset/ },
    { name: 'a CRF with lossless ffv1', f: facts('x.mkv'), c: { codec: 'ffv1', crf: 10 }, code: 'InvalidArgument', message: /lossless and takes no CRF/ },
    { name: 'an NVENC preset for x264', f: facts('x.mp4'), c: { preset: 'p5' }, code: 'InvalidArgument', message: /not a preset of libx264/ },
    { name: 'scale and width together', f: facts('x.mp4'), c: { scale: 2, width: 200 }, code: 'InvalidArgument', message: /--scale and --width\/--height/ },
    {
      name: 'a codec whose encoder is missing',
      f: facts('x.mp4', { encoders: { ...CPU, av1: { unavailable: 'this ffmpeg build has no libsvtav1 encoder' } } }),
      c: { codec: 'av1' },
      code: 'Unsupported',
      message: /--codec av1: this ffmpeg build has no libsvtav1/,
    },
  ];
  for (const c of cases) it(c.name, () => refused(c.f, c.c, c.code, c.message));
});

describe('decideOutput chooses', () => {
  it('h264 for an 8-bit source into .mp4 when no codec is named', () => {
    const d = decideOutput(facts('x.mp4', { source: src8 }), {});
    assert.equal(d.codec, 'h264');
    assert.equal(d.encoder, 'libx264');
    assert.match(d.notes.join('\n'), /chose h264/);
  });
  it('AV1 for .webm when no codec is named', () => {
    assert.equal(decideOutput(facts('x.webm'), {}).codec, 'av1');
    assert.equal(decideOutput(facts('x.webm', { source: src8 }), { preset: '8', crf: 63 }).encoder, 'libsvtav1');
  });
  it('HEVC Main 10 tagged hvc1 for a 10-bit source into .mp4, and says why', () => {
    const d = decideOutput(facts('x.mp4', { source: src10 }), {});
    assert.equal(d.codec, 'hevc');
    assert.match(d.notes.join('\n'), /chose hevc \(libx265, Main 10, tagged hvc1\).*10-bit.*H\.264 High 10/);
  });
  it('the named codec for a 10-bit source, without a note', () => {
    const d = decideOutput(facts('x.mkv', { source: src10 }), { codec: 'h264' });
    assert.equal(d.codec, 'h264');
    assert.deepEqual(d.notes, []);
  });
  it('the next default codec when the first has no encoder here', () => {
    const d = decideOutput(facts('x.mp4', { source: src10, encoders: { ...CPU, hevc: { unavailable: 'no libx265' } } }), {});
    assert.equal(d.codec, 'av1');
  });
  it('an even size for 4:2:0 and says so (--scale 3 on 161x121)', () => {
    const d = decideOutput(facts('x.mp4', { source: { ...src8, width: 161, height: 121 } }), { scale: 3 });
    assert.deepEqual(d.size, { width: 482, height: 362 });
    assert.match(d.notes.join('\n'), /output size 483x363 made even: 482x362 \(libx264 encodes 4:2:0/);
  });
  it('an odd size kept for 10-bit FFV1 (4:4:4)', () => {
    const d = decideOutput(facts('x.mkv', { source: { ...src10, width: 161, height: 121 } }), { codec: 'ffv1', scale: 3 });
    assert.deepEqual(d.size, { width: 483, height: 363 });
  });
  it('a note for each dropped second video stream', () => {
    const d = decideOutput(facts('x.mkv', { source: { ...src8, otherVideo: [{ index: 2, codec: 'mpeg4' }] } }), {});
    assert.match(d.notes.join('\n'), /video stream 2 \(mpeg4\) dropped: only the first video stream is upscaled/);
  });
  it('no size for a custom model of unknown scale', () => {
    const { modelScale: _m, ...rest } = facts('x.mp4', { source: src8 });
    assert.equal(decideOutput(rest, {}).size, undefined);
  });
});

describe('outputSize', () => {
  it('is the model scale by default', () => assert.deepEqual(outputSize({ width: 64, height: 48 }, 4, {}, true), { width: 256, height: 192, requested: { width: 256, height: 192 } }));
  it('keeps the aspect with only a width', () => assert.deepEqual(outputSize({ width: 64, height: 48 }, 4, { width: 100 }, false), { width: 100, height: 75, requested: { width: 100, height: 75 } }));
  it('keeps the aspect with only a height, then evens it', () => assert.deepEqual(outputSize({ width: 64, height: 48 }, 4, { height: 75 }, true), { width: 100, height: 74, requested: { width: 100, height: 75 } }));
  it('takes both width and height as given', () => assert.deepEqual(outputSize({ width: 64, height: 48 }, 4, { width: 129, height: 97 }, true), { width: 128, height: 96, requested: { width: 129, height: 97 } }));
});
