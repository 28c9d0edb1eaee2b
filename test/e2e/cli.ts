/**
 * Runs the real `upscale` command as a child process, the way a person or a pod does: the same
 * Node.js, `bin/upscale.js`, an explicit environment (no AWS settings leak in from the caller unless
 * a test passes them), and the process's own exit code, stdout and stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from '../fixtures/clips.ts';

export const UPSCALE_BIN = join(REPO, 'bin', 'upscale.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last JSON line on stdout (the command's result), if any. */
  result: Record<string, unknown> | undefined;
  /** stderr without the JSON log lines: what a person reads. */
  message: string;
}

export interface CliOptions {
  /** Extra environment (e.g. the S3 server's `AWS_*` variables, `JOB_COMPLETION_INDEX`). */
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the command after this long (default 4 minutes): a hung run fails its test. */
  timeoutMs?: number;
}

/** The parent's environment without AWS settings, so that only what a test passes reaches S3. */
function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('UPSCALE_')) env[k] = v;
  return { ...env, ...extra };
}

/** Starts `upscale <args>` in its own process group (so a test can kill the whole tree). */
export function startUpscale(args: readonly string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [UPSCALE_BIN, ...args], {
    cwd: options.cwd ?? REPO,
    env: baseEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

/** Collects a started command's output and exit. */
export function finished(child: ChildProcess, timeoutMs = 240_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`upscale did not finish within ${timeoutMs} ms; stderr:\n${stderr.slice(-4000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      const last = lines.at(-1);
      const message = stderr
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.startsWith('{'))
        .join('\n');
      resolve({ code, signal, stdout, stderr, result: last === undefined ? undefined : (JSON.parse(last) as Record<string, unknown>), message });
    });
  });
}

/** Runs `upscale <args>` to the end. */
export function upscale(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return finished(startUpscale(args, options), options.timeoutMs);
}

/** A failure description for assertion messages: exit code and the tail of stderr. */
export function explain(run: CliResult): string {
  return `exit ${run.code ?? run.signal}; stderr:\n${run.stderr.slice(-3000)}`;
}
