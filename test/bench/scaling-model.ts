/**
 * A model of how one job's wall time scales with GPUs (pure; inputs are measured figures):
 *
 *   T(G) = probe + schedule(G) + shards(G) + assemble
 *   shards(G) = the plan's shards taken in order by G workers, each as one frees up (as an Indexed
 *               Job's pods take the lowest index left), a shard lasting startup + frames / fps
 *               + straggler(G)
 *
 * - The shards are the product's own plan (`planShards`: whole waves of up to 4 shards per worker,
 *   none so short that start-up is over 10 % of its time unless a worker would idle, the last wave
 *   half as long); waves = ceil(S / G).
 * - startup: per-shard fixed cost (pod start, model load, seek and pre-roll decode, encoder start).
 * - straggler(G): the job ends with the slowest shard of the last wave; with shard times spread by a
 *   coefficient of variation `cv`, the expected maximum of G of them is about one last shard x cv x
 *   sqrt(2 ln G).
 * - schedule(G): apply to all G shard pods created, `perPodSeconds` each (the control plane's rate).
 * - assemble: seconds = a + b x output MiB + c x frames / 1,000 (the assembly benchmark's plane fit:
 *   stream copy and read-back cost per byte, the per-packet listing of the verify pass per frame),
 *   plus one pod start. Nothing per shard: the shards' facts come from their manifests.
 *   Streamed (`streamedTail` given: the product's operator starts the assembly when the last two
 *   waves of shards run, at most one wave of them without a pod, and it takes each shard as it
 *   lands): its pod start and the mux of the earlier shards run beside the last two waves, so what
 *   is left after the last shard is the tail (the last shard's bytes, the MP4 faststart rewrite,
 *   the verify pass, the publish: the benchmark's streamed-tail fraction of the whole assembly),
 *   or the part of the whole assembly that time could not hide, whichever is longer.
 *
 * Efficiency = T(1) / (G x T(G)).
 */
import { planShards } from '../../worker/shard-plan.ts';

export interface ScalingInputs {
  /** Frames of the video. */
  frames: number;
  /** Frames per second of one GPU (one worker). */
  fps: number;
  /** Per-shard fixed cost, seconds. */
  startupSeconds: number;
  /** Probe step, pod start included, seconds. */
  probeSeconds: number;
  /** Seconds per shard pod from apply to created (control plane). */
  perPodSeconds: number;
  /** Assembly: fixed seconds, seconds per output MiB and seconds per 1,000 frames (output packets). */
  assembleFixedSeconds: number;
  assembleSecondsPerMiB: number;
  assembleSecondsPerThousandFrames: number;
  /** Output size, MiB. */
  outputMiB: number;
  /** Coefficient of variation of shard times (stragglers). */
  cv: number;
  /** A fixed shard count (as `--shard-frames` gives), instead of the sizing rule. */
  shardCount?: number;
  /**
   * Streamed assembly: the share of the whole assembly (without its pod start) left after the last
   * shard lands (the assembly benchmark's streamed tail over its whole assembly). Absent: the
   * assembly runs after the shards, pod start included.
   */
  streamedTail?: number;
}

export interface ScalingPoint {
  gpus: number;
  shards: number;
  waves: number;
  seconds: number;
  speedup: number;
  efficiency: number;
  /** Where the time goes, seconds. */
  parts: { probe: number; schedule: number; shards: number; straggler: number; assemble: number };
}

/** Wall time of the job on `gpus` workers, by part. */
export function jobSeconds(inputs: ScalingInputs, gpus: number): Omit<ScalingPoint, 'speedup' | 'efficiency'> {
  if (!(Number.isInteger(gpus) && gpus >= 1)) throw new RangeError(`gpus must be a whole number >= 1, got ${gpus}`);
  for (const [k, v] of Object.entries(inputs)) if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`scaling input ${k} must be a finite number >= 0, got ${v}`);
  if (inputs.fps <= 0 || inputs.frames < 1) throw new RangeError(`scaling inputs need fps > 0 and frames >= 1, got fps ${inputs.fps}, frames ${inputs.frames}`);
  const plan = planShards(inputs.shardCount !== undefined ? { frameCount: inputs.frames, shardCount: inputs.shardCount } : { frameCount: inputs.frames, workers: gpus, startupSeconds: inputs.startupSeconds, framesPerSecond: inputs.fps });
  const shards = plan.length;
  const waves = Math.ceil(shards / gpus);
  const { makespan, last, starts } = listSchedule(plan.map((s) => inputs.startupSeconds + (s.end - s.start) / inputs.fps), gpus);
  // The assembly starts once at most one wave of shards has no pod: when shard S - G - 1 starts.
  const beside = makespan - (shards > gpus ? (starts[shards - gpus - 1] ?? 0) : 0);
  const straggler = gpus > 1 ? last * inputs.cv * Math.sqrt(2 * Math.log(gpus)) : 0;
  const whole = inputs.assembleFixedSeconds + inputs.assembleSecondsPerMiB * inputs.outputMiB + (inputs.assembleSecondsPerThousandFrames * inputs.frames) / 1000;
  const tail = inputs.streamedTail;
  if (tail !== undefined && !(tail <= 1)) throw new RangeError(`scaling input streamedTail must be a share in [0, 1], got ${tail}`);
  const parts = {
    probe: inputs.probeSeconds,
    schedule: inputs.perPodSeconds * Math.min(gpus, shards),
    shards: makespan,
    straggler,
    // Streamed: started in the last two waves (its pod start hidden), it leaves the tail, or what of the whole that time could not hide.
    assemble: tail === undefined ? inputs.startupSeconds + whole : Math.max(tail * whole, inputs.startupSeconds + whole - beside),
  };
  return { gpus, shards, waves, seconds: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}

/**
 * `durations` taken in order by `workers`, each by the first worker free: when each starts, when
 * the last ends (`makespan`), and how long that last-ending one took (`last`).
 */
function listSchedule(durations: readonly number[], workers: number): { makespan: number; last: number; starts: number[] } {
  const free = new Array<number>(Math.min(workers, durations.length)).fill(0);
  const starts: number[] = [];
  let makespan = 0;
  let last = 0;
  for (const d of durations) {
    const w = free.indexOf(Math.min(...free));
    starts.push(free[w] ?? 0);
    free[w] = (free[w] ?? 0) + d;
    if (free[w] >= makespan) [makespan, last] = [free[w], d];
  }
  return { makespan, last, starts };
}

/** The curve for each GPU count: seconds, speed-up over one GPU and efficiency. */
export function scalingCurve(inputs: ScalingInputs, gpuCounts: readonly number[]): ScalingPoint[] {
  const one = jobSeconds(inputs, 1).seconds;
  return gpuCounts.map((g) => {
    const p = jobSeconds(inputs, g);
    return { ...p, speedup: one / p.seconds, efficiency: one / (g * p.seconds) };
  });
}
