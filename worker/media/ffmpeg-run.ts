/**
 * Runs ffmpeg through fluent-ffmpeg. fluent-ffmpeg spawns the process, pipes a Readable into stdin
 * and stdout into a Writable (with backpressure) and splits stderr into lines, which covers every
 * ffmpeg run of the media room, raw frame streaming included. Arguments are passed as separate
 * array items (never split on spaces by fluent-ffmpeg), and no fluent helper that guesses codecs
 * or formats is used: the caller gives the exact ffmpeg options.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import { isWriteFailure } from './ffmpeg-errors.ts';
import { encoderTableRun, parseEncoderTable } from './ffmpeg-tables.ts';
import { redactUrlsIn } from '../redact.ts';

export interface FfmpegInputSpec {
  /** A path/URL, or a Readable piped to ffmpeg's stdin (`pipe:0`). */
  source: string | Readable;
  /** Options placed before this input's `-i`. */
  options: readonly string[];
}

export interface FfmpegSpec {
  inputs: readonly FfmpegInputSpec[];
  /** A path (written by ffmpeg), or a Writable fed from ffmpeg's stdout (`pipe:1`). */
  output: string | Writable;
  outputOptions: readonly string[];
  /** Every stderr line, as ffmpeg prints it (progress lines excluded by `-nostats`). */
  onStderrLine?: (line: string) => void;
}

export interface FfmpegJob {
  /**
   * Resolves when ffmpeg exits 0 without reporting a failed write of its output (ffmpeg 5.1 exits 0
   * on ENOSPC while writing the trailer); rejects otherwise with a copy of fluent-ffmpeg's error that keeps
   * only its name and its message with every URL's query, user info and proxy token redacted
   * (fluent-ffmpeg puts ffmpeg's raw stderr, input URLs included, into the message).
   */
  done: Promise<void>;
  /** The last stderr lines, for error classification (per-frame filter lines excluded). */
  stderr: string[];
  /** Stops ffmpeg (SIGKILL), also when it has not been spawned yet; `done` then rejects. */
  kill(): void;
  /**
   * Resolves once the ffmpeg process has exited (at once when it never started). `done` can settle
   * before that: fluent-ffmpeg rejects 20 ms after a piped output closes, killing ffmpeg without
   * waiting, and a slow-starting ffmpeg (7.x's many libraries) may then still run.
   */
  exited: Promise<void>;
}

/** ffmpeg binary: `FFMPEG_PATH` (which fluent-ffmpeg reads itself) or `ffmpeg` on PATH. */
export { ffmpegPath } from './ffmpeg-paths.ts';

/** Options that every run gets: quiet banner, no keyboard interaction, no progress lines. */
export const GLOBAL_OPTIONS: readonly string[] = ['-hide_banner', '-nostdin', '-nostats'];

const KEEP_LINES = 60;

/** Starts ffmpeg; see {@link FfmpegSpec}. */
export function startFfmpeg(spec: FfmpegSpec): FfmpegJob {
  const stderr: string[] = [];
  let writeFailure: string | undefined;
  // stdoutLines bounds fluent-ffmpeg's own ring buffers (0 would mean unbounded).
  const cmd = ffmpeg({ stdoutLines: KEEP_LINES });
  skipCapabilityCheck(cmd);
  answerEncodersFromTable(cmd);
  spec.inputs.forEach((input, i) => {
    cmd.input(input.source);
    const opts = i === 0 ? [...GLOBAL_OPTIONS, ...input.options] : [...input.options];
    addOptions((...o) => cmd.inputOptions(...o), opts);
  });
  cmd.output(spec.output);
  addOptions((...o) => cmd.outputOptions(...o), spec.outputOptions);
  cmd.on('stderr', (line: string) => {
    spec.onStderrLine?.(line);
    if (line.includes('Parsed_showinfo')) return;
    if (writeFailure === undefined && isWriteFailure(line)) writeFailure = line;
    stderr.push(line);
    if (stderr.length > KEEP_LINES) stderr.shift();
  });
  const done = new Promise<void>((resolve, reject) => {
    cmd.on('error', (err: Error) => reject(sanitisedError(err)));
    cmd.on('end', () => {
      if (writeFailure === undefined) resolve();
      // Kept in `stderr` even when later lines pushed it out, so that classification sees it.
      else {
        if (!stderr.includes(writeFailure)) stderr.push(writeFailure);
        reject(new Error(`ffmpeg exited 0 but could not write its output: ${redactUrlsIn(writeFailure)}`));
      }
    });
  });
  let proc: ChildProcess | undefined;
  // fluent-ffmpeg spawns after its own asynchronous preparation, and its kill() before that does
  // nothing: a kill asked for then is done as soon as the process exists.
  let killed = false;
  const exited = new Promise<void>((resolve) => {
    cmd.on('start', () => {
      proc = (cmd as unknown as { ffmpegProc?: ChildProcess }).ffmpegProc;
      if (killed) proc?.kill('SIGKILL');
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once('exit', () => resolve());
    });
    // An error before 'start' means ffmpeg was never spawned.
    done.then(resolve, () => {
      if (proc === undefined) resolve();
    });
  });
  cmd.run();
  return {
    done,
    exited,
    stderr,
    kill: () => {
      killed = true;
      if (proc === undefined) return;
      try {
        proc.kill('SIGKILL');
      } catch {
        // already exited
      }
    },
  };
}

/**
 * fluent-ffmpeg checks every `-f` format against `ffmpeg -formats` before it runs a command: one
 * more ffmpeg start per process (about 100 ms, on the path of every short job). The options here
 * are exact and ffmpeg itself refuses an unknown format, naming it ("Unknown input format"), which
 * the error classification reports; so the check goes. `_checkCapabilities` is fluent-ffmpeg
 * 2.1's private hook for it: ffmpeg-run.test.ts fails if a new version runs `-formats` again.
 */
function skipCapabilityCheck(cmd: ffmpeg.FfmpegCommand): void {
  (cmd as unknown as { _checkCapabilities: (done: (err?: Error) => void) => void })._checkCapabilities = (done) => done();
}

/**
 * Before every command fluent-ffmpeg asks its own `ffmpeg -encoders` (once per process) for the
 * encoders marked experimental, to add `-strict experimental` after a `-vcodec`/`-acodec` one. The
 * version check and the encoder choice have the same table from our own run (ffmpeg-tables.ts,
 * whose banner carries the version): fluent-ffmpeg gets that one, in its shape, instead of a
 * second ffmpeg start. `availableEncoders` is the method fluent-ffmpeg 2.1's processor calls on the
 * command for it; ffmpeg-run.test.ts fails if a new version runs `-encoders` itself again.
 */
function answerEncodersFromTable(cmd: ffmpeg.FfmpegCommand): void {
  (cmd as unknown as { availableEncoders: (done: (err: Error | null, encoders: Record<string, { experimental: boolean }>) => void) => void }).availableEncoders = (done) => {
    encoderTableRun().then(
      (run) => done(null, Object.fromEntries(parseEncoderTable(run.stdout))),
      // fluent-ffmpeg reads the table even on an error: an empty one adds no option, and ffmpeg's
      // own start then fails (or not) with its own message.
      () => done(null, {}),
    );
  };
}

/** fluent-ffmpeg splits a single string argument on a space; two or more arguments are kept as is. */
function addOptions(add: (...opts: string[]) => unknown, opts: readonly string[]): void {
  if (opts.length > 0) add(...opts); // never a single option containing a space
}

/** A copy of a fluent-ffmpeg error without anything credential-like (see {@link FfmpegJob.done}). */
function sanitisedError(err: Error): Error {
  const copy = new Error(redactUrlsIn(err.message));
  copy.name = err.name;
  return copy;
}
