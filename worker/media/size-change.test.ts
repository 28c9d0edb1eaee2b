/**
 * A video whose frame size changes mid-stream, through the real ffmpeg: two H.264 streams of the
 * footage, 60 frames at 160x120 then 24 at 320x240, joined as one elementary stream (the second SPS
 * changes the size, as at a broadcast's resolution switch or a `cat` of two clips) and muxed into
 * Matroska and MPEG-TS. The probe decodes the first 48 packets only and sees a 160x120 video of 84
 * frames.
 * Extraction used to wait forever on it (ffmpeg restarts `showinfo`'s frame numbers when the size
 * changes) and decoded frames past `--max-pixels` without a limit.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { sourceVideo } from '../../test/fixtures/clips.ts';
import { exitCodeFor } from '../errors.ts';
import { MediaError } from './errors.ts';
import { extractFrames } from './extract.ts';
import { probe } from './probe.ts';
import type { Probe } from './probe-schema.ts';

const run = promisify(execFile);
const ffmpeg = (args: string[]): Promise<unknown> => run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', ...args]);

/** Between the two sizes: 160x120 (192x120 as the decoder allocates it, 64-aligned) passes, 320x240 does not. */
const LIMIT = 50_000;
// Before the fix extraction hung: a bound turns that into a failure instead of a stalled suite.
const BOUNDED = { timeout: 120_000 };
/** The first frame at 320x240 (frames before it are 160x120). */
const CHANGE = 60;

async function sizeChanging(dir: string, ext: string): Promise<string> {
  const part = async (size: string, seek: string, frames: number): Promise<Buffer> => {
    const path = join(dir, `${size}.h264`);
    await ffmpeg(['-ss', seek, '-i', sourceVideo(), '-vf', `scale=${size.replace('x', ':')}`, '-frames:v', String(frames), '-an', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '12', '-f', 'h264', path]);
    return readFile(path);
  };
  const joined = join(dir, 'joined.h264');
  await writeFile(joined, Buffer.concat([await part('160x120', '0', CHANGE), await part('320x240', '3', 24)]));
  const path = join(dir, `size-change.${ext}`);
  await ffmpeg(['-f', 'h264', '-framerate', '24', '-i', joined, '-c', 'copy', path]);
  return path;
}

async function refusal(p: Probe, path: string, start: number, end: number): Promise<MediaError> {
  let delivered = 0;
  const error = await (async () => {
    for await (const frame of extractFrames({ input: path, probe: p, start, end })) {
      assert.equal(frame.data.length, 160 * 120 * 3);
      delivered++;
    }
  })().then(
    () => assert.fail(`frames [${start},${end}) of ${path} were all delivered`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof MediaError, String(error));
  assert.equal(error.reason, 'UnsupportedInput');
  assert.equal(exitCodeFor(error), 2, 'permanent: a retry decodes the same frames');
  assert.ok(error.message.includes(path) && error.message.includes(`frames [${start},${end})`), error.message);
  assert.ok(delivered <= Math.max(0, CHANGE - start), `${delivered} frames delivered, some of them past the change`);
  return error;
}

describe('a video whose frame size changes mid-stream', () => {
  let dir: string;
  const paths = new Map<string, Promise<string>>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'size-change-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const source = (ext: string): Promise<string> => {
    let p = paths.get(ext);
    if (p === undefined) paths.set(ext, (p = sizeChanging(dir, ext)));
    return p;
  };

  for (const ext of ['mkv', 'ts']) {
    it(`(.${ext}, below the limit) is refused at the first frame of the new size, naming both sizes`, BOUNDED, async () => {
      const path = await source(ext);
      const p = await probe(path);
      assert.deepEqual([p.video.displayWidth, p.video.displayHeight, p.video.frameCount], [160, 120, CHANGE + 24]);
      // The frames before the change are fine.
      let before = 0;
      for await (const frame of extractFrames({ input: path, probe: p, start: 50, end: CHANGE })) before += frame.data.length === 160 * 120 * 3 ? 1 : 0;
      assert.equal(before, CHANGE - 50);
      for (const [start, end, first] of [[56, 66, CHANGE], [70, 80, 70]] as const) {
        const error = await refusal(p, path, start, end);
        assert.match(error.message, new RegExp(`frame ${first} is 320x240, but the video starts at 160x120: its frame size changes mid-stream`));
        assert.match(error.message, /scale it to one size first \(ffmpeg -vf scale=160:120\)/);
      }
    });
  }

  it('past the probe\'s --max-pixels is refused by the decoder, naming the size and the limit', BOUNDED, async () => {
    const path = await source('mkv');
    const p = await probe(path, { limits: { maxPixels: LIMIT } });
    // The probe accepted the first frames and records the limit for the shard steps.
    assert.equal(p.maxPixels, LIMIT);
    const error = await refusal(p, path, 56, 66);
    assert.match(error.message, /the video starts at 160x120, but its frames grow mid-stream, refused by the decoder: video frames are 320x240 \(0\.07 MP\), above the limit of 0\.05 MP \(50000 pixels\); raise it with --max-pixels/);
  });

  it('past --max-pixels in a probe that decodes the whole stream is refused, not left out of the frame index', BOUNDED, async () => {
    const path = await source('mkv');
    const error = await probe(path, { decode: 'always', limits: { maxPixels: LIMIT } }).then(
      (p) => assert.fail(`probed as ${p.video.frameCount} frames`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof MediaError, String(error));
    assert.equal(error.reason, 'UnsupportedInput');
    assert.match(error.message, /frames grow mid-stream, refused by the decoder: video frames are 320x240 .*above the limit of 0\.05 MP \(50000 pixels\)/);
  });
});
