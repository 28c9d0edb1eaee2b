/**
 * The informer's store: objects by `namespace/name` key, reporting every change to one callback.
 * `replace` (a fresh LIST) reports objects that vanished as well, so a relist repairs deletes
 * whose watch events were missed. An optional index (client-go's Indexer) keeps the objects by one
 * derived value, e.g. the owning UpscaleJob's uid, so a reconcile reads its own pods without
 * scanning every pod the cache holds.
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
  readonly #indexBy: ((obj: O) => string | undefined) | undefined;
  /** Index value -> the keys of the objects that have it. */
  readonly #index = new Map<string, Set<string>>();

  /** `indexBy` derives the index value of an object (undefined: not indexed); see {@link byIndex}. */
  constructor(changed: (obj: O) => void, indexBy?: (obj: O) => string | undefined) {
    this.#changed = changed;
    this.#indexBy = indexBy;
  }

  /** Adds or updates `obj`; a copy of the version already held is no change. */
  store(obj: O): void {
    const key = keyOf(obj);
    const old = this.#objects.get(key);
    if (old !== undefined && sameVersion(old, obj)) return;
    if (old !== undefined) this.#unindex(key, old);
    this.#objects.set(key, obj);
    this.#indexObject(key, obj);
    this.#changed(obj);
  }

  /** Removes the object with the key of `obj`, if held. */
  remove(obj: O): void {
    const key = keyOf(obj);
    const old = this.#objects.get(key);
    if (old === undefined) return;
    this.#objects.delete(key);
    this.#unindex(key, old);
    this.#changed(obj);
  }

  /** The objects whose index value is `value`; empty without an index. */
  byIndex(value: string): O[] {
    const keys = this.#index.get(value);
    if (keys === undefined) return [];
    const out: O[] = [];
    for (const key of keys) {
      const obj = this.#objects.get(key);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  #indexObject(key: string, obj: O): void {
    const value = this.#indexBy?.(obj);
    if (value === undefined) return;
    let keys = this.#index.get(value);
    if (keys === undefined) this.#index.set(value, (keys = new Set()));
    keys.add(key);
  }

  #unindex(key: string, obj: O): void {
    const value = this.#indexBy?.(obj);
    if (value === undefined) return;
    const keys = this.#index.get(value);
    if (keys === undefined) return;
    keys.delete(key);
    if (keys.size === 0) this.#index.delete(value);
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
      this.#unindex(key, old);
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
