/**
 * One reconcile of one UpscaleJob: gather (from the informers' caches) -> the pure `decide` ->
 * act (through the KubeWrites adapter) -> when to look again. It never branches on what event
 * woke it; a thrown error retries the key with backoff.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { specSchemaFor, upscaleJobStartedSpecSchema, type UpscaleJob, type UpscaleJobStatus } from '../api/upscalejob.ts';
import type { OperatorConfig } from '../config.ts';
import { httpStatus, type KubeWrites } from '../controller/kube-writes.ts';
import { decide } from './decide.ts';
import { decideDeletion, wantsFinalizer } from './deletion.ts';
import { CLEANUP_FINALIZER, LABEL_COMPONENT, LABEL_JOB_UID } from './names.ts';
import { createdEvent, transitionEvents, type JobEvent } from './job-events.ts';
import { podsOf, type Observed } from './observed.ts';
import { mergeConditions, phaseConditions, statusWriteDelay } from './status.ts';

/** How soon a status write that lost an optimistic-concurrency race is retried. */
const CONFLICT_RETRY_MS = 250;

/** What reconcile reads: the caches of the operator's informers. */
export interface Caches {
  /** The UpscaleJob as stored (spec not yet parsed). */
  upscaleJob(namespace: string, name: string): RawUpscaleJob | undefined;
  /** The Jobs labelled as children of the UpscaleJob with `uid` (an index read, not a scan). */
  jobs(namespace: string, uid: string): readonly V1Job[];
  /** The pods labelled as children of the UpscaleJob with `uid`. */
  pods(namespace: string, uid: string): readonly V1Pod[];
}

export interface RawUpscaleJob {
  metadata?: { name?: string; namespace?: string; uid?: string; generation?: number; resourceVersion?: string; creationTimestamp?: string | Date; deletionTimestamp?: string | Date; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  spec?: unknown;
  status?: UpscaleJobStatus;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(key: string): Promise<ReconcileResult>;
}

/** Builds the reconciler; `lastStatusWrite` remembers per key when status was written (rate bound). */
export interface ReconcilerDeps {
  caches: Caches;
  writes: KubeWrites;
  config: OperatorConfig;
  log: Logger;
  now?: () => Date;
  /** Records an event on the UpscaleJob (fire-and-forget). */
  event?: (job: UpscaleJob, event: JobEvent) => void;
  /** Told when a deleted job's finalizer is released, with why (events). */
  onDeletion?: (job: UpscaleJob, reason: string, message: string) => void;
  /** Told once per job that reaches Succeeded or Failed, with its running time (metrics). */
  onFinished?: (phase: 'Succeeded' | 'Failed', seconds: number) => void;
}

export function createReconciler(deps: ReconcilerDeps): Reconciler {
  const { caches, writes, config } = deps;
  const now = deps.now ?? (() => new Date());
  const lastStatusWrite = new Map<string, number>();

  return {
    async reconcile(key) {
      const [namespace, name] = splitKey(key);
      const log = deps.log.child({ upscalejob: key });
      const raw = caches.upscaleJob(namespace, name);
      if (raw === undefined) {
        // Gone: owner references let the garbage collector remove its Jobs and pods.
        lastStatusWrite.delete(key);
        return {};
      }
      const at = now();
      if (raw.metadata?.deletionTimestamp !== undefined) return await deleting(raw, namespace, name, at, log);
      const parsed = specSchemaFor(raw.status).safeParse(raw.spec);
      if (!parsed.success) {
        // The API server validated the spec; this is an object written around the CRD's schema (or
        // by a newer API version). It is a terminal error: say so in status, do not retry.
        const issue = parsed.error.issues[0];
        const message = `invalid spec: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`;
        await writeStatusIfNeeded(key, raw, invalidStatus(raw, message, at), at, 0, log);
        log.warn({ reason: 'InvalidSpec', message }, 'Rejected UpscaleJob with an invalid spec');
        return {};
      }
      const job = toJob(raw, parsed.data, namespace, name);
      const observed = gather(job, caches);
      const decision = decide(job, observed, at, config);
      log.debug({ decision: decision.summary, create: decision.create.length, requeueAfterMs: decision.requeueAfterMs }, 'Reconciled UpscaleJob');

      // The finalizer goes on before the first child exists, and comes off once nothing is left
      // to clean (the job succeeded, or keeps its intermediates).
      const finalizers = raw.metadata?.finalizers ?? [];
      const want = wantsFinalizer({ ...job, status: decision.status });
      let current = raw;
      if (want !== finalizers.includes(CLEANUP_FINALIZER)) {
        let resourceVersion: string | undefined;
        try {
          resourceVersion = await writes.setFinalizers(namespace, name, raw.metadata?.resourceVersion, want ? [...finalizers, CLEANUP_FINALIZER] : finalizers.filter((f) => f !== CLEANUP_FINALIZER));
        } catch (error) {
          if (httpStatus(error) === 409) return { requeueAfterMs: CONFLICT_RETRY_MS };
          throw error;
        }
        log.info({ finalizer: CLEANUP_FINALIZER }, want ? 'Added finalizer' : 'Removed finalizer');
        // The status write below is conditional on the version the finalizer write produced.
        current = { ...raw, metadata: { ...raw.metadata, ...(resourceVersion !== undefined ? { resourceVersion } : {}) } };
      }

      await createChildren(job, decision.create, log);
      for (const childName of decision.deleteJobs) {
        await writes.deleteJob(namespace, childName);
        log.info({ job: childName, reason: decision.summary }, 'Deleted Job');
      }
      if (decision.patchShards !== undefined && observed.shards?.metadata?.name !== undefined) {
        await writes.patchJob(namespace, observed.shards.metadata.name, decision.patchShards);
        log.info({ job: observed.shards.metadata.name, ...decision.patchShards }, 'Updated shard Job');
      }
      if (decision.workloadActive !== undefined && observed.shards?.metadata?.uid !== undefined) {
        const changed = await writes.setWorkloadActive(namespace, observed.shards.metadata.uid, decision.workloadActive);
        if (changed) log.info({ job: observed.shards.metadata.name, active: decision.workloadActive }, decision.workloadActive ? 'Reactivated Kueue Workload' : 'Deactivated Kueue Workload');
      }
      const statusDelay = await writeStatusIfNeeded(key, current, decision.status, at, config.statusIntervalMs, log);
      if (statusDelay === undefined && deps.event !== undefined) {
        // Written (or unchanged): the events say what changed, once.
        for (const e of transitionEvents(raw.status, decision.status, observed.shards === undefined ? [] : podsOf(observed.pods, observed.shards))) deps.event(job, e);
      }
      if (decision.deleteSelf === true) {
        await writes.deleteUpscaleJob(namespace, name, job.metadata.uid);
        log.info({ reason: 'TTLExpired' }, 'Deleted finished UpscaleJob');
        return {};
      }
      const delays = [decision.requeueAfterMs, statusDelay].filter((d): d is number => d !== undefined && d > 0);
      return delays.length > 0 ? { requeueAfterMs: Math.min(...delays) } : {};
    },
  };

  /** Creates the decided Jobs; AlreadyExists is success (deterministic names). Logs and tells each. */
  async function createChildren(job: UpscaleJob, children: readonly V1Job[], log: Logger): Promise<void> {
    for (const child of children) {
      const created = await writes.createJob(child);
      const component = child.metadata?.labels?.[LABEL_COMPONENT] ?? '';
      log.info({ job: child.metadata?.name, component, created }, created ? 'Created Job' : 'Found existing Job');
      if (created) deps.event?.(job, createdEvent(component, child.metadata?.name ?? ''));
    }
  }

  /** A job being deleted: stop its Jobs, clean its intermediates, release the finalizer. */
  async function deleting(raw: RawUpscaleJob, namespace: string, name: string, at: Date, log: Logger): Promise<ReconcileResult> {
    const finalizers = raw.metadata?.finalizers ?? [];
    if (!finalizers.includes(CLEANUP_FINALIZER)) return {};
    const parsed = upscaleJobStartedSpecSchema.safeParse(raw.spec);
    if (!parsed.success) {
      await writes.setFinalizers(namespace, name, raw.metadata?.resourceVersion, finalizers.filter((f) => f !== CLEANUP_FINALIZER));
      return {};
    }
    const job = toJob(raw, parsed.data, namespace, name);
    const observed = gather(job, caches);
    const d = decideDeletion(job, observed, iso(raw.metadata?.deletionTimestamp) ?? at.toISOString(), at, config);
    for (const childName of d.deleteJobs) {
      await writes.deleteJob(namespace, childName);
      log.info({ job: childName }, 'Deleted Job of a deleted UpscaleJob');
    }
    await createChildren(job, d.create, log);
    if (d.releaseFinalizer) {
      // A stale resourceVersion fails with 409 and the key is retried with backoff.
      await writes.setFinalizers(namespace, name, raw.metadata?.resourceVersion, finalizers.filter((f) => f !== CLEANUP_FINALIZER));
      const fields = { finalizer: CLEANUP_FINALIZER, reason: d.reason, message: d.message };
      if (d.reason === 'CleanedUp' || d.reason === 'CleanupNotNeeded') log.info(fields, 'Removed finalizer');
      else log.warn(fields, 'Removed finalizer without cleaning up');
      deps.onDeletion?.(job, d.reason ?? 'CleanedUp', d.message ?? '');
      deps.event?.(job, { type: d.reason === 'CleanedUp' || d.reason === 'CleanupNotNeeded' ? 'Normal' : 'Warning', reason: d.reason ?? 'CleanedUp', action: 'Cleanup', note: d.message ?? '' });
      lastStatusWrite.delete(`${namespace}/${name}`);
      return {};
    }
    return d.requeueAfterMs !== undefined ? { requeueAfterMs: Math.max(1, d.requeueAfterMs) } : {};
  }

  /** Writes status when it changed, at most every `intervalMs` for progress-only changes; returns a delay when it waited. */
  async function writeStatusIfNeeded(key: string, raw: RawUpscaleJob, next: UpscaleJobStatus, at: Date, intervalMs: number, log: Logger): Promise<number | undefined> {
    const delay = statusWriteDelay(raw.status, next, lastStatusWrite.get(key), at.getTime(), intervalMs);
    if (delay === undefined) return undefined;
    if (delay > 0) return delay;
    try {
      await writes.writeStatus(raw.metadata?.namespace ?? '', raw.metadata?.name ?? '', raw.metadata?.resourceVersion, next);
    } catch (error) {
      // The cache has not caught up with a newer version (often our own last write): look again
      // shortly, from the newer object, rather than count it as a failure.
      if (httpStatus(error) === 409) {
        log.debug({ resourceVersion: raw.metadata?.resourceVersion }, 'Deferred status write: the cached UpscaleJob is stale');
        return CONFLICT_RETRY_MS;
      }
      throw error;
    }
    lastStatusWrite.set(key, at.getTime());
    if (raw.status?.phase !== next.phase) {
      log.info({ phase: next.phase, previous: raw.status?.phase, message: next.message }, 'Updated UpscaleJob phase');
      if ((next.phase === 'Succeeded' || next.phase === 'Failed') && next.startTime !== undefined && next.completionTime !== undefined) {
        deps.onFinished?.(next.phase, (Date.parse(next.completionTime) - Date.parse(next.startTime)) / 1000);
      }
    }
    return undefined;
  }
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

function iso(value: string | Date | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : value;
}

function toJob(raw: RawUpscaleJob, spec: UpscaleJob['spec'], namespace: string, name: string): UpscaleJob {
  const m = raw.metadata ?? {};
  const metadata: UpscaleJob['metadata'] = { name, namespace, uid: m.uid ?? '' };
  if (m.finalizers !== undefined) metadata.finalizers = m.finalizers;
  if (m.generation !== undefined) metadata.generation = m.generation;
  if (m.resourceVersion !== undefined) metadata.resourceVersion = m.resourceVersion;
  const created = iso(m.creationTimestamp);
  if (created !== undefined) metadata.creationTimestamp = created;
  if (m.labels !== undefined) metadata.labels = m.labels;
  const job: UpscaleJob = { apiVersion: 'upscale.dev/v1alpha1', kind: 'UpscaleJob', metadata, spec };
  if (raw.status !== undefined) job.status = raw.status;
  return job;
}

/** The job's children: the Jobs and pods labelled with its uid (a same-named earlier job's are not). */
export function gather(job: UpscaleJob, caches: Caches): Observed & { cleanup?: V1Job } {
  const uid = job.metadata.uid;
  const mine = <T extends { metadata?: { labels?: Record<string, string> } }>(o: T) => o.metadata?.labels?.[LABEL_JOB_UID] === uid;
  const jobs = caches.jobs(job.metadata.namespace, uid).filter(mine);
  const byComponent = (c: string) => jobs.find((j) => j.metadata?.labels?.[LABEL_COMPONENT] === c);
  const observed: Observed & { cleanup?: V1Job } = { pods: caches.pods(job.metadata.namespace, uid).filter(mine) };
  const probe = byComponent('probe');
  const shards = byComponent('shards');
  const assemble = byComponent('assemble');
  const cleanup = byComponent('cleanup');
  if (cleanup !== undefined) observed.cleanup = cleanup;
  if (probe !== undefined) observed.probe = probe;
  if (shards !== undefined) observed.shards = shards;
  if (assemble !== undefined) observed.assemble = assemble;
  return observed;
}

function invalidStatus(raw: RawUpscaleJob, message: string, at: Date): UpscaleJobStatus {
  const generation = raw.metadata?.generation;
  const status: UpscaleJobStatus = {
    ...raw.status,
    phase: 'Failed',
    message,
    conditions: mergeConditions(raw.status?.conditions, phaseConditions('Failed', 'InvalidSpec', message), at, generation),
  };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}
