/**
 * The node agent's narrow view of the Kubernetes API (client-node 2.0.1): pod status patches,
 * the final delete of a pod, config maps, secrets and ServiceAccount tokens for volumes and env.
 */
import {
  ApiException,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ConfigMap,
  type V1Pod,
  type V1Secret,
} from '@kubernetes/client-node';
import { ClusterError, describeError } from '../cluster-error.ts';
import type { VolumeLookup } from './volumes.ts';

/** Whether an error is an API error with the given HTTP status. */
export function isStatus(err: unknown, code: number): boolean {
  return err instanceof ApiException && err.code === code;
}

const strategicMerge = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** API calls the pod workers make. */
export interface PodApi extends VolumeLookup {
  /** Strategic-merge-patches a pod's status; returns false when the pod no longer exists. */
  patchPodStatus(namespace: string, name: string, body: object): Promise<boolean>;
  /** Deletes a pod with grace period 0 and a UID precondition, as the kubelet's final delete does. */
  finalDelete(namespace: string, name: string, uid: string): Promise<void>;
}

/** The PodApi of a kubeconfig. */
export function podApi(kc: KubeConfig): PodApi {
  const core = kc.makeApiClient(CoreV1Api);
  const get = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw new ClusterError('ApiFailed', `reading ${what} failed: ${describeError(err)}`, { cause: err });
    }
  };
  return {
    secret: (namespace, name): Promise<V1Secret | undefined> => get(`secret ${namespace}/${name}`, () => core.readNamespacedSecret({ namespace, name })),
    configMap: (namespace, name): Promise<V1ConfigMap | undefined> => get(`config map ${namespace}/${name}`, () => core.readNamespacedConfigMap({ namespace, name })),
    async serviceAccountToken(pod: V1Pod, audience, expirationSeconds) {
      const namespace = pod.metadata?.namespace ?? 'default';
      const name = pod.spec?.serviceAccountName ?? 'default';
      try {
        const res = await core.createNamespacedServiceAccountToken({
          namespace,
          name,
          body: {
            spec: {
              audiences: audience ? [audience] : [],
              expirationSeconds: expirationSeconds ?? 3607,
              boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
            },
          },
        });
        return res.status?.token ?? '';
      } catch (err) {
        throw new ClusterError('PodSpecUnresolvable', `pod ${namespace}/${pod.metadata?.name}: requesting a token for ServiceAccount ${name} failed: ${describeError(err)}`, { cause: err });
      }
    },
    async patchPodStatus(namespace, name, body) {
      try {
        await core.patchNamespacedPodStatus({ namespace, name, body }, strategicMerge);
        return true;
      } catch (err) {
        if (isStatus(err, 404)) return false;
        throw new ClusterError('ApiFailed', `patching the status of pod ${namespace}/${name} failed: ${describeError(err)}`, { cause: err });
      }
    },
    async finalDelete(namespace, name, uid) {
      try {
        await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid } } });
      } catch (err) {
        // 404: gone already; 409: a pod with the same name but another UID replaced it.
        if (isStatus(err, 404) || isStatus(err, 409)) return;
        throw new ClusterError('ApiFailed', `deleting pod ${namespace}/${name} failed: ${describeError(err)}`, { cause: err });
      }
    },
  };
}
