/**
 * The start-up check that the ffmpeg and ffprobe this process will run are supported: runs each
 * with `-version` (some 40 ms) and refuses a missing binary or one older than 5.1 (see
 * `ffmpeg-version.ts` for the rule) before any work starts, with a message naming the binary, the
 * version found and the minimum.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UpscaleError } from '../errors.ts';
import { ffmpegPath } from './ffmpeg-run.ts';
import { ffprobePath } from './ffprobe-run.ts';
import { envVarFor, parseFfmpegVersion, unsupportedReason } from './ffmpeg-version.ts';

const run = promisify(execFile);

export interface FfmpegVersions {
  /** The version tokens found (`5.1.9-0+deb12u1`), for the logs. */
  ffmpeg: string;
  ffprobe: string;
}

/** Resolves with the versions found; rejects with an `Unsupported` UpscaleError (permanent). */
export async function requireSupportedFfmpeg(): Promise<FfmpegVersions> {
  const [ffmpeg, ffprobe] = await Promise.all([versionOf('ffmpeg', ffmpegPath()), versionOf('ffprobe', ffprobePath())]);
  return { ffmpeg, ffprobe };
}

async function versionOf(tool: string, path: string): Promise<string> {
  let output: string;
  try {
    output = (await run(path, ['-hide_banner', '-version'], { timeout: 30_000 })).stdout;
  } catch (cause) {
    const e = cause as NodeJS.ErrnoException;
    const what = e.code === 'ENOENT' ? 'was not found' : `failed to run (${e.message.split('\n', 1)[0] ?? ''})`;
    throw new UpscaleError('Unsupported', `${tool} ${what}: ${path}; install ffmpeg 5.1 or later, or point ${envVarFor(tool)} at one`, { subject: path, cause });
  }
  const reason = unsupportedReason(tool, path, output);
  if (reason !== undefined) throw new UpscaleError('Unsupported', reason, { subject: path });
  return parseFfmpegVersion(output)?.version ?? '';
}
