/**
 * A keyed work queue with client-go's guarantees (`util/workqueue/queue.go`, `delaying_queue.go`,
 * `rate_limiting_queue.go`), for `namespace/name` keys:
 *
 * - repeated adds of a waiting key coalesce into one (the `dirty` set);
 * - a key is never handed to two workers at once (the `processing` set);
 * - a key added while it is being processed is handed out again after `done`;
 * - `addAfter` keeps the earliest deadline per key; `addRateLimited` asks a {@link RateLimiter}.
 *
 * One deliberate difference: after `shutDown()` no more keys are handed out, even if some are
 * still waiting (client-go hands those out until the queue is empty). A level-triggered
 * controller loses nothing by it: the next start lists everything again.
 */
import { defaultControllerRateLimiter, type Clock, type RateLimiter } from './rate-limiter.ts';

/**
 * What the queue reports, in client-go's `queueMetrics` terms; `metrics.ts` maps it onto the
 * controller-runtime Prometheus names. Durations are in seconds.
 */
export interface QueueMetrics {
  /** A key became waiting (not counted when it was already waiting). */
  add(): void;
  /** The number of waiting keys, after every change. */
  depth(waiting: number): void;
  /** How long a key waited between becoming waiting and being handed out. */
  queueDuration(seconds: number): void;
  /** How long a worker held a key, from `get` to `done`. */
  workDuration(seconds: number): void;
  /** A delayed or rate-limited add (client-go counts every `AddAfter` as a retry). */
  retry(): void;
}

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** Delays of `addRateLimited`; default client-go's default controller rate limiter. */
  rateLimiter?: RateLimiter;
  metrics?: QueueMetrics;
  /** Millisecond clock for the durations reported to `metrics`; default `performance.now`. */
  now?: Clock;
}

interface Delayed {
  at: number;
  timer: NodeJS.Timeout;
}

/** A keyed work queue; see the module comment for its guarantees. */
export class WorkQueue {
  /** Waiting keys in FIFO order; each is also in `#dirty`. */
  readonly #queue: string[] = [];
  /** Keys that need processing: waiting, or re-added while being processed. */
  readonly #dirty = new Set<string>();
  /** Keys handed to a worker and not yet `done`. */
  readonly #processing = new Set<string>();
  readonly #delayed = new Map<string, Delayed>();
  /** Workers blocked in `get()`, oldest first. */
  readonly #getters: ((key: string | undefined) => void)[] = [];
  /** When each dirty key became dirty, and when each processing key was handed out. */
  readonly #addedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();
  readonly #limiter: RateLimiter;
  readonly #metrics: QueueMetrics | undefined;
  readonly #now: Clock;
  #shuttingDown = false;
  /** Callers of shutDownWithDrain waiting for the keys in flight. */
  readonly #drainWaiters: (() => void)[] = [];

  constructor(opts: WorkQueueOptions = {}) {
    this.#limiter = opts.rateLimiter ?? defaultControllerRateLimiter();
    this.#metrics = opts.metrics;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Marks `key` as needing processing. Ignored after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    this.#addedAt.set(key, this.#now());
    this.#metrics?.add();
    this.#metrics?.depth(this.#dirty.size);
    // A key being processed is queued again by done(), never handed to a second worker now.
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    this.#dispatch();
  }

  /**
   * Adds `key` after `delayMs`. While a delayed add of the key is pending, only an earlier
   * deadline replaces it, so a later requeue can never postpone an earlier one.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    this.#metrics?.retry();
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    this.#schedule(key, delayMs);
  }

  /** A delayed add of `key`; an already pending earlier one is kept. */
  #schedule(key: string, delayMs: number): void {
    const at = this.#now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      clearTimeout(pending.timer);
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    // A pending requeue alone must not keep the process alive.
    timer.unref();
    this.#delayed.set(key, { at, timer });
  }

  /**
   * Adds `key` at most `windowMs` from now, folding every call in between into that one add: a burst
   * of child events (1,000 pods changing) costs one reconcile per window, not one per event. The
   * first call sets the deadline; later ones never postpone it. Not counted as a retry.
   */
  addBatched(key: string, windowMs: number): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    if (windowMs <= 0) {
      this.add(key);
      return;
    }
    this.#schedule(key, windowMs);
  }

  /** Adds `key` after the rate limiter's delay for it (one more failure). */
  addRateLimited(key: string): void {
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Clears the failure count of `key` (call it when `key` was processed successfully). */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  /** How many failures of `key` the rate limiter is tracking. */
  numRequeues(key: string): number {
    return this.#limiter.retries(key);
  }

  /**
   * The next key to process, waiting until there is one. Resolves undefined once the queue is
   * shut down. The caller must call `done(key)` when finished with it.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#getters.push(resolve);
      this.#dispatch();
    });
  }

  /** Ends the processing of `key`; hands it out again if it was added meanwhile. */
  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    const started = this.#startedAt.get(key);
    this.#startedAt.delete(key);
    if (started !== undefined) this.#metrics?.workDuration((this.#now() - started) / 1000);
    if (this.#dirty.has(key) && !this.#shuttingDown) {
      this.#queue.push(key);
      this.#dispatch();
    }
    if (this.#processing.size === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /** The number of keys waiting to be handed out (not counting keys being processed). */
  len(): number {
    return this.#queue.length;
  }

  /** Whether `shutDown` or `shutDownWithDrain` was called. */
  shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Stops the queue: adds are ignored, pending delayed adds dropped, `get()` resolves undefined. */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const d of this.#delayed.values()) clearTimeout(d.timer);
    this.#delayed.clear();
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
  }

  /** Shuts down, then resolves once every key handed out has been `done`. */
  async shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return;
    await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Hands waiting keys to waiting workers, oldest first on both sides. */
  #dispatch(): void {
    while (this.#queue.length > 0 && this.#getters.length > 0) {
      const key = this.#queue.shift() as string;
      const resolve = this.#getters.shift() as (key: string | undefined) => void;
      // State changes now, not when the promise settles, so no other get() can take this key.
      this.#dirty.delete(key);
      this.#processing.add(key);
      const now = this.#now();
      const added = this.#addedAt.get(key);
      this.#addedAt.delete(key);
      this.#startedAt.set(key, now);
      this.#metrics?.depth(this.#dirty.size);
      if (added !== undefined) this.#metrics?.queueDuration((now - added) / 1000);
      resolve(key);
    }
  }
}
