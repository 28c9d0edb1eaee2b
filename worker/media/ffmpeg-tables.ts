/**
 * The two tables every command reads from its ffmpeg build: `ffmpeg -encoders` (which encoders
 * exist) and `ffprobe -show_pixel_formats` (bit depth and colour model of each pixel format). Each
 * is one run per process and binary path. Run without `-hide_banner`, each also prints its banner
 * on stderr, which names the version and the library versions exactly as `-version` does: the
 * version check (ffmpeg-check.ts) reads them there instead of starting ffmpeg and ffprobe once more
 * (each start loads some 200 shared libraries, about 90 ms of CPU; on a 1-frame job two of them
 * were a tenth of the work).
 *
 * The banner is known as soon as ffmpeg has printed it, at its start: the version check does not
 * wait for the table (150 KB of pixel formats), which only the probe reads, later. A run that could
 * not start, exited non-zero or ran past the timeout is not remembered, so a fixed install is seen
 * on the next call.
 *
 * Kept on disk too, per binary and table (`UPSCALE_FFMPEG_CACHE`, else the user's cache folder,
 * `~/.cache/upscale-operator/ffmpeg-answers`; `UPSCALE_FFMPEG_CACHE=off` turns it off): a run whose
 * binary is the same file as when the answer was written (its real path, size and modification
 * time) takes the answer from there and starts no process, which is two
 * process starts (some 180 ms of CPU) off every command after the first. A replaced or upgraded
 * binary is another file, so its answers are asked afresh; so is a binary not found (its failure is
 * then the run's own). Libraries upgraded under an unchanged binary (a partial upgrade) are not
 * seen: the cache is a folder of JSON files that may be deleted at any time. The image fills one at
 * build time (Dockerfile); a folder that cannot be written just means no cache.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { userCacheDir } from '../user-cache.js';
import { ffmpegPath, ffprobePath } from './ffmpeg-paths.ts';

/** What one table run printed. */
export interface TableRun {
  /** The table (stdout). */
  stdout: string;
  /** The banner: `ffmpeg version 5.1.9-0+deb12u1 Copyright...`, then the library lines. */
  banner: string;
}

/** Why a table run gave no table: it never started (`spawn`, ENOENT for a missing binary) or failed. */
export class TableRunError extends Error {
  readonly path: string;
  readonly errno: string | undefined;
  /** The signal that killed the run (a Ctrl-C or a pod's SIGTERM to the group, or the timeout): not the binary's fault. */
  signal: NodeJS.Signals | null = null;
  constructor(path: string, message: string, errno?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TableRunError';
    this.path = path;
    this.errno = errno;
  }
}

const TIMEOUT_MS = 30_000;
const ENCODERS = ['-encoders'] as const;
const PIXEL_FORMATS = ['-show_pixel_formats', '-of', 'json'] as const;
/** The banner line the version rule needs last (ffmpeg-version.ts reads the first line and this one). */
const BANNER_LIBAVCODEC = /^\s*libavcodec\s+\d+\.\s*\d+\./m;

interface Running {
  /** The banner so far once it names libavcodec, else all of stderr at a clean exit. */
  banner: Promise<string>;
  done: Promise<TableRun>;
}

const runs = new Map<string, Running>();

/** `ffmpeg -encoders` of the ffmpeg this process runs (`FFMPEG_PATH`, else `ffmpeg` on PATH). */
export function encoderTableRun(): Promise<TableRun> {
  return cachedRun(ffmpegPath(), ENCODERS).done;
}

/** The banner of that run, as soon as it is printed. */
export function encoderRunBanner(): Promise<string> {
  return cachedRun(ffmpegPath(), ENCODERS).banner;
}

/** `ffprobe -show_pixel_formats -of json` of the ffprobe this process runs (`FFPROBE_PATH`, else `ffprobe`). */
export function pixelFormatTableRun(): Promise<TableRun> {
  return cachedRun(ffprobePath(), PIXEL_FORMATS).done;
}

/** The banner of that run, as soon as it is printed. */
export function pixelFormatRunBanner(): Promise<string> {
  return cachedRun(ffprobePath(), PIXEL_FORMATS).banner;
}

function cachedRun(path: string, args: readonly string[]): Running {
  const key = `${path}\0${args.join(' ')}`;
  let run = runs.get(key);
  if (run === undefined) {
    const started = keptOrRun(path, args);
    runs.set(key, started);
    started.banner.catch(() => undefined); // met by whoever asks for it
    started.done.catch(() => {
      if (runs.get(key) === started) runs.delete(key);
    });
    run = started;
  }
  return run;
}

/** The answer kept on disk for this very binary, else a run (whose answer is then kept). */
function keptOrRun(path: string, args: readonly string[]): Running {
  const store = answerFile(path, args);
  if (store !== undefined) {
    const kept = readKept(store);
    if (kept !== undefined) return { banner: Promise.resolve(kept.banner), done: Promise.resolve(kept) };
  }
  const run = runOnce(path, args);
  if (store !== undefined) run.done.then((answer) => keep(store, answer), () => undefined);
  return run;
}

interface AnswerFile {
  file: string;
  /** The binary's identity and the arguments, as stored beside the answer. */
  identity: string;
}

/** Where this binary's answer to `args` is kept, or undefined (no cache, or no such binary). */
function answerFile(path: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): AnswerFile | undefined {
  const setting = env['UPSCALE_FFMPEG_CACHE'];
  const dir = setting === 'off' ? undefined : setting || userCacheDir('ffmpeg-answers', env);
  const binary = dir === undefined ? undefined : executableFile(path, env);
  if (dir === undefined || binary === undefined) return undefined;
  try {
    const real = realpathSync(binary);
    const st = statSync(real, { bigint: true });
    // Not the device, inode or change time: an image's layers are unpacked afresh on each node, which
    // keeps the path, size and modification time (the build's) and changes those.
    const identity = JSON.stringify([real, String(st.size), String(st.mtimeNs), args]);
    return { file: join(dir, `${createHash('sha256').update(identity).digest('hex').slice(0, 24)}.json`), identity };
  } catch {
    return undefined;
  }
}

/** The file `spawn` would run for `path`: itself when it names a folder, else the first on PATH. */
function executableFile(path: string, env: NodeJS.ProcessEnv): string | undefined {
  if (path.includes('/')) return isAbsolute(path) ? path : resolve(path);
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, path);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

function readKept(store: AnswerFile): TableRun | undefined {
  try {
    const kept = JSON.parse(readFileSync(store.file, 'utf8')) as { identity?: unknown; stdout?: unknown; banner?: unknown };
    if (kept.identity !== store.identity || typeof kept.stdout !== 'string' || typeof kept.banner !== 'string') return undefined;
    return { stdout: kept.stdout, banner: kept.banner };
  } catch {
    return undefined; // none yet, or unreadable: asked afresh
  }
}

/** Writes the answer beside the others (a whole file or none: a temporary file renamed); best effort. */
async function keep(store: AnswerFile, answer: TableRun): Promise<void> {
  const tmp = `${store.file}.${process.pid}.tmp`;
  try {
    await mkdir(join(store.file, '..'), { recursive: true });
    await writeFile(tmp, JSON.stringify({ identity: store.identity, ...answer }));
    await rename(tmp, store.file);
  } catch {
    await rm(tmp, { force: true }).catch(() => undefined); // a read-only or full cache folder: no cache
  }
}

function runOnce(path: string, args: readonly string[]): Running {
  let settleBanner: { resolve: (banner: string) => void; reject: (error: Error) => void } | undefined;
  const banner = new Promise<string>((resolve, reject) => (settleBanner = { resolve, reject }));
  const bannerIs = (outcome: { banner: string } | { error: Error }): void => {
    if ('banner' in outcome) settleBanner?.resolve(outcome.banner);
    else settleBanner?.reject(outcome.error);
    settleBanner = undefined; // once
  };
  const done = new Promise<TableRun>((resolve, reject) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: TIMEOUT_MS, killSignal: 'SIGKILL' });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
      if (settleBanner !== undefined && BANNER_LIBAVCODEC.test(err)) bannerIs({ banner: err });
    });
    const fail = (error: TableRunError): void => {
      bannerIs({ error });
      reject(error);
    };
    child.once('error', (cause: NodeJS.ErrnoException) => fail(new TableRunError(path, cause.message, cause.code, { cause })));
    // 'close': the process has exited and both pipes are drained.
    child.once('close', (code, signal) => {
      if (code === 0) {
        bannerIs({ banner: err });
        resolve({ stdout: Buffer.concat(out).toString('utf8'), banner: err });
        return;
      }
      const how = signal !== null ? `was killed by ${signal}${signal === 'SIGKILL' ? ` (no answer within ${TIMEOUT_MS / 1000} s?)` : ''}` : `exited ${code}`;
      const said = err.trim().split('\n').at(-1)?.trim() ?? '';
      const error = new TableRunError(path, `${path} ${args.join(' ')} ${how}${said !== '' ? `: ${said.slice(0, 200)}` : ''}`);
      error.signal = signal;
      fail(error);
    });
  });
  return { banner, done };
}

/** Encoder names of `ffmpeg -encoders` output, with fluent-ffmpeg's `experimental` flag (the `X` column). */
export function parseEncoderTable(stdout: string): Map<string, { experimental: boolean }> {
  const table = new Map<string, { experimental: boolean }>();
  // The legend above the `------` line has the same shape (` V..... = Video`): only rows below it.
  const lines = stdout.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*-{6}\s*$/.test(l));
  for (const line of lines.slice(start + 1)) {
    const m = /^\s*[VAS.][F.][S.]([X.])[B.][D.] (\S+)/.exec(line);
    if (m?.[2] !== undefined) table.set(m[2], { experimental: m[1] === 'X' });
  }
  return table;
}
