/**
 * What the operator's end-to-end tests share: the operator's own ServiceAccount bound to exactly the
 * RBAC file the Helm chart uses, the operator started as `upscale operator` (a child process, as a
 * user runs it from the checkout), an input clip in the S3 test server, and an UpscaleJob manifest
 * derived from `examples/upscalejob.yaml`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parseAllDocuments } from 'yaml';
import { REPO } from '../fixtures/clips.ts';
import type { TestCluster } from '../cluster/harness.ts';
import type { TestS3 } from '../s3/harness.ts';
import { UPSCALE_BIN } from './cli.ts';

export const OPERATOR_NAMESPACE = 'upscale-system';
export const OPERATOR_SA = 'upscale-operator';
/** The node agent maps this image to `node bin/upscale.js` of this checkout. */
export const WORKER_IMAGE = 'ghcr.io/upscale-operator/upscale-operator:dev';

/** Creates the operator's ServiceAccount and binds the chart's ClusterRole; returns its kubeconfig file. */
export async function operatorKubeconfig(cluster: TestCluster): Promise<string> {
  const rbac = await readFile(join(REPO, 'charts/upscale-operator/files/rbac.yaml'), 'utf8');
  const binding = `
apiVersion: v1
kind: Namespace
metadata: {name: ${OPERATOR_NAMESPACE}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ${OPERATOR_SA}, namespace: ${OPERATOR_NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: upscale-operator}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: upscale-operator}
subjects: [{kind: ServiceAccount, name: ${OPERATOR_SA}, namespace: ${OPERATOR_NAMESPACE}}]
`;
  const applied = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: `${rbac}\n---\n${binding}` });
  if (applied.code !== 0) throw new Error(`applying the operator's RBAC failed: ${applied.stderr}`);
  const dir = await mkdtemp(join(tmpdir(), 'upscale-operator-sa-'));
  const file = join(dir, 'kubeconfig');
  await cluster.serviceAccount(OPERATOR_NAMESPACE, OPERATOR_SA, file);
  return file;
}

export interface RunningOperator {
  child: ChildProcess;
  /** Everything the operator logged so far (JSON lines). */
  logs(): string;
  /** The port of /healthz, /readyz and /metrics, from the operator's log. */
  port(): Promise<number>;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<void>;
}

/** Starts `upscale operator` for one namespace with the given kubeconfig; stopped after the test. */
export function startOperator(t: TestContext, kubeconfig: string, namespace: string, extra: string[] = [], env: Record<string, string> = {}): RunningOperator {
  // Short leader-election timings (the Lease is in the test's namespace), so a restart after a
  // SIGKILL waits 4 s for the dead leader's lease, not 15.
  const args = [UPSCALE_BIN, 'operator', '--kubeconfig', kubeconfig, '--namespace', namespace, '--worker-image', WORKER_IMAGE, '--status-interval-ms', '1000', '--http-port', '0', '--lease-duration', '4', '--renew-deadline', '3', '--retry-period', '0.5', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, UPSCALE_LOG_LEVEL: 'debug', ...env } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const op: RunningOperator = {
    child,
    logs: () => output,
    async port() {
      for (let i = 0; i < 200; i++) {
        const m = /"port":(\d+),"msg":"Serving health and metrics"/.exec(output);
        if (m) return Number(m[1]);
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the operator never said which port it serves:\n${output.slice(-2000)}`);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  t.after(() => op.kill());
  return op;
}

/** Creates the storage Secret of the job's namespace from the S3 test server's credentials. */
export async function storageSecret(cluster: TestCluster, namespace: string, s3: TestS3, name = 's3-credentials'): Promise<void> {
  await cluster.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, type: 'Opaque', stringData: { AWS_ACCESS_KEY_ID: s3.info.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.info.secretAccessKey } },
  });
}

/** Uploads a local file as `s3://bucket/key`. */
export async function upload(s3: TestS3, bucket: string, key: string, path: string): Promise<void> {
  await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(path) }));
}

/**
 * The UpscaleJob of `examples/upscalejob.yaml` pointed at the test's bucket and S3 server, with
 * `patch` merged into its spec (shallowly per top-level field).
 */
export async function exampleJob(name: string, bucket: string, s3: TestS3, patch: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const docs = parseAllDocuments(await readFile(join(REPO, 'examples/upscalejob.yaml'), 'utf8')).map((d) => d.toJSON() as Record<string, unknown>);
  const job = docs.find((d) => d['kind'] === 'UpscaleJob');
  if (job === undefined) throw new Error('examples/upscalejob.yaml has no UpscaleJob');
  const spec = job['spec'] as Record<string, unknown>;
  spec['input'] = `s3://${bucket}/in.mp4`;
  spec['output'] = `s3://${bucket}/out.mp4`;
  spec['storage'] = { ...(spec['storage'] as object), endpoint: s3.info.endpoint, region: s3.info.region };
  // Small, fast settings for 2 CPU cores: H.264 ultrafast, the CPU provider, no TTL or deadline.
  spec['encode'] = { codec: 'h264', crf: 23, preset: 'ultrafast' };
  spec['inference'] = { executionProvider: 'cpu', precision: 'fp32', tile: 0 };
  delete spec['ttlSecondsAfterFinished'];
  Object.assign(spec, patch);
  job['metadata'] = { name };
  return job;
}

/** `kubectl apply` of objects in `namespace`. */
export async function apply(cluster: TestCluster, namespace: string, ...objects: object[]): Promise<void> {
  const input = objects.map((o) => JSON.stringify(o)).join('\n');
  const res = await cluster.kubectl(['apply', '-n', namespace, '-f', '-'], { input });
  if (res.code !== 0) throw new Error(`kubectl apply failed: ${res.stderr}`);
}

/** Writes text to a temp file and returns its path. */
export async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'upscale-e2e-'));
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

/** A TCP proxy to a server (S3, the API server) that can refuse connections: a network fault on demand. */
export async function flakyProxy(t: TestContext, target: string): Promise<{ endpoint: string; port: number; refuse(): void; accept(): void }> {
  const url = new URL(target);
  let refusing = false;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(url.port), url.hostname);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    refuse() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    accept() {
      refusing = false;
    },
  };
}

