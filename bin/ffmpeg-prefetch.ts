/**
 * The ffmpeg answers a command needs (the version check of ffmpeg and ffprobe, the encoder and
 * pixel-format tables: two process starts, `ffmpeg -encoders` and `ffprobe -show_pixel_formats`,
 * whose banners carry the versions; some 100 ms), asked before the command's own modules load,
 * so the processes run while Node loads and compiles the rest (0.2-0.4 s on 2 cores) instead of
 * after it. Each answer is cached per process by its module; the command awaits the same
 * promises where it needs them, and meets a failure there, with its error (a failed version check
 * is not cached, so it is asked once more and reported by the command).
 */
import { availableEncoders } from '../worker/media/encoders.ts';
import { requireSupportedFfmpeg } from '../worker/media/ffmpeg-check.ts';
import { pixelFormatInfo } from '../worker/media/pixel-formats.ts';

/** What each command asks: all of it for a local run and a shard; the probe reads pixel formats. */
const NEEDS: Record<string, readonly ('encoders' | 'pixelFormats')[]> = {
  run: ['encoders', 'pixelFormats'],
  shard: ['encoders', 'pixelFormats'],
  probe: ['pixelFormats'],
  assemble: [],
};

/** Starts the answers `command` needs; never rejects (see the file comment). */
export function prefetchFfmpegAnswers(command: string): void {
  const needs = NEEDS[command];
  if (needs === undefined) return;
  const asked: Promise<unknown>[] = [requireSupportedFfmpeg()];
  if (needs.includes('encoders')) asked.push(availableEncoders());
  if (needs.includes('pixelFormats')) asked.push(pixelFormatInfo('yuv420p'));
  for (const answer of asked) answer.catch(() => undefined);
}
