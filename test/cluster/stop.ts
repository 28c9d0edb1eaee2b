/** `npm run cluster:stop`: stops exactly the processes the cluster started (pid files) and nothing else. */
import { stopCluster } from './cluster.ts';
import { describeError } from './cluster-error.ts';
import { createLogger } from './log.ts';

const log = createLogger('cluster');
try {
  const stopped = await stopCluster(log);
  process.stdout.write(stopped > 0 ? `Cluster stopped (${stopped} processes)\n` : 'Cluster was not running\n');
} catch (err) {
  log.error({ err: describeError(err) }, 'Failed to stop cluster');
  process.exitCode = 1;
}
