/**
 * What the end-to-end tests check in an output video, read with the real ffprobe/ffmpeg: streams,
 * the decoded frame count, the displayed size, the video duration, subtitles as text, and whether
 * each upscaled frame shows its own source frame (after scaling back down; see
 * {@link assertFramesMatchSource}).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';
import { ffprobeJson } from '../fixtures/clips.ts';

const run = promisify(execFile);

const streamSchema = z.looseObject({
  index: z.number(),
  codec_type: z.string(),
  codec_name: z.string().optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  pix_fmt: z.string().optional(),
  color_space: z.string().optional(),
  color_primaries: z.string().optional(),
  color_transfer: z.string().optional(),
  r_frame_rate: z.string().optional(),
  duration: z.string().optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.looseObject({ rotation: z.number().optional() })).optional(),
});
export type Stream = z.infer<typeof streamSchema>;

/** All streams of a file. */
export async function streams(path: string): Promise<Stream[]> {
  return z.object({ streams: z.array(streamSchema) }).parse(await ffprobeJson(path, ['-show_streams'])).streams;
}

/** The first video stream. */
export async function videoStream(path: string): Promise<Stream> {
  const video = (await streams(path)).find((s) => s.codec_type === 'video');
  if (video === undefined) throw new Error(`${path} has no video stream`);
  return video;
}

/** Stream kinds in order, e.g. `['video', 'audio', 'subtitle']`. */
export async function streamKinds(path: string): Promise<string[]> {
  return (await streams(path)).map((s) => s.codec_type);
}

/** Frames a full decode of the first video stream yields. */
export async function decodedFrames(path: string): Promise<number> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path]);
  return Number(stdout.trim().replace(/,+$/, ''));
}

/** The size a player shows: coded size with a 90/270-degree display matrix applied. */
export function displaySize(stream: Stream): { width: number; height: number } {
  const rotation = stream.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? 0;
  const w = stream.width ?? 0;
  const h = stream.height ?? 0;
  return Math.abs(rotation) % 180 === 90 ? { width: h, height: w } : { width: w, height: h };
}

/** The video stream's duration in seconds (MP4: the stream's; Matroska: its DURATION tag, where the track ends, less its start). */
export async function videoDuration(path: string): Promise<number> {
  const video = await videoStream(path);
  if (video.duration !== undefined && video.duration !== 'N/A') return Number(video.duration);
  const tag = video.tags?.['DURATION'] ?? video.tags?.['duration'];
  const m = tag === undefined ? null : /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(tag);
  if (m === null) throw new Error(`${path}: no video duration (stream duration and DURATION tag missing)`);
  const start = video.start_time === undefined || video.start_time === 'N/A' ? 0 : Number(video.start_time);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) - start;
}

/** Seconds per frame of a constant-frame-rate stream, from `r_frame_rate`. */
export function frameSeconds(stream: Stream): number {
  const [num, den] = (stream.r_frame_rate ?? '0/1').split('/').map(Number) as [number, number];
  return den / num;
}

/** The first subtitle stream as SubRip text. */
export async function subtitlesSrt(path: string): Promise<string> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-i', path, '-map', '0:s:0', '-f', 'srt', '-']);
  return stdout;
}

/**
 * Checks that every output frame, scaled down to the source's displayed `size`, shows its own source
 * frame: luma PSNR against it above `minPsnr` (a faithful x4 upscale scores about 30 dB, a garbage or
 * flipped frame near 10), and closer to it than to the source frames just before and after it.
 *
 * The neighbour test is what an average or minimum PSNR alone misses: in slow footage a frame shifted
 * by one (a timestamp or shard-boundary bug) still scores well above 25 dB. It is scale-free: were the
 * output its own frame plus noise, its squared error against a neighbour would exceed that against
 * its own frame by the neighbours' own difference `d` (mean squared, in luma levels); the check asks
 * for at least `margin * d` of that (measured: 0.5-1.2 d for real upscales, about -d for a shift).
 * A neighbour too close to tell apart (a repeated frame, or a difference the output's own coding
 * noise swamps: {@link NEAR_IDENTICAL}, {@link NOISE_SHARE}) is not compared; a clip of more than one
 * frame must have `minCompared` (default 1) comparisons. Frames pair by decode order, output frame i with
 * source frame `first + i`.
 */
export async function assertFramesMatchSource(
  output: string,
  source: string,
  size: { width: number; height: number },
  options: { minPsnr?: number; margin?: number; first?: number; minCompared?: number } = {},
): Promise<FrameMatch> {
  const { minPsnr = 25, margin = 0.25, first = 0, minCompared = 1 } = options;
  const [out, src] = await Promise.all([lumaFrames(output, size), lumaFrames(source, size)]);
  assert.ok(out.length > 0, `${output}: no frames decoded`);
  assert.ok(first + out.length <= src.length, `${output}: ${out.length} frames from source frame ${first}, the source has ${src.length}`);
  const match: FrameMatch = { frames: out.length, minPsnr: Infinity, compared: 0 };
  for (const [i, frame] of out.entries()) {
    const j = first + i;
    const own = meanSquaredError(frame, src[j] as Buffer);
    const psnr = own === 0 ? Infinity : 10 * Math.log10((255 * 255) / own);
    match.minPsnr = Math.min(match.minPsnr, psnr);
    assert.ok(psnr > minPsnr, `output frame ${i} vs source frame ${j}: luma PSNR ${psnr.toFixed(1)} dB, want > ${minPsnr}`);
    for (const k of [j - 1, j + 1]) {
      const neighbour = src[k];
      if (neighbour === undefined) continue;
      const apart = meanSquaredError(src[j] as Buffer, neighbour);
      const other = meanSquaredError(frame, neighbour);
      // The smaller error is the output's own coding and upscaling noise, whichever frame it shows.
      if (apart < Math.max(NEAR_IDENTICAL, NOISE_SHARE * Math.min(own, other))) continue;
      assert.ok(
        other - own >= margin * apart,
        `output frame ${i} does not show source frame ${j} more than its neighbour ${k}: squared error ${own.toFixed(1)} against ${j}, ${other.toFixed(1)} against ${k} (the two source frames differ by ${apart.toFixed(1)}; want a lead of ${(margin * apart).toFixed(1)})`,
      );
      match.compared++;
    }
  }
  if (src.length > 1) {
    assert.ok(match.compared >= minCompared, `${output}: ${match.compared} neighbour comparisons, want ${minCompared}: no neighbouring frames of ${source} differ by more than the output's noise`);
  }
  return match;
}

/** What {@link assertFramesMatchSource} saw: frames checked, the lowest PSNR, neighbour comparisons made. */
export interface FrameMatch {
  frames: number;
  minPsnr: number;
  compared: number;
}

/**
 * Mean squared luma difference (levels²) below which two source frames count as the same picture:
 * the footage's repeated frames differ by 0-0.5 (compression noise), its moving ones by 2.5-11 at
 * 64x48 and 160x120, against an upscale's own error of 15 (bicubic) to 80 (Real-ESRGAN).
 */
const NEAR_IDENTICAL = 3;

/**
 * Neighbours that differ by less than this share of the output's own error are not compared: a lossy
 * output codec's noise swamps so small a difference (HEVC and AV1 at 256x192: leads of -0.4 to +1.2
 * times differences of 3-4, against errors of 80-100).
 */
const NOISE_SHARE = 0.08;

/** Every frame of the first video stream as 8-bit luma at `size` (area scaling), in decode order. */
async function lumaFrames(path: string, size: { width: number; height: number }): Promise<Buffer[]> {
  const { stdout } = await run(
    'ffmpeg',
    ['-hide_banner', '-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-fps_mode', 'passthrough', '-vf', `scale=${size.width}:${size.height}:flags=area,format=gray`, '-f', 'rawvideo', '-'],
    { encoding: 'buffer', maxBuffer: 1 << 30 },
  );
  const bytes = size.width * size.height;
  assert.equal(stdout.length % bytes, 0, `${path}: ${stdout.length} bytes of luma is not whole ${size.width}x${size.height} frames`);
  return Array.from({ length: stdout.length / bytes }, (_, i) => stdout.subarray(i * bytes, (i + 1) * bytes));
}

function meanSquaredError(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sum += d * d;
  }
  return sum / a.length;
}
