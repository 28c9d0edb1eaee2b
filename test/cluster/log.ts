/** The pino logger of the test cluster, writing Kubernetes-style structured lines to stderr. */
import { pino } from 'pino';

/** Creates a logger named for the component (`cluster`, `node-agent`). */
export function createLogger(name: string) {
  return pino({ name, level: process.env['CLUSTER_LOG_LEVEL'] ?? 'info' }, pino.destination(2));
}

export type Logger = ReturnType<typeof createLogger>;
