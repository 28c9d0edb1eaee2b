/**
 * The engine's options: validated with zod at the boundary (they come from task JSON and flags),
 * with the defaults spelled out once here.
 */
import { z } from 'zod';
import { modelIdSchema } from '../../models/catalogue.ts';
import { UpscaleError } from '../errors.ts';
import { PROVIDERS } from './session-options.ts';

/**
 * Real-ESRGAN's default tile_pad is 10. We use more: realesr-general-x4v3 has 34 3x3 convolutions
 * (receptive radius 34 input pixels). Measured on a 150x98 photo tiled at 48 (engine-tiling.test.ts
 * checks the same): pad 10 leaves seams of up to 20 grey levels, 16 up to 8, 24 up to 2 (mean
 * 0.003), 34 none. Tiles are only cut when memory demands it, usually large, so 24 costs little.
 */
export const DEFAULT_TILE_PAD = 24;

const rect = z.object({
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
});

export const engineOptionsSchema = z.object({
  /** A catalogue id, a local ONNX file, or a URI read with `fetchModel`. */
  model: z.union([z.object({ id: modelIdSchema }), z.object({ path: z.string().min(1) }), z.object({ uri: z.string().min(1) })]),
  /** `auto` tries tensorrt, cuda, webgpu, cpu in that order. */
  provider: z.enum(['auto', ...PROVIDERS]).default('auto'),
  /** `auto`: fp16 on GPU providers, fp32 on the CPU. */
  precision: z.enum(['auto', 'fp32', 'fp16']).default('auto'),
  /** Largest tile edge in input pixels; 0 never tiles; `auto` sizes tiles from the device memory. */
  tileSize: z.union([z.literal('auto'), z.number().int().min(0)]).default('auto'),
  tilePad: z.number().int().min(0).max(256).default(DEFAULT_TILE_PAD),
  /** Images (tiles or frames of one shape) per run; `auto`: 1 on the CPU, up to 4 on GPUs. */
  batchSize: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
  /** One session per visible GPU; false uses only the first. */
  enableMultiGpu: z.boolean().default(true),
  /** Sessions per GPU (CUDA/TensorRT/WebGPU); more than one overlaps copies with compute. */
  sessionsPerDevice: z.number().int().min(1).max(8).default(1),
  /** Sessions on the CPU provider, each on its own thread. */
  cpuSessions: z.number().int().min(1).max(64).default(1),
  /** Intra-op threads per CPU session; default: the cores divided among the CPU sessions. */
  cpuThreads: z.number().int().min(1).max(256).optional(),
  /** Device memory to plan tiles for when nvidia-smi cannot tell (WebGPU on a non-NVIDIA GPU). */
  deviceMemoryMiB: z.number().positive().optional(),
  /** Crop applied to every frame before inference. */
  crop: rect.optional(),
  /** Output scale (e.g. 2 with an x4 model) or exact output size; default: the model's scale. */
  output: z.union([z.object({ scale: z.number().int().min(1).max(16) }), z.object({ width: z.number().int().min(1), height: z.number().int().min(1) })]).optional(),
  /** Frames admitted at once (bounds memory); default: enough to keep every session fed. */
  maxFramesInFlight: z.number().int().min(1).max(256).optional(),
  /** Batches queued per session (2 = the next batch waits, packed, while one runs). */
  prefetch: z.number().int().min(1).max(4).default(2),
});

/** Options as the caller writes them (defaults optional). */
export type EngineOptionsInput = z.input<typeof engineOptionsSchema>;
/** Options after defaults. */
export type EngineOptions = z.output<typeof engineOptionsSchema>;

/**
 * Validates the options.
 * @throws UpscaleError `InvalidArgument` listing every problem
 */
export function parseEngineOptions(input: unknown): EngineOptions {
  const result = engineOptionsSchema.safeParse(input);
  if (!result.success) {
    throw new UpscaleError('InvalidArgument', `engine options are invalid: ${z.prettifyError(result.error).replaceAll('\n', ' ')}`, { subject: 'engine options', cause: result.error });
  }
  return result.data;
}
