/**
 * The batch/v1 Jobs of an UpscaleJob, built from its spec and the worker's task contract: a probe
 * Job, ONE Indexed Job for all shards, an assemble Job. Pure: the same inputs give the same Job, so
 * a test can read exactly what the cluster will be asked to run.
 *
 * The Kubernetes Job controller does the heavy lifting: pod creation, per-index retries
 * (`backoffLimitPerIndex`), disruption (`podFailurePolicy` ignores `DisruptionTarget`, so an evicted
 * or preempted pod is replaced without using a retry), the worker's permanent exit code 2 failing
 * the Job at once, and suspension.
 */
import type { V1EnvVar, V1Job, V1PodFailurePolicyRule, V1PodSpec, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import { EXIT_PERMANENT } from '../../worker/errors.ts';
import { containerFor } from '../../worker/media/container-policy.ts';
import { defaultCodecs, outputSize } from '../../worker/media/output-decision.ts';
import { TASK_VERSION, type UpscaleSettingsInput } from '../../worker/task.ts';
import { API_VERSION, KIND, type UpscaleJob } from '../api/upscalejob.ts';
import type { OperatorConfig } from '../config.ts';
import { ANNOTATION_PLAN, KUEUE_QUEUE_LABEL, childLabels, childName, type StepComponent } from './names.ts';
import type { PlanSummary } from './probe-result.ts';
import { shardTolerations } from './tolerations.ts';

/** The worker container's name: the pod failure policy's exit-code rule names it. */
export const WORKER_CONTAINER = 'worker';
export const SCRATCH_DIR = '/scratch';
export const TERMINATION_LOG = '/dev/termination-log';
/** Retries of the probe and assemble pods (transient failures: storage unreachable, node lost). */
export const STEP_BACKOFF_LIMIT = 3;

/** The job id of the worker's intermediates (`<output>.upscale/<id>/`): the UpscaleJob's uid. */
export function workerJobId(job: UpscaleJob): string {
  return job.metadata.uid;
}

/** True when the job's pods carry Kueue's queue label: Kueue then owns the shard Job's `suspend`. */
export function queuedByKueue(job: UpscaleJob): boolean {
  return job.spec.podTemplate?.metadata?.labels?.[KUEUE_QUEUE_LABEL] !== undefined;
}

/** The probe Job: `upscale probe`, whose summary comes back in the pod's termination message. */
export function probeJob(job: UpscaleJob, config: OperatorConfig): V1Job {
  const { spec } = job;
  const plan: Record<string, unknown> = { workers: spec.sharding.parallelism, model: spec.model };
  if (spec.sharding.framesPerShard !== undefined) plan['shardFrames'] = spec.sharding.framesPerShard;
  if (spec.sharding.shards !== undefined) plan['shardCount'] = spec.sharding.shards;
  const task = { version: TASK_VERSION, step: 'probe', jobId: workerJobId(job), input: spec.input, output: spec.output, overwrite: spec.overwrite, plan, ...(spec.segment !== undefined ? { segment: spec.segment } : {}), ...(spec.inputLimits !== undefined ? { limits: spec.inputLimits } : {}) };
  return stepJob(job, config, 'probe', task, { backoffLimit: STEP_BACKOFF_LIMIT });
}

/**
 * The shard settings every pod of the job gets (the worker's `upscaleSettingsSchema`). A shard task
 * needs both `width` and `height`: a single one given in the spec is completed here from the
 * probed source size, with `upscale run`'s rule (outputSize: same aspect, even for 4:2:0 codecs), so
 * every shard gets the same size.
 * @throws Error when only one dimension is set and the plan does not carry the source size
 */
export function shardSettings(job: UpscaleJob, plan: Pick<PlanSummary, 'width' | 'height' | 'bitDepth'>): UpscaleSettingsInput {
  const { spec } = job;
  const settings: UpscaleSettingsInput = {
    model: spec.model,
    tile: spec.inference.tile,
    precision: spec.inference.precision,
    ep: spec.inference.executionProvider,
    enableMultiGpu: true,
    codec: jobCodec(job, plan),
    // Every shard must come out of the same encoder (assembly refuses mixed shards), and pods of one
    // job may land on GPUs with and without NVENC: `auto` is resolved once for the job, to the CPU.
    encoder: spec.encode.encoder === 'auto' ? 'cpu' : spec.encode.encoder,
  };
  if (spec.scale !== undefined) settings.scale = spec.scale;
  Object.assign(settings, targetSize(job, plan));
  settings.deinterlace = spec.deinterlace;
  if (spec.encode.crf !== undefined) settings.crf = spec.encode.crf;
  if (spec.encode.preset !== undefined) settings.preset = spec.encode.preset;
  return settings;
}

/**
 * The job's codec: the spec's, else `upscale run`'s default for the output container and the probed
 * source (av1 for .webm; hevc, Main 10, for a source of more than 8 bits; else h264). Resolved
 * here, once, so every shard encodes alike. A plan from a probe that reported no bit depth gets
 * the 8-bit default.
 */
export function jobCodec(job: UpscaleJob, plan: Pick<PlanSummary, 'bitDepth'>): NonNullable<UpscaleSettingsInput['codec']> {
  const { codec } = job.spec.encode;
  if (codec !== undefined) return codec;
  return defaultCodecs(containerFor(job.spec.output)?.kind ?? 'mp4', (plan.bitDepth ?? 8) > 8)[0]!;
}

function targetSize(job: UpscaleJob, plan: Pick<PlanSummary, 'width' | 'height' | 'bitDepth'>): { width?: number; height?: number } {
  const { width, height } = job.spec;
  if (width === undefined && height === undefined) return {};
  if (width !== undefined && height !== undefined) return { width, height };
  if (plan.width === undefined || plan.height === undefined) {
    throw new Error(`UpscaleJob ${job.metadata.namespace}/${job.metadata.name}: spec.${width === undefined ? 'height' : 'width'} alone needs the source size, which the probe result lacks`);
  }
  // ffv1 keeps odd sizes for deep sources; the shard makes them even itself where it must.
  const size = outputSize({ width: plan.width, height: plan.height }, 4, { width, height }, jobCodec(job, plan) !== 'ffv1');
  return { width: size.width, height: size.height };
}

/** The Indexed shard Job: one index per shard of the probed plan. */
export function shardJob(job: UpscaleJob, config: OperatorConfig, plan: PlanSummary): V1Job {
  const { spec } = job;
  const task = { version: TASK_VERSION, step: 'shard', jobId: workerJobId(job), input: spec.input, output: spec.output, settings: shardSettings(job, plan) };
  const built = stepJob(job, config, 'shards', task, {});
  const jobSpec = built.spec!;
  jobSpec.completionMode = 'Indexed';
  jobSpec.completions = plan.shards;
  jobSpec.parallelism = Math.min(spec.sharding.parallelism, plan.shards);
  jobSpec.backoffLimitPerIndex = spec.backoffLimitPerShard;
  // One shard that keeps failing fails the whole job: its frames can never be assembled.
  jobSpec.maxFailedIndexes = 0;
  delete jobSpec.backoffLimit;
  // Kueue admits a queued Job by un-suspending it; it must be created suspended and never written
  // again (../shared/research/kueue.md). Unqueued, it starts as the UpscaleJob says.
  jobSpec.suspend = queuedByKueue(job) ? true : spec.suspend;
  built.metadata!.annotations = { ...built.metadata!.annotations, [ANNOTATION_PLAN]: JSON.stringify(plan) };
  return built;
}

/**
 * The assemble Job: concatenates the shards and writes the output. `waitForShards` when it is
 * created while the shards still run (their last two waves): the worker then waits for each shard's
 * manifest and streams it in as it lands, instead of failing on a missing shard.
 *
 * That task field is the only difference between an early and a late assemble Job. Name, labels
 * (so Kueue's queue label), resources (so its quota), retries and tolerations are the same: the
 * Job created early is the one the finished shards are assembled by, and a late one (the early one
 * was deleted, or an older operator ran the shards) does the same work the same way. Nothing in it
 * bounds the waiting: the operator deletes an early Job whose shards stop (decide.ts).
 */
export function assembleJob(job: UpscaleJob, config: OperatorConfig, { waitForShards = false }: { waitForShards?: boolean } = {}): V1Job {
  const { spec } = job;
  const task = { version: TASK_VERSION, step: 'assemble', jobId: workerJobId(job), input: spec.input, output: spec.output, overwrite: spec.overwrite, keepIntermediates: spec.keepIntermediates, waitForShards };
  return stepJob(job, config, 'assemble', task, { backoffLimit: STEP_BACKOFF_LIMIT });
}

/**
 * The cleanup Job of a deleted UpscaleJob: `upscale cleanup` deletes `<output>.upscale/<uid>/`
 * with the job's own storage Secret. It is never queued by Kueue (no podTemplate labels): a
 * deletion must not wait for GPU quota.
 */
export function cleanupJob(job: UpscaleJob, config: OperatorConfig): V1Job {
  const { spec } = job;
  const task = { version: TASK_VERSION, step: 'cleanup', jobId: workerJobId(job), input: spec.input, output: spec.output };
  const built = stepJob(job, config, 'cleanup', task, { backoffLimit: 1 });
  const labels = childLabels(job.metadata.name, job.metadata.uid, 'cleanup');
  built.metadata!.labels = labels;
  built.metadata!.annotations = {};
  built.spec!.template.metadata = { labels };
  // Bounded: the operator abandons the cleanup after its own timeout anyway.
  built.spec!.activeDeadlineSeconds = 120;
  return built;
}

/**
 * Pod failure policy of every step: exit 2 (the worker's permanent failure: bad input, missing
 * object, rejected credentials) fails the Job at once; a disrupted pod (eviction, preemption, node
 * drain, taint) is replaced without counting as a failure. Everything else uses a retry.
 */
export function podFailurePolicyRules(): V1PodFailurePolicyRule[] {
  return [
    { action: 'FailJob', onExitCodes: { containerName: WORKER_CONTAINER, operator: 'In', values: [EXIT_PERMANENT] } },
    { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
  ];
}

function stepJob(job: UpscaleJob, config: OperatorConfig, component: StepComponent, task: object, opts: { backoffLimit?: number }): V1Job {
  const { metadata, spec } = job;
  const labels = { ...spec.podTemplate?.metadata?.labels, ...childLabels(metadata.name, metadata.uid, component) };
  const annotations = { ...spec.podTemplate?.metadata?.annotations };
  const step = component === 'shards' ? 'shard' : component;
  const jobSpec: NonNullable<V1Job['spec']> = {
    podFailurePolicy: { rules: podFailurePolicyRules() },
    // Required with a pod failure policy; also keeps a retried shard from running beside the pod it
    // replaces (two writers of one shard).
    podReplacementPolicy: 'Failed',
    template: {
      metadata: { labels, annotations },
      spec: podSpec(job, config, component, ['upscale', step, '--task', JSON.stringify(task), '--result-file', TERMINATION_LOG]),
    },
  };
  if (opts.backoffLimit !== undefined) jobSpec.backoffLimit = opts.backoffLimit;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: childName(metadata.name, component),
      namespace: metadata.namespace,
      labels,
      annotations,
      ownerReferences: [{ apiVersion: API_VERSION, kind: KIND, name: metadata.name, uid: metadata.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: jobSpec,
  };
}

function podSpec(job: UpscaleJob, config: OperatorConfig, component: StepComponent, command: string[]): V1PodSpec {
  const { spec } = job;
  const scheduling = spec.podTemplate?.spec ?? {};
  const pod: V1PodSpec = {
    restartPolicy: 'Never',
    // The worker needs no Kubernetes API access and no service links.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      {
        name: WORKER_CONTAINER,
        image: spec.image ?? config.workerImage,
        // The image's ENTRYPOINT is `upscale`; naming it keeps the pod's command explicit.
        command: command.slice(0, 1),
        args: command.slice(1),
        env: workerEnv(job, config),
        resources: component === 'shards' ? shardResources(job) : { requests: { cpu: '500m', memory: '512Mi' } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        volumeMounts: [{ name: 'scratch', mountPath: SCRATCH_DIR }],
        terminationMessagePath: TERMINATION_LOG,
        terminationMessagePolicy: 'FallbackToLogsOnError',
      },
    ],
    volumes: [{ name: 'scratch', emptyDir: {} }],
  };
  if (scheduling.nodeSelector !== undefined) pod.nodeSelector = scheduling.nodeSelector;
  // Shard pods leave a lost node sooner than Kubernetes' 300 s (tolerations.ts); probe and assemble
  // pods keep the default: one pod each, and a long assembly is not worth restarting over a blip.
  if (component === 'shards') pod.tolerations = shardTolerations(scheduling.tolerations, config.shardNodeLossTolerationSeconds);
  else if (scheduling.tolerations !== undefined) pod.tolerations = scheduling.tolerations as V1Toleration[];
  if (scheduling.affinity !== undefined) pod.affinity = scheduling.affinity;
  if (scheduling.priorityClassName !== undefined) pod.priorityClassName = scheduling.priorityClassName;
  if (scheduling.runtimeClassName !== undefined) pod.runtimeClassName = scheduling.runtimeClassName;
  if (scheduling.serviceAccountName !== undefined) pod.serviceAccountName = scheduling.serviceAccountName;
  if (scheduling.imagePullSecrets !== undefined) pod.imagePullSecrets = scheduling.imagePullSecrets;
  return pod;
}

function shardResources(job: UpscaleJob): V1ResourceRequirements {
  const { resources } = job.spec;
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (resources.gpusPerShard > 0) limits[resources.gpuResourceName] = String(resources.gpusPerShard);
  if (resources.cpu !== undefined) requests['cpu'] = limits['cpu'] = String(resources.cpu);
  if (resources.memory !== undefined) requests['memory'] = limits['memory'] = String(resources.memory);
  const out: V1ResourceRequirements = { limits };
  if (Object.keys(requests).length > 0) out.requests = requests;
  return out;
}

/**
 * Storage settings as the standard AWS environment, credentials from the job's Secret by reference
 * (the operator never reads it), and a writable scratch for a read-only root filesystem.
 */
export function workerEnv(job: UpscaleJob, config: OperatorConfig): V1EnvVar[] {
  const storage = job.spec.storage ?? {};
  const endpoint = storage.endpoint ?? config.storage.endpoint;
  const region = storage.region ?? config.storage.region;
  const pathStyle = storage.forcePathStyle ?? config.storage.forcePathStyle;
  const secret = storage.secretRef?.name ?? config.storage.secretName;
  const env: V1EnvVar[] = [
    { name: 'TMPDIR', value: SCRATCH_DIR },
    { name: 'HOME', value: SCRATCH_DIR },
    { name: 'UPSCALE_LOG_LEVEL', value: config.workerLogLevel },
  ];
  if (endpoint !== undefined && endpoint !== '') env.push({ name: 'AWS_ENDPOINT_URL', value: endpoint });
  if (region !== undefined && region !== '') env.push({ name: 'AWS_REGION', value: region });
  if (pathStyle !== undefined) env.push({ name: 'UPSCALE_S3_FORCE_PATH_STYLE', value: String(pathStyle) });
  if (secret !== undefined && secret !== '') {
    env.push(
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: secret, key: 'AWS_ACCESS_KEY_ID' } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: secret, key: 'AWS_SECRET_ACCESS_KEY' } } },
      { name: 'AWS_SESSION_TOKEN', valueFrom: { secretKeyRef: { name: secret, key: 'AWS_SESSION_TOKEN', optional: true } } },
    );
  }
  return env;
}
