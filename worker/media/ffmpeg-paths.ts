/**
 * Which ffmpeg and ffprobe binaries this process runs: `FFMPEG_PATH` / `FFPROBE_PATH` (the
 * variables fluent-ffmpeg also honours), else `ffmpeg` / `ffprobe` on PATH. A module of its own,
 * without fluent-ffmpeg, so that the start-up table runs (ffmpeg-tables.ts) can begin before the
 * rest of the command loads.
 */

/** ffmpeg binary: `FFMPEG_PATH` or `ffmpeg` on PATH. */
export function ffmpegPath(): string {
  return process.env['FFMPEG_PATH'] ?? 'ffmpeg';
}

/** ffprobe binary: `FFPROBE_PATH` or `ffprobe` on PATH. */
export function ffprobePath(): string {
  return process.env['FFPROBE_PATH'] ?? 'ffprobe';
}
