/**
 * Bounds on what a source may declare, decided before anything is decoded. A 9 KB file can declare
 * a 16000x16000 picture: ffprobe alone then allocates 800 MB to find its pixel format, and every
 * extracted frame would be 768 MB of RGB. A file with 300 audio tracks costs a probe call per track
 * and a 300-stream output. So the probe passes `-max_pixels` to the decoder (ffmpeg refuses the frame
 * before allocating it) and refuses any stream that declares more, and keeps at most `maxStreams`
 * audio and subtitle streams (in file order), saying which it dropped.
 */
import { z } from 'zod';

import { DEFAULT_MAX_PIXELS, DEFAULT_MAX_STREAMS, FFMPEG_MAX_PIXELS } from './input-limit-defaults.ts';

export { DEFAULT_MAX_PIXELS, DEFAULT_MAX_STREAMS, FFMPEG_MAX_PIXELS };

export const inputLimitsSchema = z.object({
  /** Largest picture (width x height, in pixels) a source's video may declare or decode to. */
  maxPixels: z.int().min(1).max(FFMPEG_MAX_PIXELS).default(DEFAULT_MAX_PIXELS),
  /** Most audio and subtitle streams kept; those after are dropped with a warning. */
  maxStreams: z.int().min(0).max(10_000).default(DEFAULT_MAX_STREAMS),
});
export type InputLimits = z.output<typeof inputLimitsSchema>;
export const DEFAULT_INPUT_LIMITS: InputLimits = { maxPixels: DEFAULT_MAX_PIXELS, maxStreams: DEFAULT_MAX_STREAMS };

/** "64 MP" / "0.3 MP": a pixel count people can read. */
export function megapixels(pixels: number): string {
  const mp = pixels / 2 ** 20;
  const digits = mp >= 10 ? 0 : mp >= 0.1 ? 1 : 2; // a 50,000-pixel limit is 0.05 MP, not "0 MP"
  return `${Math.round(mp * 10 ** digits) / 10 ** digits} MP`;
}

/**
 * Why a picture size is refused, or undefined when it is within the limit. The message names the size,
 * the limit and how to raise it.
 */
export function frameSizeRefusal(width: number, height: number, maxPixels: number): string | undefined {
  if (width * height <= maxPixels) return undefined;
  return `video frames are ${width}x${height} (${megapixels(width * height)}), above the limit of ${megapixels(maxPixels)} (${maxPixels} pixels); raise it with --max-pixels (UpscaleJob spec.inputLimits.maxPixels, task field limits.maxPixels) if this is intended`;
}

/**
 * The picture size ffmpeg's decoder refused in its stderr: above `-max_pixels`, or beyond what ffmpeg
 * can allocate at all ("Picture size 30000x30000 is invalid"). Undefined when it refused none.
 */
export function refusedPictureIn(stderr: readonly string[]): RefusedPicture | undefined {
  for (const line of stderr) {
    const m = /Picture size (\d+)x(\d+) (exceeds specified max pixel count|is invalid)/.exec(line);
    if (m) return { width: Number(m[1]), height: Number(m[2]), beyondFfmpeg: m[3] === 'is invalid' };
  }
  return undefined;
}

export interface RefusedPicture {
  width: number;
  height: number;
  beyondFfmpeg: boolean;
}

/** A refused picture in words: its size and the limit it is over (or that ffmpeg cannot decode it). */
export function pictureRefusal(p: RefusedPicture, maxPixels: number): string {
  if (p.beyondFfmpeg) return `video frames declare ${p.width}x${p.height}, beyond what ffmpeg can decode`;
  return frameSizeRefusal(p.width, p.height, maxPixels) ?? `video frames are ${p.width}x${p.height}`;
}

/** A picture refused after the first frames (a stream whose frames grow), in words. */
export function midStreamRefusal(first: { width: number; height: number }, p: RefusedPicture, maxPixels: number): string {
  return `the video starts at ${first.width}x${first.height}, but its frames grow mid-stream, refused by the decoder: ${pictureRefusal(p, maxPixels)}`;
}

/** Streams kept and dropped under `maxStreams`, in file order (audio and subtitles share the budget). */
export function keptStreams<S extends { index: number }>(streams: readonly S[], maxStreams: number): { kept: S[]; dropped: S[] } {
  const sorted = [...streams].sort((a, b) => a.index - b.index);
  return { kept: sorted.slice(0, maxStreams), dropped: sorted.slice(maxStreams) };
}
