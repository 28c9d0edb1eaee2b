/**
 * One promise per key, kept while it has not failed: the answer of a run made once per process
 * (a version check, a table), where a failure is not remembered, so a fixed install is seen on the
 * next call.
 */
export function keptUntilFailure<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let kept = cache.get(key);
  if (kept === undefined) {
    const made = make();
    cache.set(key, made);
    made.catch(() => {
      if (cache.get(key) === made) cache.delete(key);
    });
    kept = made;
  }
  return kept;
}
