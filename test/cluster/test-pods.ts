/**
 * Pod specs for cluster tests: a busybox pod whose container runs a shell script on the node
 * agent (the image table maps busybox to /bin/sh), with optional GPU limits.
 */
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';

/** Options of a shell pod. */
export interface ShellPodOptions {
  gpus?: number;
  restartPolicy?: 'Never' | 'OnFailure' | 'Always';
  terminationGracePeriodSeconds?: number;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  labels?: Record<string, string>;
  spec?: Partial<V1PodSpec>;
}

/** A pod running `sh -c <script>` in a busybox container named `main`. */
export function shellPod(name: string, script: string, opts: ShellPodOptions = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'cluster-test', ...opts.labels } },
    spec: {
      restartPolicy: opts.restartPolicy ?? 'Never',
      terminationGracePeriodSeconds: opts.terminationGracePeriodSeconds ?? 30,
      containers: [
        {
          name: 'main',
          image: 'busybox:1.37',
          command: ['sh', '-c', script],
          ...(opts.terminationMessagePolicy ? { terminationMessagePolicy: opts.terminationMessagePolicy } : {}),
          ...(opts.gpus !== undefined ? { resources: { limits: { 'nvidia.com/gpu': String(opts.gpus) } } } : {}),
        },
      ],
      ...opts.spec,
    },
  };
}
