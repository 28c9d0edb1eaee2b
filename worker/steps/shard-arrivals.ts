/**
 * Waiting for shards that are still being made (the assemble step's `waitForShards`): every
 * `pollMs` the lowest shards not yet done (up to 64) are checked (their manifests and media sizes, a few at once),
 * and each one found done is staged (downloaded or linked, its bytes checked), a few at a time in
 * plan order. Each shard's `ready()` resolves with its staged file; the assembly takes them in
 * order as they come (media/assemble.ts `arriving`).
 *
 * A check that fails for a storage reason (network, throttling) is tried again on the next round;
 * after `maxFailedRounds` rounds in a row that all failed, or at once for a permanent error (wrong
 * credentials, a missing bucket), every shard still waited for rejects with it. A staging failure
 * (corrupt bytes) rejects that shard. `stop()` ends the polling (a shard queued for staging then
 * rejects: none is left pending that the assembly may be waiting for); `settled()` resolves once nothing
 * is being staged any more, so the caller can remove the folder the shards are staged into; an
 * aborted `signal` rejects every shard still waited for, which stops the assembly.
 */
import type { Logger } from 'pino';
import { mapBounded } from '../bounded-map.ts';
import { Semaphore } from '../engine/semaphore.ts';
import { UpscaleError } from '../errors.ts';
import type { ArrivingShard, AssembleShard } from '../media/assemble.ts';
import type { ShardRange } from '../shard-plan.ts';
import type { ShardCheck } from '../storage/shard-manifest.ts';
import type { ShardManifest } from '../storage/shard-manifest.ts';

export interface ArrivalHooks {
  /** Whether the shard is done (checkShard without the checksum: staging checks the bytes). */
  check(range: ShardRange): Promise<ShardCheck>;
  /** Stages a done shard: a local file whose bytes match its manifest. */
  stage(manifest: ShardManifest, media: string): Promise<AssembleShard>;
}

/** Shards checked per round at most (the lowest still waited for). */
export const MAX_CHECKS_PER_ROUND = 64;

export interface ArrivalOptions {
  pollMs: number;
  /** Shards checked at once per round. */
  checkConcurrency: number;
  /** Shards checked per round at most, the lowest still waited for (default {@link MAX_CHECKS_PER_ROUND}). */
  maxChecksPerRound?: number;
  /** Shards staged at once. */
  stageConcurrency: number;
  /** Rounds in a row whose every check failed before giving up (default 10). */
  maxFailedRounds?: number;
  /** How often a still-waiting line is logged (default 60 s). */
  reportMs?: number;
  log?: Logger;
  /** Ends the wait: every shard still waited for rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ShardArrivals {
  /** One per range, in the order given. */
  arriving: ArrivingShard[];
  stop(): void;
  /** Looks for shards now instead of at the next round (a shard was just committed). */
  lookNow(): void;
  settled(): Promise<void>;
}

interface Slot {
  range: ShardRange;
  promise: Promise<AssembleShard>;
  resolve(shard: AssembleShard): void;
  reject(error: unknown): void;
  state: 'waiting' | 'staging' | 'done';
}

/** Starts waiting for `ranges`; see the file comment. */
export function awaitShards(ranges: readonly ShardRange[], hooks: ArrivalHooks, options: ArrivalOptions): ShardArrivals {
  const slots: Slot[] = ranges.map((range) => {
    let resolve!: (shard: AssembleShard) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<AssembleShard>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Awaited by the assembly in order, maybe never (it stopped): never an unhandled rejection.
    promise.catch(() => undefined);
    return { range, promise, resolve, reject, state: 'waiting' };
  });
  const staging = new Semaphore(options.stageConcurrency);
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  // Why the wait ended: what a shard queued for staging at that moment rejects with.
  let stopReason: unknown = new Error('the wait for shards was stopped');
  let wake: (() => void) | undefined;
  let nudged = false;

  const stageOne = (slot: Slot, manifest: ShardManifest, media: string): void => {
    slot.state = 'staging';
    const task = (async () => {
      await staging.acquire();
      try {
        // Never left pending: the assembly may be waiting for this very shard.
        if (stopped) {
          slot.reject(stopReason);
          return;
        }
        slot.resolve(await hooks.stage(manifest, media));
        slot.state = 'done';
        options.log?.debug({ shard: slot.range.index }, 'Staged shard');
      } catch (error) {
        slot.reject(error);
      } finally {
        staging.release();
      }
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  const failWaiting = (error: unknown): void => {
    for (const slot of slots) if (slot.state === 'waiting') slot.reject(error);
    if (!stopped) stopReason = error;
    stopped = true;
  };

  const poll = async (): Promise<void> => {
    const began = Date.now();
    let lastReport = began;
    let failedRounds = 0;
    for (;;) {
      // The lowest ones only: the assembly takes shards in plan order, so one far ahead gains little
      // from being staged early, and a 1,000-shard wait on S3 would be 2,000 requests a round.
      const waiting = slots.filter((s) => s.state === 'waiting').slice(0, options.maxChecksPerRound ?? MAX_CHECKS_PER_ROUND);
      if (waiting.length === 0 || stopped) return;
      let failures = 0;
      let lastError: unknown;
      // Plan order: the assembly needs the lowest shards first, so they are staged first.
      const found = await mapBounded(
        waiting,
        async (slot) => {
          try {
            return await hooks.check(slot.range);
          } catch (error) {
            if (error instanceof UpscaleError && error.permanent) throw error;
            failures++;
            lastError = error;
            return undefined;
          }
        },
        options.checkConcurrency,
      ).catch((error: unknown) => {
        failWaiting(error);
        return [];
      });
      if (stopped) return;
      for (const [i, check] of found.entries()) {
        const slot = waiting[i];
        if (slot !== undefined && check?.done === true) stageOne(slot, check.manifest, check.media);
      }
      failedRounds = failures === waiting.length ? failedRounds + 1 : 0;
      if (failedRounds >= (options.maxFailedRounds ?? 10)) {
        failWaiting(lastError);
        return;
      }
      if (failures > 0) options.log?.warn({ err: lastError, failures }, 'Could not check some shards; trying again');
      const left = slots.filter((s) => s.state === 'waiting');
      if (left.length === 0) return;
      if (Date.now() - lastReport >= (options.reportMs ?? 60_000)) {
        lastReport = Date.now();
        options.log?.info({ waiting: left.length, shards: slots.length, first: left[0]?.range.index, seconds: Math.round((Date.now() - began) / 1000) }, 'Waiting for shards');
      }
      // A nudge during the round (a shard committed while it checked) is a round at once.
      if (nudged) {
        nudged = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      nudged = false;
    }
  };
  const abort = (): void => {
    failWaiting(options.signal?.reason ?? new Error('aborted'));
    wake?.();
  };
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  const polling = poll().finally(() => options.signal?.removeEventListener('abort', abort));

  return {
    arriving: slots.map((slot) => ({ start: slot.range.start, end: slot.range.end, ready: () => slot.promise })),
    stop: () => {
      stopped = true;
      wake?.();
    },
    lookNow: () => {
      nudged = true;
      wake?.();
    },
    settled: async () => {
      await polling;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
