/**
 * The probe step's result: what the operator learns about the plan from the probe pod's termination
 * message, without storage credentials. Kubernetes keeps at most 4096 bytes of that message (and
 * `upscale` replaces a longer result by a bare error record), so the result is sized here: the
 * run-length shard sizes are dropped when they would not fit, and an unusually long input name is
 * shortened. Everything else is small and bounded.
 */
import { planSpan, type PlanFile } from './plan-file.ts';

/** Kubernetes' limit on a termination message, which the result is written to (bin/result.ts). */
export const TERMINATION_MESSAGE_BYTES = 4096;

/** Longest `summary.input` kept in the result; the full name is in `probe.json`. */
const MAX_INPUT_CHARS = 1024;

export interface ProbeStepResult {
  step: 'probe';
  jobId: string;
  /** Number of shards: the shard Job's `completions`. */
  shards: number;
  /** Frames to upscale, all shards together (the plan's segment, else the whole source). */
  frames: number;
  /**
   * Shard sizes in frames, in plan order, run-length encoded as `[frames, count]` pairs: `[[300, 12],
   * [150, 1]]` is twelve shards of 300 frames then one of 150. With a Job's `completedIndexes` a
   * controller adds up the frames done. Absent when the encoding would not fit the termination
   * message (then only `frames` and `shards` are known: about `frames / shards` each).
   */
  shardFrames?: [number, number][];
  /** True when an earlier run's probe and plan were reused. */
  reused: boolean;
  summary: Record<string, string | number | boolean>;
}

/** `[frames, count]` runs of the plan's shard sizes, in order. */
export function shardFrameRuns(plan: PlanFile): [number, number][] {
  const runs: [number, number][] = [];
  for (const [start, end] of plan.shards) {
    const frames = end - start;
    const last = runs.at(-1);
    if (last !== undefined && last[0] === frames) last[1]++;
    else runs.push([frames, 1]);
  }
  return runs;
}

/** The bytes `upscale` writes for `result` (it adds `ok: true`). */
export function resultBytes(result: ProbeStepResult): number {
  return Buffer.byteLength(JSON.stringify({ ok: true, ...result }));
}

/** The probe step's result for `plan`, at most {@link TERMINATION_MESSAGE_BYTES} as written. */
export function probeStepResult(
  jobId: string,
  plan: PlanFile,
  reused: boolean,
  summary: Record<string, string | number | boolean>,
): ProbeStepResult {
  const input = summary['input'];
  const shortened =
    typeof input === 'string' && input.length > MAX_INPUT_CHARS ? { ...summary, input: `${input.slice(0, MAX_INPUT_CHARS)}...` } : summary;
  const base = { step: 'probe' as const, jobId, shards: plan.shards.length, frames: planFrames(plan) };
  const full: ProbeStepResult = { ...base, shardFrames: shardFrameRuns(plan), reused, summary: shortened };
  if (resultBytes(full) <= TERMINATION_MESSAGE_BYTES) return full;
  return { ...base, reused, summary: shortened };
}

/** Frames the plan upscales: the segment's, else the whole source's. */
function planFrames(plan: PlanFile): number {
  const span = planSpan(plan);
  return span.end - span.first;
}
