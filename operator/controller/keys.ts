/**
 * Work-queue keys of objects, as client-go's `MetaNamespaceKeyFunc`: `namespace/name`, or just
 * `name` for a cluster-scoped object. The controller enqueues keys, never objects, so a worker
 * always reads the newest state from the cache.
 */

/** The parts of an object a key is made of. */
export interface Keyed {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
}

/** The key of `obj`: `namespace/name`, or `name` when it has no namespace. */
export function keyOf(obj: Keyed): string {
  const name = obj.metadata?.name ?? '';
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

/** Splits a key into namespace (undefined for cluster-scoped objects) and name. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
