/**
 * The operator's own configuration: what it is started with (flags, environment, the Helm chart's
 * values). Job specs fall back to these defaults for fields a user leaves out.
 */
import { z } from 'zod';
import { DEFAULT_SHARD_NODE_LOSS_SECONDS } from './reconcile/tolerations.ts';

export const operatorConfigSchema = z.object({
  /** Image of every worker pod unless a job names its own. */
  workerImage: z.string().min(1).default('ghcr.io/upscale-operator/upscale-operator:0.1.0'),
  /** Namespace to watch; undefined: all namespaces. */
  namespace: z.string().min(1).optional(),
  /** Storage defaults for jobs that leave `spec.storage` fields out. */
  storage: z
    .object({
      endpoint: z.string().optional(),
      region: z.string().optional(),
      forcePathStyle: z.boolean().optional(),
      secretName: z.string().optional(),
    })
    .default({}),
  /** Concurrent reconciles. */
  workers: z.int().min(1).max(64).default(4),
  /** Minimum interval between two progress-only status writes of one job. */
  statusIntervalMs: z.int().min(100).default(5000),
  /** How long a deleted job's cleanup may take before the finalizer is removed anyway. */
  cleanupTimeoutSeconds: z.int().min(1).default(300),
  /**
   * How long a shard pod stays on a node that stopped reporting (taints node.kubernetes.io/not-ready
   * and unreachable) before it is evicted and rerun elsewhere; Kubernetes' default is 300 s. A job's
   * own podTemplate tolerations for those taints win. See reconcile/tolerations.ts for the 30 s.
   */
  shardNodeLossTolerationSeconds: z.int().min(0).max(86_400).default(DEFAULT_SHARD_NODE_LOSS_SECONDS),
  /** Log level of the worker pods. */
  workerLogLevel: z.string().default('info'),
});
export type OperatorConfig = z.output<typeof operatorConfigSchema>;
export type OperatorConfigInput = z.input<typeof operatorConfigSchema>;
