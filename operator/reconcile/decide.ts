/**
 * The pure heart of the controller: given an UpscaleJob, the children the caches hold and the
 * time, what should exist and what the status is. No I/O, no event types: the same observation
 * always gives the same decision, so a retried or restarted reconcile converges instead of
 * repeating itself (it finds the children by their deterministic names).
 *
 * Flow: probe Job -> (plan from its pod's termination message) -> one Indexed shard Job ->
 * assemble Job -> Succeeded. The shard Job is created once the probe succeeded; the assemble Job
 * once the shards' last two waves run (at most one wave, `parallelism` shards, still without a
 * pod), so the assembly pod's start and its mux of the shards already landed overlap the last
 * shards (it waits for them: `waitForShards`), or once the shards succeeded if it does not exist
 * by then. An early assemble Job whose shards stop (failed, suspended, evicted by Kueue) is
 * deleted: it would wait forever.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Phase, UpscaleJob, UpscaleJobStatus } from '../api/upscalejob.ts';
import type { OperatorConfig } from '../config.ts';
import { countIndexes, framesIn, parseIndexes } from './indexes.ts';
import { assembleJob, probeJob, queuedByKueue, shardJob, workerJobId } from './job-specs.ts';
import { ANNOTATION_PLAN } from './names.ts';
import { completionIndex, exitCode, jobFailure, jobSucceeded, podsOf, timeOf, unschedulableMessage, type Observed } from './observed.ts';
import { failureFromMessage, planFromAnnotation, planFromMessage, terminationMessage, type PlanSummary } from './probe-result.ts';
import { formatDuration, formatRate, mergeConditions, phaseConditions } from './status.ts';

export interface Decision {
  /** Jobs to create (AlreadyExists is success: they are named deterministically). */
  create: V1Job[];
  /** Child Jobs to delete, with their pods. */
  deleteJobs: string[];
  /**
   * Changes to the running shard Job that the UpscaleJob's spec asks for (`suspend`, `parallelism`).
   * Never for a Kueue-queued job: Kueue owns its `suspend`, and a changed pod count would no
   * longer match its Workload.
   */
  patchShards?: ShardPatch;
  /**
   * For a Kueue-queued shard Job: the `spec.active` its Workload must have. Suspending a queued job
   * deactivates its Workload (Kueue evicts it and suspends the Job itself); resuming reactivates it.
   */
  workloadActive?: boolean;
  /** Delete the UpscaleJob itself (`ttlSecondsAfterFinished` elapsed). */
  deleteSelf?: boolean;
  status: UpscaleJobStatus;
  /** Reconcile again after this long even without events (progress, deadlines, TTL). */
  requeueAfterMs?: number;
  /** One line for the log saying what was decided and why. */
  summary: string;
}

export interface ShardPatch {
  suspend?: boolean;
  parallelism?: number;
}

/** Progress is refreshed this often while shards run, so fps and ETA stay live. */
export const PROGRESS_REQUEUE_MS = 5000;

interface Outcome {
  phase: Phase;
  reason: string;
  message: string;
  create?: V1Job[];
  deleteJobs?: string[];
  patchShards?: ShardPatch;
  workloadActive?: boolean;
  progress?: Partial<UpscaleJobStatus>;
  unschedulable?: string;
  requeueAfterMs?: number;
  output?: string;
}

/** Decides what to do for `job` given what exists now. */
export function decide(job: UpscaleJob, observed: Observed, now: Date, config: OperatorConfig): Decision {
  const previous = job.status ?? {};
  const startTime = previous.startTime ?? job.metadata.creationTimestamp ?? now.toISOString();
  const terminal = previous.phase === 'Succeeded' || previous.phase === 'Failed';

  // A finished job stays finished: its children may be gone (TTL, garbage collection).
  if (terminal) return finished(job, previous, now);

  let outcome = progressOf(job, observed, now, config);
  const deadline = deadlineOf(job, startTime);
  if (deadline !== undefined && now.getTime() >= deadline && outcome.phase !== 'Succeeded' && outcome.phase !== 'Failed') {
    outcome = {
      phase: 'Failed',
      reason: 'DeadlineExceeded',
      message: `the job ran longer than activeDeadlineSeconds (${job.spec.activeDeadlineSeconds} s)`,
      deleteJobs: existing(observed),
    };
  } else if (deadline !== undefined && outcome.phase !== 'Succeeded' && outcome.phase !== 'Failed') {
    outcome.requeueAfterMs = Math.min(outcome.requeueAfterMs ?? Infinity, Math.max(1000, deadline - now.getTime()));
  }

  const status = statusFor(job, outcome, startTime, now);
  const decision: Decision = {
    create: outcome.create ?? [],
    deleteJobs: outcome.deleteJobs ?? [],
    status,
    summary: `${outcome.phase}: ${outcome.reason}`,
  };
  if (outcome.patchShards !== undefined) decision.patchShards = outcome.patchShards;
  if (outcome.workloadActive !== undefined) decision.workloadActive = outcome.workloadActive;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') {
    const ttl = ttlRequeue(job, status, now);
    if (ttl !== undefined) decision.requeueAfterMs = ttl;
  } else if (outcome.requeueAfterMs !== undefined && Number.isFinite(outcome.requeueAfterMs)) {
    decision.requeueAfterMs = outcome.requeueAfterMs;
  }
  return decision;
}

function existing(observed: Observed): string[] {
  return [observed.probe, observed.shards, observed.assemble].flatMap((j) => (j?.metadata?.name !== undefined && jobFailure(j) === undefined && !jobSucceeded(j) ? [j.metadata.name] : []));
}

function deadlineOf(job: UpscaleJob, startTime: string): number | undefined {
  const seconds = job.spec.activeDeadlineSeconds;
  return seconds === undefined ? undefined : timeOf(startTime) + seconds * 1000;
}

/** Where the job stands, step by step. */
function progressOf(job: UpscaleJob, observed: Observed, now: Date, config: OperatorConfig): Outcome {
  const suspended = job.spec.suspend;
  // 1. Probe.
  if (observed.shards === undefined) {
    if (observed.probe === undefined) {
      if (suspended) return { phase: 'Suspended', reason: 'Suspended', message: 'the job is suspended before probing' };
      return { phase: 'Probing', reason: 'CreatedProbe', message: `probing ${job.spec.input}`, create: [probeJob(job, config)] };
    }
    const failed = jobFailure(observed.probe);
    if (failed !== undefined) {
      const worker = workerFailure(podsOf(observed.pods, observed.probe));
      if (worker === undefined && recent(failed.lastTransitionTime, now)) return awaitingPods('Probing');
      return { phase: 'Failed', reason: 'ProbeFailed', message: worker ?? `probe of ${job.spec.input} failed: ${failed.message ?? failed.reason ?? 'unknown error'}` };
    }
    if (!jobSucceeded(observed.probe)) {
      const unschedulable = firstUnschedulable(podsOf(observed.pods, observed.probe));
      return { phase: 'Probing', reason: 'Probing', message: `probing ${job.spec.input}`, ...(unschedulable ? { unschedulable } : {}) };
    }
    const plan = planOfProbe(podsOf(observed.pods, observed.probe));
    if (plan === undefined && recent(observed.probe.status?.completionTime ?? conditionTime(observed.probe, 'Complete'), now)) return awaitingPods('Probing');
    if (plan === undefined) {
      // The probe pod (and its termination message) is gone before the shard Job existed: probe
      // again; the worker reuses its stored probe and plan, so this costs seconds.
      return { phase: 'Probing', reason: 'ProbeResultLost', message: 'the probe pod\'s result was lost; probing again', deleteJobs: [observed.probe.metadata!.name!] };
    }
    return { phase: suspended ? 'Suspended' : 'Running', reason: 'CreatedShards', message: `created ${plan.shards} shards of ${plan.frames} frames`, create: [shardJob(job, config, plan)], progress: progressFields(plan, observed.shards, now) };
  }

  // 2. Shards.
  const shards = observed.shards;
  const plan = planFromAnnotation(shards.metadata?.annotations?.[ANNOTATION_PLAN]);
  const progress = plan === undefined ? {} : progressFields(plan, shards, now);
  const shardPods = podsOf(observed.pods, shards);
  const failed = jobFailure(shards);
  if (failed !== undefined) {
    const failure = shardFailure(failed.reason, failed.message, shards, shardPods);
    if (!failure.fromWorker && recent(failed.lastTransitionTime, now)) return { ...awaitingPods('Running'), progress };
    return { phase: 'Failed', reason: failure.reason, message: failure.message, progress, deleteJobs: earlyAssembly(observed) };
  }
  if (!jobSucceeded(shards)) {
    const kueue = queuedByKueue(job);
    const patchShards = kueue ? undefined : shardPatch(job, shards);
    const unschedulable = firstUnschedulable(shardPods);
    // A queued job's Workload follows spec.suspend. While suspended, and on the first reconcile after
    // a resume (the status still says Suspended), its state is checked; otherwise not read at all.
    const workload = kueue && (suspended || job.status?.phase === 'Suspended') ? { workloadActive: !suspended } : {};
    // Stopped shards (suspended, or evicted by Kueue and waiting to be readmitted): an early
    // assembly would wait for them, holding a node slot and its quota; it is made again once the
    // last two waves run again.
    if (suspended) {
      return { phase: 'Suspended', reason: 'Suspended', message: 'the job is suspended; finished shards are kept', progress, deleteJobs: earlyAssembly(observed), ...workload, ...(patchShards !== undefined ? { patchShards } : {}) };
    }
    if (kueue && shards.spec?.suspend === true) {
      return { phase: 'Running', reason: 'WaitingForQueue', message: `waiting for admission by Kueue queue ${job.spec.podTemplate?.metadata?.labels?.['kueue.x-k8s.io/queue-name'] ?? ''}`, progress, requeueAfterMs: PROGRESS_REQUEUE_MS, deleteJobs: earlyAssembly(observed), ...workload };
    }
    // An early assembly that failed fails the job as a late one does; the shards it would have
    // assembled are stopped, as every Failed outcome stops what still runs.
    const assemblyFailed = observed.assemble === undefined ? undefined : assembleFailure(job, observed.assemble, observed.pods, now);
    if (assemblyFailed !== undefined) {
      return assemblyFailed.phase === 'Failed' ? { ...assemblyFailed, progress, deleteJobs: [shards.metadata!.name!] } : { ...assemblyFailed, phase: 'Running', progress };
    }
    const done = progress.shards?.succeeded ?? 0;
    // The assemble Job is created in the last two waves, not before: an assembly pod waiting through
    // a long film's early waves would hold a node slot (and, queued, 500m cpu / 512Mi of Kueue
    // quota: its own top-level Workload beside the shards', admitted when that fits, never a write
    // to a Job Kueue owns) for nothing. Not only in the last: the planner makes the last wave half
    // as long, and what the assembly cannot do beside the shards (its pod start, the mux of the
    // shards landed) it does after the last one.
    const startAssembly = observed.assemble === undefined && lastTwoWavesRunning(shards);
    const assembling = observed.assemble !== undefined || startAssembly;
    return {
      ...workload,
      phase: 'Running',
      reason: 'ShardsRunning',
      message: `${done} of ${plan?.shards ?? '?'} shards done${assembling ? '; assembly started' : ''}`,
      progress,
      requeueAfterMs: PROGRESS_REQUEUE_MS,
      ...(startAssembly ? { create: [assembleJob(job, config, { waitForShards: true })] } : {}),
      ...(patchShards !== undefined ? { patchShards } : {}),
      ...(unschedulable !== undefined ? { unschedulable } : {}),
    };
  }

  // 3. Assemble.
  if (observed.assemble === undefined) {
    if (suspended) return { phase: 'Suspended', reason: 'Suspended', message: 'the job is suspended before assembly', progress };
    return { phase: 'Assembling', reason: 'CreatedAssemble', message: `assembling ${job.spec.output}`, create: [assembleJob(job, config)], progress };
  }
  const assembleFailed = assembleFailure(job, observed.assemble, observed.pods, now);
  if (assembleFailed !== undefined) return { ...assembleFailed, progress };
  if (!jobSucceeded(observed.assemble)) {
    const unschedulable = firstUnschedulable(podsOf(observed.pods, observed.assemble));
    return { phase: 'Assembling', reason: 'Assembling', message: `assembling ${job.spec.output}`, progress, ...(unschedulable ? { unschedulable } : {}) };
  }
  return { phase: 'Succeeded', reason: 'Succeeded', message: `wrote ${job.spec.output}`, progress, output: job.spec.output };
}

/** A failed assemble Job: the job's failure, or a short wait for its pod's message; undefined while it has not failed. */
function assembleFailure(job: UpscaleJob, assemble: V1Job, pods: readonly V1Pod[], now: Date): Outcome | undefined {
  const failed = jobFailure(assemble);
  if (failed === undefined) return undefined;
  const worker = workerFailure(podsOf(pods, assemble));
  if (worker === undefined && recent(failed.lastTransitionTime, now)) return awaitingPods('Assembling');
  return { phase: 'Failed', reason: 'AssembleFailed', message: worker ?? `assembly of ${job.spec.output} failed: ${failed.message ?? failed.reason ?? 'unknown error'}` };
}

/**
 * The shards' last two waves run: some shard has started, and at most one wave (the Job's
 * `parallelism`) of indexes still waits for a pod (`done + active >= completions - parallelism`,
 * from the Job's own status). A shard Job still suspended (being resumed) does not run, whatever
 * pods it still counts.
 */
function lastTwoWavesRunning(shards: V1Job): boolean {
  const completions = shards.spec?.completions;
  if (completions === undefined || completions < 1 || shards.spec?.suspend === true) return false;
  const started = countIndexes(shards.status?.completedIndexes) + (shards.status?.active ?? 0);
  return started > 0 && started >= completions - Math.max(1, shards.spec?.parallelism ?? 1);
}

/** The running assemble Job made before the shards finished, to delete when they stop; none when it finished or is already going. */
function earlyAssembly(observed: Observed): string[] {
  const assemble = observed.assemble;
  const name = assemble?.metadata?.name;
  if (name === undefined || assemble?.metadata?.deletionTimestamp !== undefined || jobSucceeded(assemble) || jobFailure(assemble) !== undefined) return [];
  return [name];
}

/** What to change on an unqueued shard Job so it matches the spec; undefined when it does. */
function shardPatch(job: UpscaleJob, shards: V1Job): ShardPatch | undefined {
  const patch: ShardPatch = {};
  if ((shards.spec?.suspend ?? false) !== job.spec.suspend) patch.suspend = job.spec.suspend;
  const completions = shards.spec?.completions ?? 1;
  const parallelism = Math.min(job.spec.sharding.parallelism, completions);
  if (shards.spec?.parallelism !== undefined && shards.spec.parallelism !== parallelism) patch.parallelism = parallelism;
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** The plan from the newest succeeded probe pod's termination message. */
function planOfProbe(pods: readonly V1Pod[]): PlanSummary | undefined {
  for (const pod of pods) {
    if (pod.status?.phase !== 'Succeeded') continue;
    const plan = planFromMessage(terminationMessage(pod));
    if (plan !== undefined) return plan;
  }
  return undefined;
}

/** The newest failed pod's own error message (exit 2 pods first: they failed the Job). */
function workerFailure(pods: readonly V1Pod[]): string | undefined {
  const failedPods = pods.filter((p) => p.status?.phase === 'Failed');
  const permanent = failedPods.find((p) => exitCode(p) === 2);
  for (const pod of permanent ? [permanent, ...failedPods] : failedPods) {
    const message = failureFromMessage(terminationMessage(pod));
    if (message !== undefined) return message;
  }
  return undefined;
}

/**
 * The Job and pod informers are separate streams: a Job can show `Complete` or `Failed` before
 * its pod (with the termination message the operator needs) reaches the pod cache. A step that
 * finished this recently is looked at again shortly instead of being judged on half the picture.
 */
const POD_SETTLE_MS = 10_000;

function recent(time: Date | string | undefined, now: Date): boolean {
  const at = timeOf(time);
  return at > 0 && now.getTime() - at < POD_SETTLE_MS;
}

function conditionTime(job: V1Job, type: string): Date | string | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True')?.lastTransitionTime;
}

function awaitingPods(phase: Phase): Outcome {
  return { phase, reason: 'AwaitingPodStatus', message: 'waiting for the step\'s pod status to arrive', requeueAfterMs: 2000 };
}

function shardFailure(reason: string | undefined, message: string | undefined, shards: V1Job, pods: readonly V1Pod[]): { reason: string; message: string; fromWorker: boolean } {
  const failedIndexes = parseIndexes(shards.status?.failedIndexes);
  const permanent = pods.find((p) => p.status?.phase === 'Failed' && exitCode(p) === 2);
  if (reason === 'PodFailurePolicy' || permanent !== undefined) {
    const index = permanent === undefined ? undefined : completionIndex(permanent);
    const worker = permanent === undefined ? undefined : failureFromMessage(terminationMessage(permanent));
    return { reason: 'ShardFailed', message: `shard ${index ?? '?'} failed permanently: ${worker ?? message ?? 'exit code 2'}`, fromWorker: worker !== undefined };
  }
  if (reason === 'DeadlineExceeded') return { reason: 'DeadlineExceeded', message: message ?? 'the shard Job ran past its deadline', fromWorker: true };
  const index = failedIndexes[0];
  const ofIndex = index === undefined ? [] : pods.filter((p) => completionIndex(p) === index);
  const worker = workerFailure(ofIndex);
  const shardName = index === undefined ? 'a shard' : `shard ${index}`;
  return { reason: 'ShardFailed', message: `${shardName} failed ${ofIndex.length || 'every'} time(s), past backoffLimitPerShard: ${worker ?? message ?? reason ?? 'unknown error'}`, fromWorker: worker !== undefined };
}

function firstUnschedulable(pods: readonly V1Pod[]): string | undefined {
  for (const pod of pods) {
    const message = unschedulableMessage(pod);
    if (message !== undefined) return message;
  }
  return undefined;
}

/** Frames and shards done, fps and ETA from the shard Job's own status (no pod or storage reads). */
function progressFields(plan: PlanSummary, shards: V1Job | undefined, now: Date): Partial<UpscaleJobStatus> {
  const completed = parseIndexes(shards?.status?.completedIndexes);
  const failed = shards?.status?.failed ?? 0;
  const running = shards?.status?.active ?? 0;
  const done = plan.shardFrames === undefined ? Math.round((completed.length / plan.shards) * plan.frames) : framesIn(completed, plan.shardFrames);
  const out: Partial<UpscaleJobStatus> = {
    frames: { total: plan.frames, done },
    shards: { total: plan.shards, succeeded: completed.length, failed, running },
    progress: `${Math.floor((done / plan.frames) * 100)}%`,
  };
  const started = timeOf(shards?.status?.startTime);
  // Once the shards are done the rate is final: it does not decay while the job assembles.
  const ended = timeOf(shards?.status?.completionTime) || now.getTime();
  const elapsed = (ended - started) / 1000;
  if (started > 0 && elapsed > 0 && done > 0) {
    const fps = done / elapsed;
    out.fps = formatRate(fps);
    if (done < plan.frames) out.eta = formatDuration((plan.frames - done) / fps);
  }
  return out;
}

function statusFor(job: UpscaleJob, outcome: Outcome, startTime: string, now: Date): UpscaleJobStatus {
  const previous = job.status ?? {};
  const generation = job.metadata.generation;
  const { phase, reason, message } = outcome;
  const conditions = phaseConditions(phase, reason, message);
  if (outcome.unschedulable !== undefined) conditions.push({ type: 'Unschedulable', status: 'True', reason: 'Unschedulable', message: outcome.unschedulable });
  const status: UpscaleJobStatus = {
    ...previous,
    ...outcome.progress,
    phase,
    conditions: mergeConditions(previous.conditions, conditions, now, generation),
    jobId: workerJobId(job),
    startTime,
    message,
  };
  if (generation !== undefined) status.observedGeneration = generation;
  // An ETA from an earlier status must not outlive the work it estimated.
  if (outcome.progress !== undefined && outcome.progress.eta === undefined) delete status.eta;
  if (phase === 'Succeeded' || phase === 'Failed') {
    status.completionTime = now.toISOString();
    delete status.eta;
  }
  if (outcome.output !== undefined) status.output = outcome.output;
  return status;
}

/** A finished job: nothing to create; delete it once its TTL has passed. */
function finished(job: UpscaleJob, status: UpscaleJobStatus, now: Date): Decision {
  const decision: Decision = { create: [], deleteJobs: [], status, summary: `${status.phase}: finished` };
  const ttl = job.spec.ttlSecondsAfterFinished;
  if (ttl !== undefined) {
    const due = timeOf(status.completionTime) + ttl * 1000;
    if (now.getTime() >= due) decision.deleteSelf = true;
    else decision.requeueAfterMs = due - now.getTime();
  }
  return decision;
}

function ttlRequeue(job: UpscaleJob, status: UpscaleJobStatus, now: Date): number | undefined {
  const ttl = job.spec.ttlSecondsAfterFinished;
  if (ttl === undefined) return undefined;
  return Math.max(0, timeOf(status.completionTime) + ttl * 1000 - now.getTime());
}

