/**
 * Ctrl-C and SIGTERM (a pod being deleted): abort, which stops the running shard after the frame in
 * inference, and let the command fail with the transient code. A second signal, or a step that does
 * not stop within the grace, exits at once, with the same code (the exit itself waits for a batch
 * inside ONNX Runtime to return, which a thread stopped mid-call would turn into SIGABRT:
 * native-gate.ts). Either is safe by design: every object appears atomically and finished shards
 * keep their manifests, so a rerun resumes.
 *
 * The handlers stay until the process exits: a Ctrl-C that lands after the command's own work ended
 * (a terminal sends it to ffmpeg too, whose death can end the command before Node runs our handler)
 * or while it winds down (engine threads closing) would otherwise get the default action, death by
 * SIGINT (exit 130, or 134 from native code torn down mid-call), and skip the cleanup at exit.
 */
import { EXIT_TRANSIENT, UpscaleError } from '../worker/errors.ts';
import { setSignalHandler } from './signals.ts';

const GRACE_MS = 20_000;

/** Installs the handlers; the returned function marks the command done (a signal then just exits). */
export function handleInterrupts(controller: AbortController, what: string): () => void {
  let done = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted || done) process.exit(EXIT_TRANSIENT);
    process.stderr.write(`upscale ${what}: interrupted by ${signal}; finished shards are kept and a rerun resumes\n`);
    process.exitCode = EXIT_TRANSIENT;
    controller.abort(signal);
    setTimeout(() => process.exit(EXIT_TRANSIENT), GRACE_MS).unref();
  };
  setSignalHandler(stop);
  return () => {
    done = true;
  };
}

/**
 * What a command reports when it failed after `signal` was aborted: the interruption (Cancelled,
 * transient), whatever the abort made fail on the way out: an aborted child process, a closed
 * engine ("This operation was aborted" as an Internal error), or a child killed by the same
 * signal (a terminal's Ctrl-C and a pod's SIGTERM reach the whole process group), which can look
 * permanent (an ffprobe killed while it started looked like a broken install: a deleted shard pod
 * exited 2, and the Job's podFailurePolicy failed the whole job). A failure that is really
 * permanent is met again by the rerun.
 */
export function interruptedFailure(error: unknown, signal: AbortSignal): unknown {
  if (!signal.aborted) return error;
  if (error instanceof UpscaleError && error.code === 'Cancelled') return error;
  const by = typeof signal.reason === 'string' ? ` by ${signal.reason}` : '';
  return new UpscaleError('Cancelled', `interrupted${by}; finished shards are kept and a rerun resumes`, { cause: error });
}

/**
 * {@link interruptedFailure}, after giving a signal that is on its way a moment to arrive: a signal
 * sent to the process group reaches the children too, and a child's death can be seen (and fail
 * the command) before Node has run our handler for the same signal.
 */
export async function failureToReport(error: unknown, signal: AbortSignal): Promise<unknown> {
  if (!signal.aborted) await new Promise((resolve) => setTimeout(resolve, 25));
  return interruptedFailure(error, signal);
}
