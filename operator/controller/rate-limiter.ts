/**
 * Per-key retry delays for the work queue, ported from client-go
 * (`util/workqueue/default_rate_limiters.go`): a per-item exponential back-off combined with an
 * overall token bucket, so one failing object backs off on its own while a burst of failures across
 * many objects is still capped in total.
 *
 * All delays are in milliseconds. The clock is injectable so tests are deterministic.
 */

/** Decides how long a key waits before it is retried. */
export interface RateLimiter {
  /** The delay (ms) before `key` may be retried; counts one more failure for it. */
  when(key: string): number;
  /** Stops tracking `key` (it succeeded): its next failure starts from the base delay again. */
  forget(key: string): void;
  /** How many failures of `key` are being tracked. */
  retries(key: string): number;
}

/** A monotonic millisecond clock. */
export type Clock = () => number;

const defaultClock: Clock = () => performance.now();

/**
 * `baseMs * 2^failures`, capped at `maxMs`: client-go's ItemExponentialFailureRateLimiter.
 */
export class ItemExponentialRateLimiter implements RateLimiter {
  readonly #failures = new Map<string, number>();
  readonly #baseMs: number;
  readonly #maxMs: number;

  constructor(baseMs: number, maxMs: number) {
    this.#baseMs = baseMs;
    this.#maxMs = maxMs;
  }

  when(key: string): number {
    const exp = this.#failures.get(key) ?? 0;
    this.#failures.set(key, exp + 1);
    // 2^exp overflows to Infinity long after it passes maxMs; Math.min handles both.
    return Math.min(this.#baseMs * 2 ** exp, this.#maxMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  retries(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}

/**
 * A token bucket shared by all keys (`qps` tokens per second, at most `burst` saved up), with the
 * reservation semantics of Go's `rate.Limiter.Reserve().Delay()`: every call takes a token, and
 * when none is left the caller is told how long until its token will have been refilled, so
 * delays grow linearly with the size of a burst.
 */
export class BucketRateLimiter implements RateLimiter {
  readonly #qps: number;
  readonly #burst: number;
  readonly #now: Clock;
  #tokens: number;
  #last: number;

  constructor(qps: number, burst: number, now: Clock = defaultClock) {
    this.#qps = qps;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  when(_key: string): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : (-this.#tokens / this.#qps) * 1000;
  }

  forget(_key: string): void {
    // The bucket is shared: nothing is kept per key.
  }

  retries(_key: string): number {
    return 0;
  }
}

/** The longest delay of several limiters: client-go's MaxOfRateLimiter. */
export class MaxOfRateLimiter implements RateLimiter {
  readonly #limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.#limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the failure (each keeps its own count), so no short-circuit.
    return this.#limiters.reduce((max, l) => Math.max(max, l.when(key)), 0);
  }

  forget(key: string): void {
    for (const l of this.#limiters) l.forget(key);
  }

  retries(key: string): number {
    return this.#limiters.reduce((max, l) => Math.max(max, l.retries(key)), 0);
  }
}

/** Tunables of {@link defaultControllerRateLimiter}; the defaults are client-go's. */
export interface DefaultRateLimiterOptions {
  /** First per-key delay (ms); default 5. */
  baseMs?: number;
  /** Largest per-key delay (ms); default 1 000 000 (1000 s). */
  maxMs?: number;
  /** Overall retries per second; default 10. */
  qps?: number;
  /** Overall retries allowed at once before `qps` applies; default 100. */
  burst?: number;
  /** Millisecond clock for the bucket; default `performance.now`. */
  now?: Clock;
}

/**
 * client-go's `DefaultTypedControllerRateLimiter`: max(per-key exponential 5 ms → 1000 s,
 * token bucket 10 qps / burst 100).
 */
export function defaultControllerRateLimiter(opts: DefaultRateLimiterOptions = {}): RateLimiter {
  return new MaxOfRateLimiter(
    new ItemExponentialRateLimiter(opts.baseMs ?? 5, opts.maxMs ?? 1_000_000),
    new BucketRateLimiter(opts.qps ?? 10, opts.burst ?? 100, opts.now ?? defaultClock),
  );
}
