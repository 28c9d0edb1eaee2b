/**
 * A test-only override of a container's command, set per pod with the annotation
 * `agent.upscale-operator.test/command` (a JSON array of strings). Benchmarks of the control plane
 * use it to run the operator's real pod specs with a trivial worker (a shell script that writes a
 * result and exits), so the cluster is measured and not the model. It replaces the container's
 * `command` (ENTRYPOINT) and keeps its `args`, as a `command:` in the spec would; the operator passes
 * it through from the UpscaleJob's `podTemplate.metadata.annotations`.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { ClusterError } from '../cluster-error.ts';

export const COMMAND_ANNOTATION = 'agent.upscale-operator.test/command';

/** The overriding command of a pod, or undefined when it has none. Throws for a malformed one. */
export function commandOverride(pod: V1Pod): string[] | undefined {
  const raw = pod.metadata?.annotations?.[COMMAND_ANNOTATION];
  if (raw === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((w) => typeof w === 'string' && w !== '')) {
    throw new ClusterError('PodSpecUnresolvable', `annotation ${COMMAND_ANNOTATION} of pod ${pod.metadata?.namespace}/${pod.metadata?.name} must be a JSON array of non-empty strings, got ${JSON.stringify(raw)}`);
  }
  return parsed as string[];
}
