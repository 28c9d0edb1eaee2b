/**
 * Downward API values of a pod: the `fieldRef` paths that env vars and downwardAPI volumes may
 * name, and `resourceFieldRef` of a container. Indexed Jobs hand a pod its completion index
 * through `metadata.annotations['batch.kubernetes.io/job-completion-index']` (and a label).
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { ClusterError } from '../cluster-error.ts';

/** The loopback address every pod and node of the test cluster uses. */
export const HOST_IP = '127.0.0.1';

function formatMap(map: Record<string, string> | undefined): string {
  // Same format as the kubelet's downwardAPI volume files: key="value" lines, sorted by key.
  return Object.entries(map ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('\n');
}

/** The value of a `fieldRef.fieldPath` for a pod. */
export function fieldPathValue(pod: V1Pod, fieldPath: string): string {
  const subscript = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (subscript) {
    const map = subscript[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[subscript[2] ?? ''] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata?.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
    case 'status.podIP':
    case 'status.podIPs':
      return HOST_IP;
    default:
      throw new ClusterError('PodSpecUnresolvable', `pod ${pod.metadata?.namespace}/${pod.metadata?.name}: fieldRef ${fieldPath} is not supported by the node agent`);
  }
}

const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimalSuffixes: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A Kubernetes quantity as a number (`500m` → 0.5, `1Gi` → 1073741824). */
export function parseQuantity(q: string): number {
  const m = /^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) throw new ClusterError('PodSpecUnresolvable', `quantity ${q} is not valid`);
  const suffix = m[2] ?? '';
  const factor = binarySuffixes[suffix] ?? decimalSuffixes[suffix];
  if (factor === undefined) throw new ClusterError('PodSpecUnresolvable', `quantity ${q} has an unknown suffix`);
  return Number(m[1]) * factor;
}

/** The value of a container's `resourceFieldRef` (`limits.cpu`, `requests.memory`, …), rounded up as the kubelet does. */
export function resourceFieldValue(container: V1Container, resource: string, divisor: string | undefined, allocatable: Record<string, string>): string {
  const [kind, ...nameParts] = resource.split('.');
  const name = nameParts.join('.');
  const map = kind === 'limits' ? container.resources?.limits : container.resources?.requests;
  // Without a limit the kubelet reports the node's allocatable, and without a request zero... except cpu/memory limits.
  const raw = map?.[name] ?? (kind === 'limits' ? allocatable[name] : undefined) ?? '0';
  const value = parseQuantity(String(raw)) / parseQuantity(divisor ?? '1');
  return String(Math.ceil(value));
}
