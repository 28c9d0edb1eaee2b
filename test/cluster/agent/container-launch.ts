/**
 * Everything a container process needs before it starts, computed from the pod spec as the
 * kubelet would: the host command line (image table), the environment (env, envFrom, service
 * variables, GPU devices), and host paths for mounts, the termination-message file and the
 * working directory.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { AgentConfig } from './config.ts';
import { commandOverride } from './command-override.ts';
import { containerEnv, expandVars, type ObjectLookup } from './env.ts';
import { mapAppDir, resolveImage } from './image-table.ts';
import { mountMappings, rewritePaths, type PathMapping } from './path-map.ts';

/** Where the kubelet mounts a pod's ServiceAccount token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Inputs of one container start. */
export interface LaunchInputs {
  pod: V1Pod;
  container: V1Container;
  podDir: string;
  volumes: ReadonlyMap<string, string>;
  devices: readonly number[];
  terminationFile: string;
  nodeName: string;
  allocatable: Record<string, string>;
  config: AgentConfig;
  lookup: ObjectLookup;
}

/** The resolved start of a container. */
export interface Launch {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * Writes `<podDir>/kubeconfig` for a container that mounts a ServiceAccount token, so in-cluster
 * clients (client-node's loadFromDefault reads KUBECONFIG first) act as the pod's ServiceAccount.
 */
function podKubeconfig(inputs: LaunchInputs, mappings: readonly PathMapping[]): string | undefined {
  const sa = mappings.find((m) => m.containerPath === SERVICE_ACCOUNT_DIR);
  if (!sa || !existsSync(join(sa.hostPath, 'token'))) return undefined;
  const file = join(inputs.podDir, 'kubeconfig');
  const ca = existsSync(join(sa.hostPath, 'ca.crt')) ? join(sa.hostPath, 'ca.crt') : inputs.config.caFile;
  const user = `system:serviceaccount:${inputs.pod.metadata?.namespace}:${inputs.pod.spec?.serviceAccountName ?? 'default'}`;
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'in-cluster', cluster: { server: `https://127.0.0.1:${inputs.config.apiserverPort}`, 'certificate-authority': ca } }],
    // kubectl reads `tokenFile`, client-node reads `token-file`.
    users: [{ name: user, user: { tokenFile: join(sa.hostPath, 'token'), 'token-file': join(sa.hostPath, 'token') } }],
    contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user, namespace: inputs.pod.metadata?.namespace ?? 'default' } }],
    'current-context': 'in-cluster',
  };
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

/** Resolves the host command line, environment and working directory of a container. */
export async function resolveLaunch(inputs: LaunchInputs): Promise<Launch> {
  const { pod, container, config } = inputs;
  const port = String(config.apiserverPort);
  const base: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: inputs.podDir,
    HOSTNAME: pod.spec?.hostname ?? pod.metadata?.name ?? '',
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: port,
    KUBERNETES_SERVICE_PORT_HTTPS: port,
    KUBERNETES_PORT: `tcp://127.0.0.1:${port}`,
    KUBE_AGENT_NODE: inputs.nodeName,
    KUBE_AGENT_POD_DIR: inputs.podDir,
  };
  if (inputs.devices.length > 0) {
    const list = inputs.devices.join(',');
    base['NVIDIA_VISIBLE_DEVICES'] = list;
    base['CUDA_VISIBLE_DEVICES'] = list;
  }
  const env = await containerEnv(pod, container, inputs.lookup, base, inputs.allocatable);
  const mappings: PathMapping[] = [
    ...mountMappings(container, inputs.volumes, env),
    { containerPath: container.terminationMessagePath ?? '/dev/termination-log', hostPath: inputs.terminationFile },
  ];
  const kubeconfig = podKubeconfig(inputs, mappings);
  if (kubeconfig && env['KUBECONFIG'] === undefined) env['KUBECONFIG'] = kubeconfig;

  // $(VAR) references in command and args expand against the container's env, as in Kubernetes.
  const command = (commandOverride(pod) ?? container.command)?.map((c) => expandVars(c, env));
  const args = container.args?.map((a) => expandVars(a, env));
  const image = resolveImage(container.image ?? '', command, args, config.repoRoot);
  const argv = image.argv.map((a) => rewritePaths(a, mappings));
  const keep = new Set(['PATH', 'HOME', 'KUBECONFIG']);
  for (const [k, v] of Object.entries(env)) if (!keep.has(k)) env[k] = rewritePaths(v, mappings);
  env['KUBE_AGENT_PATH_MAP'] = JSON.stringify(mappings.map((m) => [m.containerPath, m.hostPath]));
  const cwd = container.workingDir
    ? rewritePaths(mapAppDir(container.workingDir, config.repoRoot), mappings)
    : (image.workdir ?? inputs.podDir);
  return { argv, env, cwd };
}
