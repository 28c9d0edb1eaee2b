/**
 * Jittered exponential back-off for restarting a failed watch: `initialMs · 2^n`, capped at
 * `maxMs`, each delay shortened by a random fraction up to `jitter` so that many informers (or
 * many operator replicas) that failed together do not hit the API server again in lockstep.
 */

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** First delay (ms); default 1000. */
  initialMs?: number;
  /** Largest delay (ms); default 30 000. */
  maxMs?: number;
  /** Largest fraction taken off a delay at random, 0…1; default 0.2. */
  jitter?: number;
  /** Uniform random number in [0, 1); injectable for tests. */
  random?: () => number;
}

/** A sequence of growing delays; `reset()` after a success starts it over. */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.#initialMs = opts.initialMs ?? 1000;
    this.#maxMs = opts.maxMs ?? 30_000;
    this.#jitter = opts.jitter ?? 0.2;
    this.#random = opts.random ?? Math.random;
  }

  /** The next delay (ms). Jitter only ever shortens it, so `maxMs` is a true upper bound. */
  next(): number {
    const base = Math.min(this.#initialMs * 2 ** this.#attempt, this.#maxMs);
    // Stop counting once capped, so the exponent cannot grow without bound.
    if (base < this.#maxMs) this.#attempt++;
    return base * (1 - this.#jitter * this.#random());
  }

  /** Starts the sequence over from `initialMs`. */
  reset(): void {
    this.#attempt = 0;
  }
}
