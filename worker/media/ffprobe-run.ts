/**
 * Runs ffprobe. This is the one place that spawns ffprobe with `child_process` instead of
 * fluent-ffmpeg: fluent-ffmpeg's `ffprobe()` always adds `-show_streams -show_format`, places its
 * options after them and parses ffprobe's default text writer into its own shape. We need the JSON
 * writer, packet/frame listings streamed line by line (a long film has 10^5 packets) and input
 * options (protocol/format whitelists) placed before the input.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

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

/**
 * Runs `ffprobe -v error -hide_banner <args>`. With `onLine`, stdout is delivered line by line and
 * not kept. Resolves when the process has exited and both pipes are drained; never rejects for a
 * non-zero exit (the caller classifies), only for a spawn failure (ffprobe missing).
 */
export function runFfprobe(
  args: readonly string[],
  opts: { onLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<FfprobeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffprobePath(), ['-v', 'error', '-hide_banner', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stdout = '';
    const stderr: string[] = [];
    let pending = 3; // exit + stdout close + stderr close
    let code: number | null = null;
    let signal: NodeJS.Signals | null = null;
    const done = (): void => {
      if (--pending === 0) resolve({ code, signal, stdout, stderr });
    };
    if (opts.onLine) {
      const onLine = opts.onLine;
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onLine).on('close', done);
    } else {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => (stdout += d));
      child.stdout.on('close', done);
    }
    createInterface({ input: child.stderr, crlfDelay: Infinity })
      .on('line', (l) => {
        if (stderr.length < 200) stderr.push(l);
      })
      .on('close', done);
    child.on('error', reject);
    child.on('exit', (c, s) => {
      code = c;
      signal = s;
      done();
    });
  });
}
