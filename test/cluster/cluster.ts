/**
 * Starting and stopping the whole test cluster: build (cached), certificates, etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler and the node agent, each a detached
 * process with a pid file under `.cluster/run`. `startCluster` is idempotent: a healthy running
 * cluster is reused; anything else is stopped and started fresh (etcd data and pod folders are
 * wiped, certificates and binaries kept).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { z } from 'zod';
import { AGENT_TUNABLES } from './agent/config.ts';
import { AGENT_NODE_LABEL } from './agent/node-heartbeat.ts';
import { ClusterError, describeError } from './cluster-error.ts';
import {
  AUDIT_POLICY,
  apiserverArgs,
  apiserverReady,
  controllerManagerArgs,
  etcdArgs,
  etcdHealthy,
  freePort,
  logTail,
  schedulerArgs,
  schedulerConfig,
  waitHealthy,
  type Ports,
} from './control-plane.ts';
import { loadKubeConfig, writeCertKubeconfig } from './kubeconfig.ts';
import type { Logger } from './log.ts';
import { clusterPaths, repoRoot, type ClusterPaths } from './paths.ts';
import { ensurePki } from './pki.ts';
import { isAlive, readPidFile, startDetached, stopPidFile, stopPidFolder, withPidLock } from './processes.ts';

/** Components in start order; stopped in reverse. */
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'node-agent'] as const;

const stateSchema = z.object({
  ports: z.object({ etcdClient: z.number(), etcdPeer: z.number(), apiserver: z.number() }),
  binDir: z.string(),
  nodeCount: z.number(),
  startedAt: z.string(),
});
export type ClusterState = z.infer<typeof stateSchema>;

/** What a user of the running cluster needs. */
export interface ClusterInfo {
  kubeconfig: string;
  kubectl: string;
  helm: string;
  server: string;
  state: ClusterState;
  /** Whether this call started the cluster (false: reused a running one). */
  started: boolean;
}

const pidFile = (p: ClusterPaths, name: string) => join(p.run, `${name}.pid`);
const logFile = (p: ClusterPaths, name: string) => join(p.logs, `${name}.log`);

function readState(p: ClusterPaths): ClusterState | undefined {
  try {
    return stateSchema.parse(JSON.parse(readFileSync(p.state, 'utf8')));
  } catch {
    return undefined;
  }
}

/** The versions build.sh recorded next to the binaries. */
export function builtVersions(binDir: string): { kubernetes: string; etcd: string; helm: string; go: string } {
  return z
    .object({ kubernetes: z.string(), etcd: z.string(), helm: z.string(), go: z.string() })
    .parse(JSON.parse(readFileSync(join(binDir, 'versions.json'), 'utf8')));
}

/** Runs build.sh (cached builds return at once); resolves with the binary folder. */
export async function buildBinaries(log: Logger): Promise<string> {
  const started = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'test', 'cluster', 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout.trim().split('\n').at(-1) ?? '');
      else reject(new ClusterError('BuildFailed', `building the cluster binaries (test/cluster/build.sh) failed with exit code ${code}`));
    });
  });
  log.info({ binDir: out, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'Found cluster binaries');
  return out;
}

async function withLock<T>(p: ClusterPaths, fn: () => Promise<T>): Promise<T> {
  mkdirSync(p.dir, { recursive: true });
  return withPidLock(join(p.dir, 'start.lock'), fn);
}

function allRunning(p: ClusterPaths): boolean {
  return COMPONENTS.every((c) => isAlive(readPidFile(pidFile(p, c))));
}

function nodeReady(node: V1Node): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const notReadyTaint = (node.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable');
  return ready && !notReadyTaint;
}

/** Waits until all agent nodes are Ready and untainted and the default ServiceAccount exists. */
async function waitClusterReady(p: ClusterPaths, nodeCount: number, timeoutMs: number): Promise<void> {
  const core = loadKubeConfig(p.kubeconfig).makeApiClient(CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  let last = 'nothing checked yet';
  while (Date.now() < deadline) {
    try {
      const nodes = await core.listNode({ labelSelector: AGENT_NODE_LABEL });
      const ready = nodes.items.filter(nodeReady).length;
      if (ready >= nodeCount) {
        await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
        return;
      }
      last = `${ready}/${nodeCount} nodes Ready`;
    } catch (err) {
      last = describeError(err);
    }
    for (const c of COMPONENTS) {
      if (!isAlive(readPidFile(pidFile(p, c)))) {
        throw new ClusterError('ComponentFailed', `${c} exited while waiting for the cluster; end of ${logFile(p, c)}:\n${logTail(logFile(p, c))}`);
      }
    }
    await sleep(300);
  }
  throw new ClusterError('WaitTimedOut', `the cluster was not ready within ${timeoutMs / 1000}s (last check: ${last}); logs are in ${p.logs}`);
}

function linkBinaries(p: ClusterPaths, binDir: string): void {
  mkdirSync(p.bin, { recursive: true });
  for (const b of ['kubectl', 'helm', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']) {
    rmSync(join(p.bin, b), { force: true });
    symlinkSync(join(binDir, b), join(p.bin, b));
  }
}

function info(p: ClusterPaths, state: ClusterState, started: boolean): ClusterInfo {
  return {
    kubeconfig: p.kubeconfig,
    kubectl: join(p.bin, 'kubectl'),
    helm: join(p.bin, 'helm'),
    server: `https://127.0.0.1:${state.ports.apiserver}`,
    state,
    started,
  };
}

/** Stops every process of the cluster (agent first, so it ends its containers) and removes pid files. */
export async function stopCluster(log: Logger, p: ClusterPaths = clusterPaths()): Promise<number> {
  let stopped = 0;
  const stop = async (c: string) => {
    if (await stopPidFile(pidFile(p, c), c === 'node-agent' ? 15_000 : 10_000)) {
      stopped++;
      log.info({ component: c }, 'Stopped component');
    }
  };
  // Clients of the apiserver first (together), then the apiserver, then etcd.
  await Promise.all(['node-agent', 'kube-scheduler', 'kube-controller-manager'].map(stop));
  await stop('kube-apiserver');
  await stop('etcd');
  const containers = await stopPidFolder(p.containers);
  if (containers > 0) log.info({ containers }, 'Stopped leftover container processes');
  rmSync(p.state, { force: true });
  return stopped + containers;
}

/** Starts the cluster, or reuses it when it is running and healthy. */
export async function startCluster(log: Logger, p: ClusterPaths = clusterPaths()): Promise<ClusterInfo> {
  return withLock(p, async () => {
    const existing = readState(p);
    if (existing && allRunning(p) && (await apiserverReady(existing.ports, await ensurePki(p.pki)).catch(() => false))) {
      linkBinaries(p, existing.binDir);
      await waitClusterReady(p, existing.nodeCount, 60_000);
      log.info({ server: `https://127.0.0.1:${existing.ports.apiserver}` }, 'Reused running cluster');
      return info(p, existing, false);
    }
    await stopCluster(log, p);
    for (const d of [p.etcdData, p.pods, p.run, p.logs]) rmSync(d, { recursive: true, force: true });
    for (const d of [p.run, p.logs, p.containers, p.config, p.pods]) mkdirSync(d, { recursive: true });

    const binDir = await buildBinaries(log);
    const started = Date.now();
    const pki = await ensurePki(p.pki);
    const ports: Ports = { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
    const nodeCount = Number(process.env['AGENT_NODES'] ?? '2');
    const state: ClusterState = { ports, binDir, nodeCount, startedAt: new Date().toISOString() };
    writeFileSync(p.state, JSON.stringify(state, null, 2));
    const bin = (b: string) => join(binDir, b);
    const launch = (name: string, command: string, args: string[], env?: NodeJS.ProcessEnv) =>
      startDetached({ name, command, args, logFile: logFile(p, name), pidFile: pidFile(p, name), ...(env ? { env } : {}) });

    launch('etcd', bin('etcd'), etcdArgs(ports, p.etcdData));
    await waitHealthy('etcd', pidFile(p, 'etcd'), logFile(p, 'etcd'), () => etcdHealthy(ports), 60_000);
    writeFileSync(p.auditPolicy, AUDIT_POLICY);
    launch('kube-apiserver', bin('kube-apiserver'), apiserverArgs(ports, pki, { policyFile: p.auditPolicy, logFile: p.auditLog }));

    const server = `https://127.0.0.1:${ports.apiserver}`;
    writeCertKubeconfig(p.kubeconfig, server, pki.ca.cert, 'cluster-admin', pki.admin);
    const kcmConfig = join(p.config, 'kube-controller-manager.kubeconfig');
    const schedConfig = join(p.config, 'kube-scheduler.kubeconfig');
    writeCertKubeconfig(kcmConfig, server, pki.ca.cert, 'system:kube-controller-manager', pki.controllerManager);
    writeCertKubeconfig(schedConfig, server, pki.ca.cert, 'system:kube-scheduler', pki.scheduler);
    const schedulerConfigFile = join(p.config, 'kube-scheduler.yaml');
    writeFileSync(schedulerConfigFile, schedulerConfig(schedConfig));
    linkBinaries(p, binDir);

    await waitHealthy('kube-apiserver', pidFile(p, 'kube-apiserver'), logFile(p, 'kube-apiserver'), () => apiserverReady(ports, pki), 120_000);
    launch('kube-controller-manager', bin('kube-controller-manager'), controllerManagerArgs(kcmConfig, pki));
    launch('kube-scheduler', bin('kube-scheduler'), schedulerArgs(schedulerConfigFile));
    const agentEnv: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      AGENT_KUBECONFIG: p.kubeconfig,
      AGENT_APISERVER_PORT: String(ports.apiserver),
      AGENT_CA_FILE: pki.ca.cert,
      AGENT_TLS_CERT: pki.agentServing.cert,
      AGENT_TLS_KEY: pki.agentServing.key,
      AGENT_PODS_DIR: p.pods,
      AGENT_CONTAINERS_PID_DIR: p.containers,
      AGENT_REPO_ROOT: repoRoot,
      AGENT_KUBELET_VERSION: builtVersions(binDir).kubernetes,
      CLUSTER_LOG_LEVEL: process.env['CLUSTER_LOG_LEVEL'],
    };
    for (const k of AGENT_TUNABLES) if (process.env[k] !== undefined) agentEnv[k] = process.env[k];
    launch('node-agent', process.execPath, [join(repoRoot, 'test', 'cluster', 'agent', 'main.ts')], agentEnv);
    await waitClusterReady(p, nodeCount, 120_000);
    log.info({ server, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'Started cluster');
    return info(p, state, true);
  });
}

/** Runs kubectl or helm from `.cluster/bin` against the admin kubeconfig; resolves with stdout. */
export function runTool(tool: string, args: string[], opts: { kubeconfig?: string; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const p = clusterPaths();
  const env = {
    ...process.env,
    KUBECONFIG: opts.kubeconfig ?? p.kubeconfig,
    HELM_CACHE_HOME: join(p.dir, 'helm', 'cache'),
    HELM_CONFIG_HOME: join(p.dir, 'helm', 'config'),
    HELM_DATA_HOME: join(p.dir, 'helm', 'data'),
    ...opts.env,
  };
  return new Promise((resolve) => {
    const child = execFile(join(p.bin, tool), args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Whether the cluster files say it is running (cheap check for scripts). */
export function clusterLooksRunning(p: ClusterPaths = clusterPaths()): boolean {
  return existsSync(p.state) && allRunning(p);
}
