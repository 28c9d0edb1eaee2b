/**
 * The ffmpeg runs every command that runs ffmpeg needs first, started by bin/upscale.js as soon as
 * the compile cache is on, before the command's own modules load: they run while Node loads and
 * compiles the rest (0.2-0.3 s of one core) instead of after it, and the command finds them done.
 * - Every such command: the tables (ffmpeg-tables.ts: `ffmpeg -encoders` and `ffprobe
 *   -show_pixel_formats`, whose banners also carry the versions the start-up check reads). Each run
 *   is cached per process; the command awaits the same promises where it needs them (the version
 *   check, the encoder choice, the probe's pixel formats) and meets a failure there, with its error
 *   (a failed run is not cached, so it is run once more and reported by the command).
 * - `upscale run` on a local file: the probe's first two passes (probe-args.ts), which the probe
 *   takes over when it starts them with the same arguments (ffprobe-run.ts). A run whose probe
 *   differs (`--max-pixels`, a resumed job that has its probe) or never comes (a bad option, a still
 *   image) leaves them untaken: they hold no event loop and are killed at exit.
 *
 * Only light modules are loaded here (no fluent-ffmpeg, no zod): this runs before everything else.
 * These runs write no files, so they may start before cli.ts points TMPDIR at the private folder.
 */
import { encoderTableRun, pixelFormatTableRun } from '../worker/media/ffmpeg-tables.ts';
import { startFfprobeEarly } from '../worker/media/ffprobe-run.ts';
import { DEFAULT_MAX_PIXELS } from '../worker/media/input-limit-defaults.ts';
import { packetScanArgs, probeHeadArgs } from '../worker/media/probe-args.ts';

/** The commands that run ffmpeg: each checks both binaries' versions before its work. */
const FFMPEG_COMMANDS: ReadonlySet<string> = new Set(['run', 'shard', 'probe', 'assemble']);

/** Starts the runs `argv` (the arguments after the script) will need first; never throws. */
export function prefetchFfmpegAnswers(argv: readonly string[]): void {
  const [command] = argv;
  if (command === undefined || !FFMPEG_COMMANDS.has(command)) return;
  for (const run of [encoderTableRun(), pixelFormatTableRun()]) run.catch(() => undefined);
  const input = command === 'run' ? localVideoInput(argv.slice(1)) : undefined;
  if (input !== undefined) {
    startFfprobeEarly(probeHeadArgs(input, DEFAULT_MAX_PIXELS));
    startFfprobeEarly(packetScanArgs(input, undefined, 'v:0'));
  }
}

/** Still images go another way (still-run.ts): their probe passes would be wasted. */
const IMAGE_EXTENSION = /\.(png|jpe?g|webp)$/i;

/**
 * The `-i`/`--input` of a `run`, when it is a plain local path (no `s3://`, `file://` or other
 * scheme) that is not an image by its name; anything else is left to the command.
 */
export function localVideoInput(args: readonly string[]): string | undefined {
  let input: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') break;
    if (a === '-i' || a === '--input') input = args[++i];
    else if (a.startsWith('--input=')) input = a.slice('--input='.length);
  }
  if (input === undefined || input === '' || input.startsWith('-') || /^[a-z][a-z0-9+.-]*:/i.test(input) || IMAGE_EXTENSION.test(input)) return undefined;
  return input;
}
