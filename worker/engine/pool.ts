/**
 * Dynamic dispatch of batches to sessions. Each image to run (a tile, or a whole frame) is a work
 * item in one queue; whenever a session can take work, the next batch is cut from the queue and
 * sent to the least busy session. So a fast GPU takes more batches than a slow one (no round robin,
 * no lockstep), and with `prefetch` 2 a session's next batch is already packed and waiting in its
 * thread while the current one runs. The queue only holds items of admitted frames, and the engine
 * admits a bounded number of frames, so memory stays bounded.
 */
import type { Logger } from 'pino';
import { selectBatch } from './batcher.ts';
import type { BatchCandidate } from './batcher.ts';
import { isOutOfMemory, onOutOfMemory } from './memory-policy.ts';
import type { SessionClient } from './session-client.ts';

/** One image to run through the model. */
export interface WorkItem extends BatchCandidate {
  readonly width: number;
  readonly height: number;
  /** [height, width] fed to the appended Resize, when the graph has it. */
  readonly outputSize: readonly [number, number] | undefined;
  /** Bytes of this image's output (height x width x bytes per pixel of the output). */
  readonly outputBytes: number;
  /** True once the frame gave up on this item (another item failed); it is then dropped. */
  isCancelled(): boolean;
  /** Writes the item's input (packed RGB, width x height) into `target` at `offset`. */
  fill(target: Uint8Array, offset: number): void;
  deliver(output: Uint8Array, offset: number, device: string): void;
  /** `outOfMemory` is true when the item ran alone and the device ran out of memory. */
  fail(error: Error, device: string, outOfMemory: boolean): void;
}

export interface PoolLimits {
  maxBatch: number;
  readonly maxPixels: number;
  /** Batches a session may hold at once (running + waiting in its thread). */
  readonly prefetch: number;
  /** Input bytes per pixel: 3 for uint8 models, 6 for uint16 ones (default 3). */
  readonly bytesPerPixel?: number;
}

/** Per-session counters, for logs and the benchmark. */
export interface SessionStats {
  readonly device: string;
  batches: number;
  images: number;
  runMs: number;
}

const LOOKAHEAD = 64;

export class SessionPool {
  readonly #sessions: readonly SessionClient[];
  readonly #limits: PoolLimits;
  readonly #log: Logger;
  readonly #queue: WorkItem[] = [];
  readonly stats: readonly SessionStats[];

  constructor(sessions: readonly SessionClient[], limits: PoolLimits, log: Logger) {
    this.#sessions = sessions;
    this.#limits = limits;
    this.#log = log;
    this.stats = sessions.map((s) => ({ device: s.label, batches: 0, images: 0, runMs: 0 }));
  }

  get maxBatch(): number {
    return this.#limits.maxBatch;
  }

  /** Queues items (in order) and starts whatever sessions can take. */
  submit(items: readonly WorkItem[]): void {
    this.#queue.push(...items);
    this.#pump();
  }

  /** Closes every session after its outstanding batches. */
  async close(): Promise<void> {
    await Promise.all(this.#sessions.map((s) => s.close()));
  }

  #pickSession(): number {
    let best = -1;
    for (let i = 0; i < this.#sessions.length; i++) {
      const s = this.#sessions[i];
      if (s === undefined || s.failure !== undefined || s.inFlight >= this.#limits.prefetch) continue;
      if (best < 0 || s.inFlight < (this.#sessions[best]?.inFlight ?? Infinity)) best = i;
    }
    return best;
  }

  #pump(): void {
    for (;;) {
      while (this.#queue[0]?.isCancelled() === true) this.#queue.shift();
      if (this.#queue.length === 0) return;
      if (this.#sessions.every((s) => s.failure !== undefined)) {
        const error = new Error(`every inference session has failed (${this.#sessions.map((s) => s.failure?.message).join('; ')})`);
        for (const item of this.#queue.splice(0)) item.fail(error, 'none', false);
        return;
      }
      const index = this.#pickSession();
      if (index < 0) return;
      const chosen = selectBatch(this.#queue, { maxBatch: this.#limits.maxBatch, maxPixels: this.#limits.maxPixels, lookahead: LOOKAHEAD });
      const items = chosen.map((i) => this.#queue[i]).filter((item): item is WorkItem => item !== undefined);
      for (let k = chosen.length - 1; k >= 0; k--) this.#queue.splice(chosen[k] ?? 0, 1);
      this.#dispatch(index, items);
    }
  }

  #dispatch(index: number, items: readonly WorkItem[]): void {
    const session = this.#sessions[index];
    const stats = this.stats[index];
    const first = items[0];
    if (session === undefined || stats === undefined || first === undefined) return;
    const inputBytes = first.width * first.height * (this.#limits.bytesPerPixel ?? 3);
    const input = new Uint8Array(items.length * inputBytes);
    items.forEach((item, k) => item.fill(input, k * inputBytes));
    session
      .run(input, [items.length, first.height, first.width, 3], first.outputSize)
      .then(
        (output) => {
          stats.batches++;
          stats.images += items.length;
          stats.runMs += output.runMs;
          if (output.data.byteLength !== items.length * first.outputBytes) {
            const error = new Error(`the model returned ${output.dims.join('x')} (${output.data.byteLength} bytes) for ${items.length} image(s) of ${first.width}x${first.height}, expected ${first.outputBytes} bytes each`);
            for (const item of items) item.fail(error, session.label, false);
            return;
          }
          items.forEach((item, k) => {
            if (!item.isCancelled()) item.deliver(output.data, k * first.outputBytes, session.label);
          });
        },
        (error: Error) => this.#onRunFailed(session, items, error),
      )
      .finally(() => this.#pump());
  }

  #onRunFailed(session: SessionClient, items: readonly WorkItem[], error: Error): void {
    const outOfMemory = isOutOfMemory(error.message);
    if (outOfMemory && items.length > 1) {
      const action = onOutOfMemory(items.length, 0, 0);
      if (action.action === 'shrink-batch') {
        this.#limits.maxBatch = Math.min(this.#limits.maxBatch, action.maxBatch);
        this.#log.warn({ device: session.label, images: items.length, maxBatch: this.#limits.maxBatch, err: error.message }, 'Reduced batch size after running out of device memory');
        // The same items go back to the head of the queue, in their order: nothing lost, nothing reordered.
        this.#queue.unshift(...items);
        return;
      }
    }
    if (session.failure !== undefined) this.#log.error({ device: session.label, err: session.failure.message }, 'Lost inference session');
    for (const item of items) item.fail(error, session.label, outOfMemory);
  }
}
