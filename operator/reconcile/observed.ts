/**
 * What reconcile gathers for one UpscaleJob (from the informers' caches, no extra reads) and
 * small pure readers of the Kubernetes objects in it.
 */
import type { V1Job, V1JobCondition, V1Pod } from '@kubernetes/client-node';

/** The children of one UpscaleJob as the caches hold them. */
export interface Observed {
  probe?: V1Job;
  shards?: V1Job;
  assemble?: V1Job;
  /** Pods of those Jobs (probe result, failure messages, scheduling problems). */
  pods: V1Pod[];
}

export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

function condition(job: V1Job, type: string): V1JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** The Job succeeded (`Complete`, set once its pods are gone). */
export function jobSucceeded(job: V1Job | undefined): boolean {
  return job !== undefined && condition(job, 'Complete') !== undefined;
}

/** The Job failed, or is about to (`FailureTarget` comes before `Failed` while pods terminate). */
export function jobFailure(job: V1Job | undefined): V1JobCondition | undefined {
  if (job === undefined) return undefined;
  return condition(job, 'Failed') ?? condition(job, 'FailureTarget');
}

/** Pods of one Job, newest first. */
export function podsOf(pods: readonly V1Pod[], job: V1Job | undefined): V1Pod[] {
  const uid = job?.metadata?.uid;
  if (uid === undefined) return [];
  // Each timestamp parsed once, not once per comparison (1,000 pods: 20,000 parses per reconcile).
  return pods
    .filter((p) => p.metadata?.ownerReferences?.some((o) => o.uid === uid) === true)
    .map((pod) => ({ pod, at: timeOf(pod.metadata?.creationTimestamp) }))
    .sort((a, b) => b.at - a.at)
    .map(({ pod }) => pod);
}

/** A pod's completion index in an Indexed Job. */
export function completionIndex(pod: V1Pod): number | undefined {
  const raw = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION] ?? pod.metadata?.labels?.[COMPLETION_INDEX_ANNOTATION];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}

/** The worker container's exit code, when the pod's worker has terminated. */
export function exitCode(pod: V1Pod): number | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === 'worker')?.state?.terminated?.exitCode;
}

/** The scheduler's message when a pod cannot be placed (e.g. no node has a free GPU). */
export function unschedulableMessage(pod: V1Pod): string | undefined {
  if (pod.status?.phase !== 'Pending' || pod.metadata?.deletionTimestamp !== undefined) return undefined;
  const scheduled = pod.status.conditions?.find((c) => c.type === 'PodScheduled');
  return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? (scheduled.message ?? 'no node fits the pod') : undefined;
}

/** Milliseconds since the epoch of a Kubernetes timestamp (Date or RFC 3339 string); 0 when absent. */
export function timeOf(value: Date | string | undefined): number {
  if (value === undefined) return 0;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : 0;
}
