/**
 * Command lines and readiness checks of the control-plane processes: etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler, all on loopback. Flags follow kubernetes'
 * hack/local-up-cluster.sh and controller-runtime's envtest, with admission defaults left on.
 */
import { request } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClusterError } from './cluster-error.ts';
import type { Pki } from './pki.ts';
import { isAlive, readPidFile } from './processes.ts';

/** Ports of the running cluster. */
export interface Ports {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
}

/**
 * Controllers the project relies on (`--controllers`): Jobs and their pods, garbage collection
 * of owned objects, namespace deletion, node health and taint-based eviction, ServiceAccounts and
 * their tokens, the root CA config map for projected tokens, PodDisruptionBudgets (the Eviction
 * API reads their status), pod GC, and Deployments/ReplicaSets for the operator's own chart.
 */
export const CONTROLLERS = [
  'job-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'node-lifecycle-controller',
  'taint-eviction-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'pod-garbage-collector-controller',
  'disruption-controller',
  'ttl-after-finished-controller',
  'deployment-controller',
  'replicaset-controller',
  'clusterrole-aggregation-controller',
  'endpointslice-controller',
];

/** A free TCP port on loopback (the kernel picks it; a short race with other programs is accepted). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** etcd flags: throwaway data dir, no fsync (tests only), loopback client and peer URLs. */
export function etcdArgs(ports: Ports, dataDir: string): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=default',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=5m',
    '--quota-backend-bytes=2147483648',
  ];
}

/**
 * The API server's audit policy: one Metadata line per write (who, verb, resource, namespace),
 * nothing for reads, so a benchmark can count writes per client (`apiserver_request_total` does
 * not split by client).
 */
export const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
- level: None
`;

/** kube-apiserver flags: Node,RBAC authorization, client-certificate authentication, default admission. */
export function apiserverArgs(ports: Ports, pki: Pki, audit?: { policyFile: string; logFile: string }): string[] {
  return [
    ...(audit === undefined ? [] : [`--audit-policy-file=${audit.policyFile}`, `--audit-log-path=${audit.logFile}`, '--audit-log-maxsize=200', '--audit-log-maxbackup=1', '--audit-log-format=json']),
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    // The kubernetes Service's endpoints may not be loopback; no pod reaches it through a Service anyway.
    '--endpoint-reconciler-type=none',
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${pki.apiserver.cert}`,
    `--tls-private-key-file=${pki.apiserver.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    '--authorization-mode=Node,RBAC',
    '--service-cluster-ip-range=10.0.0.0/24',
    '--allow-privileged=true',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    // `kubectl logs` goes apiserver -> node agent over HTTPS at the node's InternalIP and kubelet port.
    `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
    `--kubelet-client-key=${pki.kubeletClient.key}`,
    `--kubelet-certificate-authority=${pki.ca.cert}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--profiling=false',
    '--v=1',
  ];
}

/** kube-controller-manager flags; node monitoring is faster than the defaults so NotReady shows within ~20 s. */
export function controllerManagerArgs(kubeconfig: string, pki: Pki): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    '--leader-elect=false',
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    '--node-monitor-period=2s',
    '--node-monitor-grace-period=20s',
    '--profiling=false',
    '--v=1',
  ];
}

/** The KubeSchedulerConfiguration document (default plugins). */
export function schedulerConfig(kubeconfig: string): string {
  return [
    'apiVersion: kubescheduler.config.k8s.io/v1',
    'kind: KubeSchedulerConfiguration',
    'clientConnection:',
    `  kubeconfig: ${JSON.stringify(kubeconfig)}`,
    'leaderElection:',
    '  leaderElect: false',
    '',
  ].join('\n');
}

/** kube-scheduler flags. */
export function schedulerArgs(configFile: string): string[] {
  return [`--config=${configFile}`, '--bind-address=127.0.0.1', '--secure-port=0', '--profiling=false', '--v=1'];
}

function get(url: string, tls?: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const done = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = tls ? request(url, { ...tls, timeout: 5000 }, done) : httpRequest(url, { timeout: 5000 }, done);
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Last lines of a component's log, for error messages. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `check` until it returns true; fails early when the component's process has exited,
 * quoting the end of its log, and fails after `timeoutMs`.
 */
export async function waitHealthy(name: string, pidFile: string, logFile: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (!isAlive(readPidFile(pidFile))) {
      throw new ClusterError('ComponentFailed', `${name} exited during start; end of ${logFile}:\n${logTail(logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new ClusterError('ComponentFailed', `${name} was not healthy within ${timeoutMs / 1000}s; end of ${logFile}:\n${logTail(logFile)}`);
    }
    await sleep(250);
  }
}

/** Whether etcd answers its /health endpoint with health true. */
export async function etcdHealthy(ports: Ports): Promise<boolean> {
  const res = await get(`http://127.0.0.1:${ports.etcdClient}/health`);
  return res.status === 200 && res.body.includes('"true"');
}

/** Whether the apiserver's /readyz passes, authenticated as admin. */
export async function apiserverReady(ports: Ports, pki: Pki): Promise<boolean> {
  const tls = { ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.admin.cert), key: readFileSync(pki.admin.key) };
  const res = await get(`https://127.0.0.1:${ports.apiserver}/readyz`, tls);
  return res.status === 200;
}
