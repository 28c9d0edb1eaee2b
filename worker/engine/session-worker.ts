/**
 * Body of a session worker thread: owns one ONNX Runtime session and runs the batches it is sent,
 * one after another. One thread per session because `run()` is synchronous native code that would
 * otherwise block the main event loop (microsoft/onnxruntime#19611); with one session per thread,
 * sessions on different GPUs really run at the same time.
 */
// ONNX Runtime's environment settings (ort-env.ts) are made by session-client.ts on the main thread:
// set here, on this thread's copy of process.env, native code would never see them.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';
// The contract, not resize-graph.ts: that one loads protobufjs, which a session never needs.
import { MODEL_INPUT_NAME, MODEL_OUTPUT_NAME, OUTPUT_SIZE_INPUT } from '../../models/io-contract.ts';
import { throughGate } from './native-gate.ts';
import type { FromWorker, GatedWorkerData, ToWorker } from './session-protocol.ts';

const port = parentPort;
if (port === null) throw new Error('session-worker.ts must run as a worker thread');
const data = workerData as GatedWorkerData;
// Every native call goes through the gate, so that the process never exits while one is inside.
const gated = <T>(call: () => Promise<T>): Promise<T | undefined> => throughGate(data.gate, call);
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

// ONNX Runtime's own log goes to fd 2 in red and would break the progress bar and the JSON log; a
// failure reaches us as an exception anyway, and we log it in our own lines (providers.ts).
ort.env.logLevel = 'fatal';

let session: ort.InferenceSession | undefined;
try {
  const started = performance.now();
  session = await gated(() => ort.InferenceSession.create(data.modelBytes, data.sessionOptions));
  if (session === undefined) throw new Error('the process is exiting');
  post({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, loadMs: performance.now() - started });
} catch (error) {
  post({ type: 'initFailed', message: error instanceof Error ? error.message : String(error) });
}

const inputName = session?.inputNames.includes(MODEL_INPUT_NAME) === true ? MODEL_INPUT_NAME : (session?.inputNames[0] ?? MODEL_INPUT_NAME);
const outputName = session?.outputNames.includes(MODEL_OUTPUT_NAME) === true ? MODEL_OUTPUT_NAME : (session?.outputNames[0] ?? MODEL_OUTPUT_NAME);

// Runs are chained so that they never overlap, whatever the message timing.
let queue: Promise<void> = Promise.resolve();

async function runBatch(s: ort.InferenceSession, request: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  try {
    const started = performance.now();
    // rgb48le is little-endian, as are the machines ONNX Runtime runs on: the bytes are the uint16s.
    const input = data.samples === 'uint16' ? new ort.Tensor('uint16', new Uint16Array(request.input), [...request.dims]) : new ort.Tensor('uint8', new Uint8Array(request.input), [...request.dims]);
    const feeds: Record<string, ort.Tensor> = { [inputName]: input };
    if (request.outputSize !== undefined) {
      feeds[OUTPUT_SIZE_INPUT] = new ort.Tensor('int64', BigInt64Array.from(request.outputSize, (v) => BigInt(v)), [2]);
    }
    const results = await gated(() => s.run(feeds));
    if (results === undefined) throw new Error('the process is exiting');
    const output = results[outputName];
    if (output === undefined) throw new Error(`the session returned no "${outputName}" output`);
    const bytes = output.data as Uint8Array | Uint16Array;
    // The binding gives each output its own ArrayBuffer; copy only if that ever stops being true.
    const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes.buffer : bytes.slice().buffer;
    post({ type: 'result', id: request.id, output: buffer, dims: output.dims, runMs: performance.now() - started }, [buffer]);
    for (const tensor of Object.values(results)) tensor.dispose();
  } catch (error) {
    post({ type: 'failed', id: request.id, message: error instanceof Error ? error.message : String(error) });
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'close') {
    queue = queue.then(async () => {
      const s = session;
      if (s !== undefined) await gated(() => s.release());
      post({ type: 'closed' });
      port.close();
    });
    return;
  }
  const s = session;
  if (s === undefined) {
    post({ type: 'failed', id: message.id, message: 'the session was never created' });
    return;
  }
  queue = queue.then(() => runBatch(s, message));
});
