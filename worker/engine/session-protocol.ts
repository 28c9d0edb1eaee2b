/**
 * Messages between the engine (main thread) and a session worker thread. Tensors travel as
 * transferred ArrayBuffers: moved, not copied, in both directions.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { SampleType } from '../../models/io-contract.ts';

/** `workerData` of a session worker. */
export interface SessionWorkerData {
  /** The model, already prepared (Resize appended when needed). Copied into the worker once. */
  readonly modelBytes: Uint8Array;
  readonly sessionOptions: InferenceSession.SessionOptions;
  /** Device label for messages, e.g. `cuda:1`. */
  readonly label: string;
  /** Element type of the model's input and output (default uint8). */
  readonly samples?: SampleType;
}

/** What a session worker is started with: the caller's data and its native-gate.ts gate. */
export interface GatedWorkerData extends SessionWorkerData {
  readonly gate: SharedArrayBuffer;
}

/** Main -> worker: run one batch. */
export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  /** uint8 or uint16 (the model's sample type) [n, height, width, 3], as bytes. */
  readonly input: ArrayBuffer;
  readonly dims: readonly [number, number, number, number];
  /** Output height and width when the graph ends in the appended Resize. */
  readonly outputSize?: readonly [number, number];
}

/** Main -> worker: release the session and exit. */
export interface CloseRequest {
  readonly type: 'close';
}

export type ToWorker = RunRequest | CloseRequest;

/** Worker -> main. */
export type FromWorker =
  | { readonly type: 'ready'; readonly inputNames: readonly string[]; readonly outputNames: readonly string[]; readonly loadMs: number }
  | { readonly type: 'initFailed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly output: ArrayBuffer; readonly dims: readonly number[]; readonly runMs: number }
  | { readonly type: 'failed'; readonly id: number; readonly message: string }
  | { readonly type: 'closed' };
