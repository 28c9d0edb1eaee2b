/**
 * Ordered, bounded concurrent map over a stream: at most `concurrency` calls run at once, results
 * come out in input order, and the source is not read further while the window is full, so a slow
 * consumer or a slow head item holds memory at `concurrency` items (back-pressure).
 */

/** Maps `source` through `fn` with at most `concurrency` calls in flight, yielding in order. */
export async function* mapOrdered<T, R>(source: AsyncIterable<T> | Iterable<T>, fn: (item: T) => Promise<R>, concurrency: number): AsyncGenerator<R> {
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new RangeError(`concurrency ${concurrency} is not a positive integer`);
  const window: Promise<R>[] = [];
  const start = (item: T): void => {
    const promise = fn(item);
    // Handled when it reaches the head; this only stops an early rejection from being "unhandled".
    promise.catch(() => undefined);
    window.push(promise);
  };
  for await (const item of source) {
    start(item);
    if (window.length >= concurrency) yield await (window.shift() as Promise<R>);
  }
  while (window.length > 0) yield await (window.shift() as Promise<R>);
}
