/**
 * The shard plan: a pure function from a frame count and a few numbers to frame ranges
 * `[start, end)` that cover `0..frameCount-1` exactly once, in order. Shared by `upscale run` and
 * the operator; frame indices (never seconds) are the unit, because only they are exact.
 *
 * Default sizing rule (every term can be overridden):
 * - Aim for `shardsPerWorker` (default 4) shards per worker. Workers take shards as they finish, so
 *   with several each the last wave is small: a slow node or an unlucky long shard delays the end by
 *   about one shard (~1/4 of a worker's share), not by a whole share.
 * - But never make a shard so short that its fixed start-up cost (process start, model load, seek
 *   and pre-roll decode from the previous keyframe, encoder start, upload) exceeds
 *   `maxStartupFraction` (default 10%) of its processing time:
 *   `minFrames = startupSeconds * framesPerSecond / maxStartupFraction`.
 *   When `frameCount / (workers * shardsPerWorker)` is below that, use fewer, longer shards.
 * - The count is a whole number of waves, `workers x k` with k from 1 to `shardsPerWorker`: equal
 *   shards on equal workers finish wave by wave, so 20 shards on 16 workers take two shard-times
 *   where 16 take one and a bit.
 * - When that rule would leave workers idle (fewer than `workers` shards), the first wave may fill
 *   more of them with shorter shards, down to start-up at most `fillStartupFraction` (default 0.3)
 *   of a shard: an idle worker costs the job more time than the start-up of one more shard, which
 *   runs beside the others (64 GPUs on 533 s of work and 1.2 s start-up: 64 shards, not 44).
 * - With two waves or more, the last wave's shards are half as long as the others (the count stays
 *   `workers x k`): the job ends when the slowest shard of the last wave does, so halving them
 *   halves what a straggler adds, for no more start-ups. Only while a half shard keeps start-up
 *   within `fillStartupFraction`; otherwise all are equal.
 * - Frames are spread evenly within each length: lengths differ by at most one frame, the longer
 *   ones first, so the plan's sizes are a few runs (at most four).
 * Overrides: `shardFrames` fixes the length (the last shard takes the remainder); `shardCount` fixes
 * the count (lengths even). They are mutually exclusive.
 */

/** One shard: frames `[start, end)` of the source, `index` its zero-based position in the plan. */
export interface ShardRange {
  index: number;
  start: number;
  end: number;
}

export interface ShardPlanOptions {
  /** Exact number of frames of the source (the probe's `video.frameCount`). */
  frameCount: number;
  /** Workers that will process shards in parallel (>= 1). */
  workers?: number;
  /** Fixed shard length in frames (overrides the default sizing). */
  shardFrames?: number;
  /** Fixed number of shards (overrides the default sizing). */
  shardCount?: number;
  /** Target shards per worker for load balancing (default 4). */
  shardsPerWorker?: number;
  /** Fixed cost of starting one shard, seconds (default 10). */
  startupSeconds?: number;
  /** Expected processing speed of one worker, frames per second (default 10). */
  framesPerSecond?: number;
  /** Largest acceptable share of start-up in a shard's time (default 0.1). */
  maxStartupFraction?: number;
  /** The same, for shards that fill otherwise idle workers in the first wave (default 0.3). */
  fillStartupFraction?: number;
}

export const SHARD_PLAN_DEFAULTS = {
  workers: 1,
  shardsPerWorker: 4,
  startupSeconds: 10,
  framesPerSecond: 10,
  maxStartupFraction: 0.1,
  fillStartupFraction: 0.3,
} as const;

/** Plans shards; throws RangeError for a non-positive frame count or invalid overrides. */
export function planShards(opts: ShardPlanOptions): ShardRange[] {
  const n = opts.frameCount;
  positiveInt('frameCount', n);
  if (opts.shardFrames !== undefined && opts.shardCount !== undefined) {
    throw new RangeError('shardFrames and shardCount are mutually exclusive');
  }
  if (opts.shardFrames !== undefined) {
    positiveInt('shardFrames', opts.shardFrames);
    const len = opts.shardFrames;
    return ranges(Math.ceil(n / len), (i) => Math.min(n, i * len));
  }
  if (opts.shardCount !== undefined) return fromLengths(spread(n, checkedCount(opts.shardCount, n)));
  const { count, waves, fillMinFrames } = sizing(opts);
  const workers = count / waves;
  // The last wave takes half a wave's frames: n = wave x (waves - 1/2), the last wave's share 1/(2 waves - 1).
  const lastWave = Math.round(n / (2 * waves - 1));
  if (waves < 2 || lastWave < workers * fillMinFrames) return fromLengths(spread(n, count));
  return fromLengths([...spread(n - lastWave, count - workers), ...spread(lastWave, workers)]);
}

/** The default number of shards (see the file comment), between 1 and `frameCount`. */
export function defaultShardCount(opts: ShardPlanOptions): number {
  return sizing(opts).count;
}

/**
 * The default sizing: the shard count, in how many waves of equal count it runs (1 when the count
 * is not a multiple of the workers), and the shortest shard `fillStartupFraction` allows.
 */
function sizing(opts: ShardPlanOptions): { count: number; waves: number; fillMinFrames: number } {
  const d = { ...SHARD_PLAN_DEFAULTS, ...definedOnly(opts) };
  const n = opts.frameCount;
  positiveInt('frameCount', n);
  positiveInt('workers', d.workers);
  positiveInt('shardsPerWorker', d.shardsPerWorker);
  positive('startupSeconds', d.startupSeconds, true);
  positive('framesPerSecond', d.framesPerSecond, false);
  for (const [name, f] of [['maxStartupFraction', d.maxStartupFraction], ['fillStartupFraction', d.fillStartupFraction]] as const) {
    if (!(f > 0 && f <= 1)) throw new RangeError(`${name} must be in (0, 1]`);
  }
  // The shortest shard whose start-up is at most `fraction` of it.
  const minFrames = (fraction: number): number => Math.max(1, Math.ceil((d.startupSeconds * d.framesPerSecond) / fraction));
  const fillMinFrames = minFrames(d.fillStartupFraction);
  const affordable = (shortest: number): number => Math.max(1, Math.floor(n / shortest));
  const full = affordable(minFrames(d.maxStartupFraction));
  if (full < d.workers) return { count: Math.min(n, d.workers, Math.max(full, affordable(fillMinFrames))), waves: 1, fillMinFrames };
  const waves = Math.min(d.shardsPerWorker, Math.floor(full / d.workers));
  const count = Math.min(n, d.workers * waves);
  return { count, waves: count === d.workers * waves ? waves : 1, fillMinFrames };
}

/**
 * Checks that shards are in order and cover frames `first..end-1` exactly (no gap, no overlap, none
 * empty); `first` is 0 for a whole source, a segment's first frame otherwise. Returns a description
 * of the first problem, or undefined when the plan is sound. The one coverage rule: assembly and the
 * plan file (steps/plan-file.ts) both use it.
 */
export function planProblem(shards: readonly Pick<ShardRange, 'start' | 'end'>[], end: number, first = 0): string | undefined {
  let next = first;
  for (const [i, s] of shards.entries()) {
    if (s.start !== next) return `shard ${i} starts at frame ${s.start}, expected ${next}`;
    if (!(s.end > s.start)) return `shard ${i} is empty or reversed: [${s.start},${s.end})`;
    next = s.end;
  }
  if (next !== end) return first === 0 ? `shards end at frame ${next}, the source has ${end} frames` : `shards end at frame ${next}, the segment ends at ${end}`;
  return undefined;
}

function ranges(count: number, boundary: (i: number) => number): ShardRange[] {
  const out: ShardRange[] = [];
  for (let i = 0; i < count; i++) out.push({ index: i, start: boundary(i), end: boundary(i + 1) });
  return out;
}

/** Consecutive shards of these lengths from frame 0. */
function fromLengths(lengths: readonly number[]): ShardRange[] {
  const starts = [0];
  for (const length of lengths) starts.push((starts.at(-1) ?? 0) + length);
  return ranges(lengths.length, (i) => starts[i] ?? 0);
}

/** `frames` in `count` lengths that differ by at most one, the longer first. */
function spread(frames: number, count: number): number[] {
  const base = Math.floor(frames / count);
  return Array.from({ length: count }, (_, i) => base + (i < frames % count ? 1 : 0));
}

function checkedCount(count: number, n: number): number {
  positiveInt('shardCount', count);
  if (count > n) throw new RangeError(`shardCount ${count} exceeds the ${n} frames of the source`);
  return count;
}

function positiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}

function positive(name: string, v: number, zeroOk: boolean): void {
  if (!Number.isFinite(v) || v < 0 || (!zeroOk && v === 0)) throw new RangeError(`${name} must be ${zeroOk ? 'non-negative' : 'positive'}, got ${v}`);
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
