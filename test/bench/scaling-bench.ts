/**
 * Benchmark (not a test): the scaling model (scaling-model.ts) with measured inputs, checked
 * against measured local points, and its curve as an SVG.
 *
 * 1. Local: `upscale run` on the CPU provider with `--workers 1..N` (N <= cores), the same fixed
 *    shards (`--shard-frames`), timed end to end. The w=1 run gives the model's local inputs: frame
 *    rate (frames / inference seconds), per-shard start-up ((shard time - inference) / shards) and
 *    the fixed part (wall - shard time: probe, plan, assembly); the model then predicts w=2..N.
 * 2. Cluster: a 10-minute 1080p video (24 fps, 14,400 frames; `--minutes` for another length) on 1..64 H200-class GPUs: 27 frames/s
 *    per GPU (perf-anchors.md: 243 fps at 640x360 for general-x4v3 PyTorch FP16 on an H200, /9 for
 *    1080p), start-up, probe, control-plane and assembly figures given as options (defaults: this
 *    repo's measured figures, README "Performance").
 *
 *   node test/bench/scaling-bench.ts [--svg docs/scaling.svg] [--local-workers 2] [--skip-local]
 *     [--startup S] [--probe 5] [--per-pod 0.084] [--assemble-fixed 0.22] [--assemble-per-mib 0.0038] [--assemble-per-kframes 0.066]
 *     [--output-mib 1500] [--cv 0.1] [--minutes 10] [--streamed-tail 0.5]
 *   `--minutes M` scales the frames, and the probe and output size unless given: 0.04 s of packet
 *   scan and 150 MiB of 4K output per minute, plus 1.5 s of probe pod start and the step's fixed
 *   part. (The packet scan: `probe-bench.ts --seconds 600 --size 1920x1080`, 0.398 s for 10 min of
 *   1080p as MKV, 0.229 s as MP4; the whole `upscale probe` process on it 0.75-1.0 s.)
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { explain, upscale } from '../e2e/cli.ts';
import { jobSeconds, scalingCurve, type ScalingInputs } from './scaling-model.ts';
import { efficiencyPlot } from './svg-plot.ts';

const GPU_COUNTS = [1, 2, 4, 8, 16, 64];

interface LocalPoint {
  workers: number;
  shards: number;
  seconds: number;
  shardSeconds: number;
  inferenceSeconds: number;
}

async function localRun(source: string, workers: number, shardFrames: number, dir: string): Promise<LocalPoint> {
  const output = join(dir, `w${workers}.mp4`);
  const run = await upscale(['run', '-i', source, '-o', output, '--ep', 'cpu', '--workers', String(workers), '--shard-frames', String(shardFrames), '--no-progress', '--overwrite'], { timeoutMs: 3_600_000 });
  if (run.code !== 0 || run.result === undefined) throw new Error(`upscale run --workers ${workers} failed: ${explain(run)}`);
  const stages = run.result['stages'] as Record<string, number>;
  return { workers, shards: Number(run.result['shards']), seconds: Number(run.result['seconds']), shardSeconds: (stages['shardMs'] ?? 0) / 1000, inferenceSeconds: (stages['inferenceMs'] ?? 0) / 1000 };
}

/** Runs the section; returns its JSON. */
export async function scalingBench(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args: argv,
    options: {
      svg: { type: 'string' },
      'local-workers': { type: 'string', default: String(Math.min(2, cpus().length)) },
      'skip-local': { type: 'boolean', default: false },
      // Default: the start-up measured locally (w=1), else the planner's 10 s.
      startup: { type: 'string' },
      // Length of the cluster case's video.
      minutes: { type: 'string', default: '10' },
      // 10 min of 1080p: 1.5 s (pod start, the step's fixed part) + 10 x 0.04 s of packet scan (default: scaled with --minutes).
      probe: { type: 'string' },
      // 1,000 shard pods created in 84 s (control-plane bench).
      'per-pod': { type: 'string', default: '0.084' },
      // The assembly bench's CPU plane fit (30-120 s of 640x480 and 1920x1080, README "Performance"):
      // 0.22 s + 0.0038 s/MiB + 0.066 s per 1,000 frames. CPU seconds, not the wall of this shared
      // 2-core machine: on an idle pod the serial mux and verify take about their CPU time.
      'assemble-fixed': { type: 'string', default: '0.22' },
      'assemble-per-mib': { type: 'string', default: '0.0038' },
      'assemble-per-kframes': { type: 'string', default: '0.066' },
      // 10 min of 4K H.264 (the x4 output of 1080p) at ~20 Mbit/s (default: scaled with --minutes).
      'output-mib': { type: 'string' },
      cv: { type: 'string', default: '0.1' },
      // The assembly bench's streamed tail over its whole assembly (README "Performance"); 1 = the
      // whole assembly after the last shard, as before streaming (its pod start still hidden).
      'streamed-tail': { type: 'string', default: '0.5' },
    },
    allowPositionals: false,
  });
  const num = (name: keyof typeof values): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: a number >= 0, got ${String(values[name])}`);
    return v;
  };

  // 1. Local points.
  let local: { points: LocalPoint[]; predicted: Array<{ workers: number; seconds: number }>; inputs: ScalingInputs } | undefined;
  if (!values['skip-local']) {
    const source = await clip('basic');
    const frames = CLIP_FRAMES.basic;
    const shardFrames = Math.ceil(frames / 4);
    const dir = await mkdtemp(join(tmpdir(), 'scaling-bench-'));
    try {
      const points: LocalPoint[] = [];
      for (let w = 1; w <= num('local-workers'); w++) points.push(await localRun(source, w, shardFrames, dir));
      const one = points[0];
      if (one === undefined) throw new Error('--local-workers must be at least 1');
      const inputs: ScalingInputs = {
        frames,
        fps: frames / one.inferenceSeconds,
        startupSeconds: (one.shardSeconds - one.inferenceSeconds) / one.shards,
        probeSeconds: Math.max(0, one.seconds - one.shardSeconds),
        perPodSeconds: 0,
        assembleFixedSeconds: 0,
        assembleSecondsPerMiB: 0,
        assembleSecondsPerThousandFrames: 0,
        outputMiB: 0,
        cv: 0,
        shardCount: one.shards,
      };
      // The fixed part (probe, plan, assembly) is measured as a whole; the model's "assemble" start-up is not added locally.
      const predict = (w: number): number => jobSeconds(inputs, w).seconds - inputs.startupSeconds;
      local = { points, predicted: points.map((p) => ({ workers: p.workers, seconds: predict(p.workers) })), inputs };
      console.log(`Local, CPU provider, ${frames} frames of ${source.split('/').at(-1)} in ${one.shards} shards; model inputs from w=1: ${inputs.fps.toFixed(2)} frames/s, start-up ${inputs.startupSeconds.toFixed(2)} s/shard, fixed ${inputs.probeSeconds.toFixed(2)} s`);
      for (const [i, p] of points.entries()) {
        const pred = local.predicted[i]?.seconds ?? NaN;
        console.log(`  --workers ${p.workers}: measured ${p.seconds.toFixed(2)} s, model ${pred.toFixed(2)} s (${(((p.seconds - pred) / pred) * 100).toFixed(0)} %), efficiency measured ${((one.seconds / (p.workers * p.seconds))).toFixed(2)}, model ${(predict(1) / (p.workers * pred)).toFixed(2)}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  // 2. The cluster case.
  const startupSeconds = values.startup !== undefined ? num('startup') : (local?.inputs.startupSeconds ?? 10);
  const minutes = num('minutes');
  if (minutes <= 0) throw new Error(`--minutes: more than 0, got ${minutes}`);
  const probeSeconds = values.probe !== undefined ? num('probe') : 1.5 + 0.04 * minutes;
  const outputMiB = values['output-mib'] !== undefined ? num('output-mib') : 150 * minutes;
  const frames = Math.round(minutes * 60 * 24);
  const cluster: ScalingInputs = { frames, fps: 27, startupSeconds, probeSeconds, perPodSeconds: num('per-pod'), assembleFixedSeconds: num('assemble-fixed'), assembleSecondsPerMiB: num('assemble-per-mib'), assembleSecondsPerThousandFrames: num('assemble-per-kframes'), outputMiB, cv: num('cv'), streamedTail: num('streamed-tail') };
  const curve = scalingCurve(cluster, GPU_COUNTS);
  // The same job with the assembly after the shards (the operator before the streamed assembly).
  const { streamedTail: _tail, ...serialInputs } = cluster;
  const serial = scalingCurve(serialInputs, GPU_COUNTS);
  // The same video with shards sized 4 per GPU regardless of start-up (what the rule trades away).
  const uncapped = GPU_COUNTS.map((g) => ({ g, e: scalingCurve({ ...cluster, shardCount: 4 * g }, [1, g]) }));
  console.log(`Cluster model: ${minutes} min 1080p (${frames.toLocaleString('en')} frames) at ${cluster.fps} frames/s per GPU, start-up ${cluster.startupSeconds.toFixed(2)} s/shard, probe ${cluster.probeSeconds} s, ${cluster.perPodSeconds} s/pod, assembly ${cluster.assembleFixedSeconds} s + ${cluster.assembleSecondsPerMiB} s/MiB x ${cluster.outputMiB} MiB + ${cluster.assembleSecondsPerThousandFrames} s per 1,000 frames (${jobSeconds(serialInputs, 1).parts.assemble.toFixed(1)} s with a pod start after the shards; streamed, ${jobSeconds(cluster, 1).parts.assemble.toFixed(1)} s after the last shard), shard spread cv ${cluster.cv}`);
  console.log('  GPUs  shards  waves   seconds  speed-up  efficiency   assembly after last shard   (assembly after the shards: seconds, efficiency)   (4 shards/GPU: seconds, efficiency)');
  for (const [i, p] of curve.entries()) {
    const u = uncapped[i]?.e;
    const uSeconds = u?.[1]?.seconds ?? NaN;
    const uEff = (u?.[0]?.seconds ?? NaN) / ((uncapped[i]?.g ?? 1) * uSeconds);
    const before = serial[i];
    console.log(`  ${String(p.gpus).padStart(4)}${String(p.shards).padStart(8)}${String(p.waves).padStart(7)}${p.seconds.toFixed(0).padStart(10)}${p.speedup.toFixed(2).padStart(10)}${p.efficiency.toFixed(2).padStart(12)}${`${p.parts.assemble.toFixed(1)} s`.padStart(28)}   (${(before?.seconds ?? NaN).toFixed(0)} s, ${(before?.efficiency ?? NaN).toFixed(2)})${`(${uSeconds.toFixed(0)} s, ${uEff.toFixed(2)})`.padStart(48)}`);
  }
  if (values.svg !== undefined) {
    const series = [
      { name: 'model, product sizing rule', colour: '#1f5fbf', points: curve.map((p) => [p.gpus, p.efficiency] as const) },
      { name: 'model, assembly after the shards (before)', colour: '#8a8a8a', points: serial.map((p) => [p.gpus, p.efficiency] as const) },
      { name: 'model, 4 shards per GPU', colour: '#2a9d4b', points: uncapped.map(({ g, e }) => [g, (e[0]?.seconds ?? NaN) / (g * (e[1]?.seconds ?? NaN))] as const) },
    ];
    if (local !== undefined) {
      const first = local.points[0]?.seconds ?? NaN;
      series.push({ name: 'measured locally (CPU, 2 cores)', colour: '#d9480f', points: local.points.map((p) => [p.workers, first / (p.workers * p.seconds)] as const), markersOnly: true } as (typeof series)[number]);
    }
    await writeFile(values.svg, efficiencyPlot(`Efficiency of one ${minutes}-minute 1080p job against GPUs`, GPU_COUNTS, series));
    console.log(`  plot: ${values.svg}`);
  }
  return { bench: 'scaling', local, cluster: { inputs: cluster, curve } };
}

if (import.meta.main) console.log(JSON.stringify(await scalingBench(process.argv.slice(2))));
