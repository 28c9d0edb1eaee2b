/**
 * A bounded concurrent map over a list: at most `limit` calls in flight, results in input order.
 * Unlike `Promise.all`, a failure stops new calls from starting and is thrown only once every call
 * already started has settled, so the caller's clean-up (removing a work directory) never races a
 * call still writing into it.
 */

/** Maps `items` through `fn`, `limit` at a time; rejects with the first failure after the others in flight settle. */
export async function mapBounded<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, limit: number): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`concurrency limit ${limit} is not a positive integer`);
  const results: R[] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (failure !== undefined) throw failure.error;
  return results;
}
