/**
 * The operator process: three supervised informers (UpscaleJobs, and the Jobs and pods it owns,
 * selected by label), one rate-limited work queue of UpscaleJob keys, a fixed number of reconcile
 * workers, a periodic resync, and `/healthz`, `/readyz`, `/metrics` on one HTTP port.
 */
import { createServer, type Server } from 'node:http';
import type { KubernetesObject, KubeConfig, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import type { OperatorConfig } from './config.ts';
import { Informer } from './controller/informer.ts';
import { kubeWrites, type KubeWrites } from './controller/kube-writes.ts';
import { createControllerMetrics, initControllerMetrics, observeReconcile, workqueueMetrics } from './controller/metrics.ts';
import { createJobMetrics } from './controller/job-metrics.ts';
import { jobs, pods, upscaleJobs } from './controller/resources.ts';
import { WorkQueue } from './controller/workqueue.ts';
import { KIND } from './api/upscalejob.ts';
import { LABEL_JOB, OWNED_SELECTOR, jobKey } from './reconcile/names.ts';
import { createReconciler } from './reconcile/reconcile.ts';

export const CONTROLLER_NAME = 'upscalejob';
/** Every job is reconciled at least this often, whatever the events (level-triggered repair). */
const RESYNC_MS = 5 * 60_000;

export interface OperatorOptions {
  kc: KubeConfig;
  config: OperatorConfig;
  log: Logger;
  /** Port of /healthz, /readyz and /metrics; 0 picks a free one; undefined serves none. */
  httpPort?: number;
  writes?: KubeWrites;
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
  const metrics = createControllerMetrics(registry);
  initControllerMetrics(metrics, CONTROLLER_NAME, config.workers);
  const queue = new WorkQueue({ metrics: workqueueMetrics(metrics, CONTROLLER_NAME) });
  const informerLog = log.child({ component: 'informer' });

  const ujInformer = new Informer<KubernetesObject>({ kubeConfig: kc, resource: upscaleJobs, namespace: config.namespace, log: informerLog });
  const jobInformer = new Informer<V1Job>({ kubeConfig: kc, resource: jobs, namespace: config.namespace, labelSelector: OWNED_SELECTOR, log: informerLog });
  const podInformer = new Informer<V1Pod>({ kubeConfig: kc, resource: pods, namespace: config.namespace, labelSelector: OWNED_SELECTOR, log: informerLog });
  const informers = [ujInformer, jobInformer, podInformer];

  ujInformer.on('change', (obj) => queue.add(jobKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '')));
  jobInformer.on('change', (obj) => {
    const key = ownerKey(obj);
    if (key !== undefined) queue.add(key);
  });
  podInformer.on('change', (obj) => {
    // A pod's owner is a Job; that Job's owner is the UpscaleJob.
    const jobName = obj.metadata?.ownerReferences?.find((o) => o.kind === 'Job')?.name;
    const owner = jobName === undefined ? undefined : jobInformer.get(obj.metadata?.namespace, jobName);
    const key = owner === undefined ? labelKey(obj) : ownerKey(owner);
    if (key !== undefined) queue.add(key);
  });

  const jobMetrics = createJobMetrics(registry, () => ujInformer.list());
  const reconciler = createReconciler({
    caches: {
      upscaleJob: (ns, name) => ujInformer.get(ns, name),
      jobs: (ns) => jobInformer.list(ns) as unknown as V1Job[],
      pods: (ns) => podInformer.list(ns) as unknown as V1Pod[],
    },
    writes: opts.writes ?? kubeWrites(kc),
    config,
    log,
    onFinished: (phase, seconds) => jobMetrics.observeFinished(phase, seconds),
  });

  for (const informer of informers) informer.start();
  const synced = Promise.all(informers.map((i) => i.synced())).then(() => {
    log.info({ namespace: config.namespace ?? '(all)', jobs: ujInformer.list().length }, 'Synced caches');
  });

  let stopping = false;
  const inFlight = new Set<Promise<void>>();
  async function worker(): Promise<void> {
    await synced;
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
      await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 1000).unref())]);
      await Promise.all(informers.map((informer) => informer.stop()));
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}

interface Owned {
  metadata?: { namespace?: string; labels?: Record<string, string>; ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }> };
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
