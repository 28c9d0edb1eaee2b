/**
 * `plan.json`: the job's shard plan, written once by the probe step beside `probe.json`.
 *
 * The plan is fixed once written: shard manifests name their frame ranges, so a rerun that planned
 * differently would redo finished shards. A rerun therefore reuses an existing plan whose frame count
 * matches the probe, whatever its planning options say.
 */
import { z } from 'zod';
import type { ShardRange } from '../shard-plan.ts';

export const planFileSchema = z.object({
  version: z.literal(1),
  frameCount: z.int().min(1),
  /** `[start, end)` per shard, in order, covering `0..frameCount-1` exactly. */
  shards: z.array(z.tuple([z.int().min(0), z.int().min(1)])).min(1),
});
export type PlanFile = z.infer<typeof planFileSchema>;

export function toPlanFile(frameCount: number, shards: readonly ShardRange[]): PlanFile {
  return { version: 1, frameCount, shards: shards.map((s) => [s.start, s.end] as [number, number]) };
}

export function shardRanges(plan: PlanFile): ShardRange[] {
  return plan.shards.map(([start, end], index) => ({ index, start, end }));
}

/** True when the ranges are contiguous, in order and cover exactly `0..frameCount-1`. */
export function planCoversExactly(plan: PlanFile): boolean {
  let next = 0;
  for (const [start, end] of plan.shards) {
    if (start !== next || end <= start) return false;
    next = end;
  }
  return next === plan.frameCount;
}
