/**
 * Hostile or broken sources through the real ffprobe: each is refused with a message naming what is
 * wrong, or probed within bounded time, before anything decodes a frame it declares. Clips are made
 * in set-up with ffmpeg's lavfi sources (a few KB each); the large pictures exist only in headers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { crc32 } from 'node:zlib';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { MediaError } from './errors.ts';
import { probe } from './probe.ts';

const run = promisify(execFile);
const ffmpeg = (args: string[]): Promise<unknown> => run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', ...args]);

/**
 * A one-frame PNG video in `ext` whose PNG header (IHDR, CRC fixed up) declares `size` x `size`: the
 * 64x48 frame is muxed by ffmpeg, then its header is rewritten in place (the container keeps 64x48).
 */
async function pngDeclaring(dir: string, ext: string, size: number): Promise<string> {
  const path = join(dir, `png-declaring-${size}.${ext}`);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=64x48', '-frames:v', '1', '-c:v', 'png', path]);
  const file = Buffer.from(await readFile(path));
  const at = file.indexOf('IHDR', 0, 'latin1');
  assert.ok(at > 0 && file.readUInt32BE(at + 4) === 64, 'the PNG header is stored verbatim');
  file.writeUInt32BE(size, at + 4);
  file.writeUInt32BE(size, at + 8);
  file.writeUInt32BE(crc32(file.subarray(at, at + 17)), at + 17);
  await writeFile(path, file);
  return path;
}

/** Rewrites every 64x48 baseline JPEG frame header (SOF0) in a file to declare `size` x `size`. */
function patchSof(file: Buffer, size: number): number {
  let patched = 0;
  for (let i = file.indexOf('ffc0', 0, 'hex'); i >= 0; i = file.indexOf('ffc0', i + 2, 'hex')) {
    if (file.readUInt16BE(i + 5) === 48 && file.readUInt16BE(i + 7) === 64) {
      file.writeUInt16BE(size, i + 5);
      file.writeUInt16BE(size, i + 7);
      patched++;
    }
  }
  return patched;
}

async function refusal(path: string, opts: Parameters<typeof probe>[1] = {}): Promise<MediaError> {
  const error = await probe(path, opts).then(
    () => assert.fail(`${path} was accepted`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MediaError, String(error));
  return error;
}

describe('probe on hostile or broken sources', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const ext of ['mp4', 'mkv']) {
    it(`a zero-length .${ext} file is "empty", not a truncated or unknown file`, async () => {
      const path = join(dir, `empty.${ext}`);
      await writeFile(path, '');
      const error = await refusal(path);
      assert.equal(error.reason, 'NotAVideo');
      assert.equal(error.permanent, true);
      assert.match(error.message, /empty \(0 bytes\)/);
      assert.ok(error.message.includes(path), error.message);
    });
  }

  for (const ext of ['mov', 'mkv']) {
    it(`a PNG-in-${ext.toUpperCase()} declaring 16000x16000 is refused in seconds, naming the size and the limit`, async () => {
      const path = await pngDeclaring(dir, ext, 16000);
      const began = Date.now();
      const error = await refusal(path);
      // Unbounded, ffprobe alone allocates the 768 MB frame (800 MB RSS) to read its pixel format.
      assert.ok(Date.now() - began < 20_000, `refused after ${Date.now() - began} ms`);
      assert.equal(error.reason, 'UnsupportedInput');
      assert.equal(error.permanent, true);
      assert.match(error.message, /16000x16000 \(244 MP\), above the limit of 64 MP/);
      assert.match(error.message, /--max-pixels/);
    });
  }

  it('the pixel limit is configurable: 64x48 passes at 3072 pixels and is refused at 3071', async () => {
    const path = join(dir, 'small.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=12:d=0.5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path]);
    const p = await probe(path, { limits: { maxPixels: 64 * 48 } });
    assert.equal(p.video.frameCount, 6);
    const error = await refusal(path, { limits: { maxPixels: 64 * 48 - 1 } });
    assert.match(error.message, /video frames are 64x48 .*above the limit/);
  });

  it('MJPEG frames declaring 30000x30000 behind a 64x48 Matroska track are refused as undecodable, not "no video stream"', async () => {
    const small = join(dir, 'mjpeg.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=12', '-frames:v', '3', '-c:v', 'mjpeg', small]);
    const file = Buffer.from(await readFile(small));
    assert.equal(patchSof(file, 30000), 3);
    const path = join(dir, 'huge-mjpeg.mkv');
    await writeFile(path, file);
    const error = await refusal(path);
    assert.equal(error.reason, 'UnsupportedInput');
    assert.match(error.message, /30000x30000, beyond what ffmpeg can decode/);
  });

  it('a video stream with no frames is named as such', async () => {
    const path = join(dir, 'no-frames.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=12:d=1', '-f', 'lavfi', '-i', 'sine=d=1', '-filter:v', 'select=0', '-c:v', 'libx264', '-c:a', 'aac', path]);
    const error = await refusal(path);
    assert.equal(error.reason, 'NoVideoStream');
    assert.match(error.message, /video stream 0 \(h264\) has no frames/);
  });

  it('audio longer than the video: both durations are stated and the audio is kept whole', async () => {
    const path = join(dir, 'long-audio.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=12:d=2', '-f', 'lavfi', '-i', 'sine=d=4', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', path]);
    const p = await probe(path);
    assert.equal(p.video.frameCount, 24);
    assert.ok(Math.abs(p.video.duration - 2) < 1e-6, `video lasts ${p.video.duration} s`);
    assert.ok(p.container.duration !== null && Math.abs(p.container.duration - 4) < 0.05, `container lasts ${p.container.duration} s`);
    assert.equal(p.audio.length, 1);
    assert.equal(p.droppedStreams, undefined);
  });

  it('100 audio streams: the first 64 are kept, the rest dropped and listed, in one bounded probe', async () => {
    const base = join(dir, 'one-track.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=64x48:r=12:d=0.5', '-f', 'lavfi', '-i', 'sine=d=0.5', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-b:a', '32k', base]);
    const path = join(dir, 'many-tracks.mkv');
    await ffmpeg(['-i', base, '-map', '0:v', ...Array.from({ length: 100 }, () => ['-map', '0:a:0']).flat(), '-c', 'copy', path]);
    const began = Date.now();
    const p = await probe(path);
    const took = Date.now() - began;
    assert.equal(p.audio.length, 64);
    assert.deepEqual(p.audio.map((a) => a.index), Array.from({ length: 64 }, (_, i) => i + 1));
    assert.deepEqual(p.droppedStreams, Array.from({ length: 36 }, (_, i) => i + 65));
    assert.ok(p.audio.every((a) => a.firstPacketTime !== null), 'every kept track has its first packet time');
    // One probe call per track took 545 s for 300 tracks on a loaded 2-core machine.
    assert.ok(took < 25_000, `probed in ${took} ms`);
    const few = await probe(path, { limits: { maxStreams: 3 } });
    assert.deepEqual(few.audio.map((a) => a.index), [1, 2, 3]);
    assert.equal(few.droppedStreams?.length, 97);
  });
});
