/**
 * A gate between a session worker thread's native ONNX Runtime calls and the process exiting.
 *
 * Node stops worker threads when the process exits (process.exit, a second Ctrl-C, the grace
 * timer). A thread stopped while it is inside a native call (a session's creation, a run) comes
 * back to a JavaScript engine that refuses it, and onnxruntime-node's binding throws a C++
 * exception nothing catches: the whole process dies with SIGABRT (exit 134, "terminate called
 * after throwing an instance of 'Napi::Error'") and skips the cleanup at exit. Measured here: 8
 * exits in 8 during a run of realesr-general-x4v3 on 160x120 frames.
 *
 * So each thread marks when it is inside native code, in memory shared with the main thread, and
 * the main thread, at exit, closes the gate (no native call starts after that) and waits for the
 * calls already inside to return. Dekker's order makes it exact: the thread marks itself busy and
 * then looks at the gate; the main thread closes the gate and then looks at the marks; one of the
 * two sees the other.
 */

const BUSY = 0;
const CLOSED = 1;

/** The shared memory of one thread's gate: [busy, closed]. */
export function newGate(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}

/**
 * Worker side: runs `call` (a native call) unless the gate is closed.
 * @returns what `call` gave, or `undefined` when the process is exiting and it was not started
 */
export async function throughGate<T>(gate: SharedArrayBuffer, call: () => Promise<T>): Promise<T | undefined> {
  const cells = new Int32Array(gate);
  Atomics.store(cells, BUSY, 1);
  try {
    if (Atomics.load(cells, CLOSED) === 1) return undefined;
    return await call();
  } finally {
    Atomics.store(cells, BUSY, 0);
    Atomics.notify(cells, BUSY);
  }
}

/**
 * Main side: closes every gate and waits, blocking, until no thread is inside a native call, for
 * at most `maxMs` in all (a call that never returns, a hung device, then meets the abort).
 * @returns the milliseconds waited
 */
export function closeGatesAndWait(gates: Iterable<SharedArrayBuffer>, maxMs: number, onWait?: () => void): number {
  const started = performance.now();
  const all = [...gates].map((gate) => new Int32Array(gate));
  for (const cells of all) Atomics.store(cells, CLOSED, 1);
  const waitUntil = (deadline: number): boolean => {
    for (const cells of all) {
      for (let left = deadline - performance.now(); Atomics.load(cells, BUSY) === 1 && left > 0; left = deadline - performance.now()) Atomics.wait(cells, BUSY, 1, left);
    }
    return all.some((cells) => Atomics.load(cells, BUSY) === 1);
  };
  // Quiet for a call about to return; a long one (a large tile on a CPU) is announced.
  if (waitUntil(started + Math.min(maxMs, 1000)) && maxMs > 1000) {
    onWait?.();
    waitUntil(started + maxMs);
  }
  return performance.now() - started;
}
