/**
 * One SIGINT and one SIGTERM listener for the whole `upscale` process, installed by the launcher
 * before anything else loads, dispatching to the running command's handler (interrupt.ts, the
 * operator's shutdown) once it has one, and exiting at once with the transient code before that:
 * nothing is running yet that needs stopping, and exiting runs the exit handlers (the private
 * TMPDIR's removal) where death by the signal (exit 130 or 143) left the folder behind.
 *
 * One listener, never removed: libuv hands a signal to the listeners there were when it arrived, so
 * removing one listener and adding another loses a signal that arrived between the two and was not
 * yet dispatched (a first version of this module did that: a Ctrl-C 0.4 s into a run was lost, and
 * the run went on to the end).
 *
 * This module imports nothing, so the launcher loads it before Node's compile cache is on.
 */

/** worker/errors.ts's EXIT_TRANSIENT, written out so that nothing is imported (a test checks they agree). */
export const SIGNAL_EXIT_CODE = 3;

let handler: ((signal: NodeJS.Signals) => void) | undefined;
let listening = false;

function dispatch(signal: NodeJS.Signals): void {
  if (handler === undefined) {
    process.stderr.write(`upscale: interrupted by ${signal} before the command started\n`);
    process.exit(SIGNAL_EXIT_CODE);
  }
  handler(signal);
}

/** Installs the listeners (once per process). */
export function listenForSignals(): void {
  if (listening) return;
  listening = true;
  process.on('SIGINT', dispatch);
  process.on('SIGTERM', dispatch);
}

/** Sends SIGINT and SIGTERM to `next` from now on. */
export function setSignalHandler(next: (signal: NodeJS.Signals) => void): void {
  listenForSignals();
  handler = next;
}
