/**
 * Where the test cluster keeps its files. Everything lives under `.cluster/` in the repository
 * (ignored by git) so `npm run cluster:stop` and a fresh start can find and remove all of it.
 */
import { join, resolve } from 'node:path';

/** Repository root (two levels above this file). */
export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** The runtime folder of the cluster and the files inside it. */
export function clusterPaths(root: string = repoRoot) {
  const dir = join(root, '.cluster');
  return {
    dir,
    /** Admin kubeconfig (client certificate in system:masters). */
    kubeconfig: join(dir, 'kubeconfig'),
    /** Symlinks to kubectl and helm. */
    bin: join(dir, 'bin'),
    pki: join(dir, 'pki'),
    logs: join(dir, 'logs'),
    /** Pid files of the control-plane processes and the node agent. */
    run: join(dir, 'run'),
    etcdData: join(dir, 'etcd'),
    /** Per-pod folders of the node agent: volumes, logs, termination messages. */
    pods: join(dir, 'pods'),
    /** Pid files of container processes, so `cluster:stop` can end them even if the agent died. */
    containers: join(dir, 'run', 'containers'),
    /** Ports and versions of the running cluster. */
    state: join(dir, 'state.json'),
    /** Configuration files of the components (scheduler config, token files). */
    config: join(dir, 'config'),
    /** The API server's audit policy (writes only) and its log, one JSON line per write. */
    auditPolicy: join(dir, 'config', 'audit-policy.yaml'),
    auditLog: join(dir, 'logs', 'audit.log'),
  };
}

export type ClusterPaths = ReturnType<typeof clusterPaths>;
