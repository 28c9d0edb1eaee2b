/**
 * The task contract between the drivers (`upscale run`, the operator) and the worker's steps.
 *
 * One zod-validated JSON object per step. Pods receive it as `--task` (JSON) or `--task-file`; the
 * schema's `version` is part of it so a newer operator can refuse an older worker image (and the
 * reverse) with a clear error instead of a misread field.
 */
import { z } from 'zod';
import { UpscaleError } from './errors.ts';
import { isValidJobId, JOB_ID_RULE } from './job-id.ts';
import { VIDEO_CODECS } from './media/video-codecs.ts';
import { inputLimitsSchema } from './media/input-limits.ts';
import { DEINTERLACE_CHOICES } from './media/interlace.ts';
import { segmentSchema } from './media/segment.ts';

export const TASK_VERSION = 1;
export const DEFAULT_MODEL = 'realesr-general-x4v3';
export const STEPS = ['probe', 'shard', 'assemble', 'cleanup'] as const;
export type StepName = (typeof STEPS)[number];

// Choices and bounds shared with the operator's UpscaleJob API (operator/api/), so the CRD and the
// worker can never disagree on what a field accepts.
export const SCALES = [2, 3, 4] as const;
export const PRECISION_CHOICES = ['auto', 'fp32', 'fp16'] as const;
export const EP_CHOICES = ['auto', 'cpu', 'webgpu', 'cuda', 'tensorrt'] as const;
export const ENCODER_CHOICES = ['auto', 'cpu', 'nvenc'] as const;
export const CRF_MAX = 63;
export const TILE_MAX = 16384;
/** Largest output edge `width`/`height` accept (H.264/HEVC levels top out at 8192; AV1 at 65536). */
export const OUTPUT_EDGE_MAX = 16384;
/** What a preset looks like: x264/x265 names, SVT-AV1 numbers, NVENC p1-p7. */
export const PRESET_PATTERN = '^[a-z0-9]{1,16}$';
export const MAX_WORKERS = 10_000;

/** How frames are upscaled and encoded: the same for every shard of a job. */
export const upscaleSettingsSchema = z.object({
  /** A catalogue model id, a local `.onnx` path, or a `file://`/`s3://` URI of an ONNX model. */
  model: z.string().min(1).default(DEFAULT_MODEL),
  /** Output scale: 2 or 3 downscale the x4 model's output (Real-ESRGAN's `--outscale`). */
  scale: z.literal(SCALES).optional(),
  /**
   * Target output width and height in pixels, instead of `scale`. `upscale run` takes one of them
   * and derives the other from the source's aspect; a shard task needs both. A 4:2:0 encoder gets
   * even sizes (`upscale run` rounds down; an odd size in a shard task loses its last column/row).
   */
  width: z.int().min(2).max(OUTPUT_EDGE_MAX).optional(),
  height: z.int().min(2).max(OUTPUT_EDGE_MAX).optional(),
  /** Largest tile edge in input pixels; 0 never tiles; `auto` sizes tiles from the device memory. */
  tile: z.union([z.literal('auto'), z.int().min(0).max(TILE_MAX)]).default('auto'),
  precision: z.enum(PRECISION_CHOICES).default('auto'),
  /** Execution provider; `auto` tries tensorrt, cuda, webgpu, cpu in that order. */
  ep: z.enum(EP_CHOICES).default('auto'),
  /** One inference session per visible GPU; false uses only the first. */
  enableMultiGpu: z.boolean().default(true),
  codec: z.enum(VIDEO_CODECS).default('h264'),
  /**
   * Encoder hardware. `auto` is NVENC where ffmpeg and the GPU have it (H100/H200 have none), else
   * the CPU. Every shard of a job must use the same encoder (assembly refuses mixed shards), so a
   * driver resolves `auto` once per job (`upscale run` does at start); a shard that still sees
   * `auto` decides for itself.
   */
  encoder: z.enum(ENCODER_CHOICES).default('auto'),
  /**
   * Constant rate factor; default per codec (x264 18, x265 20, SVT-AV1 30). `upscale run` refuses
   * values outside the encoder's range (x264/x265/NVENC 0-51, SVT-AV1 0-63) and any with ffv1.
   */
  crf: z.int().min(0).max(CRF_MAX).optional(),
  /** Encoder preset, e.g. `medium` (x264/x265) or `8` (SVT-AV1). */
  preset: z.string().regex(new RegExp(PRESET_PATTERN), 'a preset is a short lowercase word or number').optional(),
  /**
   * Interlaced sources (probed `field_order`): `auto` deinterlaces them before the model (bwdif, one
   * frame per frame: same frame count and timestamps); `off` upscales the fields as they are.
   */
  deinterlace: z.enum(DEINTERLACE_CHOICES).default('auto'),
});
export type UpscaleSettings = z.output<typeof upscaleSettingsSchema>;
export type UpscaleSettingsInput = z.input<typeof upscaleSettingsSchema>;

/** How the probe step cuts the job into shards (see worker/shard-plan.ts for the default rule). */
export const planSettingsSchema = z.object({
  /** Workers expected to run shards in parallel (pods, GPUs, local processes). */
  workers: z.int().min(1).max(MAX_WORKERS).default(1),
  shardFrames: z.int().min(1).optional(),
  shardCount: z.int().min(1).optional(),
  /**
   * Sustained GFLOP/s of one worker and the catalogue model it runs: with both, shards are sized from
   * the expected frames/s (a slow CPU worker gets shorter shards) instead of the planner's default.
   */
  workerGflops: z.number().positive().optional(),
  model: z.string().optional(),
});

const jobId = z.string().refine(isValidJobId, `a job id is ${JOB_ID_RULE}`);
const location = z.string().min(1, 'a path or URI is required');
const common = {
  version: z.literal(TASK_VERSION),
  jobId,
  /** Source video: a local path, `file://`, `s3://bucket/key` or a read-only `https://` URL. */
  input: location,
  /** Final output: a local path, `file://` or `s3://bucket/key`; intermediates live beside it. */
  output: location.refine((value) => !/^https?:\/\//i.test(value), 'http(s) locations are read-only: write the output to s3://bucket/key or a local path'),
};

export const probeTaskSchema = z.object({
  ...common,
  step: z.literal('probe'),
  /** Replace an existing output; without it the job fails before any work. */
  overwrite: z.boolean().default(false),
  plan: planSettingsSchema.prefault({}),
  /**
   * Upscale only part of the source (media/segment.ts): `start` seconds from the first frame, then
   * `duration` seconds or `frames` frames. The probe step fixes the frame range in `plan.json`; the
   * shard and assemble steps follow the plan (audio and subtitles are trimmed to it). A segment that
   * selects no frame fails the probe step (`InvalidArgument`, naming the field).
   */
  segment: segmentSchema.optional(),
  /** What the source may declare: `maxPixels` per frame (default 64 MP), `maxStreams` audio+subtitle streams kept (64). */
  limits: inputLimitsSchema.prefault({}),
});

export const shardTaskSchema = z.object({
  ...common,
  step: z.literal('shard'),
  /** Index into the plan; in an Indexed Job it comes from `JOB_COMPLETION_INDEX` instead. */
  shard: z.int().min(0).optional(),
  settings: upscaleSettingsSchema.prefault({}),
});

export const assembleTaskSchema = z.object({
  ...common,
  step: z.literal('assemble'),
  overwrite: z.boolean().default(false),
  /** Keep `<output>.upscale/<job-id>/` after a successful assembly (default: delete it). */
  keepIntermediates: z.boolean().default(false),
  /**
   * Start before the shards are done (default false: every planned shard must be done, else the
   * step fails, transiently). When true the step waits for each shard's manifest, stages each
   * shard as it lands and streams it into the output in plan order, so only the last shard's
   * bytes, the verification and the publish are left when the last shard commits. The waiting has
   * no limit of its own: whoever started the step stops it (the operator deletes the Job when the
   * shards fail or the job is suspended).
   */
  waitForShards: z.boolean().default(false),
});

/** Deletes a job's intermediates (`<output>.upscale/<job-id>/`), e.g. when a cluster job is deleted half-way. */
export const cleanupTaskSchema = z.object({
  ...common,
  step: z.literal('cleanup'),
});

export const taskSchema = z.discriminatedUnion('step', [probeTaskSchema, shardTaskSchema, assembleTaskSchema, cleanupTaskSchema]);
export type ProbeTask = z.output<typeof probeTaskSchema>;
export type ShardTask = z.output<typeof shardTaskSchema>;
export type AssembleTask = z.output<typeof assembleTaskSchema>;
export type CleanupTask = z.output<typeof cleanupTaskSchema>;
export type Task = z.output<typeof taskSchema>;

/**
 * Validates a task from a pod argument, a file or a flag set.
 * @throws UpscaleError `InvalidArgument` naming the first bad field
 */
export function parseTask<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
  throw new UpscaleError('InvalidArgument', `invalid task in ${source}: ${issues}`, { subject: source, cause: parsed.error });
}
