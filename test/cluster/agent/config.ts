/**
 * The node agent's configuration, read from the environment (validated with zod) so that
 * `AGENT_NODES=3 AGENT_GPU_RESOURCE=amd.com/gpu npm run cluster:start` changes the fleet.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | AGENT_NODES | 2 | number of nodes |
 * | AGENT_NODE_PREFIX | gpu-node- | node names are prefix + 1..N |
 * | AGENT_GPUS | 4 | devices per node |
 * | AGENT_GPU_RESOURCE | nvidia.com/gpu | extended resource name (amd.com/gpu, nvidia.com/mig-1g.10gb, …) |
 * | AGENT_GPU_PRODUCT | NVIDIA-A100-SXM4-80GB | `nvidia.com/gpu.product` label |
 * | AGENT_GPU_MEMORY | 81920 | `nvidia.com/gpu.memory` label (MiB) |
 * | AGENT_CPU / AGENT_MEMORY / AGENT_MAX_PODS | 8 / 32Gi / 110 | node capacity |
 * | AGENT_RESTART_BACKOFF_SECONDS | 10 | first crash-loop back-off (doubles, capped at 300) |
 * | AGENT_HEARTBEAT_SECONDS | 5 | Lease renewal and node status interval |
 */
import { z } from 'zod';
import { ClusterError } from '../cluster-error.ts';

const schema = z.object({
  kubeconfig: z.string().min(1),
  apiserverPort: z.coerce.number().int().positive(),
  caFile: z.string().min(1),
  tlsCert: z.string().min(1),
  tlsKey: z.string().min(1),
  podsDir: z.string().min(1),
  containersPidDir: z.string().min(1),
  repoRoot: z.string().min(1),
  nodeCount: z.coerce.number().int().min(1).max(32).default(2),
  nodePrefix: z.string().regex(/^[a-z0-9]([-a-z0-9]*)?$/).default('gpu-node-'),
  gpuCount: z.coerce.number().int().min(0).max(64).default(4),
  gpuResource: z.string().regex(/^[a-z0-9.-]+\/[a-zA-Z0-9._-]+$/).default('nvidia.com/gpu'),
  gpuProduct: z.string().default('NVIDIA-A100-SXM4-80GB'),
  gpuMemoryMiB: z.coerce.number().int().positive().default(81920),
  cpu: z.string().default('8'),
  memory: z.string().default('32Gi'),
  maxPods: z.coerce.number().int().positive().default(110),
  restartBackoffSeconds: z.coerce.number().min(0).default(10),
  heartbeatSeconds: z.coerce.number().positive().default(5),
  /** Reported as the node's kubelet version (components compare it with their own). */
  kubeletVersion: z.string().regex(/^v\d+\.\d+\.\d+/).default('v1.37.2'),
});

export type AgentConfig = z.infer<typeof schema>;

/** Reads the agent configuration from environment variables (see the table above). */
export function agentConfigFromEnv(env: NodeJS.ProcessEnv): AgentConfig {
  const parsed = schema.safeParse({
    kubeconfig: env['AGENT_KUBECONFIG'],
    apiserverPort: env['AGENT_APISERVER_PORT'],
    caFile: env['AGENT_CA_FILE'],
    tlsCert: env['AGENT_TLS_CERT'],
    tlsKey: env['AGENT_TLS_KEY'],
    podsDir: env['AGENT_PODS_DIR'],
    containersPidDir: env['AGENT_CONTAINERS_PID_DIR'],
    repoRoot: env['AGENT_REPO_ROOT'],
    nodeCount: env['AGENT_NODES'],
    nodePrefix: env['AGENT_NODE_PREFIX'],
    gpuCount: env['AGENT_GPUS'],
    gpuResource: env['AGENT_GPU_RESOURCE'],
    gpuProduct: env['AGENT_GPU_PRODUCT'],
    gpuMemoryMiB: env['AGENT_GPU_MEMORY'],
    cpu: env['AGENT_CPU'],
    memory: env['AGENT_MEMORY'],
    maxPods: env['AGENT_MAX_PODS'],
    restartBackoffSeconds: env['AGENT_RESTART_BACKOFF_SECONDS'],
    heartbeatSeconds: env['AGENT_HEARTBEAT_SECONDS'],
    kubeletVersion: env['AGENT_KUBELET_VERSION'],
  });
  if (!parsed.success) {
    throw new ClusterError('AgentConfigInvalid', `node agent environment is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** The environment variables the launcher passes through to the agent (user overrides). */
export const AGENT_TUNABLES = [
  'AGENT_NODES',
  'AGENT_NODE_PREFIX',
  'AGENT_GPUS',
  'AGENT_GPU_RESOURCE',
  'AGENT_GPU_PRODUCT',
  'AGENT_GPU_MEMORY',
  'AGENT_CPU',
  'AGENT_MEMORY',
  'AGENT_MAX_PODS',
  'AGENT_RESTART_BACKOFF_SECONDS',
  'AGENT_HEARTBEAT_SECONDS',
];
