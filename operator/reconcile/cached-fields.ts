/**
 * What the informer caches keep of each object: the fields reconcile reads (observed.ts,
 * decide.ts, deletion.ts, job-events.ts, probe-result.ts, names.ts), nothing else.
 *
 * At 100 jobs x 100 shards the caches hold some 10,000 pods. A pod as the API server sends it is
 * mostly what no reconcile reads: `managedFields` (a few KiB per object), the whole `spec` (the
 * worker's container, env, volumes, tolerations), and the status of every container (image ids,
 * volume mounts, resources). Trimmed, a finished pod is its metadata and its worker's exit. The
 * trim runs before an object enters either cache (ours and client-node's ListWatch, which share
 * the one object), so the full object is garbage as soon as it is parsed.
 *
 * A field reconcile starts reading must be kept here too; cached-fields.test.ts runs the readers
 * on trimmed objects.
 */
import type { KubernetesObject, V1ContainerStatus, V1Job, V1ObjectMeta, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { Wire } from '../controller/wire.ts';

/** kubectl's copy of the last applied manifest: for `kubectl apply` diffs, never read here. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Meta = Wire<V1ObjectMeta>;

/** Metadata without `managedFields` (server-side apply bookkeeping, read by no reconcile). */
function trimMeta(meta: Meta | undefined): Meta | undefined {
  if (meta === undefined) return undefined;
  const { managedFields: _managedFields, ...kept } = meta;
  if (kept.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _lastApplied, ...annotations } = kept.annotations;
    kept.annotations = annotations;
  }
  return kept;
}

/** A container's name and how it ran: exit codes and termination messages (the worker's result). */
function trimContainerStatus(c: Wire<V1ContainerStatus>): Wire<V1ContainerStatus> {
  const { name, ready, restartCount, state, lastState } = c;
  // Partial (no image ids): typed as the whole kind for the readers, which read only these.
  return { name, ready, restartCount, ...(state !== undefined ? { state } : {}), ...(lastState !== undefined ? { lastState } : {}) } as Wire<V1ContainerStatus>;
}

function trimPodStatus(status: Wire<V1PodStatus>): Wire<V1PodStatus> {
  const { phase, reason, message, startTime, conditions, containerStatuses } = status;
  // Conditions say why a pending pod is not scheduled; a finished pod's say nothing reconcile reads.
  const finished = phase === 'Succeeded' || phase === 'Failed';
  return {
    ...(phase !== undefined ? { phase } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(startTime !== undefined ? { startTime } : {}),
    ...(conditions !== undefined && !finished ? { conditions } : {}),
    ...(containerStatuses !== undefined ? { containerStatuses: containerStatuses.map(trimContainerStatus) } : {}),
  };
}

/**
 * A pod as the pod cache keeps it: metadata (owner, labels, index annotation), phase, conditions
 * while pending, container exits. No spec: the operator wrote it (job-specs.ts) and reads none of it.
 */
export function cachedPod(pod: Wire<V1Pod>): Wire<V1Pod> {
  const metadata = trimMeta(pod.metadata);
  return {
    ...(pod.apiVersion !== undefined ? { apiVersion: pod.apiVersion } : {}),
    ...(pod.kind !== undefined ? { kind: pod.kind } : {}),
    ...(metadata !== undefined ? { metadata } : {}),
    ...(pod.status !== undefined ? { status: trimPodStatus(pod.status) } : {}),
  };
}

/** A Job as the Job cache keeps it: without its pod template (the operator wrote it) and selector. */
export function cachedJob(job: Wire<V1Job>): Wire<V1Job> {
  const metadata = trimMeta(job.metadata);
  const { metadata: _metadata, spec, ...rest } = job;
  const out: Wire<V1Job> = { ...rest, ...(metadata !== undefined ? { metadata } : {}) };
  if (spec !== undefined) {
    const { template: _template, selector: _selector, ...kept } = spec;
    // Partial (no template): typed as the whole spec for the readers, which read only counts and suspend.
    out.spec = kept as NonNullable<Wire<V1Job>['spec']>;
  }
  return out;
}

/** Any other object (UpscaleJobs): everything but `managedFields` and kubectl's last-applied copy. */
export function cachedObject<T extends KubernetesObject>(obj: Wire<T>): Wire<T> {
  const metadata = trimMeta(obj.metadata);
  return metadata === undefined ? obj : { ...obj, metadata };
}
