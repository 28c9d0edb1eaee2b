/**
 * The start-up check that the ffmpeg and ffprobe this process will run are supported: reads the
 * version each prints in the banner of the table run every command needs anyway (ffmpeg-tables.ts:
 * `ffmpeg -encoders`, `ffprobe -show_pixel_formats`; no `-version` run of its own; the banner comes
 * first, so the check does not wait for the table) and refuses a
 * missing binary or one older than 5.1 (see `ffmpeg-version.ts` for the rule) before any work
 * starts, with a message naming the binary, the version found and the minimum.
 */
import { UpscaleError } from '../errors.ts';
import { ffmpegPath, ffprobePath } from './ffmpeg-paths.ts';
import { encoderRunBanner, pixelFormatRunBanner, TableRunError } from './ffmpeg-tables.ts';
import { envVarFor, parseFfmpegVersion, unsupportedReason } from './ffmpeg-version.ts';
import { keptUntilFailure } from './kept-until-failure.ts';

export interface FfmpegVersions {
  /** The version tokens found (`5.1.9-0+deb12u1`), for the logs. */
  ffmpeg: string;
  ffprobe: string;
}

/**
 * Resolves with the versions found; rejects with an `Unsupported` UpscaleError (permanent). Each
 * binary path is checked once per process (a run calls this per step and per shard process): a
 * binary does not change version under a running job, and `FFMPEG_PATH` pointing elsewhere is a new
 * path, checked afresh. A failed check is not remembered, so a fixed install is seen on the next call.
 */
export async function requireSupportedFfmpeg(): Promise<FfmpegVersions> {
  const [ffmpeg, ffprobe] = await Promise.all([cachedVersionOf('ffmpeg', ffmpegPath(), encoderRunBanner), cachedVersionOf('ffprobe', ffprobePath(), pixelFormatRunBanner)]);
  return { ffmpeg, ffprobe };
}

const checked = new Map<string, Promise<string>>();

function cachedVersionOf(tool: string, path: string, banner: () => Promise<string>): Promise<string> {
  return keptUntilFailure(checked, `${tool}\0${path}`, () => versionOf(tool, path, banner));
}

async function versionOf(tool: string, path: string, banner: () => Promise<string>): Promise<string> {
  let output: string;
  try {
    output = await banner();
  } catch (cause) {
    // Killed by a signal (the run's own Ctrl-C or a pod's SIGTERM reaching the process group, or
    // the timeout): it says nothing about the install, and a retry may well succeed.
    if (cause instanceof TableRunError && cause.signal !== null) {
      throw new UpscaleError('Internal', `${tool} was killed by ${cause.signal} while it started (${path})`, { subject: path, cause, kind: 'transient' });
    }
    const what = cause instanceof TableRunError && cause.errno === 'ENOENT' ? 'was not found' : `failed to run (${(cause as Error).message.split('\n', 1)[0] ?? ''})`;
    throw new UpscaleError('Unsupported', `${tool} ${what}: ${path}; install ffmpeg 5.1 or later, or point ${envVarFor(tool)} at one`, { subject: path, cause });
  }
  const reason = unsupportedReason(tool, path, output);
  if (reason !== undefined) throw new UpscaleError('Unsupported', reason, { subject: path });
  return parseFfmpegVersion(output)?.version ?? '';
}
