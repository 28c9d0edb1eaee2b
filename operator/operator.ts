/**
 * The operator process: three supervised informers (UpscaleJobs, and the Jobs and pods it owns,
 * selected by label), one rate-limited work queue of UpscaleJob keys, a fixed number of reconcile
 * workers, a periodic resync, and `/healthz`, `/readyz`, `/metrics` on one HTTP port.
 */
import { createServer, type Server } from 'node:http';
import { CoordinationV1Api, type KubernetesObject, type KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { OperatorConfig } from './config.ts';
import { Informer } from './controller/informer.ts';
import { kubeWrites, type KubeWrites } from './controller/kube-writes.ts';
import { createControllerMetrics, initControllerMetrics, observeReconcile, workqueueMetrics } from './controller/metrics.ts';
import { createJobMetrics } from './controller/job-metrics.ts';
import { jobs, pods, upscaleJobs } from './controller/resources.ts';
import { WorkQueue } from './controller/workqueue.ts';
import { API_VERSION, KIND } from './api/upscalejob.ts';
import { LeaderElector, createLeaderElectionMetrics, defaultIdentity, leaseStore, type LeaderElectionTimings } from './controller/leader-election.ts';
import { EventRecorder, eventMetrics, kubeEventSink } from './controller/events.ts';
import { LABEL_JOB, OWNED_SELECTOR, jobKey, ownerUidIndex, ownerUidIndexKey } from './reconcile/names.ts';
import { createReconciler } from './reconcile/reconcile.ts';
import { cachedJob, cachedObject, cachedPod } from './reconcile/cached-fields.ts';

export const CONTROLLER_NAME = 'upscalejob';
/** Every job is reconciled at least this often, whatever the events (level-triggered repair). */
const RESYNC_MS = 5 * 60_000;
/**
 * Events of a job's Jobs and pods within this window cost one reconcile: at 1,000 shards the pods
 * change thousands of times a minute, and each reconcile would otherwise see just one of them.
 */
const CHILD_EVENT_BATCH_MS = 1000;

export interface OperatorOptions {
  kc: KubeConfig;
  config: OperatorConfig;
  log: Logger;
  /** Port of /healthz, /readyz and /metrics; 0 picks a free one; undefined serves none. */
  httpPort?: number;
  writes?: KubeWrites;
  /** Who this process is, in events and the leader-election Lease; default hostname_uuid. */
  identity?: string;
  /** Leader election: only the holder of this Lease reconciles; undefined: this process always leads. */
  leaderElection?: { namespace: string; name: string } & Partial<LeaderElectionTimings>;
  /** Called when leadership is lost involuntarily; the process must exit (default: exit 1 at once). */
  onLostLeadership?: () => void;
}

export interface RunningOperator {
  /** The HTTP port actually bound, when serving. */
  port: number | undefined;
  /** Resolves once every informer has listed. */
  synced: Promise<void>;
  /** Stops taking work, waits for in-flight reconciles (bounded), stops the informers. */
  stop(): Promise<void>;
}

/** Starts the operator; returns once it is serving (caches may still be syncing). */
export async function startOperator(opts: OperatorOptions): Promise<RunningOperator> {
  const { kc, config, log } = opts;
  const registry = new Registry();
  // process_resident_memory_bytes, nodejs_heap_size_used_bytes, GC and event-loop lag, as
  // controller-runtime serves its process and Go runtime collectors: where the memory goes.
  collectDefaultMetrics({ register: registry });
  const metrics = createControllerMetrics(registry);
  initControllerMetrics(metrics, CONTROLLER_NAME, config.workers);
  const queue = new WorkQueue({ metrics: workqueueMetrics(metrics, CONTROLLER_NAME) });
  const informerLog = log.child({ component: 'informer' });

  // The caches keep only what reconcile reads (cached-fields.ts): at 10,000 pods, most of a pod is
  // managedFields, its spec and container details.
  const ujInformer = new Informer<KubernetesObject>({ kubeConfig: kc, resource: upscaleJobs, namespace: config.namespace, log: informerLog, transform: cachedObject });
  // Children are indexed by their UpscaleJob's uid: a reconcile reads its own, never every pod.
  const jobInformer = new Informer<V1Job>({ kubeConfig: kc, resource: jobs, namespace: config.namespace, labelSelector: OWNED_SELECTOR, log: informerLog, indexBy: ownerUidIndex, transform: cachedJob });
  const podInformer = new Informer<V1Pod>({ kubeConfig: kc, resource: pods, namespace: config.namespace, labelSelector: OWNED_SELECTOR, log: informerLog, indexBy: ownerUidIndex, transform: cachedPod });
  const informers = [ujInformer, jobInformer, podInformer];

  ujInformer.on('change', (obj) => queue.add(jobKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '')));
  // Child events are batched per UpscaleJob: one reconcile per window sees them all.
  jobInformer.on('change', (obj) => {
    const key = ownerKey(obj);
    if (key !== undefined) queue.addBatched(key, CHILD_EVENT_BATCH_MS);
  });
  podInformer.on('change', (obj) => {
    // A pod's owner is a Job; that Job's owner is the UpscaleJob.
    const jobName = obj.metadata?.ownerReferences?.find((o) => o.kind === 'Job')?.name;
    const owner = jobName === undefined ? undefined : jobInformer.get(obj.metadata?.namespace, jobName);
    const key = owner === undefined ? labelKey(obj) : ownerKey(owner);
    if (key !== undefined) queue.addBatched(key, CHILD_EVENT_BATCH_MS);
  });

  const identity = opts.identity ?? defaultIdentity();
  const recorder = new EventRecorder({ sink: kubeEventSink(kc), reportingInstance: identity, metrics: eventMetrics(registry), log: log.child({ component: 'events' }) });
  const jobMetrics = createJobMetrics(registry, () => ujInformer.list());
  // Leading: reconciles run and writes go out. A follower keeps warm caches and a full queue, so a
  // hand-over costs one lease acquisition, not a relist.
  let leading = opts.leaderElection === undefined;
  let startLeading: () => void = () => undefined;
  const becameLeader = leading ? Promise.resolve() : new Promise<void>((resolve) => (startLeading = resolve));
  let elector: LeaderElector | undefined;
  const isLeader = () => (elector === undefined ? leading : elector.isLeader());
  const reconciler = createReconciler({
    caches: {
      upscaleJob: (ns, name) => ujInformer.get(ns, name),
      jobs: (ns, uid) => jobInformer.byIndex(ownerUidIndexKey(ns, uid)) as unknown as V1Job[],
      pods: (ns, uid) => podInformer.byIndex(ownerUidIndexKey(ns, uid)) as unknown as V1Pod[],
    },
    // Every write checks the lease first: a leader whose renew deadline passed (a blocked event loop,
    // a partitioned API server) stops acting at once, even in the middle of a reconcile.
    writes: guardedWrites(opts.writes ?? kubeWrites(kc), isLeader),
    config,
    log,
    onFinished: (phase, seconds) => jobMetrics.observeFinished(phase, seconds),
    event: (job, e) => {
      const regarding = { apiVersion: API_VERSION, kind: KIND, name: job.metadata.name, namespace: job.metadata.namespace, uid: job.metadata.uid, ...(job.metadata.resourceVersion !== undefined ? { resourceVersion: job.metadata.resourceVersion } : {}) };
      recorder.event(regarding, e.type, e.reason, e.action, e.note);
    },
  });

  for (const informer of informers) informer.start();
  const synced = Promise.all(informers.map((i) => i.synced())).then(() => {
    log.info({ namespace: config.namespace ?? '(all)', jobs: ujInformer.list().length }, 'Synced caches');
  });

  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  async function worker(): Promise<void> {
    await synced;
    await becameLeader;
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = performance.now();
      metrics.activeWorkers.inc({ controller: CONTROLLER_NAME });
      try {
        const result = await reconciler.reconcile(key);
        queue.forget(key);
        if (result.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
        observeReconcile(metrics, CONTROLLER_NAME, result.requeueAfterMs !== undefined ? 'requeue_after' : 'success', (performance.now() - started) / 1000);
      } catch (error) {
        queue.addRateLimited(key);
        observeReconcile(metrics, CONTROLLER_NAME, 'error', (performance.now() - started) / 1000);
        log.warn({ upscalejob: key, err: describe(error) }, 'Failed to reconcile UpscaleJob; retrying with backoff');
      } finally {
        metrics.activeWorkers.dec({ controller: CONTROLLER_NAME });
        queue.done(key);
      }
    }
  }
  if (opts.leaderElection !== undefined) {
    const { namespace, name, ...timings } = opts.leaderElection;
    elector = new LeaderElector({
      store: leaseStore(kc.makeApiClient(CoordinationV1Api), namespace, name),
      identity,
      ...timings,
      log: log.child({ component: 'leader-election' }),
      metrics: createLeaderElectionMetrics(registry, name),
      callbacks: {
        onStartedLeading: () => {
          leading = true;
          log.info({ identity, lease: `${namespace}/${name}` }, 'Became leader');
          // Everything is looked at once by the new leader.
          for (const obj of ujInformer.list()) queue.add(jobKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
          startLeading();
        },
        onStoppedLeading: () => {
          leading = false;
          log.error({ identity, lease: `${namespace}/${name}` }, 'Lost leadership; exiting');
          (opts.onLostLeadership ?? (() => process.exit(1)))();
        },
        onNewLeader: (holder) => log.info({ leader: holder }, 'Observed new leader'),
      },
    });
    elector.start();
  }
  const workers = Array.from({ length: config.workers }, () => {
    const p = worker().catch((error: unknown) => log.error({ err: describe(error) }, 'Reconcile worker stopped'));
    inFlight.add(p);
    return p;
  });
  const resync = setInterval(() => {
    for (const obj of ujInformer.list()) queue.add(jobKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
  }, RESYNC_MS);
  resync.unref();

  let server: Server | undefined;
  let port: number | undefined;
  if (opts.httpPort !== undefined) {
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        const ok = informers.every((i) => i.healthy());
        res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'informers stalled\n');
      } else if (path === '/readyz') {
        const ok = !stopping && informers.every((i) => i.hasSynced());
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'caches not synced\n');
      } else if (path === '/metrics') {
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          (error: unknown) => res.writeHead(500).end(String(error)),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(opts.httpPort, () => resolve());
    });
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : undefined;
    log.info({ port }, 'Serving health and metrics');
  }

  return {
    port,
    synced,
    async stop() {
      stopping = true;
      clearInterval(resync);
      // In-flight reconciles finish (each is short); then nothing more is handed out.
      await Promise.race([queue.shutDownWithDrain(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      queue.shutDown();
      startLeading();
      await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 1000).unref())]);
      // Released only once nothing acts any more, so the next leader can start at once.
      if (elector !== undefined) {
        const released = elector.isLeader() ? await elector.release() : (elector.stop(), false);
        if (released) log.info({ identity }, 'Released leader lease');
      }
      await Promise.all(informers.map((informer) => informer.stop()));
      await Promise.race([recorder.flush(), new Promise((r) => setTimeout(r, 3000).unref())]);
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

interface Owned {
  metadata?: { namespace?: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }> };
}

/** Writes that refuse to go out unless this process leads now. */
function guardedWrites(writes: KubeWrites, isLeader: () => boolean): KubeWrites {
  const guard = <A extends unknown[], R>(fn: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    if (!isLeader()) throw new NotLeaderError();
    return fn(...args);
  };
  return {
    createJob: guard((job) => writes.createJob(job)),
    deleteJob: guard((ns, name) => writes.deleteJob(ns, name)),
    patchJob: guard((ns, name, spec) => writes.patchJob(ns, name, spec)),
    writeStatus: guard((ns, name, rv, status) => writes.writeStatus(ns, name, rv, status)),
    setFinalizers: guard((ns, name, rv, finalizers) => writes.setFinalizers(ns, name, rv, finalizers)),
    setWorkloadActive: guard((ns, uid, active) => writes.setWorkloadActive(ns, uid, active)),
    deleteUpscaleJob: guard((ns, name, uid) => writes.deleteUpscaleJob(ns, name, uid)),
  };
}

/** A write was refused because this replica no longer holds the lease. */
export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  constructor() {
    super('not the leader: write refused');
  }
}

function ownerKey(obj: Owned): string | undefined {
  const owner = obj.metadata?.ownerReferences?.find((o) => o.kind === KIND && o.controller === true);
  if (owner !== undefined) return jobKey(obj.metadata?.namespace ?? '', owner.name);
  return labelKey(obj);
}

function labelKey(obj: Owned): string | undefined {
  const name = obj.metadata?.labels?.[LABEL_JOB];
  return name === undefined ? undefined : jobKey(obj.metadata?.namespace ?? '', name);
}

/** An error in one line: the API server's own Status message when it sent one. */
export function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof code === 'number' && body !== undefined) {
    let status: { message?: unknown; reason?: unknown } | undefined;
    try {
      status = (typeof body === 'string' ? JSON.parse(body) : body) as typeof status;
    } catch {
      status = undefined;
    }
    const message = typeof status?.message === 'string' ? status.message : (typeof body === 'string' ? body : JSON.stringify(body)).slice(0, 300);
    return `HTTP ${code}${typeof status?.reason === 'string' ? ` ${status.reason}` : ''}: ${message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
