/**
 * The collections an informer can watch: for each, the API path it watches and a function that
 * LISTs one page of it. Batch Jobs, core Pods and ConfigMaps go through client-node's typed APIs;
 * custom resources (our UpscaleJobs) through CustomObjectsApi.
 *
 * Typed LISTs return model objects (timestamps as `Date`, fields unknown to this client-node
 * version dropped); the informer turns both them and watch events into wire JSON (`wire.ts`).
 */
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Job,
  type V1ListMeta,
  type V1Pod,
} from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/upscalejob.ts';

/** What to list. */
export interface ListQuery {
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  /** Page size; the server may return fewer. */
  limit?: number | undefined;
  /** The `continue` token of the previous page. */
  continue?: string | undefined;
}

/** One page of a LIST. */
export interface ListPage<T> {
  apiVersion?: string | undefined;
  /** The list kind, e.g. `PodList`. */
  kind?: string | undefined;
  items: T[];
  /** The snapshot the list was read at (the same on every page of one list). */
  resourceVersion: string;
  /** Set when there are more pages. */
  continue?: string | undefined;
}

/** A collection of one resource, in one namespace or in all. */
export interface Resource<T extends KubernetesObject> {
  /** For logs and errors, e.g. `batch/v1 jobs in namespace videos`. */
  readonly description: string;
  /** The collection's path, which the informer watches. */
  readonly path: string;
  /** Reads one page of the collection. */
  listPage(query: ListQuery): Promise<ListPage<T>>;
}

/** Makes the {@link Resource} for a namespace, or for all namespaces when it is undefined. */
export type ResourceFactory<T extends KubernetesObject> = (kc: KubeConfig, namespace: string | undefined) => Resource<T>;

/** The collection path of `plural` in `apiPrefix` (`/api/v1`, `/apis/batch/v1`). */
export function collectionPath(apiPrefix: string, plural: string, namespace: string | undefined): string {
  return namespace === undefined ? `${apiPrefix}/${plural}` : `${apiPrefix}/namespaces/${encodeURIComponent(namespace)}/${plural}`;
}

function describe(what: string, namespace: string | undefined): string {
  return namespace === undefined ? `${what} in all namespaces` : `${what} in namespace ${namespace}`;
}

/** The request parameters client-node's list calls take, without undefined members. */
interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  _continue?: string;
}

function listParams(q: ListQuery): ListParams {
  const p: ListParams = {};
  if (q.labelSelector !== undefined) p.labelSelector = q.labelSelector;
  if (q.fieldSelector !== undefined) p.fieldSelector = q.fieldSelector;
  if (q.limit !== undefined) p.limit = q.limit;
  if (q.continue !== undefined && q.continue !== '') p._continue = q.continue;
  return p;
}

function typedPage<T>(list: { apiVersion?: string; kind?: string; items: T[]; metadata?: V1ListMeta }): ListPage<T> {
  return {
    apiVersion: list.apiVersion,
    kind: list.kind,
    items: list.items,
    resourceVersion: list.metadata?.resourceVersion ?? '',
    continue: list.metadata?._continue || undefined,
  };
}

/** Core v1 Pods. */
export const pods: ResourceFactory<V1Pod> = (kc, namespace) => {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    description: describe('v1 pods', namespace),
    path: collectionPath('/api/v1', 'pods', namespace),
    listPage: async (q) =>
      typedPage(namespace === undefined ? await api.listPodForAllNamespaces(listParams(q)) : await api.listNamespacedPod({ namespace, ...listParams(q) })),
  };
};

/** Core v1 ConfigMaps. */
export const configMaps: ResourceFactory<V1ConfigMap> = (kc, namespace) => {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    description: describe('v1 configmaps', namespace),
    path: collectionPath('/api/v1', 'configmaps', namespace),
    listPage: async (q) =>
      typedPage(
        namespace === undefined ? await api.listConfigMapForAllNamespaces(listParams(q)) : await api.listNamespacedConfigMap({ namespace, ...listParams(q) }),
      ),
  };
};

/** batch/v1 Jobs. */
export const jobs: ResourceFactory<V1Job> = (kc, namespace) => {
  const api = kc.makeApiClient(BatchV1Api);
  return {
    description: describe('batch/v1 jobs', namespace),
    path: collectionPath('/apis/batch/v1', 'jobs', namespace),
    listPage: async (q) =>
      typedPage(namespace === undefined ? await api.listJobForAllNamespaces(listParams(q)) : await api.listNamespacedJob({ namespace, ...listParams(q) })),
  };
};

/** The shape of a custom-object list as CustomObjectsApi returns it (untyped JSON). */
interface CustomList {
  apiVersion?: string;
  kind?: string;
  items?: unknown;
  metadata?: { resourceVersion?: string; continue?: string };
}

/** A namespaced custom resource `group/version` `plural`, read as plain JSON. */
export function customResource(group: string, version: string, plural: string): ResourceFactory<KubernetesObject> {
  return (kc, namespace) => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const what = `${group}/${version} ${plural}`;
    return {
      description: describe(what, namespace),
      path: collectionPath(`/apis/${group}/${version}`, plural, namespace),
      listPage: async (q) => {
        const params = { group, version, plural, ...listParams(q) };
        const res = (namespace === undefined ? await api.listClusterCustomObject(params) : await api.listNamespacedCustomObject({ ...params, namespace })) as CustomList;
        if (!Array.isArray(res.items)) throw new Error(`listing ${what}: the response has no items array`);
        return {
          apiVersion: res.apiVersion,
          kind: res.kind,
          items: res.items as KubernetesObject[],
          resourceVersion: res.metadata?.resourceVersion ?? '',
          continue: res.metadata?.continue || undefined,
        };
      },
    };
  };
}

/** Our `upscale.dev/v1alpha1` UpscaleJobs, unvalidated: the reconciler parses them with zod. */
export const upscaleJobs: ResourceFactory<KubernetesObject> = customResource(GROUP, VERSION, PLURAL);
