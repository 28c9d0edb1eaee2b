/**
 * What the end-to-end tests check in an output video, read with the real ffprobe/ffmpeg: streams,
 * the decoded frame count, the displayed size, the video duration, subtitles as text, and how close
 * the upscaled frames are to the source frames (PSNR after scaling back down).
 */
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

/** The video stream's duration in seconds (MP4: the stream's; Matroska: its DURATION tag). */
export async function videoDuration(path: string): Promise<number> {
  const video = await videoStream(path);
  if (video.duration !== undefined && video.duration !== 'N/A') return Number(video.duration);
  const tag = video.tags?.['DURATION'] ?? video.tags?.['duration'];
  const m = tag === undefined ? null : /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(tag);
  if (m === null) throw new Error(`${path}: no video duration (stream duration and DURATION tag missing)`);
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
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
 * PSNR (dB) of the output's frames scaled down to the source's displayed size against the source's
 * frames, paired by timestamp: about 30 dB for a faithful upscale, near 10 for a flipped, shifted or
 * garbage frame.
 */
export async function psnrAgainstSource(output: string, source: string, size: { width: number; height: number }): Promise<{ average: number; min: number }> {
  const { stderr } = await run('ffmpeg', [
    '-hide_banner', '-nostdin', '-i', output, '-i', source,
    '-lavfi', `[0:v]scale=${size.width}:${size.height}:flags=area,format=yuv420p[a];[1:v]format=yuv420p[b];[a][b]psnr`,
    '-f', 'null', '-',
  ]);
  const m = /PSNR .*average:([\d.]+|inf) min:([\d.]+|inf)/.exec(stderr);
  if (m === null) throw new Error(`no PSNR in ffmpeg's output:\n${stderr.slice(-2000)}`);
  return { average: Number(m[1] === 'inf' ? Infinity : m[1]), min: Number(m[2] === 'inf' ? Infinity : m[2]) };
}
