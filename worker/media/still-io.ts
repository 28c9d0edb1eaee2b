/**
 * The ffmpeg side of still images: probe one, decode it upright to raw RGB(A), resize an alpha
 * plane, encode raw pixels to PNG, JPEG or WebP. The demuxer is forced from the sniffed format
 * (`png_pipe`, `jpeg_pipe`, `webp_pipe`), so a file name is never read as an image2 pattern, and
 * ffmpeg's own rotation is off: the EXIF orientation read from the bytes is applied instead.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { UpscaleError } from '../errors.ts';
import { exifOrientation, orientationFilter, swapsAxes, type Orientation } from './exif-orientation.ts';
import { ffmpegPath, GLOBAL_OPTIONS } from './ffmpeg-run.ts';
import { ffprobePath } from './ffprobe-run.ts';
import type { StillFormat } from './still-format.ts';

const DEMUXERS: Record<StillFormat, string> = { png: 'png_pipe', jpeg: 'jpeg_pipe', webp: 'webp_pipe' };
const ALPHA_FORMATS = /^(rgba|bgra|argb|abgr|ya8|ya16|yuva|gbrap|pal8|rgba64|bgra64)/;
const DEEP_FORMATS = /(48|64|16)(le|be)?$/;

export interface StillProbe {
  /** Upright size (orientation applied). */
  width: number;
  height: number;
  bitDepth: 8 | 16;
  alpha: boolean;
  pixFmt: string;
  orientation: Orientation;
}

/** Reads the image's size, pixel format and orientation. @throws UpscaleError InvalidInput naming the input */
export async function probeStill(input: string, format: StillFormat): Promise<StillProbe> {
  const orientation = exifOrientation(await readFile(input));
  const { stdout } = await runTool(
    ffprobePath(),
    ['-v', 'error', '-f', DEMUXERS[format], '-select_streams', 'v:0', '-show_entries', 'stream=width,height,pix_fmt', '-of', 'json', 'file:' + input],
    input,
    'probing the image',
  );
  const stream = (JSON.parse(stdout.toString('utf8')) as { streams?: { width?: number; height?: number; pix_fmt?: string }[] }).streams?.[0];
  if (stream?.width === undefined || stream.height === undefined || stream.width < 1 || stream.height < 1) {
    throw new UpscaleError('InvalidInput', `-i/--input ${input}: the ${format} image has no readable size (a damaged or cut file?)`, { subject: input });
  }
  const pixFmt = stream.pix_fmt ?? 'unknown';
  const swap = swapsAxes(orientation);
  return {
    width: swap ? stream.height : stream.width,
    height: swap ? stream.width : stream.height,
    bitDepth: DEEP_FORMATS.test(pixFmt) ? 16 : 8,
    alpha: ALPHA_FORMATS.test(pixFmt),
    pixFmt,
    orientation,
  };
}

/** The image upright as packed `rgb24` or `rgba` bytes (sRGB, as stored). */
export async function decodeStill(input: string, format: StillFormat, probe: StillProbe, pixFmt: 'rgb24' | 'rgba'): Promise<Uint8Array> {
  const filters = [...orientationFilter(probe.orientation), `format=${pixFmt}`];
  const { stdout } = await runTool(
    ffmpegPath(),
    [...GLOBAL_OPTIONS, '-v', 'error', '-noautorotate', '-f', DEMUXERS[format], '-i', 'file:' + input, '-frames:v', '1', '-vf', filters.join(','), '-f', 'rawvideo', '-pix_fmt', pixFmt, 'pipe:1'],
    input,
    'decoding the image',
  );
  const expected = probe.width * probe.height * (pixFmt === 'rgba' ? 4 : 3);
  if (stdout.byteLength !== expected) {
    throw new UpscaleError('InvalidInput', `-i/--input ${input}: decoding gave ${stdout.byteLength} bytes, expected ${expected} (${probe.width}x${probe.height} ${pixFmt}): a damaged file?`, { subject: input });
  }
  return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
}

/** An 8-bit alpha plane resized with lanczos (clamped to 0-255 by swscale). */
export async function resizeAlpha(alpha: Uint8Array, from: { width: number; height: number }, to: { width: number; height: number }): Promise<Uint8Array> {
  const { stdout } = await runTool(
    ffmpegPath(),
    [...GLOBAL_OPTIONS, '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${from.width}x${from.height}`, '-i', 'pipe:0', '-vf', `scale=${to.width}:${to.height}:flags=lanczos`, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
    'alpha',
    'resizing the alpha channel',
    alpha,
  );
  return new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.byteLength);
}

/** Writes raw pixels as one image to `path` (a temporary file; the caller publishes it). */
export async function encodeStill(
  pixels: Uint8Array,
  size: { width: number; height: number },
  pixFmt: 'rgb24' | 'rgba',
  encoder: { name: string; args: readonly string[] },
  path: string,
  output: string,
): Promise<void> {
  await runTool(
    ffmpegPath(),
    [
      ...GLOBAL_OPTIONS, '-v', 'error', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${size.width}x${size.height}`, '-i', 'pipe:0',
      '-frames:v', '1', '-c:v', encoder.name, ...encoder.args, '-f', 'image2pipe', '-y', 'file:' + path,
    ],
    output,
    `encoding ${encoder.name}`,
    pixels,
  );
}

/** Runs ffmpeg or ffprobe to completion; a failure names the subject and ffmpeg's last lines. */
function runTool(bin: string, args: readonly string[], subject: string, doing: string, stdin?: Uint8Array): Promise<{ stdout: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
    child.on('error', (cause) => reject(new UpscaleError('Unsupported', `${doing} ${subject}: cannot start ${bin} (${cause.message})`, { subject, cause })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve({ stdout: Buffer.concat(out) });
      const last = err.trim().split('\n').slice(-3).join('; ') || `exit ${code ?? signal}`;
      reject(new UpscaleError('InvalidInput', `${doing} ${subject}: ${bin} failed: ${last}`, { subject }));
    });
    if (stdin !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    }
  });
}
