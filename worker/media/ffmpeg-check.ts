/**
 * The start-up check that the ffmpeg and ffprobe this process will run are supported: runs each
 * with `-version` (some 40 ms, once per process and path) and refuses a missing binary or one older than 5.1 (see
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

/**
 * Resolves with the versions found; rejects with an `Unsupported` UpscaleError (permanent). Each
 * binary path is checked once per process (a run calls this per step and per shard process): a
 * binary does not change version under a running job, and `FFMPEG_PATH` pointing elsewhere is a new
 * path, checked afresh. A failed check is not remembered, so a fixed install is seen on the next call.
 */
export async function requireSupportedFfmpeg(): Promise<FfmpegVersions> {
  const [ffmpeg, ffprobe] = await Promise.all([cachedVersionOf('ffmpeg', ffmpegPath()), cachedVersionOf('ffprobe', ffprobePath())]);
  return { ffmpeg, ffprobe };
}

const checked = new Map<string, Promise<string>>();

function cachedVersionOf(tool: string, path: string): Promise<string> {
  const key = `${tool}\0${path}`;
  let version = checked.get(key);
  if (version === undefined) {
    version = versionOf(tool, path);
    checked.set(key, version);
    version.catch(() => checked.delete(key));
  }
  return version;
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
