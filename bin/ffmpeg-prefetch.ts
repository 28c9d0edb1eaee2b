/**
 * The ffmpeg runs every command that runs ffmpeg needs first (ffmpeg-tables.ts: `ffmpeg -encoders`
 * and `ffprobe -show_pixel_formats`, whose banners also carry the versions the start-up check
 * reads; two process starts, some 100 ms each), started by bin/upscale.js as soon as the compile
 * cache is on, before the command's own modules load: they run while Node loads and compiles the
 * rest (0.3-0.4 s on 2 cores) instead of after it, and the command finds them done. Each run is
 * cached per process; the command awaits the same promises where it needs them (the version check,
 * the encoder choice, the probe's pixel formats) and meets a failure there, with its error (a
 * failed run is not cached, so it is run once more and reported by the command).
 *
 * Only ffmpeg-tables.ts is loaded here (no fluent-ffmpeg, no zod): this runs before everything else.
 * The two runs write no files, so they may start before cli.ts points TMPDIR at the private folder.
 */
import { encoderTableRun, pixelFormatTableRun } from '../worker/media/ffmpeg-tables.ts';

/** The commands that run ffmpeg: each checks both binaries' versions before its work. */
const FFMPEG_COMMANDS: ReadonlySet<string> = new Set(['run', 'shard', 'probe', 'assemble']);

/** Starts the table runs when `command` (the first argument) is one that runs ffmpeg; never rejects. */
export function prefetchFfmpegAnswers(command: string | undefined): void {
  if (command === undefined || !FFMPEG_COMMANDS.has(command)) return;
  for (const run of [encoderTableRun(), pixelFormatTableRun()]) run.catch(() => undefined);
}
