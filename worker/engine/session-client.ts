/**
 * Main-thread handle of one session worker thread: starts it, sends batches, matches replies to
 * requests, and fails every outstanding request if the thread dies.
 */
// On this (the main) thread: a session thread's process.env is its own copy, which native code never
// reads, so the setting must be in the process's environment before the first thread starts.
import './ort-env.ts';
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { closeGatesAndWait, newGate } from './native-gate.ts';
import type { FromWorker, GatedWorkerData, RunRequest, SessionWorkerData, ToWorker } from './session-protocol.ts';

/** The output of one batch: [n, outHeight, outWidth, 3] samples of the model's type, as bytes. */
export interface BatchOutput {
  readonly data: Uint8Array;
  readonly dims: readonly number[];
  readonly runMs: number;
}

interface Pending {
  resolve(output: BatchOutput): void;
  reject(error: Error): void;
}

const WORKER_URL = new URL('./session-worker.ts', import.meta.url);

/** How long the exit waits for native calls in flight before it lets them meet the abort. */
const EXIT_WAIT_MS = 120_000;

/** The gates of the session threads alive now. */
const liveGates = new Set<SharedArrayBuffer>();
let exitHooked = false;

/**
 * At exit, before Node stops the session threads: let no native call start and wait for those
 * inside one (native-gate.ts says why). A frame on a GPU is milliseconds; a large tile on a CPU
 * can take seconds, which the user is told about.
 */
function holdExitForNativeCalls(): void {
  if (liveGates.size === 0) return;
  closeGatesAndWait(liveGates, EXIT_WAIT_MS, () => {
    writeSync(2, `upscale: waiting for the batch in inference to finish before exiting (kill -9 ${process.pid} stops it at once)\n`);
  });
}

/** Tracks `gate` until `worker` exits, with the exit hook installed once per process. */
function track(worker: Worker, gate: SharedArrayBuffer): void {
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', holdExitForNativeCalls);
  }
  liveGates.add(gate);
  worker.once('exit', () => liveGates.delete(gate));
}

/** One ONNX Runtime session on its own worker thread. */
export class SessionClient {
  readonly label: string;
  /** Batches sent and not yet answered. */
  inFlight = 0;
  /** Set once the thread has died; no more batches are accepted. */
  failure: Error | undefined;
  readonly loadMs: number;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Promise<void> | undefined;

  private constructor(worker: Worker, label: string, loadMs: number) {
    this.#worker = worker;
    this.label = label;
    this.loadMs = loadMs;
    worker.on('message', (message: FromWorker) => this.#onMessage(message));
    worker.on('error', (error: Error) => this.#die(new Error(`session worker ${label} crashed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.#die(new Error(`session worker ${label} exited with code ${code}`)));
  }

  /**
   * Starts a worker and creates its session.
   * @throws Error with ONNX Runtime's message when the session cannot be created
   */
  static start(data: SessionWorkerData): Promise<SessionClient> {
    return new Promise((resolve, reject) => {
      const gate = newGate();
      const worker = new Worker(WORKER_URL, { workerData: { ...data, gate } satisfies GatedWorkerData, name: `session ${data.label}` });
      track(worker, gate);
      // Remove only our own listeners: Worker keeps internal ones (they ref its message port).
      const detach = (): void => {
        worker.off('message', onMessage);
        worker.off('error', fail);
        worker.off('exit', onExit);
      };
      function fail(error: Error): void {
        detach();
        void worker.terminate();
        reject(error);
      }
      function onExit(code: number): void {
        fail(new Error(`session worker ${data.label} exited with code ${code} before its session was ready`));
      }
      function onMessage(message: FromWorker): void {
        if (message.type === 'ready') {
          detach();
          resolve(new SessionClient(worker, data.label, message.loadMs));
        } else {
          fail(new Error(message.type === 'initFailed' ? message.message : `unexpected first message "${message.type}" from session worker ${data.label}`));
        }
      }
      worker.on('message', onMessage);
      worker.on('error', fail);
      worker.on('exit', onExit);
    });
  }

  /** Runs one batch; `input` is transferred to the worker (it is detached afterwards). */
  run(input: Uint8Array, dims: RunRequest['dims'], outputSize?: RunRequest['outputSize']): Promise<BatchOutput> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.#closed !== undefined) return Promise.reject(new Error(`session ${this.label} is closed`));
    const id = this.#nextId++;
    // Only a whole ArrayBuffer can be transferred; a view into a larger one is copied first.
    const source = input.buffer;
    const buffer = source instanceof ArrayBuffer && input.byteOffset === 0 && input.byteLength === source.byteLength ? source : input.slice().buffer;
    const request: RunRequest = outputSize === undefined ? { type: 'run', id, input: buffer, dims } : { type: 'run', id, input: buffer, dims, outputSize };
    this.inFlight++;
    return new Promise<BatchOutput>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(request satisfies ToWorker, [buffer]);
    }).finally(() => {
      this.inFlight--;
    });
  }

  /** Releases the session and ends the thread (outstanding batches finish first). */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (this.failure !== undefined) {
        resolve();
        return;
      }
      this.#worker.once('exit', () => resolve());
      this.#worker.postMessage({ type: 'close' } satisfies ToWorker);
    });
    return this.#closed;
  }

  #onMessage(message: FromWorker): void {
    if (message.type !== 'result' && message.type !== 'failed') return;
    const pending = this.#pending.get(message.id);
    if (pending === undefined) return;
    this.#pending.delete(message.id);
    if (message.type === 'result') pending.resolve({ data: new Uint8Array(message.output), dims: message.dims, runMs: message.runMs });
    else pending.reject(new Error(message.message));
  }

  #die(error: Error): void {
    if (this.failure !== undefined) return;
    // A clean exit after close() is not a failure of anything outstanding (there is nothing).
    if (this.#closed !== undefined && this.#pending.size === 0) {
      this.failure = new Error(`session ${this.label} is closed`);
      return;
    }
    this.failure = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }
}
