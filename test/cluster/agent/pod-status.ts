/**
 * The pod status a kubelet reports, computed from the node agent's record of its containers.
 * Pure: the pod worker keeps the record, this file turns it into the status patch.
 */
import { HOST_IP } from './downward.ts';

/** Terminated state of one container run. */
export interface Terminated {
  exitCode: number;
  signal?: number;
  reason: string;
  message?: string;
  startedAt: Date;
  finishedAt: Date;
  containerID: string;
}

/** Current state of one container. */
export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: Date; containerID: string }
  | { kind: 'terminated'; terminated: Terminated };

/** The agent's record of one container. */
export interface ContainerRecord {
  name: string;
  image: string;
  state: ContainerState;
  lastTerminated?: Terminated;
  restartCount: number;
}

/** Pod phase values. */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

/** The agent's record of one pod. */
export interface PodRecord {
  phase: PodPhase;
  reason?: string;
  message?: string;
  startTime: Date;
  /** Volumes are in place (the sandbox exists). */
  sandboxReady: boolean;
  initContainers: ContainerRecord[];
  containers: ContainerRecord[];
}

/** A pod condition as the kubelet writes it. */
export interface Condition {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastTransitionTime: string;
  lastProbeTime: null;
}

function containerStatus(c: ContainerRecord) {
  const terminated = (t: Terminated) => ({
    terminated: {
      exitCode: t.exitCode,
      ...(t.signal !== undefined ? { signal: t.signal } : {}),
      reason: t.reason,
      ...(t.message ? { message: t.message } : {}),
      startedAt: t.startedAt.toISOString(),
      finishedAt: t.finishedAt.toISOString(),
      containerID: t.containerID,
    },
  });
  let state: object;
  let containerID: string | undefined;
  if (c.state.kind === 'waiting') state = { waiting: { reason: c.state.reason, ...(c.state.message ? { message: c.state.message } : {}) } };
  else if (c.state.kind === 'running') {
    state = { running: { startedAt: c.state.startedAt.toISOString() } };
    containerID = c.state.containerID;
  } else {
    state = terminated(c.state.terminated);
    containerID = c.state.terminated.containerID;
  }
  return {
    name: c.name,
    image: c.image,
    imageID: `agent-image://${c.image}`,
    ...(containerID ? { containerID } : {}),
    ready: c.state.kind === 'running',
    started: c.state.kind === 'running',
    restartCount: c.restartCount,
    state,
    lastState: c.lastTerminated ? terminated(c.lastTerminated) : {},
  };
}

function conditionsFor(rec: PodRecord): Omit<Condition, 'lastTransitionTime' | 'lastProbeTime'>[] {
  const terminal = rec.phase === 'Succeeded' || rec.phase === 'Failed';
  const initDone = rec.initContainers.every((c) => c.state.kind === 'terminated' && c.state.terminated.exitCode === 0);
  const unready = rec.containers.filter((c) => c.state.kind !== 'running').map((c) => c.name);
  const ready = !terminal && unready.length === 0;
  const readyDetail = terminal
    ? { reason: 'PodCompleted' }
    : ready
      ? {}
      : { reason: 'ContainersNotReady', message: `containers with unready status: [${unready.join(' ')}]` };
  const initDetail = initDone
    ? {}
    : { reason: 'ContainersNotInitialized', message: `containers with incomplete status: [${rec.initContainers.filter((c) => c.state.kind !== 'terminated').map((c) => c.name).join(' ')}]` };
  return [
    { type: 'PodReadyToStartContainers', status: rec.sandboxReady && !terminal ? 'True' : 'False' },
    { type: 'Initialized', status: initDone ? 'True' : 'False', ...initDetail },
    { type: 'ContainersReady', status: ready ? 'True' : 'False', ...readyDetail },
    { type: 'Ready', status: ready ? 'True' : 'False', ...readyDetail },
  ];
}

/**
 * Pod conditions with `lastTransitionTime` kept from `previous` when the status did not change.
 * Conditions written by others (PodScheduled, DisruptionTarget) are not touched: the status is
 * sent as a strategic merge patch, which merges conditions by type.
 */
export function podConditions(rec: PodRecord, previous: readonly Condition[], now: Date): Condition[] {
  return conditionsFor(rec).map((c) => {
    const prev = previous.find((p) => p.type === c.type);
    const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : now.toISOString();
    return { ...c, lastTransitionTime, lastProbeTime: null };
  });
}

/** The `status` strategic merge patch body for a pod record. */
export function statusPatch(rec: PodRecord, conditions: Condition[]): { status: Record<string, unknown> } {
  return {
    status: {
      phase: rec.phase,
      ...(rec.reason ? { reason: rec.reason } : {}),
      ...(rec.message ? { message: rec.message } : {}),
      hostIP: HOST_IP,
      hostIPs: [{ ip: HOST_IP }],
      podIP: HOST_IP,
      podIPs: [{ ip: HOST_IP }],
      startTime: rec.startTime.toISOString(),
      conditions,
      ...(rec.initContainers.length > 0 ? { initContainerStatuses: rec.initContainers.map(containerStatus) } : {}),
      containerStatuses: rec.containers.map(containerStatus),
    },
  };
}

/** Kubelet's terminal phase for a pod whose containers have all stopped: Succeeded only if every one exited 0. */
export function terminalPhase(rec: PodRecord): 'Succeeded' | 'Failed' {
  const allOk = rec.containers.every((c) => c.state.kind === 'terminated' && c.state.terminated.exitCode === 0);
  return allOk ? 'Succeeded' : 'Failed';
}
