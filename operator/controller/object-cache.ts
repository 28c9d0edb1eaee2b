/**
 * The informer's store: objects by `namespace/name` key, reporting every change to one callback.
 * `replace` (a fresh LIST) reports objects that vanished as well, so a relist repairs deletes
 * whose watch events were missed.
 */
import { keyOf, type Keyed } from './keys.ts';

/** What the cache needs of an object: its key and its resourceVersion. */
export interface Cacheable extends Keyed {
  metadata?: { name?: string | undefined; namespace?: string | undefined; resourceVersion?: string | undefined } | undefined;
}

function sameVersion(a: Cacheable, b: Cacheable): boolean {
  // resourceVersions are opaque: compared for equality only, never ordered.
  const rv = a.metadata?.resourceVersion;
  return rv !== undefined && rv !== '' && rv === b.metadata?.resourceVersion;
}

/** Objects by key; `changed` is called for each add, update and delete (with the last state). */
export class ObjectCache<O extends Cacheable> {
  readonly #objects = new Map<string, O>();
  readonly #changed: (obj: O) => void;

  constructor(changed: (obj: O) => void) {
    this.#changed = changed;
  }

  /** Adds or updates `obj`; a copy of the version already held is no change. */
  store(obj: O): void {
    const key = keyOf(obj);
    const old = this.#objects.get(key);
    if (old !== undefined && sameVersion(old, obj)) return;
    this.#objects.set(key, obj);
    this.#changed(obj);
  }

  /** Removes the object with the key of `obj`, if held. */
  remove(obj: O): void {
    if (this.#objects.delete(keyOf(obj))) this.#changed(obj);
  }

  /** Makes the cache exactly `objects`, reporting what was added, changed or removed. */
  replace(objects: readonly O[]): void {
    const seen = new Set<string>();
    for (const obj of objects) {
      seen.add(keyOf(obj));
      this.store(obj);
    }
    for (const [key, old] of this.#objects) {
      if (seen.has(key)) continue;
      this.#objects.delete(key);
      this.#changed(old);
    }
  }

  /** The object, or undefined; namespace undefined for a cluster-scoped object. */
  get(namespace: string | undefined, name: string): O | undefined {
    return this.#objects.get(namespace ? `${namespace}/${name}` : name);
  }

  /** The objects of one namespace, or of all. */
  list(namespace?: string): O[] {
    const all = [...this.#objects.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }
}
