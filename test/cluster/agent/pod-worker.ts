/**
 * The lifecycle of one pod on one node, as a kubelet runs it: admit (GPU devices, volumes),
 * init containers in order, then the containers as local processes with `restartPolicy`
 * (Never, OnFailure, Always with crash-loop back-off), status reports after every change,
 * `activeDeadlineSeconds`, graceful deletion (SIGTERM, grace period, SIGKILL, terminal phase,
 * final delete). Eviction is a graceful deletion whose DisruptionTarget condition the apiserver
 * adds; status patches merge conditions by type, so it stays.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ClusterError, describeError } from '../cluster-error.ts';
import type { Logger } from '../log.ts';
import type { PodApi } from './api.ts';
import type { AgentConfig } from './config.ts';
import { startContainer, type ContainerProcess } from './container-process.ts';
import { resolveLaunch } from './container-launch.ts';
import type { Allocation, GpuAllocator } from './gpu-allocator.ts';
import { terminalPhase, type ContainerRecord, type PodRecord, type Terminated } from './pod-status.ts';
import { StatusWriter } from './status-writer.ts';
import { terminationMessage } from './termination-message.ts';
import { materializeVolumes } from './volumes.ts';

/** The node a worker runs on. */
export interface NodeRuntime {
  name: string;
  allocator: GpuAllocator;
  allocatable: Record<string, string>;
}

/** What a pod worker needs from the agent. */
export interface WorkerContext {
  node: NodeRuntime;
  api: PodApi;
  config: AgentConfig;
  log: Logger;
}

type StopReason = 'Deleted' | 'DeadlineExceeded' | 'Removed';

const MAX_BACKOFF_SECONDS = 300;

function gpuCount(container: V1Container, resource: string): number {
  const raw = container.resources?.limits?.[resource] ?? container.resources?.requests?.[resource];
  return raw === undefined ? 0 : Number.parseInt(String(raw), 10) || 0;
}

/** Runs one pod; `update` feeds it newer versions of the pod, `remove` tells it the pod is gone. */
export class PodWorker {
  readonly uid: string;
  readonly dir: string;
  private pod: V1Pod;
  private readonly ctx: WorkerContext;
  private readonly record: PodRecord;
  private readonly processes = new Map<string, ContainerProcess>();
  private volumes = new Map<string, string>();
  private allocation: Allocation = new Map();
  private stopReason: StopReason | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private killAt = Infinity;
  private readonly stopWaiters: (() => void)[] = [];
  private deadlineTimer: NodeJS.Timeout | undefined;
  private readonly status: StatusWriter;
  /** The terminal status has been written; only then may the final delete happen. */
  private terminalWritten = false;
  private finalDeleted = false;
  /** Resolves when the worker has nothing left to do for its pod. */
  readonly done: Promise<void>;

  constructor(pod: V1Pod, ctx: WorkerContext) {
    this.pod = pod;
    this.ctx = ctx;
    this.uid = pod.metadata?.uid ?? '';
    const name = `${pod.metadata?.namespace}_${pod.metadata?.name}_${this.uid}`;
    this.dir = join(ctx.config.podsDir, name);
    const phase = pod.status?.phase;
    const rec = (c: V1Container): ContainerRecord => ({ name: c.name, image: c.image ?? '', state: { kind: 'waiting', reason: 'ContainerCreating' }, restartCount: 0 });
    this.record = {
      phase: 'Pending',
      startTime: new Date(),
      sandboxReady: false,
      initContainers: (pod.spec?.initContainers ?? []).map(rec),
      containers: (pod.spec?.containers ?? []).map(rec),
    };
    this.status = new StatusWriter({
      api: ctx.api,
      namespace: pod.metadata?.namespace ?? 'default',
      name: pod.metadata?.name ?? '',
      log: ctx.log,
      record: () => this.record,
      onGone: () => this.remove(),
    });
    if (phase === 'Succeeded' || phase === 'Failed') {
      // Terminal before this agent saw it (agent restart): nothing to run, only the final delete.
      this.terminalWritten = true;
      this.done = this.handleDeletion();
    } else {
      this.done = this.run();
    }
  }

  private get key(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** The log file of a container run (`previous`: the run before the current one). */
  logFile(container: string, previous: boolean): string | undefined {
    const rec = [...this.record.containers, ...this.record.initContainers].find((c) => c.name === container);
    if (!rec) return undefined;
    const run = previous ? rec.restartCount - 1 : rec.restartCount;
    return run < 0 ? undefined : join(this.dir, 'logs', container, `${run}.log`);
  }

  /** Whether a container is still running (for `kubectl logs -f`). */
  isRunning(container: string): boolean {
    return this.processes.has(container);
  }

  /** A newer version of the pod from the API. */
  update(pod: V1Pod): void {
    this.pod = pod;
    if (pod.metadata?.deletionTimestamp) {
      const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      this.requestStop('Deleted', grace);
      if (this.terminalWritten) void this.handleDeletion();
    }
  }

  /** The pod is gone from the API: stop everything now. */
  remove(): void {
    this.finalDeleted = true;
    this.status.close();
    this.requestStop('Removed', 0);
  }

  private requestStop(reason: StopReason, graceSeconds: number): void {
    if (this.stopReason === undefined || reason === 'Removed') this.stopReason = reason;
    for (const w of this.stopWaiters.splice(0)) w();
    const at = Date.now() + graceSeconds * 1000;
    if (at >= this.killAt) return;
    const first = this.killAt === Infinity;
    this.killAt = at;
    if (first) for (const p of this.processes.values()) p.kill('SIGTERM');
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => {
      for (const p of this.processes.values()) p.kill('SIGKILL');
    }, Math.max(0, at - Date.now()));
  }

  private stopped(): boolean {
    return this.stopReason !== undefined;
  }

  /** Sleeps, waking early when a stop is requested. */
  private async pause(ms: number): Promise<void> {
    if (this.stopped()) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.stopWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private setWaiting(reason: string, message: string): void {
    for (const c of [...this.record.initContainers, ...this.record.containers]) {
      if (c.state.kind === 'waiting') c.state = { kind: 'waiting', reason, message };
    }
    this.status.publish();
  }

  private async run(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    this.status.publish();
    const deadline = this.pod.spec?.activeDeadlineSeconds;
    if (deadline !== undefined) {
      this.deadlineTimer = setTimeout(() => {
        this.record.reason = 'DeadlineExceeded';
        this.record.message = 'Pod was active on the node longer than the specified deadline';
        this.ctx.log.info({ pod: this.key, node: this.ctx.node.name }, 'Killed pod past its activeDeadlineSeconds');
        this.requestStop('DeadlineExceeded', this.pod.spec?.terminationGracePeriodSeconds ?? 30);
      }, deadline * 1000);
    }
    try {
      await this.admit();
      if (!this.stopped() && (await this.runInitContainers())) {
        await Promise.all((this.pod.spec?.containers ?? []).map((spec, i) => this.runContainer(spec, this.record.containers[i], false)));
      }
    } catch (err) {
      this.ctx.log.error({ pod: this.key, node: this.ctx.node.name, err: describeError(err) }, 'Failed to run pod');
      this.record.reason = 'AgentError';
      this.record.message = describeError(err);
    }
    clearTimeout(this.deadlineTimer);
    await this.finish();
  }

  /** Devices and volumes; retried until they succeed or the pod is stopped. */
  private async admit(): Promise<void> {
    const resource = this.ctx.config.gpuResource;
    const requests = (this.pod.spec?.containers ?? []).map((c) => ({ container: c.name, count: gpuCount(c, resource) })).filter((r) => r.count > 0);
    while (!this.stopped()) {
      const allocation = requests.length > 0 ? this.ctx.node.allocator.allocate(this.uid, requests) : new Map<string, number[]>();
      if (allocation) {
        this.allocation = allocation;
        break;
      }
      this.setWaiting('ContainerCreating', `waiting for free ${resource} devices on node ${this.ctx.node.name}`);
      await this.pause(1000);
    }
    if (requests.length > 0) this.ctx.log.info({ pod: this.key, node: this.ctx.node.name, devices: Object.fromEntries(this.allocation) }, 'Allocated GPU devices');
    while (!this.stopped()) {
      try {
        this.volumes = await materializeVolumes(this.pod, this.dir, this.ctx.api, this.ctx.node.allocatable);
        this.record.sandboxReady = true;
        this.status.publish();
        return;
      } catch (err) {
        if (!(err instanceof ClusterError)) throw err;
        this.ctx.log.warn({ pod: this.key, err: err.message }, 'Failed to mount volumes; retrying');
        this.setWaiting('ContainerCreating', `MountVolume failed: ${err.message}`);
        await this.pause(2000);
      }
    }
  }

  /** Runs the init containers in order; false when one failed for good or the pod stopped. */
  private async runInitContainers(): Promise<boolean> {
    const specs = this.pod.spec?.initContainers ?? [];
    for (const [i, spec] of specs.entries()) {
      const rec = this.record.initContainers[i];
      await this.runContainer(spec, rec, true);
      if (this.stopped() || !rec || rec.state.kind !== 'terminated' || rec.state.terminated.exitCode !== 0) return false;
    }
    return true;
  }

  /** Runs one container until it ends for good (restart policy) or the pod is stopped. */
  private async runContainer(spec: V1Container, rec: ContainerRecord | undefined, init: boolean): Promise<void> {
    if (!rec) return;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    let backoff = this.ctx.config.restartBackoffSeconds;
    while (!this.stopped()) {
      const terminationFile = join(this.dir, 'termination', `${spec.name}-${rec.restartCount}`);
      const logFile = join(this.dir, 'logs', spec.name, `${rec.restartCount}.log`);
      let launch;
      try {
        mkdirSync(join(this.dir, 'termination'), { recursive: true });
        writeFileSync(terminationFile, '');
        launch = await resolveLaunch({
          pod: this.pod,
          container: spec,
          podDir: this.dir,
          volumes: this.volumes,
          devices: this.allocation.get(spec.name) ?? [],
          terminationFile,
          nodeName: this.ctx.node.name,
          allocatable: this.ctx.node.allocatable,
          config: this.ctx.config,
          lookup: this.ctx.api,
        });
      } catch (err) {
        if (!(err instanceof ClusterError)) throw err;
        const reason = err.code === 'ImageUnknown' ? 'ErrImagePull' : 'CreateContainerConfigError';
        rec.state = { kind: 'waiting', reason, message: err.message };
        this.ctx.log.warn({ pod: this.key, container: spec.name, reason, err: err.message }, 'Failed to create container; retrying');
        this.status.publish();
        await this.pause(3000);
        continue;
      }
      if (this.stopped()) return;
      const proc = startContainer({ name: `${this.key}/${spec.name}`, ...launch, logFile, pidFile: join(this.ctx.config.containersPidDir, `${this.uid}_${spec.name}.pid`) });
      this.processes.set(spec.name, proc);
      if (this.killAt !== Infinity) proc.kill('SIGTERM');
      const containerID = `agent://${this.uid}/${spec.name}/${rec.restartCount}`;
      rec.state = { kind: 'running', startedAt: proc.startedAt, containerID };
      if (!init) this.record.phase = 'Running';
      this.ctx.log.info({ pod: this.key, container: spec.name, node: this.ctx.node.name, pid: proc.pid, argv: launch.argv.join(' ') }, 'Started container');
      this.status.publish();
      const exit = await proc.exited;
      this.processes.delete(spec.name);
      const terminated: Terminated = {
        exitCode: exit.exitCode,
        reason: exit.exitCode === 0 ? 'Completed' : 'Error',
        startedAt: proc.startedAt,
        finishedAt: exit.finishedAt,
        containerID,
      };
      const message = terminationMessage(terminationFile, logFile, spec.terminationMessagePolicy, exit.exitCode);
      if (message !== undefined) terminated.message = message;
      rec.state = { kind: 'terminated', terminated };
      this.ctx.log.info({ pod: this.key, container: spec.name, exitCode: exit.exitCode, signal: exit.signal }, 'Container exited');
      const failed = exit.exitCode !== 0;
      const restart = !this.stopped() && (init ? failed && policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && failed));
      if (!restart) {
        this.status.publish();
        return;
      }
      rec.lastTerminated = terminated;
      rec.restartCount += 1;
      rec.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message: `back-off ${backoff}s restarting failed container=${spec.name} pod=${this.pod.metadata?.name}_${this.pod.metadata?.namespace}(${this.uid})` };
      this.status.publish();
      await this.pause(backoff * 1000);
      backoff = Math.min(Math.max(backoff * 2, 1), MAX_BACKOFF_SECONDS);
    }
  }

  /** Terminal status, devices freed, final delete when the pod is being deleted. */
  private async finish(): Promise<void> {
    clearTimeout(this.killTimer);
    for (const c of [...this.record.initContainers, ...this.record.containers]) {
      if (c.state.kind !== 'terminated') {
        const now = new Date();
        c.state = {
          kind: 'terminated',
          terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', startedAt: now, finishedAt: now, containerID: '' },
        };
      }
    }
    this.record.phase = this.record.reason === 'DeadlineExceeded' || this.record.reason === 'AgentError' ? 'Failed' : terminalPhase(this.record);
    this.record.sandboxReady = false;
    this.ctx.node.allocator.release(this.uid);
    this.ctx.log.info({ pod: this.key, node: this.ctx.node.name, phase: this.record.phase, stop: this.stopReason }, 'Pod reached a terminal phase');
    if (this.stopReason !== 'Removed') {
      this.status.publish();
      await this.status.flush();
    }
    this.terminalWritten = true;
    await this.handleDeletion();
  }

  /** The kubelet's final delete of a terminal pod that has a deletion timestamp. */
  private async handleDeletion(): Promise<void> {
    if (!this.pod.metadata?.deletionTimestamp || this.finalDeleted) return;
    this.finalDeleted = true;
    this.status.close();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.ctx.api.finalDelete(this.pod.metadata.namespace ?? 'default', this.pod.metadata.name ?? '', this.uid);
        this.ctx.log.info({ pod: this.key, node: this.ctx.node.name }, 'Deleted pod after termination');
        return;
      } catch (err) {
        this.ctx.log.warn({ pod: this.key, attempt, err: describeError(err) }, 'Failed to delete terminated pod; retrying');
        // The next relist or update retries once this attempt gives up.
        if (attempt >= 30) {
          this.finalDeleted = false;
          return;
        }
        await sleep(1000);
      }
    }
  }
}
