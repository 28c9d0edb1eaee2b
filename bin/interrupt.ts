/**
 * Ctrl-C and SIGTERM (a pod being deleted): abort, which stops the running shard after the frame in
 * inference, and let the command fail with the transient code. A second signal, or a step that does
 * not stop within the grace, exits at once. Either is safe by design: every object appears atomically
 * and finished shards keep their manifests, so a rerun resumes.
 */
import { EXIT_TRANSIENT } from '../worker/errors.ts';

const GRACE_MS = 20_000;

/** Installs the handlers; returns a function that removes them. */
export function handleInterrupts(controller: AbortController, what: string): () => void {
  const stop = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT_TRANSIENT);
    process.stderr.write(`upscale ${what}: interrupted by ${signal}; finished shards are kept and a rerun resumes\n`);
    controller.abort();
    setTimeout(() => process.exit(EXIT_TRANSIENT), GRACE_MS).unref();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
}
