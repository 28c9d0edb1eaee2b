/**
 * Test and benchmark helper: real frames from ../shared/testdata decoded to rgb24 with ffmpeg
 * (no synthetic images: the models' behaviour on real content is what the tests are about).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { InputFrame } from './frame-prep.ts';

const run = promisify(execFile);

/** The shared test data folder: $UPSCALE_TESTDATA, default ../shared/testdata beside the repository. */
export const TESTDATA_DIR = process.env['UPSCALE_TESTDATA'] ?? fileURLToPath(new URL('../../../shared/testdata/', import.meta.url));

async function rawRgb(args: readonly string[], width: number, height: number, count: number): Promise<Uint8Array> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', ...args, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 512 * 2 ** 20 });
  const expected = width * height * 3 * count;
  if (stdout.byteLength !== expected) throw new Error(`ffmpeg gave ${stdout.byteLength} bytes, expected ${expected} (${count} x ${width}x${height} rgb24)`);
  return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
}

/** An image from testdata/images scaled (bicubic) to width x height, as frame `index`. */
export async function imageFrame(name: string, width: number, height: number, index = 0): Promise<InputFrame> {
  const data = await rawRgb(['-i', join(TESTDATA_DIR, 'images', name), '-vf', `scale=${width}:${height}:flags=bicubic`], width, height, 1);
  return { data, width, height, index };
}

/**
 * `count` consecutive frames of onepiece_demo.mp4 from `start` (frame number), scaled to
 * width x height, indexed from `start`.
 */
export async function videoFrames(start: number, count: number, width: number, height: number): Promise<InputFrame[]> {
  const data = await rawRgb(
    ['-i', join(TESTDATA_DIR, 'onepiece_demo.mp4'), '-vf', `select=gte(n\\,${start}),scale=${width}:${height}:flags=bicubic`, '-frames:v', String(count), '-fps_mode', 'passthrough'],
    width,
    height,
    count,
  );
  const size = width * height * 3;
  return Array.from({ length: count }, (_, k) => ({ data: data.slice(k * size, (k + 1) * size), width, height, index: start + k }));
}

/** Largest absolute difference between two equal-length byte arrays. */
export function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`comparing ${a.length} bytes with ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}
