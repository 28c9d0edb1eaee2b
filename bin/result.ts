/**
 * Step results and failures as the callers read them: one JSON line on stdout, and the same JSON
 * in the result file the caller names (a pod's termination-message path, 4 KiB at most).
 */
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { exitCodeFor, inStep } from '../worker/errors.ts';

/** Kubernetes keeps at most 4096 bytes of a termination message. */
export const TERMINATION_MESSAGE_LIMIT = 4096;

/** Prints `result` on stdout and writes it to `resultFile` (trimmed to the limit). */
export async function emitResult(result: Record<string, unknown>, resultFile: string | undefined): Promise<void> {
  const line = JSON.stringify(result);
  process.stdout.write(`${line}\n`);
  if (resultFile !== undefined) await writeFile(resultFile, fitted(result, line));
}

/**
 * Reports a failure (stderr line, log, result line on stdout, result file) and returns the exit code:
 * 2 permanent, 3 transient.
 */
export async function emitFailure(error: unknown, step: string, log: Logger, resultFile: string | undefined, options: { logLine?: boolean; resultLine?: boolean } = {}): Promise<number> {
  const failure = inStep(error, step);
  // A logger bound to the step (the step commands') already carries `step`: do not write it twice.
  // On a terminal (options.logLine false) the message below is what a person reads; no JSON stack.
  if (options.logLine !== false) log.error({ ...('step' in log.bindings() ? {} : { step }), code: failure.code, kind: failure.kind, err: failure }, 'Failed step');
  // `upscale run: probe: ...` names the inner step; an error of the command's own step is not
  // prefixed twice (`upscale run: run: ...`).
  const text = failure.message.startsWith(`${step}: `) ? failure.message.slice(step.length + 2) : failure.message;
  process.stderr.write(`upscale ${step}: ${text}\n`);
  const body = { ok: false, step, code: failure.code, kind: failure.kind, message: failure.message };
  // A step's result line on stdout, as on success, so its caller reads one JSON line either way.
  if (options.resultLine === true) process.stdout.write(`${JSON.stringify(body)}\n`);
  if (resultFile !== undefined) {
    await writeFile(resultFile, fitted(body, JSON.stringify(body))).catch((cause: unknown) => log.warn({ resultFile, err: cause }, 'Failed to write the result file'));
  }
  return exitCodeFor(failure);
}

function fitted(result: Record<string, unknown>, line: string): string {
  if (Buffer.byteLength(line) <= TERMINATION_MESSAGE_LIMIT) return line;
  // Keep the fields a controller branches on; the full result went to stdout (and the pod log).
  const { ok, step, code, kind, message } = result;
  const text = typeof message === 'string' ? message.slice(0, 3000) : undefined;
  return JSON.stringify({ ok, step, code, kind, message: text, truncated: true });
}
