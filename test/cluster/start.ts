/**
 * `npm run cluster:start`: starts the test cluster in the background (building the binaries on
 * first use) or reuses the running one, then prints how to use it.
 */
import { relative } from 'node:path';
import { startCluster } from './cluster.ts';
import { describeError } from './cluster-error.ts';
import { createLogger } from './log.ts';
import { clusterPaths, repoRoot } from './paths.ts';

const log = createLogger('cluster');
const started = Date.now();
try {
  const info = await startCluster(log);
  const p = clusterPaths();
  const rel = (f: string) => relative(process.cwd(), f) || '.';
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(
    [
      `Cluster ${info.started ? 'started' : 'already running'} in ${seconds}s: ${info.server}, ${info.state.nodeCount} GPU nodes`,
      `  export KUBECONFIG=${p.kubeconfig}`,
      `  ${rel(info.kubectl)} get nodes -L nvidia.com/gpu.product`,
      `  ${rel(info.helm)} list -A`,
      `Component logs: ${rel(p.logs)}/, pod folders and container logs: ${rel(p.pods)}/`,
      `Stop with: npm run cluster:stop (from ${repoRoot})`,
      '',
    ].join('\n'),
  );
} catch (err) {
  log.error({ err: describeError(err) }, 'Failed to start cluster');
  process.exitCode = 1;
}
