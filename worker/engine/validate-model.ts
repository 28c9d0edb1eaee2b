/**
 * Checks a bring-your-own ONNX model against the project's I/O contract (models/io-contract.ts):
 * one uint8 input and one uint8 output, both rank 4 NHWC with 3 channels and free height and width,
 * and an integer scale, found by running a tiny image through it on the CPU.
 */
// Before onnxruntime-node: it reads these settings when it loads.
import './ort-env.ts';
import ort from 'onnxruntime-node';
import { MODEL_IO_CHANNELS, MODEL_IO_ELEMENT_TYPE, MODEL_IO_RANK } from '../../models/io-contract.ts';
import { UpscaleError } from '../errors.ts';

/** What validation learned about a model. */
export interface ValidatedModel {
  readonly scale: number;
  readonly inputName: string;
  readonly outputName: string;
}

/** Edge of the probe image: small enough to be instant even for RRDBNet on a CPU. */
const PROBE_EDGE = 16;
const MAX_SCALE = 16;

function shapeProblem(what: string, meta: ort.InferenceSession.ValueMetadata): string | undefined {
  if (!meta.isTensor) return `its ${what} "${meta.name}" is not a tensor`;
  if (meta.type !== MODEL_IO_ELEMENT_TYPE) return `its ${what} "${meta.name}" is ${meta.type}, expected ${MODEL_IO_ELEMENT_TYPE} (RGB bytes)`;
  const shape = meta.shape;
  if (shape.length !== MODEL_IO_RANK) return `its ${what} "${meta.name}" has rank ${shape.length} [${shape.join(', ')}], expected ${MODEL_IO_RANK} (N, H, W, 3)`;
  const channels = shape[3];
  if (typeof channels === 'number' && channels !== MODEL_IO_CHANNELS) {
    return `its ${what} "${meta.name}" has ${channels} in the last dimension [${shape.join(', ')}], expected ${MODEL_IO_CHANNELS} channels last (NHWC)`;
  }
  if (typeof shape[1] === 'number' || typeof shape[2] === 'number') {
    return `its ${what} "${meta.name}" has a fixed height or width [${shape.join(', ')}]; tiling needs them free`;
  }
  return undefined;
}

/**
 * Validates `bytes` (named `subject` in errors: a path or URI).
 * @throws UpscaleError `InvalidInput` naming the file and the problem
 */
export async function validateModel(bytes: Uint8Array, subject: string): Promise<ValidatedModel> {
  const invalid = (problem: string, cause?: unknown): UpscaleError =>
    new UpscaleError('InvalidInput', `validating model ${subject}: ${problem}`, cause === undefined ? { subject } : { subject, cause });
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 });
  } catch (error) {
    throw invalid(`ONNX Runtime cannot load it: ${(error as Error).message}`, error);
  }
  try {
    if (session.inputNames.length !== 1) throw invalid(`it has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}), expected 1`);
    if (session.outputNames.length !== 1) throw invalid(`it has ${session.outputNames.length} outputs (${session.outputNames.join(', ')}), expected 1`);
    const [inputMeta] = session.inputMetadata;
    const [outputMeta] = session.outputMetadata;
    if (inputMeta === undefined || outputMeta === undefined) throw invalid('ONNX Runtime reports no input or output metadata');
    const problem = shapeProblem('input', inputMeta) ?? shapeProblem('output', outputMeta);
    if (problem !== undefined) throw invalid(problem);

    const probe = new Uint8Array(PROBE_EDGE * PROBE_EDGE * MODEL_IO_CHANNELS);
    for (let i = 0; i < probe.length; i++) probe[i] = (i * 37) & 255;
    let dims: readonly number[];
    try {
      const results = await session.run({ [inputMeta.name]: new ort.Tensor('uint8', probe, [1, PROBE_EDGE, PROBE_EDGE, MODEL_IO_CHANNELS]) });
      dims = results[outputMeta.name]?.dims ?? [];
    } catch (error) {
      throw invalid(`running a ${PROBE_EDGE}x${PROBE_EDGE} probe image failed: ${(error as Error).message}`, error);
    }
    const [n, h, w, c] = dims;
    const scale = (h ?? 0) / PROBE_EDGE;
    if (dims.length !== 4 || n !== 1 || c !== MODEL_IO_CHANNELS || h !== w || !Number.isInteger(scale) || scale < 1 || scale > MAX_SCALE) {
      throw invalid(`a 1x${PROBE_EDGE}x${PROBE_EDGE}x3 probe gave output [${dims.join(', ')}]; expected [1, ${PROBE_EDGE}*s, ${PROBE_EDGE}*s, 3] with an integer scale s from 1 to ${MAX_SCALE}`);
    }
    return { scale, inputName: inputMeta.name, outputName: outputMeta.name };
  } finally {
    await session.release();
  }
}
