/**
 * Runs ffprobe. This is the one place that spawns ffprobe with `child_process` instead of
 * fluent-ffmpeg: fluent-ffmpeg's `ffprobe()` always adds `-show_streams -show_format`, places its
 * options after them and parses ffprobe's default text writer into its own shape. We need the JSON
 * writer, packet/frame listings streamed line by line (a long film has 10^5 packets) and input
 * options (protocol/format whitelists) placed before the input.
 *
 * A run can be started early (`startFfprobeEarly`: the launcher starts the probe's first two passes
 * while the command's modules load, bin/ffmpeg-prefetch.ts) and is then taken over, once, by the
 * first `runFfprobe` call with exactly the same arguments: it gets the lines printed so far, then the
 * rest as they come, as if it had started the process itself. An early run nobody takes holds no
 * event loop and is killed when the process exits.
 *
 * A run can also be started before its input exists (`standbyFfprobe`): it reads the input from its
 * stdin, which is given the file once the file is complete. Each ffprobe start costs ~0.06 s of CPU
 * (Debian's ffprobe binds ~200 shared libraries) and 0.1 s of wall time; a step that writes a file
 * and then reads it back pays that while it still writes, instead of after.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { ffprobePath } from './ffmpeg-paths.ts';

/** ffprobe binary: `FFPROBE_PATH` (the variable fluent-ffmpeg also honours) or `ffprobe` on PATH. */
export { ffprobePath };

export interface FfprobeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** All of stdout, unless `onLine` consumed it line by line. */
  stdout: string;
  stderr: string[];
}

/** A running ffprobe: its stdout lines go to `take`'s consumer (those printed before it, at once). */
interface Started {
  child: ChildProcessByStdio<Writable | null, Readable, Readable>;
  take(onLine: (line: string) => void): void;
  /** The exit, once both pipes are drained; rejects only when the process could not start. */
  done: Promise<Omit<FfprobeResult, 'stdout'>>;
}

function start(args: readonly string[], signal?: AbortSignal, stdin: 'ignore' | 'pipe' = 'ignore'): Started {
  // stdout and stderr are always pipes; stdin only for a standby run.
  const child = spawn(ffprobePath(), ['-v', 'error', '-hide_banner', ...args], { stdio: [stdin, 'pipe', 'pipe'], ...(signal ? { signal } : {}) }) as ChildProcessByStdio<Writable | null, Readable, Readable>;
  const early: string[] = [];
  let sink = (line: string): void => void early.push(line);
  const done = new Promise<Omit<FfprobeResult, 'stdout'>>((resolve, reject) => {
    const stderr: string[] = [];
    let pending = 3; // exit + stdout close + stderr close
    let code: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    const settle = (): void => {
      if (--pending === 0) resolve({ code, signal: exitSignal, stderr });
    };
    createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (l) => sink(l)).on('close', settle);
    createInterface({ input: child.stderr, crlfDelay: Infinity })
      .on('line', (l) => {
        if (stderr.length < 200) stderr.push(l);
      })
      .on('close', settle);
    child.on('error', reject);
    child.on('exit', (c, s) => {
      code = c;
      exitSignal = s;
      settle();
    });
  });
  return {
    child,
    take(onLine) {
      for (const line of early.splice(0)) onLine(line);
      sink = onLine;
    },
    done,
  };
}

/** Early runs not yet taken, by their arguments. */
const earlyRuns = new Map<string, Started>();
const keyOf = (args: readonly string[]): string => JSON.stringify(args);

/**
 * Starts `ffprobe -v error -hide_banner <args>` now, for the first {@link runFfprobe} call with the
 * same `args` to take over (see the file comment). Never throws: a run that cannot start fails that
 * call the way its own start would have.
 */
export function startFfprobeEarly(args: readonly string[]): void {
  const key = keyOf(args);
  if (earlyRuns.has(key)) return;
  const run = start(args);
  run.done.catch(() => undefined); // met by the call that takes it over
  // Nothing waits for it until it is taken: it must not keep a command that never probes alive.
  run.child.unref();
  for (const pipe of [run.child.stdout, run.child.stderr]) (pipe as unknown as { unref?: () => void } | null)?.unref?.();
  earlyRuns.set(key, run);
  if (earlyRuns.size === 1) process.once('exit', killUntaken);
}

function killUntaken(): void {
  for (const run of earlyRuns.values()) run.child.kill();
  earlyRuns.clear();
}

/** The early run with these arguments, now taken (and holding the event loop again), if any. */
function takeEarly(args: readonly string[], signal: AbortSignal | undefined): Started | undefined {
  const key = keyOf(args);
  const run = earlyRuns.get(key);
  if (run === undefined) return undefined;
  earlyRuns.delete(key);
  run.child.ref();
  for (const pipe of [run.child.stdout, run.child.stderr]) (pipe as unknown as { ref?: () => void } | null)?.ref?.();
  if (signal !== undefined) {
    // As spawn's own `signal` does: kill it, and fail the call with an AbortError.
    const aborted = new Promise<never>((_resolve, reject) => {
      const abort = (): void => {
        run.child.kill();
        reject(Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' }));
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
      void run.done.finally(() => signal.removeEventListener('abort', abort)).catch(() => undefined);
    });
    aborted.catch(() => undefined);
    return { ...run, done: Promise.race([run.done, aborted]) };
  }
  return run;
}

/**
 * Runs `ffprobe -v error -hide_banner <args>`. With `onLine`, stdout is delivered line by line and
 * not kept. Resolves when the process has exited and both pipes are drained; never rejects for a
 * non-zero exit (the caller classifies), only for a spawn failure (ffprobe missing) or an abort.
 */
export async function runFfprobe(
  args: readonly string[],
  opts: { onLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<FfprobeResult> {
  const run = takeEarly(args, opts.signal) ?? start(args, opts.signal);
  const out: string[] = [];
  run.take(opts.onLine ?? ((line) => void out.push(line)));
  const result = await run.done;
  return { ...result, stdout: opts.onLine ? '' : out.map((l) => `${l}\n`).join('') };
}

/** An ffprobe waiting for its input on stdin (see the file comment). */
export interface StandbyFfprobe {
  /**
   * Streams the file at `path` into the waiting ffprobe and resolves as {@link runFfprobe} does.
   * Once only. Rejects when the file cannot be read (ffprobe is stopped then).
   */
  run(path: string, opts?: { onLine?: (line: string) => void }): Promise<FfprobeResult>;
  /** Stops an ffprobe never given its input (harmless after `run`). */
  cancel(): void;
}

/**
 * Starts `ffprobe -v error -hide_banner <args>` now, reading its input from stdin: `args` name the
 * input `pipe:0` (with `pipe` in its protocol whitelist). Use it only for what ffprobe reads in one
 * pass from the front (NUT; MP4 whose index is at the front): stdin cannot seek. Never throws here;
 * a start that failed fails `run` the way {@link runFfprobe} would.
 */
export function standbyFfprobe(args: readonly string[]): StandbyFfprobe {
  const started = start(args, undefined, 'pipe');
  started.done.catch(() => undefined); // met by run
  const stdin = started.child.stdin;
  // ffprobe may stop reading early (an error, or all it needs): that is its answer, not ours.
  stdin?.on('error', () => undefined);
  let used = false;
  return {
    async run(path, opts = {}) {
      if (used) throw new Error('a standby ffprobe runs once');
      used = true;
      const out: string[] = [];
      started.take(opts.onLine ?? ((line) => void out.push(line)));
      if (stdin !== null) {
        try {
          await pipeline(createReadStream(path), stdin);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // EPIPE and friends: ffprobe closed its stdin; its exit says why.
          if (code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE' && code !== 'ERR_STREAM_DESTROYED') {
            started.child.kill();
            await started.done.catch(() => undefined);
            throw error;
          }
        }
      }
      const result = await started.done;
      return { ...result, stdout: opts.onLine ? '' : out.map((l) => `${l}\n`).join('') };
    },
    cancel() {
      if (started.child.exitCode === null && started.child.signalCode === null) started.child.kill();
    },
  };
}
