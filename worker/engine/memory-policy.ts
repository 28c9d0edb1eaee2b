/**
 * Pure memory policy: the automatic tile size and batch limit from the model's cost and the device
 * memory, and what to do after an out-of-memory error (shrink the batch, then the tiles, then fail).
 */
import type { ProviderName } from './session-options.ts';

/**
 * Peak live activation values per input pixel, by architecture, including convolution workspace.
 * RRDBNet ends with 64-channel convolutions at 4x resolution (64 x 16 values per input pixel, with
 * input, output and workspace live); SRVGGNetCompact stays at input resolution except for the last
 * pixel shuffle. Unknown (bring-your-own) models get the RRDBNet figure, the safe side.
 */
const ACTIVATION_VALUES_PER_PIXEL: Readonly<Record<string, number>> = {
  RRDBNet: 4096,
  SRVGGNetCompact: 1024,
};
const UNKNOWN_ARCHITECTURE_VALUES = 4096;

/** Fraction of the device's free memory a session may plan to use (weights, runtime, other sessions). */
const USABLE_FRACTION = 0.5;
/** Tiles smaller than this waste most of their work on padding; out-of-memory below it is final. */
export const MIN_TILE_SIZE = 32;
const MAX_AUTO_BATCH = 4;

export interface MemoryBudgetRequest {
  readonly architecture: string | undefined;
  readonly precision: 'fp32' | 'fp16';
  /** Free memory of the device one session runs on. */
  readonly deviceMemoryBytes: number;
  /** Sessions that share that memory. */
  readonly sessionsOnDevice: number;
}

/** Input pixels one run may process (summed over the batch) within the memory budget. */
export function pixelsPerRun(request: MemoryBudgetRequest): number {
  const values = (request.architecture !== undefined ? ACTIVATION_VALUES_PER_PIXEL[request.architecture] : undefined) ?? UNKNOWN_ARCHITECTURE_VALUES;
  const bytesPerValue = request.precision === 'fp16' ? 2 : 4;
  const budget = (request.deviceMemoryBytes * USABLE_FRACTION) / Math.max(1, request.sessionsOnDevice);
  return Math.max(MIN_TILE_SIZE * MIN_TILE_SIZE, Math.floor(budget / (values * bytesPerValue)));
}

/** The square tile edge (a multiple of 8) whose window fits `pixelsPerRun`. */
export function autoTileSize(pixels: number, tilePad: number): number {
  const edge = Math.floor(Math.sqrt(pixels)) - 2 * tilePad;
  return Math.max(MIN_TILE_SIZE, Math.floor(edge / 8) * 8);
}

/**
 * Frames or tiles per run. The CPU provider already spreads one image over every core, so batching
 * only adds latency there; GPUs are better fed with a few images per run (perf-anchors.md §4).
 */
export function autoBatchSize(provider: ProviderName): number {
  return provider === 'cpu' ? 1 : MAX_AUTO_BATCH;
}

/** What to do after a run failed for lack of memory. */
export type OutOfMemoryAction =
  | { readonly action: 'shrink-batch'; readonly maxBatch: number }
  | { readonly action: 'shrink-tiles'; readonly tileSize: number }
  | { readonly action: 'fail' };

/**
 * First halve the batch (the same tiles are retried), then halve the tile edge (the frame is
 * re-planned), and give up below MIN_TILE_SIZE.
 * @param batchItems images in the batch that failed
 * @param tileSize tile edge the frame was planned with (0 = untiled)
 * @param largestEdge the frame's larger dimension, where an untiled frame starts shrinking from
 */
export function onOutOfMemory(batchItems: number, tileSize: number, largestEdge: number): OutOfMemoryAction {
  if (batchItems > 1) return { action: 'shrink-batch', maxBatch: Math.max(1, Math.floor(batchItems / 2)) };
  const current = tileSize > 0 ? Math.min(tileSize, largestEdge) : largestEdge;
  const next = Math.floor(current / 2);
  return next >= MIN_TILE_SIZE ? { action: 'shrink-tiles', tileSize: next } : { action: 'fail' };
}

const OOM_PATTERNS = [
  /out of memory/i,
  /failed to allocate/i,
  /bad_alloc/i,
  /ALLOC_FAILED/, // CUDNN_STATUS_ALLOC_FAILED, CUBLAS_STATUS_ALLOC_FAILED
  /cudaErrorMemoryAllocation/,
  /\bOOM\b/,
  /allocation fail/i,
  /Buffer size \(\d+\) exceeds the max buffer size limit/i, // WebGPU maxBufferSize
];

/** True when an ONNX Runtime error message says a run ran out of (device) memory. */
export function isOutOfMemory(message: string): boolean {
  return OOM_PATTERNS.some((pattern) => pattern.test(message));
}
