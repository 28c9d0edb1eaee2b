/**
 * `upscale run` on still images: PNG, JPEG and WebP in give the same format out (or the one the
 * output's extension names), upscaled by the same engine as video frames. Real ffmpeg, the real
 * model on the CPU (ONNX Runtime), inputs cropped from ../shared/testdata photos; the output is
 * compared with the engine's own output on the same decoded pixels, and with a bicubic resize.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createEngine, type Engine } from '../../worker/engine/engine.ts';
import { TESTDATA_DIR } from '../../worker/engine/test-frames.ts';
import { acquireRunLock } from '../../worker/run/run-lock.ts';
import { explain, upscale } from './cli.ts';

const EXIT_PERMANENT = 2;
const run = promisify(execFile);
const MODEL = ['-m', 'realesr-general-x4v3', '--ep', 'cpu', '--no-progress'];
const TIMEOUT = 180_000;

/** Packed pixels of an image (after ffmpeg's decode; `vf` e.g. `transpose=1`). */
async function raw(path: string, pixFmt: 'rgb24' | 'rgba' | 'gray', vf?: string): Promise<Uint8Array> {
  const args = ['-v', 'error', '-i', path, ...(vf !== undefined ? ['-vf', vf] : []), '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-'];
  const { stdout } = await run('ffmpeg', args, { encoding: 'buffer', maxBuffer: 2 ** 26 });
  return new Uint8Array(stdout);
}

async function stream(path: string): Promise<{ codec_name: string; width: number; height: number; pix_fmt: string }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,height,pix_fmt', '-of', 'json', path]);
  const s = (JSON.parse(stdout) as { streams: { codec_name: string; width: number; height: number; pix_fmt: string }[] }).streams[0];
  assert.ok(s, `${path} has an image stream`);
  return s;
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length, 'same number of samples');
  let sq = 0;
  for (let i = 0; i < a.length; i++) sq += ((a[i] ?? 0) - (b[i] ?? 0)) ** 2;
  return sq === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sq / a.length));
}

/** An EXIF APP1 segment holding only Orientation = `o` (big-endian TIFF). */
function exifApp1(o: number): Buffer {
  const tiff = Buffer.from([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, o, 0, 0, 0, 0, 0, 0, 0, 0]);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([header, body]);
}

describe('upscale run on a still image', () => {
  let dir: string;
  let engine: Engine;
  const photo = (name: string): string => join(TESTDATA_DIR, 'images', name);
  /** The engine's own 4x output on an image's decoded pixels. */
  const engineOut = async (path: string, width: number, height: number, vf?: string): Promise<Uint8Array> =>
    (await engine.upscale({ data: await raw(path, 'rgb24', vf), width, height, index: 0 })).data;
  const bicubic = (path: string, width: number, height: number): Promise<Uint8Array> => raw(path, 'rgb24', `scale=${width}:${height}:flags=bicubic`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-still-'));
    engine = await createEngine({ model: { id: 'realesr-general-x4v3' }, provider: 'cpu' }, { logger: pino({ level: 'silent' }) });
  });
  after(async () => {
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes a PNG as a 4x PNG, matching the engine on the same pixels', async (t) => {
    const input = join(dir, 'baboon.png');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('baboon-lq.png'), '-vf', 'crop=96:64:10:20', input]);
    const output = join(dir, 'baboon-4x.png');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    assert.equal(result.result?.['kind'], 'image');
    assert.deepEqual(await stream(output), { codec_name: 'png', width: 384, height: 256, pix_fmt: 'rgb24' });
    const got = await raw(output, 'rgb24');
    const vsEngine = psnr(got, await engineOut(input, 96, 64));
    const vsBicubic = psnr(got, await bicubic(input, 384, 256));
    t.diagnostic(`PSNR vs the engine ${vsEngine.toFixed(1)} dB, vs bicubic ${vsBicubic.toFixed(1)} dB`);
    assert.ok(vsEngine >= 40, `PSNR vs the engine ${vsEngine.toFixed(1)} dB`);
    assert.ok(vsBicubic < 35, `the model's output is not a bicubic resize (PSNR vs bicubic ${vsBicubic.toFixed(1)} dB)`);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('baboon-4x')), ['baboon-4x.png'], 'no temporary file, lock or job prefix left');
  });

  it('writes a JPEG as a JPEG at the default quality, and --quality makes it smaller', async (t) => {
    const input = join(dir, 'room.jpg');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('ADE_val_00000114.jpg'), '-vf', 'crop=96:64:40:60', '-q:v', '2', input]);
    const output = join(dir, 'room-4x.jpg');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    const s = await stream(output);
    assert.equal(s.codec_name, 'mjpeg');
    assert.deepEqual([s.width, s.height], [384, 256]);
    const got = await raw(output, 'rgb24');
    const vsEngine = psnr(got, await engineOut(input, 96, 64));
    const vsBicubic = psnr(got, await bicubic(input, 384, 256));
    t.diagnostic(`PSNR vs the engine ${vsEngine.toFixed(1)} dB, vs bicubic ${vsBicubic.toFixed(1)} dB`);
    assert.ok(vsEngine >= 40, `PSNR vs the engine ${vsEngine.toFixed(1)} dB (JPEG at quality 95; 44.7 measured)`);
    assert.ok(vsBicubic < vsEngine - 5, `closer to the engine than to bicubic (${vsBicubic.toFixed(1)} dB)`);
    const small = join(dir, 'room-q40.jpg');
    const low = await upscale(['run', '-i', input, '-o', small, ...MODEL, '--quality', '40'], { timeoutMs: TIMEOUT });
    assert.equal(low.code, 0, explain(low));
    assert.ok((await readFile(small)).length < (await readFile(output)).length * 0.7, '--quality 40 writes a smaller file');
  });

  it('writes a WebP as a WebP (libwebp), matching the engine', async (t) => {
    const input = join(dir, 'photo.webp');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('0014.jpg'), '-vf', 'crop=96:64:30:30', '-c:v', 'libwebp', '-lossless', '1', input]);
    const output = join(dir, 'photo-4x.webp');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    const s = await stream(output);
    assert.equal(s.codec_name, 'webp');
    assert.deepEqual([s.width, s.height], [384, 256]);
    const vsEngine = psnr(await raw(output, 'rgb24'), await engineOut(input, 96, 64));
    t.diagnostic(`PSNR vs the engine ${vsEngine.toFixed(1)} dB`);
    assert.ok(vsEngine >= 36, `PSNR vs the engine ${vsEngine.toFixed(1)} dB (lossy 4:2:0 WebP at quality 95; 41.2 measured)`);
  });

  it('keeps a PNG alpha channel (lanczos-resized, logged) and drops it with a warning into a JPEG', async () => {
    const input = join(dir, 'alpha.png');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('comic-lq.png'), '-vf', "crop=48:40:6:30,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='X*255/W'", input]);
    assert.equal((await stream(input)).pix_fmt, 'rgba');
    const output = join(dir, 'alpha-4x.png');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /kept the alpha channel: resized with lanczos/);
    assert.deepEqual(await stream(output), { codec_name: 'png', width: 192, height: 160, pix_fmt: 'rgba' });
    const alpha = await raw(output, 'gray', 'alphaextract');
    const expected = await raw(input, 'gray', 'alphaextract,scale=192:160:flags=lanczos');
    assert.ok(psnr(alpha, expected) >= 45, `alpha vs a lanczos resize: ${psnr(alpha, expected).toFixed(1)} dB`);
    assert.ok((alpha[0] ?? 255) < 16 && (alpha[191] ?? 0) > 240, 'the gradient runs from transparent to opaque');
    const rgba = await raw(output, 'rgba');
    const rgb = new Uint8Array((rgba.length / 4) * 3).map((_, i) => rgba[Math.floor(i / 3) * 4 + (i % 3)] ?? 0);
    const vsEngine = psnr(rgb, await engineOut(input, 48, 40));
    assert.ok(vsEngine >= 40, `colour vs the engine: ${vsEngine.toFixed(1)} dB`);

    const jpeg = join(dir, 'alpha-4x.jpg');
    const dropped = await upscale(['run', '-i', input, '-o', jpeg, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(dropped.code, 0, explain(dropped));
    assert.match(dropped.stderr, /"level":40.*dropped the alpha channel: .*alpha-4x\.jpg is a JPEG/);
    assert.match(dropped.stderr, /writing jpeg for .*\(the input is png\)/);
    assert.equal((await stream(jpeg)).codec_name, 'mjpeg');
  });

  it('upscales an odd size (97x61), detects a PNG by content under a video name, and takes --scale and --width', async () => {
    const input = join(dir, 'odd.mp4');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('baboon-lq.png'), '-vf', 'crop=97:61:3:5', '-f', 'image2', '-c:v', 'png', input]);
    const four = join(dir, 'odd-4x.png');
    const r4 = await upscale(['run', '-i', input, '-o', four, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(r4.code, 0, explain(r4));
    assert.deepEqual([(await stream(four)).width, (await stream(four)).height], [388, 244]);
    assert.ok(psnr(await raw(four, 'rgb24'), await engineOut(input, 97, 61)) >= 40, 'odd size matches the engine');
    const two = join(dir, 'odd-2x.png');
    const r2 = await upscale(['run', '-i', input, '-o', two, ...MODEL, '--scale', '2'], { timeoutMs: TIMEOUT });
    assert.equal(r2.code, 0, explain(r2));
    assert.deepEqual([(await stream(two)).width, (await stream(two)).height], [194, 122]);
    const wide = join(dir, 'odd-w150.png');
    const rw = await upscale(['run', '-i', input, '-o', wide, ...MODEL, '--width', '150'], { timeoutMs: TIMEOUT });
    assert.equal(rw.code, 0, explain(rw));
    assert.deepEqual([(await stream(wide)).width, (await stream(wide)).height], [150, 94], 'height keeps the aspect, odd sizes allowed');
  });

  it('tiles a photo (--tile 32: 4x2 tiles of 97x61) to the same pixels as one untiled run', async () => {
    const input = join(dir, 'tiled.png');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('baboon-lq.png'), '-vf', 'crop=97:61:20:40', input]);
    const output = join(dir, 'tiled-4x.png');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL, '--tile', '32'], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /"tileSize":32/);
    const vsEngine = psnr(await raw(output, 'rgb24'), await engineOut(input, 97, 61));
    assert.ok(vsEngine >= 40, `tiled vs untiled engine output: ${vsEngine.toFixed(1)} dB`);
  });

  it('holds the run lock of the output: a run on an output another run is writing is refused', async () => {
    const input = join(dir, 'locked-in.png');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('comic-lq.png'), '-vf', 'crop=32:32:10:30', input]);
    const out = join(dir, 'locked');
    await mkdir(out);
    const output = join(out, 'locked.png');
    const lock = await acquireRunLock(output);
    try {
      const result = await upscale(['run', '-i', input, '-o', output, ...MODEL], { timeoutMs: 60_000 });
      assert.equal(result.code, EXIT_PERMANENT, explain(result));
      assert.match(result.message, new RegExp(`output .*locked\\.png is being written by another upscale run \\(pid ${process.pid}`));
      assert.doesNotMatch(result.stderr, /Started inference engine/);
    } finally {
      await lock.release();
    }
    assert.ok(!(await readdir(out)).includes('locked.png'), 'no output written');
  });

  it('applies the EXIF orientation of a JPEG (6: rotate 90 degrees clockwise)', async () => {
    const plain = join(dir, 'plain.jpg');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('0014.jpg'), '-vf', 'crop=64:48:40:40', '-q:v', '2', plain]);
    const bytes = await readFile(plain);
    const input = join(dir, 'rotated.jpg');
    await writeFile(input, Buffer.concat([bytes.subarray(0, 2), exifApp1(6), bytes.subarray(2)]));
    const output = join(dir, 'rotated-4x.jpg');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL, '--quality', '100'], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    assert.deepEqual([(await stream(output)).width, (await stream(output)).height], [192, 256], 'stored 64x48, upright 48x64');
    const upright = psnr(await raw(output, 'rgb24'), await engineOut(plain, 48, 64, 'transpose=1'));
    assert.ok(upright >= 38, `matches the engine on the turned pixels: ${upright.toFixed(1)} dB`);
  });

  it('says a 16-bit PNG is reduced to 8 bits', async () => {
    const input = join(dir, 'deep.png');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('comic-lq.png'), '-vf', 'crop=32:32:10:30', '-pix_fmt', 'rgb48be', input]);
    const output = join(dir, 'deep-4x.png');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL], { timeoutMs: TIMEOUT });
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /reduced the 16-bit source to 8 bits per channel/);
    assert.deepEqual(await stream(output), { codec_name: 'png', width: 128, height: 128, pix_fmt: 'rgb24' });
  });

  describe('refuses before any work', () => {
    let input: string;
    before(async () => {
      input = join(dir, 'small.png');
      await run('ffmpeg', ['-v', 'error', '-y', '-i', photo('comic-lq.png'), '-vf', 'crop=32:32:10:30', input]);
    });
    const cases: { name: string; output: string; extra?: string[]; code?: number; mentions: RegExp }[] = [
      { name: 'a video output', output: 'x.mp4', mentions: /-o\/--output .*x\.mp4: the input .*small\.png is a still image \(png\) and .*x\.mp4 has a video extension: write a still image \(\.png, \.jpg, \.jpeg, \.webp\)/ },
      { name: 'an unknown extension', output: 'x.gif', mentions: /x\.gif has an unsupported output extension/ },
      { name: '--quality for a PNG', output: 'x.png', extra: ['--quality', '80'], mentions: /--quality 80: .*x\.png is a PNG, which is lossless/ },
      { name: '--png-compression for a JPEG', output: 'x.jpg', extra: ['--png-compression', '3'], mentions: /--png-compression 3: .*x\.jpg is a JPEG, not a PNG/ },
      { name: '--crf for an image', output: 'x.png', extra: ['--crf', '20'], mentions: /--crf: the input .* is a still image .*these options set the video encoder/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const out = join(dir, `refused-${c.name.replace(/\W+/g, '-')}`);
        await mkdir(out);
        const result = await upscale(['run', '-i', input, '-o', join(out, c.output), ...MODEL, ...(c.extra ?? [])], { timeoutMs: 60_000 });
        assert.equal(result.code, EXIT_PERMANENT, explain(result));
        assert.match(result.message, c.mentions, explain(result));
        assert.doesNotMatch(result.stderr, /Started inference engine/);
        assert.deepEqual(await readdir(out), [], 'nothing left in the output folder');
      });
    }

    it('the input as the output, even with --overwrite, and an existing output without it', async () => {
      const same = await upscale(['run', '-i', input, '-o', input, ...MODEL, '--overwrite'], { timeoutMs: 60_000 });
      assert.equal(same.code, EXIT_PERMANENT, explain(same));
      assert.match(same.message, /is the input .*small\.png: the output cannot replace its input/);
      const taken = join(dir, 'taken.png');
      await writeFile(taken, 'keep me');
      const exists = await upscale(['run', '-i', input, '-o', taken, ...MODEL], { timeoutMs: 60_000 });
      assert.equal(exists.code, EXIT_PERMANENT, explain(exists));
      assert.match(exists.message, /taken\.png: the file already exists \(pass --overwrite/);
      assert.equal(await readFile(taken, 'utf8'), 'keep me');
    });

    it('--quality for a video input', async () => {
      const video = join(dir, 'v.mp4');
      await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=64x48:d=0.2', '-pix_fmt', 'yuv420p', video]);
      const result = await upscale(['run', '-i', video, '-o', join(dir, 'v-out.mp4'), ...MODEL, '--quality', '90'], { timeoutMs: 60_000 });
      assert.equal(result.code, EXIT_PERMANENT, explain(result));
      assert.match(result.message, /--quality 90: it sets a still image's encoder, and .*v\.mp4 is not a PNG, JPEG or WebP image/);
    });
  });
});
