/**
 * The frame index: every video frame's presentation timestamp, in display order, in the video
 * stream's time base, plus the frames a demuxer can seek to. It is what makes extraction exact:
 * a shard [start, end) selects the frames whose pts lie in [pts(start), pts(end)).
 *
 * Timestamps are stored as runs `[firstPts, delta, count]` (pts-runs.ts; frame k of a run has pts
 * `firstPts + k * delta`), so a constant-frame-rate film of 10^5 frames is one run and the probe
 * document stays small; a variable-frame-rate source costs one run per change of frame duration.
 */
import { z } from 'zod';
import { ptsRuns } from './pts-runs.ts';

export const frameIndexSchema = z.object({
  /** `[firstPts, delta, count]` runs covering all frames in display order. */
  ptsRuns: z.array(z.tuple([z.number().int(), z.number().int(), z.number().int().positive()])),
  /** The pts just after the last frame (its pts plus its duration): the end of the video. */
  endPts: z.number().int(),
  /** Display-order indices of frames the demuxer marks as keyframes (seek points), ascending. */
  keyframes: z.array(z.number().int().nonnegative()),
});
export type FrameIndex = z.infer<typeof frameIndexSchema>;

/**
 * Builds an index from frame timestamps (any order), the timestamps of keyframes and the duration
 * of the last frame. Throws a RangeError for duplicate timestamps: two frames with one pts cannot be
 * told apart by a timestamp selection (the caller turns it into an UnsupportedInput error).
 */
export function buildFrameIndex(pts: readonly number[], keyPts: ReadonlySet<number>, lastDuration: number): FrameIndex {
  const sorted = [...pts].sort((a, b) => a - b);
  const keyframes: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i] as number;
    if (keyPts.has(p)) keyframes.push(i);
    const prev = sorted[i - 1];
    if (prev !== undefined && prev === p) throw new RangeError(`frames ${i - 1} and ${i} share timestamp ${p}`);
  }
  const last = sorted[sorted.length - 1] ?? 0;
  if (keyframes[0] !== 0) keyframes.unshift(0); // decoding from the very start is always possible
  return { ptsRuns: ptsRuns(sorted), endPts: last + Math.max(1, lastDuration), keyframes };
}

/** Number of frames in the index. */
export function frameCount(index: FrameIndex): number {
  return index.ptsRuns.reduce((n, r) => n + r[2], 0);
}

/** Pts of frame `i` (0 <= i <= count); `i === count` gives {@link FrameIndex.endPts}. */
export function ptsAt(index: FrameIndex, i: number): number {
  let base = 0;
  for (const [first, delta, count] of index.ptsRuns) {
    if (i < base + count) return first + (i - base) * delta;
    base += count;
  }
  if (i === base) return index.endPts;
  throw new RangeError(`frame ${i} is outside 0..${base}`);
}

/** Pts of frames [start, end), in display order. */
export function ptsList(index: FrameIndex, start: number, end: number): number[] {
  const out: number[] = [];
  let base = 0;
  for (const [first, delta, count] of index.ptsRuns) {
    for (let k = Math.max(0, start - base); k < count && base + k < end; k++) out.push(first + k * delta);
    base += count;
    if (base >= end) break;
  }
  return out;
}

/** Index of the last keyframe at or before frame `i` (0 when none). */
export function keyframeAtOrBefore(index: FrameIndex, i: number): number {
  let best = 0;
  for (const k of index.keyframes) {
    if (k > i) break;
    best = k;
  }
  return best;
}

/** The keyframe before `k` (0 when `k` is the first). */
export function previousKeyframe(index: FrameIndex, k: number): number {
  return keyframeAtOrBefore(index, k - 1 < 0 ? 0 : k - 1);
}

/**
 * True when frame durations vary. Containers with a coarse time base (Matroska's 1 ms) jitter by a
 * tick around the true constant duration (41, 42, 42, 41 ms at 23.976 fps), so a delta counts as
 * different only when it is off the median by more than one tick and 1%.
 */
export function isVariableFrameRate(index: FrameIndex): boolean {
  const deltas: number[] = [];
  let prev: number | undefined;
  for (const [first, delta, count] of index.ptsRuns) {
    if (prev !== undefined) deltas.push(first - prev);
    if (count > 1) deltas.push(delta);
    prev = first + delta * (count - 1);
  }
  if (deltas.length < 2) return false;
  const sorted = [...deltas].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] as number;
  const tolerance = Math.max(1, median * 0.01);
  return deltas.some((d) => Math.abs(d - median) > tolerance);
}
