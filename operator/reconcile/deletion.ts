/**
 * What to do for an UpscaleJob being deleted (pure, like `decide`). Its Jobs are stopped first;
 * then, unless the intermediates are already gone or the user keeps them, a short cleanup Job
 * deletes `<output>.upscale/<uid>/` with the job's own storage Secret (the operator holds no
 * storage credentials). The finalizer is removed when the cleanup finished, failed, or ran past
 * its bound: a finalizer must never block a deletion forever.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { UpscaleJob } from '../api/upscalejob.ts';
import type { OperatorConfig } from '../config.ts';
import { cleanupJob } from './job-specs.ts';
import { CLEANUP_FINALIZER, LABEL_COMPONENT } from './names.ts';
import { jobFailure, jobSucceeded, podsOf, timeOf, type Observed } from './observed.ts';

export interface DeletionDecision {
  /** Step Jobs to delete (their pods stop). */
  deleteJobs: string[];
  create: V1Job[];
  /** Remove the cleanup finalizer now. */
  releaseFinalizer: boolean;
  /** Why, for the log and the event: `CleanedUp`, `CleanupNotNeeded`, `CleanupFailed`, `CleanupTimedOut`, or undefined while waiting. */
  reason?: string;
  message?: string;
  requeueAfterMs?: number;
}

/** True when the job should carry the cleanup finalizer. */
export function wantsFinalizer(job: UpscaleJob): boolean {
  return !job.spec.keepIntermediates && job.status?.phase !== 'Succeeded';
}

/** Decides the next step of a deletion. `deletedAt` is the object's `deletionTimestamp`. */
export function decideDeletion(job: UpscaleJob, observed: Observed & { cleanup?: V1Job }, deletedAt: string, now: Date, config: OperatorConfig): DeletionDecision {
  const steps = [observed.probe, observed.shards, observed.assemble].filter((j): j is V1Job => j !== undefined);
  const running = steps.filter((j) => j.metadata?.deletionTimestamp === undefined && !jobSucceeded(j) && jobFailure(j) === undefined);
  const deleteJobs = running.map((j) => j.metadata!.name!);
  const none: DeletionDecision = { deleteJobs, create: [], releaseFinalizer: false };
  if (!(job.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER)) return none;
  // Succeeded: assembly already deleted the intermediates. keepIntermediates: the user keeps them.
  if (job.spec.keepIntermediates || job.status?.phase === 'Succeeded') {
    return { ...none, releaseFinalizer: true, reason: 'CleanupNotNeeded', message: job.spec.keepIntermediates ? 'keepIntermediates is set: intermediates kept' : 'the job succeeded: no intermediates left' };
  }
  const elapsedMs = now.getTime() - timeOf(deletedAt);
  const limitMs = config.cleanupTimeoutSeconds * 1000;
  const prefix = `${job.spec.output}.upscale/${job.metadata.uid}/`;
  if (elapsedMs >= limitMs) {
    return { ...none, releaseFinalizer: true, reason: 'CleanupTimedOut', message: `gave up deleting the intermediates under ${prefix} after ${config.cleanupTimeoutSeconds} s; delete them by hand or let a bucket lifecycle rule expire them` };
  }
  const cleanup = observed.cleanup;
  if (cleanup === undefined) {
    // Wait for the step pods to stop, so no writer recreates what the cleanup deletes.
    const active = steps.flatMap((j) => podsOf(observed.pods, j)).filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
    if (active.length > 0) return { ...none, requeueAfterMs: 1000, message: `waiting for ${active.length} pod(s) to stop` };
    return { ...none, create: [cleanupJob(job, config)], requeueAfterMs: Math.min(2000, limitMs - elapsedMs) };
  }
  if (jobSucceeded(cleanup)) return { ...none, releaseFinalizer: true, reason: 'CleanedUp', message: `deleted the intermediates under ${prefix}` };
  const failed = jobFailure(cleanup);
  if (failed !== undefined) {
    return { ...none, releaseFinalizer: true, reason: 'CleanupFailed', message: `could not delete the intermediates under ${prefix}: ${failed.message ?? failed.reason ?? 'the cleanup Job failed'}; delete them by hand` };
  }
  return { ...none, requeueAfterMs: Math.min(2000, limitMs - elapsedMs) };
}

/** The cleanup Job among the observed Jobs. */
export function isCleanupJob(job: V1Job): boolean {
  return job.metadata?.labels?.[LABEL_COMPONENT] === 'cleanup';
}
