/**
 * The `UpscaleJob` API (`upscale.dev/v1alpha1`): the product's public resource, and the one source
 * of truth for it. The CRD in `crds/` is generated from these schemas (`npm run crds`,
 * operator/api/crd.ts); the operator parses every object it reads with them, so defaults applied by
 * the API server and by the operator are the same values.
 *
 * Every field's description becomes `kubectl explain` text. Enums and bounds come from the worker's
 * task contract (worker/task.ts) and the model catalogue, never copied.
 */
import { z } from 'zod';
import { DEFAULT_MODEL, CRF_MAX, ENCODER_CHOICES, EP_CHOICES, MAX_WORKERS, OUTPUT_EDGE_MAX, PRECISION_CHOICES, PRESET_PATTERN, SCALES, TILE_MAX } from '../../worker/task.ts';
import { VIDEO_CODECS } from '../../worker/media/video-codecs.ts';
import { DEINTERLACE_CHOICES } from '../../worker/media/interlace.ts';
import { MODEL_IDS } from '../../models/catalogue.ts';
import { DEFAULT_MAX_PIXELS, DEFAULT_MAX_STREAMS, FFMPEG_MAX_PIXELS } from '../../worker/media/input-limits.ts';
import { encodeIssues } from './encode-checks.ts';

export const GROUP = 'upscale.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'UpscaleJob';
export const PLURAL = 'upscalejobs';
export const SINGULAR = 'upscalejob';
export const SHORT_NAMES = ['uj'] as const;

/**
 * Checks that both zod (here) and the API server (CEL rules in operator/api/crd.ts) run, sharing
 * the pattern and the message so both reject the same values with the same words. Patterns are
 * valid in JavaScript and in RE2 (CEL `matches`); they use `[.]` rather than backslash escapes.
 */
export const CHECKS = {
  input: { pattern: '^(s3|https)://[^/]+/.*[^/]$', message: 'input must be an s3://bucket/key URI or an https:// URL of one object' },
  output: { pattern: '^s3://[^/]+/.*[^/]$', message: 'output must be an s3://bucket/key URI naming one object (not a prefix ending in /)' },
  modelUri: {
    pattern: '^s3://[^/]+/.*[^/]$',
    message: `model must be a catalogue model id (${MODEL_IDS.join(', ')}) or the s3://bucket/key URI of an ONNX model`,
  },
  /**
   * Matches (and so refuses) an s3:// key starting with "/" or holding a "." or ".." segment: HTTP
   * clients and proxies normalise dot segments, so such a key can name an object outside its
   * prefix (the worker's parseLocation refuses the same keys, control characters too).
   */
  s3DotSegments: {
    pattern: '^s3://[^/]+/(/|([^/]*/)*[.][.]?(/|$))',
    message: 'an s3:// key may not start with "/" or contain "." or ".." path segments',
  },
  /** A domain-prefixed extended resource name (the domain part is a DNS subdomain). */
  gpuResourceName: {
    pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$',
    message: 'gpuResourceName must be a domain-prefixed extended resource name such as nvidia.com/gpu or amd.com/gpu',
  },
  /** A non-negative Kubernetes quantity (k8s.io/apimachinery resource.Quantity grammar, no sign). */
  quantity: {
    pattern: '^([0-9]+([.][0-9]*)?|[.][0-9]+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?([0-9]+([.][0-9]*)?|[.][0-9]+))?$',
    message: 'must be a non-negative Kubernetes quantity such as 4, "3500m" or "16Gi"',
  },
} as const;

/** Messages of the checks that are not a single pattern; crd.ts uses the same words. */
export const MESSAGES = {
  outputIsInput: 'output must differ from input',
  scaleOrSize: 'scale and width/height both set the output size: set scale, or width and/or height',
  shardingExclusive: 'framesPerShard and shards are mutually exclusive; set at most one',
  segmentDuration: 'segment.duration must be greater than 0 seconds',
  segmentLength: 'segment.duration and segment.frames are mutually exclusive; set at most one',
  segmentStart: 'segment.start and segment.firstFrame are mutually exclusive; set at most one',
  tile: `tile must be "auto" or an integer from 0 to ${TILE_MAX}`,
  tolerationExistsValue: 'value must be empty when operator is Exists',
  tolerationEmptyKey: 'an empty key requires operator Exists',
  tolerationSeconds: 'tolerationSeconds requires effect NoExecute',
} as const;

const matches = (check: { pattern: string }) => {
  const re = new RegExp(check.pattern);
  return (value: string) => re.test(value);
};
const safeS3Key = (field: string) => ({ check: (value: string) => !matches(CHECKS.s3DotSegments)(value), message: `${field}: ${CHECKS.s3DotSegments.message}` });


/** Kubernetes label and annotation maps. */
const stringMap = (description: string) => z.record(z.string(), z.string()).meta({ description });

const encodeSchema = z
  .object({
    codec: z.enum(VIDEO_CODECS as readonly ['h264', 'hevc', 'av1', 'ffv1']).optional().meta({
      description: 'Video codec of the output: h264 (libx264), hevc (libx265), av1 (SVT-AV1) or ffv1 (lossless). Default, as upscale run decides: av1 for .webm outputs, hevc (Main 10) for a source of more than 8 bits, else h264.',
    }),
    crf: z.int().min(0).max(CRF_MAX).optional().meta({
      description: 'Constant rate factor (lower is better quality): h264 and hevc 0-51, av1 0-63 (default 18, 20, 30); with NVENC the constant quality level (0-51, default 21); ffv1 is lossless and takes none.',
    }),
    preset: z.string().max(16).regex(new RegExp(PRESET_PATTERN)).optional().meta({
      description: 'Encoder preset of the job\'s codec: h264/hevc names ultrafast ... placebo (default medium), av1 (SVT-AV1) 0-13 (default 8), NVENC (encoder: nvenc) p1-p7 (default p5); ffv1 takes none.',
    }),
    encoder: z.enum(ENCODER_CHOICES).default('auto').meta({
      description: 'Encoder hardware: auto (NVENC where the GPU has it; H100/H200 have none), cpu, or nvenc.',
    }),
  })
  .meta({ description: 'How the upscaled frames are encoded; every shard uses the same settings. Immutable.' });

const inferenceSchema = z
  .object({
    tile: z.union([z.literal('auto'), z.int().min(0).max(TILE_MAX)], { error: MESSAGES.tile }).default('auto').meta({
      description: 'Largest tile edge in input pixels (0: never tile; auto: sized from the GPU memory). An integer or the string "auto".',
    }),
    precision: z.enum(PRECISION_CHOICES).default('auto').meta({
      description: 'Model precision: auto (fp16 on GPUs, fp32 on CPUs), fp32 or fp16.',
    }),
    executionProvider: z.enum(EP_CHOICES).default('auto').meta({
      description: 'ONNX Runtime execution provider: auto tries tensorrt, cuda, webgpu, then cpu.',
    }),
  })
  .meta({ description: 'How the model runs on each shard pod.' });

const secretRefSchema = z
  .object({
    name: z.string().min(1).max(253).meta({ description: 'Name of a Secret in the job\'s namespace.' }),
  })
  .meta({
    description:
      'Secret with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (optionally AWS_SESSION_TOKEN), mounted into the pods as environment variables. The operator itself never reads it. Without it the pods use the default AWS credential chain (IRSA, workload identity, instance profile).',
  });

const storageSchema = z
  .object({
    endpoint: z.string().regex(/^https?:\/\/[^/\s]+/).optional().meta({
      description: 'S3 API endpoint, e.g. http://minio.storage.svc:9000. Empty: the operator\'s default, else AWS S3 for the region.',
    }),
    region: z.string().min(1).max(64).optional().meta({ description: 'S3 region. Empty: the operator\'s default (us-east-1 for custom endpoints).' }),
    forcePathStyle: z.boolean().optional().meta({
      description: 'Path-style addressing (http://endpoint/bucket/key). Empty: on for custom endpoints, off for AWS.',
    }),
    secretRef: secretRefSchema.optional(),
  })
  .meta({ description: 'Object storage the pods read the input from and write the output to. Unset fields come from the operator\'s configuration.' });

const shardingSchema = z
  .object({
    framesPerShard: z.int().min(1).max(1_000_000).optional().meta({
      description: 'Frames per shard. Default: sized from parallelism so every pod gets several shards (short shards limit the work lost to a preemption). Mutually exclusive with shards.',
    }),
    shards: z.int().min(1).max(100_000).optional().meta({
      description: 'Number of shards (an alternative to framesPerShard). Mutually exclusive with framesPerShard.',
    }),
    parallelism: z.int().min(1).max(MAX_WORKERS).default(4).meta({
      description: 'Shard pods running at the same time (at most one GPU set each).',
    }),
  })
  .refine((s) => s.framesPerShard === undefined || s.shards === undefined, { message: MESSAGES.shardingExclusive, path: ['shards'] })
  .meta({ description: 'How the video is cut into frame ranges, each a pod of one Indexed Job.' });

const segmentSchema = z
  .object({
    start: z.number().min(0).max(1e7).optional().meta({ description: 'Seconds from the first frame where the segment starts (default 0): the first frame at or after it is the first upscaled. Mutually exclusive with firstFrame.' }),
    firstFrame: z.int().min(0).max(1e9).optional().meta({ description: 'First source frame to upscale (0-based, display order), instead of start.' }),
    duration: z.number().max(1e7).optional().refine((d) => d === undefined || d > 0, MESSAGES.segmentDuration).meta({ description: 'Seconds to upscale from the start (> 0; default: to the end). Mutually exclusive with frames.' }),
    frames: z.int().min(1).max(1e9).optional().meta({ description: 'Frames to upscale from the start, instead of duration.' }),
  })
  .refine((s) => s.duration === undefined || s.frames === undefined, { message: MESSAGES.segmentLength, path: ['frames'] })
  .refine((s) => s.start === undefined || s.firstFrame === undefined, { message: MESSAGES.segmentStart, path: ['firstFrame'] })
  .meta({
    description: 'Upscale only part of the video, frame-exact; audio and subtitles are trimmed to it and the output starts at 0. A segment that selects no frame fails the job (reason InvalidArgument). Immutable.',
  });

const inputLimitsSchema = z
  .object({
    maxPixels: z.int().min(1).max(FFMPEG_MAX_PIXELS).optional().meta({
      description: `Largest picture (width x height) the source may declare or decode to; a bigger one fails the probe, or the shard whose frames grow past it mid-stream, before any decode allocates it (default ${DEFAULT_MAX_PIXELS}, 8192x8192).`,
    }),
    maxStreams: z.int().min(0).max(10_000).optional().meta({ description: `Most audio and subtitle streams kept; the rest are dropped with a warning (default ${DEFAULT_MAX_STREAMS}).` }),
  })
  .meta({ description: 'Bounds on what the source may declare, checked by the probe step (hostile or broken media).' });

const quantity = (field: string) => {
  const message = `${field} ${CHECKS.quantity.message}`;
  return z.union([z.int().min(0), z.string().max(64).refine(matches(CHECKS.quantity), message)], { error: message });
};

const resourcesSchema = z
  .object({
    gpuResourceName: z.string().min(1).max(253).refine(matches(CHECKS.gpuResourceName), CHECKS.gpuResourceName.message).default('nvidia.com/gpu').meta({
      description: 'Extended resource name of the GPUs, e.g. nvidia.com/gpu or amd.com/gpu.',
    }),
    gpusPerShard: z.int().min(0).max(16).default(1).meta({
      description: 'GPUs per shard pod; 0 runs on CPUs (CPU-only clusters, tests).',
    }),
    cpu: quantity('cpu').optional().meta({ description: 'CPU request and limit per shard pod, e.g. "4" or "3500m" (Kubernetes quantity).' }),
    memory: quantity('memory').optional().meta({ description: 'Memory request and limit per shard pod, e.g. "16Gi" (Kubernetes quantity).' }),
  })
  .meta({ description: 'Resources of each shard pod.' });

const tolerationSchema = z
  .object({
    key: z.string().max(316).optional().meta({ description: 'Taint key the toleration applies to; empty matches all keys (with operator Exists).' }),
    operator: z.enum(['Exists', 'Equal']).optional().meta({ description: 'Exists or Equal (default Equal).' }),
    value: z.string().max(63).optional().meta({ description: 'Taint value for operator Equal; empty for Exists.' }),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().meta({ description: 'Taint effect to match; empty matches all.' }),
    tolerationSeconds: z.int().optional().meta({ description: 'How long a NoExecute taint is tolerated, in seconds (effect must be NoExecute).' }),
  })
  // The rules Kubernetes applies to a pod's tolerations, checked at job creation rather than when
  // the first shard pod is rejected.
  .refine((t) => t.operator !== 'Exists' || !t.value, { message: MESSAGES.tolerationExistsValue, path: ['value'] })
  .refine((t) => !!t.key || t.operator === 'Exists', { message: MESSAGES.tolerationEmptyKey, path: ['operator'] })
  .refine((t) => t.tolerationSeconds === undefined || t.effect === 'NoExecute', { message: MESSAGES.tolerationSeconds, path: ['tolerationSeconds'] })
  .meta({ description: 'A toleration (Kubernetes core/v1 Toleration).' });

const podTemplateSchema = z
  .object({
    metadata: z
      .object({
        labels: stringMap('Labels for every pod and Job of the job, e.g. kueue.x-k8s.io/queue-name or cost labels.').optional(),
        annotations: stringMap('Annotations for every pod and Job of the job.').optional(),
      })
      .optional()
      .meta({ description: 'Labels and annotations for every pod of the job.' }),
    spec: z
      .object({
        nodeSelector: stringMap('Node labels the pods must match, e.g. nvidia.com/gpu.product.').optional(),
        tolerations: z.array(tolerationSchema).max(64).optional().meta({
          description:
            "Tolerations of the pods (Kubernetes core/v1 Toleration). Shard pods also tolerate node.kubernetes.io/not-ready and unreachable (NoExecute) for the operator's --shard-node-loss-toleration-seconds (30 s; Kubernetes' default is 300 s), unless a toleration here matches that taint: then yours applies.",
        }),
        affinity: z.record(z.string(), z.unknown()).optional().meta({ description: 'Affinity of the pods (Kubernetes core/v1 Affinity).' }),
        priorityClassName: z.string().max(253).optional().meta({ description: 'PriorityClass of the pods.' }),
        runtimeClassName: z.string().max(253).optional().meta({ description: 'RuntimeClass of the pods, e.g. nvidia.' }),
        serviceAccountName: z.string().max(253).optional().meta({ description: 'ServiceAccount of the pods, e.g. one bound to a cloud IAM role for storage access.' }),
        imagePullSecrets: z
          .array(z.object({ name: z.string().min(1).max(253).meta({ description: 'Secret name.' }) }).meta({ description: 'A Secret of type kubernetes.io/dockerconfigjson in the job\'s namespace.' }))
          .max(16)
          .optional()
          .meta({ description: 'Secrets for pulling the worker image.' }),
      })
      .optional()
      .meta({ description: 'Scheduling for every pod of the job.' }),
  })
  .meta({ description: 'Metadata and scheduling for every pod of the job.' });

const SPEC_DESCRIPTION = 'What to upscale, where to write it, and how to run it.';

const specObjectSchema = z
  .object({
    input: z.string().min(1).max(2048).refine(matches(CHECKS.input), CHECKS.input.message).refine(safeS3Key('input').check, safeS3Key('input').message).meta({
      description: 'Source video: s3://bucket/key or an https:// URL (read-only). Immutable.',
    }),
    output: z.string().min(1).max(2048).refine(matches(CHECKS.output), CHECKS.output.message).refine(safeS3Key('output').check, safeS3Key('output').message).meta({
      description: 'Output video: s3://bucket/key, not the input. Intermediates live under <output>.upscale/<uid>/ until the job succeeds. The container follows the extension (.mp4, .m4v, .mov, .mkv, .webm), and encode.codec must fit it. Immutable.',
    }),
    model: z
      .string()
      .min(1)
      .max(2048)
      .refine((m) => (MODEL_IDS as readonly string[]).includes(m) || matches(CHECKS.modelUri)(m), CHECKS.modelUri.message)
      .default(DEFAULT_MODEL)
      .meta({
        description: `A catalogue model id (${MODEL_IDS.join(', ')}; default ${DEFAULT_MODEL}) or the s3:// URI of an ONNX model with the project's I/O contract. Immutable.`,
      }),
    scale: z.literal(SCALES).optional().meta({
      description: 'Output scale: 2, 3 or 4 (2 and 3 resize the x4 model\'s output). Default: the model\'s own scale (4 for every catalogue model). Mutually exclusive with width/height. Immutable.',
    }),
    width: z.int().min(2).max(OUTPUT_EDGE_MAX).optional().meta({
      description: `Output width in pixels (2-${OUTPUT_EDGE_MAX}), instead of scale. Alone, the height follows the source's aspect. Sizes are made even (rounded down) for 4:2:0 codecs. Immutable.`,
    }),
    height: z.int().min(2).max(OUTPUT_EDGE_MAX).optional().meta({
      description: `Output height in pixels (2-${OUTPUT_EDGE_MAX}), instead of scale. Alone, the width follows the source's aspect. Sizes are made even (rounded down) for 4:2:0 codecs. Immutable.`,
    }),
    deinterlace: z.enum(DEINTERLACE_CHOICES).default('auto').meta({
      description: 'Interlaced sources (probed field order): auto deinterlaces them before the model (bwdif, same frame count and timestamps); off upscales the fields as they are. Immutable.',
    }),
    segment: segmentSchema.optional(),
    inputLimits: inputLimitsSchema.optional(),
    encode: encodeSchema.prefault({}),
    inference: inferenceSchema.prefault({}),
    storage: storageSchema.optional(),
    sharding: shardingSchema.prefault({}),
    resources: resourcesSchema.prefault({}),
    podTemplate: podTemplateSchema.optional(),
    image: z.string().min(1).max(512).optional().meta({ description: 'Worker image for every pod. Default: the operator\'s configured worker image.' }),
    backoffLimitPerShard: z.int().min(0).max(100).default(3).meta({
      description: 'Retries of a failed shard before the job fails. Evicted or preempted pods do not count.',
    }),
    activeDeadlineSeconds: z.int().min(1).optional().meta({ description: 'Fail the job when it has run longer than this.' }),
    ttlSecondsAfterFinished: z.int().min(0).max(2_147_483_647).optional().meta({ description: 'Delete the job this long after it succeeded or failed.' }),
    suspend: z.boolean().default(false).meta({ description: 'Suspend the job: no new pods start until it is false again; finished shards are kept.' }),
    overwrite: z.boolean().default(false).meta({ description: 'Replace an existing output object; without it a job whose output exists fails before any work.' }),
    keepIntermediates: z.boolean().default(false).meta({ description: 'Keep <output>.upscale/<uid>/ after the job succeeds.' }),
  })
  .refine((s) => s.output !== s.input, { message: MESSAGES.outputIsInput, path: ['output'] })
  .refine((s) => s.scale === undefined || (s.width === undefined && s.height === undefined), { message: MESSAGES.scaleOrSize, path: ['scale'] });

/** What to upscale, where to write it, and how to run it: every check, as at `kubectl apply`. */
export const upscaleJobSpecSchema = specObjectSchema
  // The container, codec, preset and CRF together, as upscale run checks them (encode-checks.ts).
  .superRefine((s, ctx) => {
    if (!matches(CHECKS.output)(s.output)) return; // the output's own check says what is wrong
    // A field that failed its own bounds (crf over 63, a preset of other characters) is not reported twice.
    const failed = new Set(ctx.issues.map((i) => (i.path ?? []).join('.')));
    for (const [path, message] of encodeIssues(s)) if (!failed.has(path.join('.'))) ctx.addIssue({ code: 'custom', message, path });
  })
  .meta({ description: SPEC_DESCRIPTION });

/**
 * The spec of a job that has started, without the container/encode checks (encode-checks.ts),
 * which came later: a job admitted before them (or under a CRD a Helm upgrade left as it was: Helm
 * never upgrades a chart's CRDs) keeps its state and is still cleaned up when deleted. A new job
 * is held to every check ({@link specSchemaFor}).
 */
export const upscaleJobStartedSpecSchema = specObjectSchema.meta({ description: SPEC_DESCRIPTION });

/** The schema the operator reads a job's spec with: every check until it has a phase. */
export function specSchemaFor(status: { phase?: string | undefined } | undefined): typeof upscaleJobStartedSpecSchema {
  return status?.phase === undefined ? upscaleJobSpecSchema : upscaleJobStartedSpecSchema;
}

export type UpscaleJobSpec = z.output<typeof upscaleJobSpecSchema>;
export type UpscaleJobSpecInput = z.input<typeof upscaleJobSpecSchema>;

export const PHASES = ['Pending', 'Probing', 'Running', 'Assembling', 'Succeeded', 'Failed', 'Suspended'] as const;
export type Phase = (typeof PHASES)[number];

export const CONDITION_TYPES = ['Ready', 'Complete', 'Failed', 'Suspended', 'Unschedulable'] as const;

const conditionSchema = z
  .object({
    type: z.string().min(1).meta({ description: 'Ready, Complete, Failed, Suspended or Unschedulable.' }),
    status: z.enum(['True', 'False', 'Unknown']).meta({ description: 'True, False or Unknown.' }),
    reason: z.string().optional().meta({ description: 'A CamelCase reason, stable for automation.' }),
    message: z.string().optional().meta({ description: 'A human-readable explanation.' }),
    lastTransitionTime: z.string().optional().meta({ description: 'When the status last changed (RFC 3339).' }),
    observedGeneration: z.int().optional().meta({ description: 'The spec generation the condition was computed from.' }),
  })
  .meta({ description: 'A condition of the job (metav1.Condition).' });
export type Condition = z.output<typeof conditionSchema>;

/** The job's status: small and bounded whatever the video's length (no per-shard arrays). */
export const upscaleJobStatusSchema = z
  .object({
    phase: z.enum(PHASES).optional().meta({ description: 'Pending, Probing, Running, Assembling, Succeeded, Failed or Suspended.' }),
    conditions: z.array(conditionSchema).max(16).optional().meta({ description: 'kstatus conditions: Ready, Complete, Failed, Suspended, Unschedulable.' }),
    observedGeneration: z.int().optional().meta({ description: 'The spec generation this status reflects.' }),
    jobId: z.string().optional().meta({ description: 'The id of the job\'s intermediates under <output>.upscale/.' }),
    progress: z.string().optional().meta({ description: 'Frames done, as a percentage.' }),
    frames: z
      .object({
        total: z.int().optional().meta({ description: 'Frames of the source video.' }),
        done: z.int().optional().meta({ description: 'Frames upscaled so far (of shards that finished or reported progress).' }),
      })
      .optional()
      .meta({ description: 'Frames of the source (total) and upscaled so far (done).' }),
    shards: z
      .object({
        total: z.int().optional().meta({ description: 'Shards of the job.' }),
        succeeded: z.int().optional().meta({ description: 'Shards that finished.' }),
        failed: z.int().optional().meta({ description: 'Failed shard attempts (retries used).' }),
        running: z.int().optional().meta({ description: 'Shards with a running pod.' }),
      })
      .optional()
      .meta({ description: 'Shard counts: total, succeeded, failed (retries used), running.' }),
    fps: z.string().optional().meta({ description: 'Frames upscaled per second over the running time of the shards.' }),
    eta: z.string().optional().meta({ description: 'Estimated time left for the shards, e.g. 3m20s.' }),
    startTime: z.string().optional().meta({ description: 'When the job started (RFC 3339).' }),
    completionTime: z.string().optional().meta({ description: 'When the job succeeded or failed (RFC 3339).' }),
    output: z.string().optional().meta({ description: 'The output URI, set when the job succeeded.' }),
    message: z.string().optional().meta({ description: 'The latest human-readable summary.' }),
  })
  .meta({ description: 'The observed state of the job.' });
export type UpscaleJobStatus = z.output<typeof upscaleJobStatusSchema>;

/** An UpscaleJob as the operator reads it. */
export interface UpscaleJob {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    generation?: number;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
  };
  spec: UpscaleJobSpec;
  status?: UpscaleJobStatus;
}
