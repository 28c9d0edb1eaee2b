/**
 * The pods bound to one node: a list-watch on `spec.nodeName=<node>` feeds one PodWorker per
 * pod UID, as the kubelet's pod workers are fed by its config source. A pod missing from a
 * relist, or a DELETED event, means the pod object is gone and its processes are killed.
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { listWatch } from './list-watch.ts';
import { PodWorker, type WorkerContext } from './pod-worker.ts';

/** The pod workers of one node. */
export class PodSync {
  private readonly workers = new Map<string, PodWorker>();
  private stopWatch: (() => void) | undefined;
  private readonly ctx: WorkerContext;
  private readonly kc: KubeConfig;
  private readonly log: Logger;

  constructor(kc: KubeConfig, ctx: WorkerContext) {
    this.kc = kc;
    this.ctx = ctx;
    this.log = ctx.log;
  }

  /** Starts following the node's pods. */
  start(): void {
    const core = this.kc.makeApiClient(CoreV1Api);
    const fieldSelector = `spec.nodeName=${this.ctx.node.name}`;
    this.stopWatch = listWatch<V1Pod>({
      kc: this.kc,
      path: '/api/v1/pods',
      query: { fieldSelector },
      list: async () => {
        const res = await core.listPodForAllNamespaces({ fieldSelector });
        return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '' };
      },
      onList: (items) => {
        const seen = new Set(items.map((p) => p.metadata?.uid ?? ''));
        for (const [uid, worker] of this.workers) if (!seen.has(uid)) this.forget(uid, worker);
        for (const pod of items) this.observe(pod);
      },
      onEvent: (type, pod) => {
        const uid = pod.metadata?.uid ?? '';
        const worker = this.workers.get(uid);
        if (type === 'DELETED') {
          if (worker) this.forget(uid, worker);
        } else {
          this.observe(pod);
        }
      },
      log: this.log,
    });
  }

  private observe(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    const existing = this.workers.get(uid);
    if (existing) {
      existing.update(pod);
      return;
    }
    this.log.info({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, node: this.ctx.node.name }, 'Admitted pod');
    const worker = new PodWorker(pod, this.ctx);
    this.workers.set(uid, worker);
    worker.update(pod);
    worker.done.catch((err: unknown) => this.log.error({ pod: pod.metadata?.name, err: String(err) }, 'Pod worker failed'));
  }

  private forget(uid: string, worker: PodWorker): void {
    worker.remove();
    this.workers.delete(uid);
  }

  /** The worker of a pod by namespace and name (for `kubectl logs`); the newest when names were reused. */
  findByName(namespace: string, name: string): PodWorker | undefined {
    const prefix = `${namespace}_${name}_`;
    const matches = [...this.workers.values()].filter((w) => w.dir.split('/').at(-1)?.startsWith(prefix));
    return matches.at(-1);
  }

  /** Stops watching and kills every container (agent shutdown). */
  async stop(): Promise<void> {
    this.stopWatch?.();
    const all = [...this.workers.values()];
    for (const w of all) w.remove();
    await Promise.allSettled(all.map((w) => w.done));
  }
}
