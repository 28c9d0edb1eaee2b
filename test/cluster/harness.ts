/**
 * Test helper for tests that need the real cluster: `useCluster()` starts it (or reuses the
 * running one) once per test process, `cluster.namespace(t)` gives each test its own namespace
 * (deleted after the test), and the helpers wait by polling, never by fixed sleeps.
 *
 * ```ts
 * const cluster = await useCluster();
 * test('runs a pod', async (t) => {
 *   const ns = await cluster.namespace(t);
 *   await cluster.core.createNamespacedPod({ namespace: ns, body: ... });
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  ApiextensionsV1Api,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { AGENT_NODE_LABEL, HEARTBEAT_ANNOTATION } from './agent/node-heartbeat.ts';
import { runTool, startCluster, type ClusterInfo } from './cluster.ts';
import { describeError } from './cluster-error.ts';
import { loadKubeConfig, serviceAccountKubeConfig, writeKubeConfig } from './kubeconfig.ts';
import { createLogger } from './log.ts';

/** The running cluster as tests see it. */
export interface TestCluster {
  info: ClusterInfo;
  kc: KubeConfig;
  core: CoreV1Api;
  batch: BatchV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  apiext: ApiextensionsV1Api;
  custom: CustomObjectsApi;
  /** Creates a namespace for one test and deletes it when the test ends. */
  namespace(t: TestContext): Promise<string>;
  /** Node names of the agent's nodes. */
  nodeNames(): Promise<string[]>;
  /** A KubeConfig acting as a ServiceAccount (TokenRequest); optionally also written to `file`. */
  serviceAccount(namespace: string, name: string, file?: string): Promise<KubeConfig>;
  kubectl(args: string[], opts?: { kubeconfig?: string; input?: string }): Promise<{ stdout: string; stderr: string; code: number }>;
  helm(args: string[], opts?: { kubeconfig?: string }): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Pauses (true) or resumes (false) a node's heartbeat. */
  setHeartbeatPaused(node: string, paused: boolean): Promise<void>;
  /** Waits until no pod on the agent's nodes holds a GPU (leftovers of earlier tests). */
  waitGpusIdle(timeoutMs?: number): Promise<void>;
}

/**
 * Polls `fn` until it returns a value other than undefined/false; fails after `timeoutMs` with
 * `what` and the last error or value seen.
 */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no result';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
      last = String(v);
    } catch (err) {
      last = describeError(err);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (last: ${last})`);
    await sleep(intervalMs);
  }
}

/** Reads a pod; undefined when it does not exist. */
export async function readPod(core: CoreV1Api, namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await core.readNamespacedPod({ namespace, name });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');
}

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function connect(): Promise<TestCluster> {
  const info = await startCluster(createLogger('cluster'));
  const kc = loadKubeConfig(info.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const cluster: TestCluster = {
    info,
    kc,
    core,
    batch: kc.makeApiClient(BatchV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    apiext: kc.makeApiClient(ApiextensionsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    async namespace(t) {
      const name = `t-${slug(t.name)}-${randomBytes(3).toString('hex')}`;
      await core.createNamespace({ body: { metadata: { name, labels: { 'test.upscale-operator.io/e2e': 'true' } } } });
      await waitFor(`default ServiceAccount in namespace ${name}`, async () => core.readNamespacedServiceAccount({ namespace: name, name: 'default' }), 60_000);
      t.after(async () => {
        if (process.env['KEEP_NAMESPACES'] === '1') return;
        await core.deleteNamespace({ name }).catch(() => undefined);
      });
      return name;
    },
    async nodeNames() {
      const nodes = await core.listNode({ labelSelector: AGENT_NODE_LABEL });
      return nodes.items.map((n) => n.metadata?.name ?? '').sort();
    },
    async serviceAccount(namespace, name, file) {
      const sa = await serviceAccountKubeConfig(kc, namespace, name);
      if (file) writeKubeConfig(file, sa);
      return sa;
    },
    kubectl: (args, opts) => runTool('kubectl', args, opts),
    helm: (args, opts) => runTool('helm', args, opts),
    async setHeartbeatPaused(node, paused) {
      await core.patchNode({ name: node, body: { metadata: { annotations: { [HEARTBEAT_ANNOTATION]: paused ? 'paused' : null } } } }, mergePatch);
    },
    async waitGpusIdle(timeoutMs = 120_000) {
      await waitFor(
        'GPU devices of all nodes to be free',
        async () => {
          const pods = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName!=' });
          const holding = pods.items.filter(
            (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && (p.spec?.containers ?? []).some((c) => c.resources?.limits?.['nvidia.com/gpu'] !== undefined),
          );
          return holding.length === 0;
        },
        timeoutMs,
        500,
      );
    },
  };
  return cluster;
}

let shared: Promise<TestCluster> | undefined;

/** Starts or reuses the cluster, once per test process. */
export function useCluster(): Promise<TestCluster> {
  shared ??= connect();
  return shared;
}
