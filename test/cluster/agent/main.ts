/**
 * The node agent process: registers N GPU nodes and runs the pods bound to them as local
 * processes. Started in the background by `npm run cluster:start` (test/cluster/start.ts),
 * configured through environment variables (see config.ts). On SIGTERM it kills every
 * container it started and exits.
 */
import { mkdirSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { describeError } from '../cluster-error.ts';
import { createLogger } from '../log.ts';
import { podApi } from './api.ts';
import { agentConfigFromEnv } from './config.ts';
import { GpuAllocator } from './gpu-allocator.ts';
import { startLogServer } from './log-server.ts';
import { NodeHeartbeat, nodeCapacity } from './node-heartbeat.ts';
import { PodSync } from './pod-sync.ts';

const log = createLogger('node-agent');

// One pod's failure must not take down every node: log and keep running, as a kubelet would.
process.on('unhandledRejection', (err: unknown) => log.error({ err: describeError(err) }, 'Caught an unhandled rejection'));

async function main(): Promise<void> {
  const config = agentConfigFromEnv(process.env);
  mkdirSync(config.podsDir, { recursive: true });
  mkdirSync(config.containersPidDir, { recursive: true });
  const kc = new KubeConfig();
  kc.loadFromFile(config.kubeconfig);
  const api = podApi(kc);
  const nodes: { heartbeat: NodeHeartbeat; sync: PodSync }[] = [];
  const syncByNode = new Map<string, PodSync>();

  // One log server per node: the apiserver finds a node's pods at its own kubelet port.
  for (let i = 1; i <= config.nodeCount; i++) {
    const name = `${config.nodePrefix}${i}`;
    const node = { name, allocator: new GpuAllocator(config.gpuCount), allocatable: nodeCapacity(config) };
    const sync = new PodSync(kc, { node, api, config, log: log.child({ node: name }) });
    syncByNode.set(name, sync);
    const { port } = await startLogServer({ cert: config.tlsCert, key: config.tlsKey }, 0, {
      logFile: (ns, pod, container, previous) => sync.findByName(ns, pod)?.logFile(container, previous),
      isRunning: (ns, pod, container) => sync.findByName(ns, pod)?.isRunning(container) ?? false,
    });
    const heartbeat = new NodeHeartbeat(kc, name, config, port, log);
    nodes.push({ heartbeat, sync });
  }
  await Promise.all(nodes.map((n) => n.heartbeat.start()));
  for (const n of nodes) n.sync.start();
  log.info({ nodes: nodes.map((n) => n.heartbeat.name), gpus: config.gpuCount, resource: config.gpuResource }, 'Started node agent');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'Stopping node agent');
    for (const n of nodes) n.heartbeat.stop();
    void Promise.allSettled(nodes.map((n) => n.sync.stop())).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  log.fatal({ err: describeError(err) }, 'Node agent failed to start');
  process.exit(1);
});
