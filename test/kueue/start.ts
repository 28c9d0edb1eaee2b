/**
 * `node test/kueue/start.ts`: starts Kueue against the running test cluster (building it on first
 * use) or reuses the running one; `node test/kueue/stop.ts` stops it.
 */
import { startCluster } from '../cluster/cluster.ts';
import { describeError } from '../cluster/cluster-error.ts';
import { createLogger } from '../cluster/log.ts';
import { startKueue } from './harness.ts';

const started = Date.now();
try {
  const cluster = await startCluster(createLogger('cluster'));
  const info = await startKueue(cluster.server);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`Kueue ${info.state.version} ${info.started ? 'started' : 'already running'} in ${seconds}s (webhooks on 127.0.0.1:${info.state.webhookPort}); log: ${info.logFile}\n`);
} catch (err) {
  process.stderr.write(`Failed to start Kueue: ${describeError(err)}\n`);
  process.exitCode = 1;
}
