/**
 * The operator's writes to the Kubernetes API, behind one narrow interface (the adapter for the
 * kube client): create and delete its Jobs, set a shard Job's `suspend`, write an UpscaleJob's
 * status through the status subresource, delete a finished UpscaleJob. Reads come from the
 * informers' caches, never from here.
 */
import { BatchV1Api, CustomObjectsApi, PatchStrategy, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { requestOptions } from './request-options.ts';
import { GROUP, PLURAL, VERSION, type UpscaleJobStatus } from '../api/upscalejob.ts';

export interface KubeWrites {
  /** Creates a Job; false when one of that name already exists (deterministic names make that success). */
  createJob(job: V1Job): Promise<boolean>;
  /** Deletes a Job and, in the background, its pods; missing is fine. */
  deleteJob(namespace: string, name: string): Promise<void>;
  /** Merge-patches a Job's `spec.suspend` and/or `spec.parallelism`. */
  patchJob(namespace: string, name: string, spec: { suspend?: boolean; parallelism?: number }): Promise<void>;
  /** Replaces the status; throws a 409 conflict when `resourceVersion` is stale. */
  writeStatus(namespace: string, name: string, resourceVersion: string | undefined, status: UpscaleJobStatus): Promise<void>;
  /** Sets an UpscaleJob's finalizers; the resourceVersion makes it conditional (409 when stale). */
  setFinalizers(namespace: string, name: string, resourceVersion: string | undefined, finalizers: string[]): Promise<string | undefined>;
  /**
   * Sets `spec.active` of the Kueue Workload of the Job with `jobUid` (Kueue labels it with the
   * Job's uid); returns true when it changed, false when it already matched or there is none yet.
   */
  setWorkloadActive(namespace: string, jobUid: string, active: boolean): Promise<boolean>;
  /** Deletes an UpscaleJob (its TTL passed), guarded by its uid. */
  deleteUpscaleJob(namespace: string, name: string, uid: string): Promise<void>;
}

/** HTTP status of a client-node error, if any. */
export function httpStatus(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

const mergePatch = requestOptions({ contentType: PatchStrategy.MergePatch });
const bounded = requestOptions();
const FIELD_MANAGER = 'upscale-operator';
/** Kueue's Workload API (v0.17 serves v1beta2). */
export const KUEUE_GROUP = 'kueue.x-k8s.io';
export const KUEUE_VERSION = 'v1beta2';

/** {@link KubeWrites} over the real API. */
export function kubeWrites(kc: KubeConfig): KubeWrites {
  const batch = kc.makeApiClient(BatchV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    async createJob(job) {
      try {
        await batch.createNamespacedJob({ namespace: job.metadata!.namespace!, body: job, fieldManager: FIELD_MANAGER }, bounded);
        return true;
      } catch (error) {
        if (httpStatus(error) === 409) return false;
        throw error;
      }
    },
    async deleteJob(namespace, name) {
      try {
        await batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' }, bounded);
      } catch (error) {
        if (httpStatus(error) !== 404) throw error;
      }
    },
    async patchJob(namespace, name, spec) {
      await batch.patchNamespacedJob({ namespace, name, body: { spec }, fieldManager: FIELD_MANAGER }, mergePatch);
    },
    async writeStatus(namespace, name, resourceVersion, status) {
      const body = { apiVersion: `${GROUP}/${VERSION}`, kind: 'UpscaleJob', metadata: { name, namespace, ...(resourceVersion ? { resourceVersion } : {}) }, status };
      await custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body, fieldManager: FIELD_MANAGER }, bounded);
    },
    async setFinalizers(namespace, name, resourceVersion, finalizers) {
      const body = { metadata: { finalizers, ...(resourceVersion ? { resourceVersion } : {}) } };
      const updated = (await custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body, fieldManager: FIELD_MANAGER }, mergePatch)) as { metadata?: { resourceVersion?: string } };
      return updated.metadata?.resourceVersion;
    },
    async setWorkloadActive(namespace, jobUid, active) {
      const list = (await custom.listNamespacedCustomObject({ group: KUEUE_GROUP, version: KUEUE_VERSION, namespace, plural: 'workloads', labelSelector: `kueue.x-k8s.io/job-uid=${jobUid}` }, bounded)) as { items?: Array<{ metadata?: { name?: string }; spec?: { active?: boolean } }> };
      let changed = false;
      for (const w of list.items ?? []) {
        if ((w.spec?.active ?? true) === active || w.metadata?.name === undefined) continue;
        await custom.patchNamespacedCustomObject({ group: KUEUE_GROUP, version: KUEUE_VERSION, namespace, plural: 'workloads', name: w.metadata.name, body: { spec: { active } }, fieldManager: FIELD_MANAGER }, mergePatch);
        changed = true;
      }
      return changed;
    },
    async deleteUpscaleJob(namespace, name, uid) {
      try {
        await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name, body: { preconditions: { uid }, propagationPolicy: 'Background' } }, bounded);
      } catch (error) {
        if (httpStatus(error) !== 404 && httpStatus(error) !== 409) throw error;
      }
    },
  };
}
