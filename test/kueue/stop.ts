/**
 * `node test/kueue/stop.ts`: deletes the test Kueue's webhook configurations, then stops the Kueue
 * process the harness started (pid file `.cluster/run/kueue.pid`) and nothing else.
 */
import { describeError } from '../cluster/cluster-error.ts';
import { stopKueue } from './harness.ts';

try {
  const stopped = await stopKueue();
  process.stdout.write(stopped ? 'Kueue stopped\n' : 'Kueue was not running (webhook configurations removed if present)\n');
} catch (err) {
  process.stderr.write(`Failed to stop Kueue: ${describeError(err)}\n`);
  process.exitCode = 1;
}
