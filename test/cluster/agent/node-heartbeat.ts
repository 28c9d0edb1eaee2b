/**
 * One node's registration and heartbeat, as the kubelet does it: the Node object with GPU
 * capacity and GPU-feature-discovery labels, its status (Ready condition, addresses, kubelet
 * port for `kubectl logs`, node info), and the Lease in kube-node-lease renewed every few
 * seconds. A test pauses the heartbeat by annotating the Node (see `HEARTBEAT_ANNOTATION`):
 * the agent stops renewing, the node-lifecycle controller marks it NotReady (Unknown) and
 * taints it, as for a kubelet that lost its connection; its containers keep running.
 */
import { CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { describeError } from '../cluster-error.ts';
import type { Logger } from '../log.ts';
import { isStatus } from './api.ts';
import type { AgentConfig } from './config.ts';
import { HOST_IP } from './downward.ts';

/** Node annotation that pauses the heartbeat while its value is `paused`. */
export const HEARTBEAT_ANNOTATION = 'agent.upscale-operator.test/heartbeat';

/** Label every node of the agent carries. */
export const AGENT_NODE_LABEL = 'agent.upscale-operator.test/node';

const LEASE_NAMESPACE = 'kube-node-lease';
const LEASE_DURATION_SECONDS = 40;

/** A MicroTime string (RFC 3339 with exactly six fractional digits, as the apiserver parses it). */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The labels of an agent node: well-known node labels plus GPU feature discovery's. */
export function nodeLabels(name: string, config: AgentConfig): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': process.arch === 'arm64' ? 'arm64' : 'amd64',
    [AGENT_NODE_LABEL]: 'true',
    'nvidia.com/gpu.present': 'true',
    'nvidia.com/gpu.product': config.gpuProduct,
    'nvidia.com/gpu.memory': String(config.gpuMemoryMiB),
    'nvidia.com/gpu.count': String(config.gpuCount),
  };
}

/** Capacity (= allocatable) of an agent node. */
export function nodeCapacity(config: AgentConfig): Record<string, string> {
  return {
    cpu: config.cpu,
    memory: config.memory,
    pods: String(config.maxPods),
    'ephemeral-storage': '100Gi',
    [config.gpuResource]: String(config.gpuCount),
  };
}

const strategicMerge = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Registers a node and keeps its heartbeat until stopped. */
export class NodeHeartbeat {
  readonly name: string;
  private readonly config: AgentConfig;
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;
  private readonly log: Logger;
  private readonly kubeletPort: number;
  private timer: NodeJS.Timeout | undefined;
  private readyTransition = new Date();
  private wasPaused = false;
  private stopped = false;

  constructor(kc: KubeConfig, name: string, config: AgentConfig, kubeletPort: number, log: Logger) {
    this.name = name;
    this.config = config;
    this.kubeletPort = kubeletPort;
    this.core = kc.makeApiClient(CoreV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.log = log;
  }

  /** Creates or updates the Node, then beats every `heartbeatSeconds`. */
  async start(): Promise<void> {
    await this.register();
    await this.beat();
    const loop = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.beat()
          .catch((err: unknown) => this.log.warn({ node: this.name, err: describeError(err) }, 'Failed to send heartbeat'))
          .finally(loop);
      }, this.config.heartbeatSeconds * 1000);
    };
    loop();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async register(): Promise<void> {
    const labels = nodeLabels(this.name, this.config);
    try {
      await this.core.createNode({ body: { metadata: { name: this.name, labels } } });
      this.log.info({ node: this.name }, 'Registered node');
    } catch (err) {
      if (!isStatus(err, 409)) throw err;
      await this.core.patchNode({ name: this.name, body: { metadata: { labels } } }, strategicMerge);
      this.log.info({ node: this.name }, 'Updated existing node');
    }
  }

  private statusBody(now: Date): object {
    const capacity = nodeCapacity(this.config);
    const heartbeat = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const transition = this.readyTransition.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const ok = (type: string, reason: string, message: string) => ({ type, status: 'False', reason, message, lastHeartbeatTime: heartbeat, lastTransitionTime: transition });
    return {
      status: {
        capacity,
        allocatable: capacity,
        conditions: [
          ok('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
          ok('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
          ok('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'node agent is posting ready status', lastHeartbeatTime: heartbeat, lastTransitionTime: transition },
        ],
        addresses: [
          { type: 'InternalIP', address: HOST_IP },
          { type: 'Hostname', address: this.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: this.kubeletPort } },
        nodeInfo: {
          machineID: this.name,
          systemUUID: this.name,
          bootID: String(process.pid),
          kernelVersion: 'node-agent',
          osImage: 'upscale-operator test node agent',
          containerRuntimeVersion: 'agent://local-processes',
          kubeletVersion: this.config.kubeletVersion,
          kubeProxyVersion: '',
          operatingSystem: 'linux',
          architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
        },
      },
    };
  }

  /** One heartbeat: skipped while paused; otherwise node status and Lease renewal. */
  private async beat(): Promise<void> {
    let node;
    try {
      node = await this.core.readNode({ name: this.name });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      await this.register();
      node = await this.core.readNode({ name: this.name });
    }
    const paused = node.metadata?.annotations?.[HEARTBEAT_ANNOTATION] === 'paused';
    if (paused !== this.wasPaused) {
      this.log.info({ node: this.name, paused }, paused ? 'Paused node heartbeat' : 'Resumed node heartbeat');
      this.wasPaused = paused;
      if (!paused) this.readyTransition = new Date();
    }
    if (paused) return;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready && ready.status !== 'True') this.readyTransition = new Date();
    const now = new Date();
    await this.core.patchNodeStatus({ name: this.name, body: this.statusBody(now) }, strategicMerge);
    await this.renewLease(node.metadata?.uid ?? '', now);
  }

  private async renewLease(nodeUid: string, now: Date): Promise<void> {
    const body = { spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(now) } };
    try {
      await this.coordination.patchNamespacedLease({ name: this.name, namespace: LEASE_NAMESPACE, body }, mergePatch);
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
      await this.coordination.createNamespacedLease({
        namespace: LEASE_NAMESPACE,
        body: {
          metadata: { name: this.name, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: nodeUid }] },
          spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_DURATION_SECONDS },
        },
      });
      await this.coordination.patchNamespacedLease({ name: this.name, namespace: LEASE_NAMESPACE, body }, mergePatch);
    }
  }
}
