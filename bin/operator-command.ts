/**
 * `upscale operator`: runs the UpscaleJob controller against a cluster: the kubeconfig given, else
 * the in-cluster ServiceAccount, else the default kubeconfig (KUBECONFIG, ~/.kube/config).
 */
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { operatorConfigSchema, type OperatorConfigInput } from '../operator/config.ts';
import { startOperator } from '../operator/operator.ts';
import { kubeWrites, type KubeWrites } from '../operator/controller/kube-writes.ts';
import { DIE_AFTER_WRITES_ENV, dieAfterWrites, parseDieAfterWrites } from '../operator/controller/fault-writes.ts';
import { setSignalHandler } from './signals.ts';

export interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  allNamespaces?: boolean;
  workerImage?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3ForcePathStyle?: boolean;
  s3Secret?: string;
  workers?: number;
  statusIntervalMs?: number;
  cleanupTimeoutSeconds?: number;
  shardNodeLossTolerationSeconds?: number;
  httpPort: number;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  logLevel: string;
}

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const SA_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** Where the Lease lives: the flag, else the operator's own namespace in a pod, else the watched one, else default. */
function leaseNamespace(flags: OperatorFlags): string {
  if (flags.leaderElectionNamespace !== undefined) return flags.leaderElectionNamespace;
  if (existsSync(SA_NAMESPACE)) {
    const own = readFileSync(SA_NAMESPACE, 'utf8').trim();
    if (own !== '') return own;
  }
  return flags.namespace ?? 'default';
}

function loadKubeConfig(file: string | undefined): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  if (file !== undefined) {
    kc.loadFromFile(file);
    return { kc, source: file };
  }
  if (process.env['KUBERNETES_SERVICE_HOST'] !== undefined && existsSync(SA_TOKEN)) {
    kc.loadFromCluster();
    return { kc, source: 'in-cluster' };
  }
  kc.loadFromDefault();
  return { kc, source: process.env['KUBECONFIG'] ?? '~/.kube/config' };
}

/** Runs until SIGTERM/SIGINT; returns the exit code. */
export async function runOperatorCommand(flags: OperatorFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { component: 'operator' } }, pino.destination(2));
  if (flags.namespace !== undefined && flags.allNamespaces === true) {
    process.stderr.write('upscale operator: give either --namespace or --all-namespaces, not both\n');
    return 2;
  }
  const input: OperatorConfigInput = {
    storage: {
      ...(flags.s3Endpoint !== undefined ? { endpoint: flags.s3Endpoint } : {}),
      ...(flags.s3Region !== undefined ? { region: flags.s3Region } : {}),
      ...(flags.s3ForcePathStyle !== undefined ? { forcePathStyle: flags.s3ForcePathStyle } : {}),
      ...(flags.s3Secret !== undefined ? { secretName: flags.s3Secret } : {}),
    },
  };
  const image = flags.workerImage ?? process.env['UPSCALE_WORKER_IMAGE'];
  if (image !== undefined) input.workerImage = image;
  if (flags.namespace !== undefined) input.namespace = flags.namespace;
  if (flags.workers !== undefined) input.workers = flags.workers;
  if (flags.statusIntervalMs !== undefined) input.statusIntervalMs = flags.statusIntervalMs;
  if (flags.cleanupTimeoutSeconds !== undefined) input.cleanupTimeoutSeconds = flags.cleanupTimeoutSeconds;
  if (flags.shardNodeLossTolerationSeconds !== undefined) input.shardNodeLossTolerationSeconds = flags.shardNodeLossTolerationSeconds;
  const parsed = operatorConfigSchema.safeParse(input);
  if (!parsed.success) {
    process.stderr.write(`upscale operator: invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
    return 2;
  }
  let kc: KubeConfig;
  let source: string;
  try {
    ({ kc, source } = loadKubeConfig(flags.kubeconfig));
  } catch (error) {
    process.stderr.write(`upscale operator: cannot load the kubeconfig ${flags.kubeconfig ?? ''}: ${(error as Error).message}\n`);
    return 2;
  }
  const config = parsed.data;
  let writes: KubeWrites | undefined;
  try {
    writes = faultWrites(kc, log);
  } catch (error) {
    process.stderr.write(`upscale operator: ${(error as Error).message}\n`);
    return 2;
  }
  log.info({ kubeconfig: source, server: kc.getCurrentCluster()?.server, namespace: config.namespace ?? '(all)', workerImage: config.workerImage }, 'Starting operator');
  const leaderElection = flags.leaderElect
    ? { namespace: leaseNamespace(flags), name: flags.leaderElectionId, leaseDurationMs: flags.leaseDuration * 1000, renewDeadlineMs: flags.renewDeadline * 1000, retryPeriodMs: flags.retryPeriod * 1000 }
    : undefined;
  let running;
  try {
    running = await startOperator({ kc, config, log, httpPort: flags.httpPort, ...(leaderElection ? { leaderElection } : {}), ...(writes ? { writes } : {}) });
  } catch (error) {
    process.stderr.write(`upscale operator: ${(error as Error).message}\n`);
    return 2;
  }
  installTestHooks(log);
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn({ signal }, 'Exiting at once on a second signal');
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'Stopping operator');
      running.stop().then(
        () => {
          log.info({}, 'Stopped operator');
          resolve(0);
        },
        (error: unknown) => {
          log.error({ err: error }, 'Failed to stop cleanly');
          resolve(1);
        },
      );
    };
    setSignalHandler(onSignal);
  });
}

/**
 * Test-only: with UPSCALE_FAULT_DIE_AFTER_WRITES=N the process SIGKILLs itself right after its N-th
 * API write (operator/controller/fault-writes.ts); unset (always, outside tests), undefined.
 */
function faultWrites(kc: KubeConfig, log: pino.Logger): KubeWrites | undefined {
  const n = parseDieAfterWrites(process.env[DIE_AFTER_WRITES_ENV]);
  if (n === undefined) return undefined;
  log.warn({ writes: n }, 'Fault injection on: the operator kills itself after this many API writes (test hook)');
  return dieAfterWrites(kubeWrites(kc), n, (count, method) => {
    log.warn({ writes: count, method }, 'Killing the operator after an API write (test hook)');
    // pino's destination leaves a line for later when the pipe is full; this one must go out first.
    log.flush();
    process.stderr.write(`upscale operator: killing itself after API write ${count} (${method}) (test hook)\n`);
    process.kill(process.pid, 'SIGKILL');
  });
}

/**
 * Fault injection for the end-to-end tests, off unless UPSCALE_OPERATOR_TEST_HOOKS=1: SIGUSR2 blocks
 * the event loop for UPSCALE_TEST_BLOCK_MS (default 10 s), as a long GC pause or a CPU-starved
 * node would, to prove a leader that missed its renew deadline never acts again.
 */
function installTestHooks(log: pino.Logger): void {
  if (process.env['UPSCALE_OPERATOR_TEST_HOOKS'] !== '1') return;
  process.on('SIGUSR2', () => {
    const ms = Number(process.env['UPSCALE_TEST_BLOCK_MS'] ?? 10_000);
    log.warn({ ms }, 'Blocking the event loop (test hook)');
    const until = Date.now() + ms;
    while (Date.now() < until) {
      // Busy: nothing else runs, timers included.
    }
    log.warn({ ms }, 'Unblocked the event loop (test hook)');
  });
}
