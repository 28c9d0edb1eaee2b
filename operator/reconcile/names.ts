/**
 * Names and labels of everything an UpscaleJob owns. Names are deterministic (the job's name plus
 * the step), so a retried reconcile or a restarted operator finds what it created instead of
 * creating it twice; labels let the informers select exactly the operator's objects.
 */
import { createHash } from 'node:crypto';

export const STEP_COMPONENTS = ['probe', 'shards', 'assemble', 'cleanup'] as const;
export type StepComponent = (typeof STEP_COMPONENTS)[number];

export const MANAGED_BY = 'upscale-operator';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/** The owning UpscaleJob's name; Jobs and pods are mapped back to their job's work-queue key with it. */
export const LABEL_JOB = 'upscale.dev/job';
export const LABEL_JOB_UID = 'upscale.dev/job-uid';
/** Label selector of every object the operator owns. */
export const OWNED_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
/** On the shard Job: the probe's plan summary (frames, shard sizes), so progress survives the probe pod. */
export const ANNOTATION_PLAN = 'upscale.dev/plan';
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
/** Held on an UpscaleJob until its intermediates are deleted (or the cleanup was abandoned). */
export const CLEANUP_FINALIZER = 'upscale.dev/cleanup';

/**
 * Job names are capped well under 63 characters: an Indexed Job's pods get the hostname
 * `<job>-<index>` and the `job-name` label, both limited to 63.
 */
const MAX_CHILD_NAME = 52;

/** `<job>-<step>`, or a truncated name plus a hash of the full one when that is too long. */
export function childName(jobName: string, component: StepComponent): string {
  const full = `${jobName}-${component}`;
  if (full.length <= MAX_CHILD_NAME) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const keep = MAX_CHILD_NAME - component.length - hash.length - 2;
  return `${jobName.slice(0, keep).replace(/[-.]+$/, '')}-${hash}-${component}`;
}

/** Value safe for a label: UpscaleJob names may be 253 characters, label values 63. */
export function labelValue(value: string): string {
  if (value.length <= 63) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${value.slice(0, 54).replace(/[-._]+$/, '')}-${hash}`;
}

/** The labels of one step's Job and pods. */
export function childLabels(jobName: string, uid: string, component: StepComponent): Record<string, string> {
  return {
    [LABEL_NAME]: 'upscale-worker',
    [LABEL_INSTANCE]: labelValue(jobName),
    [LABEL_COMPONENT]: component,
    [LABEL_PART_OF]: 'upscale-operator',
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_JOB]: labelValue(jobName),
    [LABEL_JOB_UID]: uid,
  };
}

/** The work-queue key of an UpscaleJob. */
export function jobKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** The informers' index value of a child (Job or pod): its namespace and owning UpscaleJob's uid label. */
export function ownerUidIndex(obj: { metadata?: { namespace?: string | undefined; labels?: Record<string, string> | undefined } | undefined }): string | undefined {
  const uid = obj.metadata?.labels?.[LABEL_JOB_UID];
  return uid === undefined || uid === '' ? undefined : ownerUidIndexKey(obj.metadata?.namespace ?? '', uid);
}

/** The index value under which the children of the UpscaleJob with `uid` in `namespace` are kept. */
export function ownerUidIndexKey(namespace: string, uid: string): string {
  return `${namespace}/${uid}`;
}
