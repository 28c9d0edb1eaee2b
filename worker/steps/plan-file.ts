/**
 * `plan.json`: the job's shard plan, written once by the probe step beside `probe.json`.
 *
 * The plan is fixed once written: shard manifests name their frame ranges, so a rerun that planned
 * differently would redo finished shards. A rerun therefore reuses an existing plan whose frame count
 * matches the probe, whatever its planning options say.
 */
import { z } from 'zod';
import { planProblem, type ShardRange } from '../shard-plan.ts';

export const planFileSchema = z.object({
  version: z.literal(1),
  /** Frames of the whole source (the probe's count), segment or not. */
  frameCount: z.int().min(1),
  /**
   * `[first, end)`: the source frames a segment job upscales (`--start`/`--duration`, see
   * media/segment.ts). Absent: the whole source.
   */
  segment: z.tuple([z.int().min(0), z.int().min(1)]).optional(),
  /** `[start, end)` per shard, in order, covering the segment (default `0..frameCount-1`) exactly. */
  shards: z.array(z.tuple([z.int().min(0), z.int().min(1)])).min(1),
});
export type PlanFile = z.infer<typeof planFileSchema>;

/**
 * The plan file for shards planned over `0..n-1` of a span of `n` frames: with a `segment` the
 * shards move to start at its first frame (planShards plans frame counts, not positions).
 */
export function toPlanFile(frameCount: number, shards: readonly ShardRange[], segment?: { first: number; end: number }): PlanFile {
  const offset = segment?.first ?? 0;
  const file: PlanFile = { version: 1, frameCount, shards: shards.map((s) => [s.start + offset, s.end + offset] as [number, number]) };
  if (segment !== undefined && (segment.first !== 0 || segment.end !== frameCount)) file.segment = [segment.first, segment.end];
  return file;
}

/** Frames the plan upscales: `[first, end)` of the source. */
export function planSpan(plan: PlanFile): { first: number; end: number } {
  const [first, end] = plan.segment ?? [0, plan.frameCount];
  return { first, end };
}

export function shardRanges(plan: PlanFile): ShardRange[] {
  return plan.shards.map(([start, end], index) => ({ index, start, end }));
}

/** True when the ranges are contiguous, in order and cover exactly the plan's span, inside the source. */
export function planCoversExactly(plan: PlanFile): boolean {
  const span = planSpan(plan);
  if (span.end > plan.frameCount || span.end <= span.first) return false;
  return planProblem(shardRanges(plan), span.end, span.first) === undefined;
}
