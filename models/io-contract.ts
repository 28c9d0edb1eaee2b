/**
 * The input/output contract every model the worker runs follows (see models/README.md). The
 * converter writes it; the engine checks models (including users' own) against it.
 */

/** Name of the graph input: uint8 RGB frames, [N, H, W, 3] (NHWC), dynamic N, H and W. */
export const MODEL_INPUT_NAME = 'input';
/** Name of the graph output: uint8 RGB frames, [N, H*scale, W*scale, 3]. */
export const MODEL_OUTPUT_NAME = 'output';
/**
 * Name of the second graph input of a model with an output Resize (worker/engine/resize-graph.ts):
 * int64 [2], the output height and width.
 */
export const OUTPUT_SIZE_INPUT = 'output_size';
/** Element type of both input and output. */
export const MODEL_IO_ELEMENT_TYPE = 'uint8';
/** Channels per pixel (RGB, in that order). */
export const MODEL_IO_CHANNELS = 3;
/** Tensor rank of both input and output. */
export const MODEL_IO_RANK = 4;
/** Version of this contract, recorded in each model's metadata. */
export const MODEL_IO_CONTRACT = 'uint8-nhwc-rgb/1';
/**
 * The deep variant of the contract: the same layout with uint16 samples (0..65535, as
 * `ffmpeg -pix_fmt rgb48le` writes them on a little-endian machine), for sources of more than 8 bits.
 */
export const MODEL_IO_CONTRACT_UINT16 = 'uint16-nhwc-rgb/1';
/** Element types of the two contracts, and the largest sample value of each. */
export type SampleType = 'uint8' | 'uint16';
export const SAMPLE_MAX: Readonly<Record<SampleType, number>> = { uint8: 255, uint16: 65535 };

/** Keys of the ONNX metadata_props the converter writes. */
export const METADATA_KEYS = {
  modelId: 'upscale.model_id',
  scale: 'upscale.scale',
  precision: 'upscale.precision',
  ioContract: 'upscale.io_contract',
  architecture: 'upscale.architecture',
  source: 'upscale.source',
  sourceParamSha256: 'upscale.source_param_sha256',
  sourceBinSha256: 'upscale.source_bin_sha256',
  license: 'upscale.license',
  converterVersion: 'upscale.converter_version',
} as const;
