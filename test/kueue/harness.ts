/**
 * Kueue v0.17 as a local process against the test cluster (../../shared/research/kueue.md):
 * `useKueue(cluster)` starts it once per test process, or reuses the one an earlier test process
 * left running (pid file `.cluster/run/kueue.pid`), and `stopKueue()` ends it (`node
 * test/kueue/stop.ts`).
 *
 * Start: build.sh (cached binary, CRDs and webhook manifest of the same module version), an
 * openssl CA and an `IP:127.0.0.1` serving certificate, the fixed metrics-certificate path Kueue
 * reads even with metrics off, the CRDs by server-side apply, Kueue with its webhook server on a
 * loopback port, then — once `/readyz` answers — the batch/v1 Job and kueue.x-k8s.io webhooks
 * registered by URL. They are scoped to namespaces labelled `upscale.dev/kueue-test=true`
 * (`kueue.namespace(t)`), so a Job anywhere else never calls Kueue, running or not: the Job
 * webhook's failurePolicy is Fail.
 *
 * ```ts
 * const cluster = await useCluster();
 * const kueue = await useKueue(cluster);
 * test('queues', async (t) => {
 *   const ns = await kueue.namespace(t);
 *   await kueue.queue(t, ns, { name: 'gpu-queue', quota: { 'nvidia.com/gpu': '2', cpu: '16', memory: '64Gi' } });
 * });
 * ```
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { runTool } from '../cluster/cluster.ts';
import { describeError } from '../cluster/cluster-error.ts';
import { freePort, logTail } from '../cluster/control-plane.ts';
import { waitFor, type TestCluster } from '../cluster/harness.ts';
import { createLogger } from '../cluster/log.ts';
import { clusterPaths, repoRoot } from '../cluster/paths.ts';
import { isAlive, readPidFile, startDetached, stopPidFile, withPidLock, type PidFile } from '../cluster/processes.ts';

const run = promisify(execFile);
const log = createLogger('kueue');

/** Label of the namespaces whose Jobs and Kueue objects go through Kueue's webhooks. */
export const KUEUE_NAMESPACE_LABEL = 'upscale.dev/kueue-test';
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
export const KUEUE_GROUP = 'kueue.x-k8s.io';
/** The Kueue API version v0.17 stores and serves (v1beta1 is still served, not stored). */
export const KUEUE_VERSION = 'v1beta2';
/** Names of the webhook configurations this harness registers (not Kueue's own, so an installed Kueue is never touched). */
export const MUTATING_WEBHOOK = 'upscale-test-kueue-mutating';
export const VALIDATING_WEBHOOK = 'upscale-test-kueue-validating';
/** Kueue reads its metrics certificate from here whenever internal cert management is off (cmd/kueue/main.go). */
export const METRICS_CERT_DIR = '/etc/kueue/metrics/certs';
const FIELD_MANAGER = 'upscale-kueue-tests';

/** Where the harness keeps Kueue's files. */
export function kueuePaths() {
  const p = clusterPaths();
  const dir = join(p.dir, 'kueue');
  return {
    dir,
    pidFile: join(p.run, 'kueue.pid'),
    logFile: join(p.logs, 'kueue.log'),
    state: join(dir, 'state.json'),
    config: join(dir, 'config.yaml'),
    pki: join(dir, 'pki'),
    /** The webhook server's certDir: tls.crt and tls.key. */
    certDir: join(dir, 'serving-certs'),
    lock: join(dir, 'start.lock'),
  };
}

const stateSchema = z.object({
  /** The API server Kueue talks to: a restarted cluster (new port) means a new Kueue. */
  server: z.string(),
  binDir: z.string(),
  version: z.string(),
  webhookPort: z.number(),
  healthPort: z.number(),
  /** A copy of the pid file: a restarted cluster wipes `.cluster/run`, and the orphan must still be found. */
  process: z.object({ pid: z.number(), startTime: z.string(), name: z.string() }),
  startedAt: z.string(),
});
export type KueueState = z.infer<typeof stateSchema>;

export interface KueueInfo {
  state: KueueState;
  binDir: string;
  /** Whether this call started Kueue (false: reused a running one). */
  started: boolean;
  logFile: string;
}

/** One ClusterQueue's quota, e.g. `{ 'nvidia.com/gpu': '2', cpu: '16', memory: '64Gi' }`. */
export type Quota = Record<string, string>;

export interface TestKueue {
  info: KueueInfo;
  /** A test namespace (cluster.namespace) labelled for Kueue's webhooks. */
  namespace(t: TestContext): Promise<string>;
  /**
   * A ResourceFlavor, a ClusterQueue admitting every namespace (`namespaceSelector: {}`) with one
   * flavor covering `quota`, and a LocalQueue `name` in `namespace`; the cluster-scoped ones are
   * deleted after the test. Waits until the ClusterQueue and LocalQueue are Active.
   */
  queue(t: TestContext, namespace: string, opts: { name: string; quota: Quota }): Promise<{ clusterQueue: string; flavor: string }>;
}

function readState(path: string): KueueState | undefined {
  try {
    return stateSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Runs build.sh (a cached build returns at once); resolves with its output folder. */
export async function buildKueue(): Promise<string> {
  const started = Date.now();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', [join(repoRoot, 'test', 'kueue', 'build.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve(stdout.trim().split('\n').at(-1) ?? '');
      else reject(new Error(`building Kueue (test/kueue/build.sh) failed with exit code ${code}`));
    });
  });
  log.info({ binDir: out, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'Found Kueue binary');
  return out;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${describeError(err)}`, { cause: err });
  }
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** CA and serving certificate (IP:127.0.0.1) of the webhook server; kept across starts. Returns the CA. */
async function ensureCerts(paths: ReturnType<typeof kueuePaths>): Promise<string> {
  const ca = { cert: join(paths.pki, 'ca.crt'), key: join(paths.pki, 'ca.key') };
  const serving = { cert: join(paths.certDir, 'tls.crt'), key: join(paths.certDir, 'tls.key') };
  if (![ca.cert, ca.key, serving.cert, serving.key].every((f) => existsSync(f))) {
    mkdirSync(paths.pki, { recursive: true });
    mkdirSync(paths.certDir, { recursive: true });
    await openssl(['req', '-x509', ...ecKey, '-keyout', ca.key, '-out', ca.cert, '-days', '3650', '-subj', '/CN=upscale-kueue-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
    await openssl(['req', '-x509', ...ecKey, '-keyout', serving.key, '-out', serving.cert, '-days', '3650', '-subj', '/CN=kueue-webhook',
      '-CA', ca.cert, '-CAkey', ca.key, '-addext', 'basicConstraints=critical,CA:FALSE',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'extendedKeyUsage=serverAuth',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  }
  // The metrics server is off (bindAddress "0"), but main.go still opens these files and exits
  // without them; any valid pair does.
  const metrics = { cert: join(METRICS_CERT_DIR, 'tls.crt'), key: join(METRICS_CERT_DIR, 'tls.key') };
  if (!existsSync(metrics.cert) || !existsSync(metrics.key)) {
    try {
      mkdirSync(METRICS_CERT_DIR, { recursive: true });
      copyFileSync(serving.cert, metrics.cert);
      copyFileSync(serving.key, metrics.key);
    } catch (err) {
      throw new Error(`Kueue needs ${METRICS_CERT_DIR}/tls.{crt,key} (read even with metrics off) and they could not be created: ${describeError(err)}`, { cause: err });
    }
  }
  return ca.cert;
}

function configYaml(healthPort: number, webhookPort: number, certDir: string): string {
  return `apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
health:
  healthProbeBindAddress: 127.0.0.1:${healthPort}
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: ${webhookPort}
  certDir: ${certDir}
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
integrations:
  frameworks:
  - batch/job
featureGates:
  VisibilityOnDemand: false
`;
}

async function kubectl(args: string[], input?: string): Promise<string> {
  const res = await runTool('kubectl', args, input === undefined ? {} : { input });
  if (res.code !== 0) throw new Error(`kubectl ${args.slice(0, 3).join(' ')} failed: ${res.stderr.trim()}`);
  return res.stdout;
}

/** Applies Kueue's CRDs (server-side: the workloads CRD is too big for the last-applied annotation) and waits until all are Established. */
async function applyCrds(binDir: string): Promise<void> {
  const dir = join(binDir, 'crds');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  await kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, ...files.flatMap((f) => ['-f', join(dir, f)])]);
  await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...files.map((f) => `crd/${f.replace(/^kueue\.x-k8s\.io_/, '').replace(/\.yaml$/, '')}.kueue.x-k8s.io`)]);
}

interface WebhookEntry {
  name: string;
  clientConfig: { service?: { path?: string }; url?: string; caBundle?: string };
  rules?: Array<{ apiGroups?: string[] }>;
  namespaceSelector?: object;
  [key: string]: unknown;
}

/**
 * Kueue's webhook configurations, reduced to the batch/v1 Job and kueue.x-k8s.io entries, each
 * calling `https://127.0.0.1:<port><path>` with the harness CA and scoped to labelled namespaces
 * (cluster-scoped objects — ClusterQueue, Cohort, ResourceFlavor — always call it).
 */
export function webhookConfigurations(manifest: string, port: number, caPem: string): object[] {
  const wanted = (w: WebhookEntry) => (w.rules ?? []).some((r) => (r.apiGroups ?? []).some((g) => g === 'batch' || g === KUEUE_GROUP));
  const names: Record<string, string> = { MutatingWebhookConfiguration: MUTATING_WEBHOOK, ValidatingWebhookConfiguration: VALIDATING_WEBHOOK };
  return parseAllDocuments(manifest)
    .map((d) => d.toJSON() as { kind?: string; webhooks?: WebhookEntry[] } | null)
    .filter((d): d is { kind: string; webhooks: WebhookEntry[] } => d !== null && d.kind !== undefined && names[d.kind] !== undefined)
    .map((d) => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: d.kind,
      metadata: { name: names[d.kind], labels: { 'app.kubernetes.io/part-of': 'upscale-operator-tests' } },
      webhooks: d.webhooks.filter(wanted).map((w) => {
        const path = w.clientConfig.service?.path ?? '';
        return {
          ...w,
          clientConfig: { url: `https://127.0.0.1:${port}${path}`, caBundle: Buffer.from(caPem).toString('base64') },
          namespaceSelector: { matchLabels: { [KUEUE_NAMESPACE_LABEL]: 'true' } },
          timeoutSeconds: 10,
        };
      }),
    }));
}

async function registerWebhooks(binDir: string, port: number, caFile: string): Promise<void> {
  const configs = webhookConfigurations(readFileSync(join(binDir, 'webhook-manifests.yaml'), 'utf8'), port, readFileSync(caFile, 'utf8'));
  await kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], configs.map((c) => JSON.stringify(c)).join('\n'));
}

/** Deletes the webhook configurations (first step of every stop: a stopped Kueue must not block Job creates). */
export async function unregisterWebhooks(): Promise<void> {
  const res = await runTool('kubectl', ['delete', '--ignore-not-found', '--wait=false', '--request-timeout=10s', `mutatingwebhookconfiguration/${MUTATING_WEBHOOK}`, `validatingwebhookconfiguration/${VALIDATING_WEBHOOK}`]);
  if (res.code !== 0) log.warn({ stderr: res.stderr.trim() }, 'Could not delete the Kueue webhook configurations (is the cluster down?)');
}

async function ready(healthPort: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Stops the Kueue process of the pid file or of the state file (whichever is alive). */
async function stopProcess(paths: ReturnType<typeof kueuePaths>, state: KueueState | undefined): Promise<boolean> {
  let stopped = await stopPidFile(paths.pidFile, 10_000);
  const orphan: PidFile | undefined = state?.process;
  if (!stopped && isAlive(orphan)) {
    // The pid file is gone (a restarted cluster wiped .cluster/run) but the process is not.
    writeFileSync(paths.pidFile, JSON.stringify(orphan));
    stopped = await stopPidFile(paths.pidFile, 10_000);
  }
  rmSync(paths.state, { force: true });
  return stopped;
}

/** Starts Kueue against the running cluster at `server`, or reuses a healthy one; idempotent. */
export async function startKueue(server: string): Promise<KueueInfo> {
  const paths = kueuePaths();
  mkdirSync(paths.dir, { recursive: true });
  mkdirSync(clusterPaths().run, { recursive: true });
  mkdirSync(clusterPaths().logs, { recursive: true });
  const binDir = await buildKueue();
  const version = (z.object({ kueue: z.string() }).parse(JSON.parse(readFileSync(join(binDir, 'versions.json'), 'utf8')))).kueue;
  return withPidLock(paths.lock, async () => {
    const caFile = await ensureCerts(paths);
    const existing = readState(paths.state);
    if (existing && existing.server === server && existing.binDir === binDir && isAlive(readPidFile(paths.pidFile)) && (await ready(existing.healthPort))) {
      // Re-registering is idempotent and repairs a deleted configuration (the CRDs were applied at start).
      await registerWebhooks(binDir, existing.webhookPort, caFile);
      log.info({ pid: existing.process.pid, webhookPort: existing.webhookPort }, 'Reused running Kueue');
      return { state: existing, binDir, started: false, logFile: paths.logFile };
    }
    await unregisterWebhooks();
    await stopProcess(paths, existing);

    const started = Date.now();
    await applyCrds(binDir);
    const healthPort = await freePort();
    const webhookPort = await freePort();
    writeFileSync(paths.config, configYaml(healthPort, webhookPort, paths.certDir));
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: process.env['HOME'], KUBECONFIG: clusterPaths().kubeconfig };
    const pid = startDetached({ name: 'kueue', command: join(binDir, 'kueue'), args: ['--config', paths.config, '--zap-log-level=info'], logFile: paths.logFile, pidFile: paths.pidFile, env });
    const pidFile = readPidFile(paths.pidFile);
    if (pidFile === undefined) throw new Error(`Kueue exited at once; end of ${paths.logFile}:\n${logTail(paths.logFile)}`);
    const state: KueueState = { server, binDir, version, webhookPort, healthPort, process: pidFile, startedAt: new Date().toISOString() };
    writeFileSync(paths.state, JSON.stringify(state, null, 2));
    const deadline = Date.now() + 60_000;
    while (!(await ready(healthPort))) {
      if (!isAlive(readPidFile(paths.pidFile))) throw new Error(`Kueue (pid ${pid}) exited before it was ready; end of ${paths.logFile}:\n${logTail(paths.logFile)}`);
      if (Date.now() > deadline) throw new Error(`Kueue was not ready on /readyz within 60 s; end of ${paths.logFile}:\n${logTail(paths.logFile)}`);
      await sleep(200);
    }
    // Only now: a registered webhook whose server is not up fails every matching request.
    await registerWebhooks(binDir, webhookPort, caFile);
    log.info({ pid, version, webhookPort, seconds: Math.round((Date.now() - started) / 100) / 10 }, 'Started Kueue');
    return { state, binDir, started: true, logFile: paths.logFile };
  }, 300);
}

/**
 * Stops Kueue: first lets labelled namespaces that are being deleted finish (their Workloads,
 * ClusterQueues and ResourceFlavors carry finalizers only Kueue removes), then deletes the
 * webhook configurations, then stops the process. Returns whether a process was stopped.
 */
export async function stopKueue(): Promise<boolean> {
  const paths = kueuePaths();
  const state = readState(paths.state);
  const running = isAlive(readPidFile(paths.pidFile)) || isAlive(state?.process);
  if (running) {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await runTool('kubectl', ['get', 'namespaces', '-l', `${KUEUE_NAMESPACE_LABEL}=true`, '-o', 'jsonpath={.items[?(@.metadata.deletionTimestamp)].metadata.name}', '--request-timeout=5s']);
      if (res.code !== 0 || res.stdout.trim() === '') break;
      await sleep(500);
    }
  }
  await unregisterWebhooks();
  const stopped = await stopProcess(paths, state);
  if (stopped) log.info('Stopped Kueue');
  return stopped;
}

let shared: Promise<TestKueue> | undefined;

/** Starts or reuses Kueue for the test cluster, once per test process. */
export function useKueue(cluster: TestCluster): Promise<TestKueue> {
  shared ??= (async () => {
    const info = await startKueue(cluster.info.server);
    const custom = cluster.custom;
    const kueue: TestKueue = {
      info,
      async namespace(t) {
        const ns = await cluster.namespace(t);
        await cluster.core.patchNamespace({ name: ns, body: [{ op: 'add', path: `/metadata/labels/${KUEUE_NAMESPACE_LABEL.replace('/', '~1')}`, value: 'true' }] });
        return ns;
      },
      async queue(t, namespace, { name, quota }) {
        const suffix = randomBytes(3).toString('hex');
        const flavor = `flavor-${suffix}`;
        const clusterQueue = `cq-${suffix}`;
        const kueueObject = (kind: string, metadata: object, spec: object) => ({ apiVersion: `${KUEUE_GROUP}/${KUEUE_VERSION}`, kind, metadata, spec });
        const objects = [
          kueueObject('ResourceFlavor', { name: flavor }, {}),
          kueueObject('ClusterQueue', { name: clusterQueue }, {
            namespaceSelector: {},
            resourceGroups: [{ coveredResources: Object.keys(quota), flavors: [{ name: flavor, resources: Object.entries(quota).map(([r, q]) => ({ name: r, nominalQuota: q })) }] }],
          }),
          kueueObject('LocalQueue', { name, namespace }, { clusterQueue }),
        ];
        t.after(async () => {
          // The LocalQueue goes with the namespace; the cluster-scoped ones are deleted here
          // (Kueue drops their finalizers once nothing uses them).
          await runTool('kubectl', ['delete', '--ignore-not-found', '--wait=false', `clusterqueue.${KUEUE_GROUP}/${clusterQueue}`, `resourceflavor.${KUEUE_GROUP}/${flavor}`]);
        });
        await kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
        const active = (o: unknown) => ((o as { status?: { conditions?: Array<{ type: string; status: string }> } }).status?.conditions ?? []).some((c) => c.type === 'Active' && c.status === 'True');
        await waitFor(`ClusterQueue ${clusterQueue} and LocalQueue ${namespace}/${name} to be Active`, async () =>
          active(await custom.getClusterCustomObject({ group: KUEUE_GROUP, version: KUEUE_VERSION, plural: 'clusterqueues', name: clusterQueue })) &&
          active(await custom.getNamespacedCustomObject({ group: KUEUE_GROUP, version: KUEUE_VERSION, namespace, plural: 'localqueues', name })), 30_000);
        return { clusterQueue, flavor };
      },
    };
    return kueue;
  })();
  return shared;
}
