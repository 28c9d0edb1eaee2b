/**
 * `upscale run`: the whole job on one machine: probe, shards on N local workers, assemble. The very
 * steps the operator runs as Jobs, called in-process.
 *
 * The job id is derived from the input, the output and the settings, so rerunning the same command
 * after a crash or Ctrl-C finds the same `<output>.upscale/<job-id>/` prefix and redoes only the
 * shards that did not finish; changing a setting that changes the pixels starts a fresh job. The id
 * names the input, not its contents: the probe step binds the prefix to the source's and the model's
 * identity, and deletes the intermediates of a source replaced under the same name (with a log line).
 *
 * One run per output at a time: a second run on the same output fails (exit 2) while the first holds
 * its lock (run-lock.ts), which dies with the process that took it.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import { createEngine, type Engine } from '../engine/engine.ts';
import { discoverGpus } from '../engine/devices.ts';
import { chooseEncoder } from '../media/encoders.ts';
import type { OutputChoices, OutputDecision } from '../media/output-decision.ts';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../media/input-limits.ts';
import type { Probe } from '../media/probe-schema.ts';
import { CLI_SEGMENT_NAMES, type Segment } from '../media/segment.ts';
import { runAssembleStep, type AssembleStepResult } from '../steps/assemble-step.ts';
import { checkModel, engineHooksFor, engineOptionsFor } from '../steps/engine-options.ts';
import { runProbeStep, type ProbeStepResult } from '../steps/probe-step.ts';
import { runShardStep, type KnownJob, type ShardStepResult } from '../steps/shard-step.ts';
import { planSpan, shardRanges } from '../steps/plan-file.ts';
import { jobLayout } from '../storage/job-layout.ts';
import type { Storage } from '../storage/storage.ts';
import { TASK_VERSION, type ShardTask, type UpscaleSettings } from '../task.ts';
import { runShardsLocally, type PoolHooks } from './local-pool.ts';
import { choicesOf, decideForSource, gatherFacts, preflight, type PreflightFacts } from './preflight.ts';
import { acquireRunLock } from './run-lock.ts';

export interface LocalRunOptions {
  input: string;
  output: string;
  settings: UpscaleSettings;
  /** Local worker processes; default one per visible GPU, else one. */
  workers?: number;
  shardFrames?: number;
  /** Upscale only this part of the input (media/segment.ts); messages name the CLI flags. */
  segment?: Segment;
  overwrite: boolean;
  keepIntermediates: boolean;
  /** Bounds on what the source may declare (worker/media/input-limits.ts); defaults 64 MP and 64 streams. */
  limits?: Partial<InputLimits>;
  /** No codec was named: `settings.codec` is replaced by one that fits the container and the source. */
  autoCodec?: boolean;
}

export interface LocalRunHooks extends PoolHooks {
  /** Called once the plan is known: total frames, shards, and frames already done by an earlier run. */
  onPlan?: (plan: { frames: number; shards: number; workers: number; jobId: string }) => void;
}

export interface LocalRunResult {
  jobId: string;
  workers: number;
  probe: ProbeStepResult;
  shards: ShardStepResult[];
  assemble: AssembleStepResult;
  seconds: number;
}

/** The deterministic job id of a local run (see the file comment). */
export function localJobId(input: string, output: string, settings: UpscaleSettings, autoCodec = false, segment?: Segment): string {
  // A chosen codec follows from the source, which the probe step binds to the prefix.
  const key: unknown[] = autoCodec ? [TASK_VERSION, input, output, { ...settings, codec: 'auto' }] : [TASK_VERSION, input, output, settings];
  // Another segment is another job (its shards hold other frames); the whole video keeps its old id.
  if (segment !== undefined) key.push({ segment });
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex');
  return `run-${hash.slice(0, 16)}`;
}

/** Runs the whole job locally; errors are UpscaleErrors naming the step. */
export async function runLocal(options: LocalRunOptions, storage: Storage, log: Logger, hooks: LocalRunHooks = {}): Promise<LocalRunResult> {
  // nvidia-smi takes 50-500 ms where it is installed: asked while the paths and the lock are checked.
  const gpus = options.settings.ep === 'cpu' ? Promise.resolve([]) : discoverGpus().then((d) => d.gpus);
  // Before the lock, the probe or the engine: a bad output or encoder setting costs nothing and leaves nothing.
  const facts = await gatherFacts(options.input, options.output, options.settings);
  const choices = choicesOf(options.settings, options.autoCodec ?? false);
  preflight(facts, choices);
  const lock = await acquireRunLock(options.output, {
    onStale: (stale) => log.info({ output: options.output, pid: stale.pid, lock: stale.path }, 'Took over the lock of a run that no longer runs'),
  });
  try {
    return await runLocked(options, storage, log, hooks, { facts, choices }, await gpus);
  } finally {
    await lock.release();
  }
}

async function runLocked(
  options: LocalRunOptions,
  storage: Storage,
  log: Logger,
  hooks: LocalRunHooks,
  checked: { facts: PreflightFacts; choices: OutputChoices },
  gpus: readonly { uuid: string }[],
): Promise<LocalRunResult> {
  const began = performance.now();
  const jobId = localJobId(options.input, options.output, options.settings, options.autoCodec ?? false, options.segment);
  // Default: one worker per GPU (only the first with multi-GPU off), else one on the CPU.
  const asked = options.workers ?? (options.settings.enableMultiGpu ? Math.max(1, gpus.length) : 1);
  const common = { version: TASK_VERSION, jobId, input: options.input, output: options.output } as const;
  await checkModel(options.settings.model, storage);
  // A single in-process worker starts its engine (provider probe, model load) while the video is
  // probed: on a short job that is most of the fixed cost. More workers start theirs in their processes.
  // Not when only one of --width/--height is given: the other side, and with it the engine's graph,
  // follows from the probe, so an early engine would be built only to be thrown away.
  const early = asked === 1 && sizeKnownBeforeProbe(options.settings) ? startEngineEarly(options.settings, storage, log) : undefined;
  try {
    return await planAndRun(options, storage, log, hooks, { began, jobId, gpus, asked, common, early, checked });
  } finally {
    await early?.close();
  }
}

interface RunContext {
  began: number;
  jobId: string;
  gpus: readonly { uuid: string }[];
  asked: number;
  common: { version: typeof TASK_VERSION; jobId: string; input: string; output: string };
  early: EarlyEngine | undefined;
  checked: { facts: PreflightFacts; choices: OutputChoices };
}

async function planAndRun(options: LocalRunOptions, storage: Storage, log: Logger, hooks: LocalRunHooks, context: RunContext): Promise<LocalRunResult> {
  const { began, jobId, gpus, asked: workers, common, checked } = context;

  const probe = await runProbeStep(
    {
      ...common,
      step: 'probe',
      overwrite: options.overwrite,
      limits: { ...DEFAULT_INPUT_LIMITS, ...options.limits },
      plan: { workers, model: options.settings.model, workerGflops: workerGflops(gpus.length > 0, workers), ...(options.shardFrames !== undefined ? { shardFrames: options.shardFrames } : {}) },
      ...(options.segment !== undefined ? { segment: options.segment } : {}),
    },
    storage,
    log,
    { onStale: 'restart', segmentNames: CLI_SEGMENT_NAMES },
  );
  const ranges = shardRanges(probe.plan);
  const pending = await pendingShards(ranges.length, jobId, options.output, storage, log);
  // Never more workers than shards left to do; the busy ones share the cores of the idle ones.
  const busy = Math.max(1, Math.min(workers, pending));
  const span = planSpan(probe.plan);
  hooks.onPlan?.({ frames: span.end - span.first, shards: ranges.length, workers: busy, jobId });

  // With several local workers each gets one GPU (or a share of the CPU cores) and its own process.
  // One codec, encoder and size for every shard (assembly refuses mixed shards): decided once, here.
  const decision = decideForSource(checked.facts, checked.choices, probe.probe, log);
  const encoder = decision.encoder.endsWith('_nvenc') ? 'nvenc' : 'cpu';
  // Asked again (answers are cached) for its log line when NVENC was wanted but is not usable here.
  if (options.settings.encoder === 'auto') await chooseEncoder(decision.codec, 'auto', log);
  const perWorker: UpscaleSettings = { ...sizedSettings(options.settings, decision, probe.probe, checked.facts.modelScale), codec: decision.codec, encoder, ...(busy > 1 ? { enableMultiGpu: false } : {}) };
  // The engine started while probing serves the shards only if their engine settings are the run's
  // (a size made even or a --width/--height target changes the graph).
  const sameEngine = JSON.stringify(engineOptionsFor(perWorker)) === JSON.stringify(engineOptionsFor(options.settings));
  const tasks: ShardTask[] = ranges.map((range) => ({ ...common, step: 'shard', shard: range.index, settings: perWorker }));
  // The assembly runs beside the shards: each is streamed into the output as it commits, so what is
  // left after the last is its bytes, the verification and the publish. It is stopped when the
  // shards fail (or the run is interrupted), and then publishes nothing.
  const stopAssembly = new AbortController();
  let lookNow = (): void => undefined;
  const assembling = runAssembleStep({ ...common, step: 'assemble', overwrite: options.overwrite, keepIntermediates: options.keepIntermediates, waitForShards: true }, storage, log, {
    signal: hooks.signal ? AbortSignal.any([hooks.signal, stopAssembly.signal]) : stopAssembly.signal,
    onWaiting: (look) => (lookNow = look),
    // Every shard's codec and size were decided above: the mux starts now, beside the first shard.
    ...(decision.size !== undefined ? { expect: { codec: decision.codec, height: decision.size.height } } : {}),
  });
  // An assembly that fails (say, the output's folder became unwritable) stops the shards: the run
  // cannot succeed, and the shards done so far are kept for a rerun.
  const assemblyFailed = new AbortController();
  assembling.catch((error: unknown) => assemblyFailed.abort(error));
  const shardHooks: LocalRunHooks = {
    ...hooks,
    signal: hooks.signal ? AbortSignal.any([hooks.signal, assemblyFailed.signal]) : assemblyFailed.signal,
    onShardDone: (worker, result) => {
      hooks.onShardDone?.(worker, result);
      lookNow();
    },
  };
  let shards: ShardStepResult[];
  try {
    shards = await runShards(tasks, storage, log, shardHooks, { busy, gpus, sameEngine, early: context.early, known: { plan: probe.plan, probe: probe.probe } });
  } catch (error) {
    if (assemblyFailed.signal.aborted && !hooks.signal?.aborted) throw assemblyFailed.signal.reason;
    stopAssembly.abort(error);
    await assembling.catch(() => undefined);
    throw error;
  }
  const assemble = await assembling;
  return { jobId, workers: busy, probe: probe.result, shards, assemble, seconds: (performance.now() - began) / 1000 };
}

/** The shards, in this process (one worker) or in worker processes (several). */
async function runShards(
  tasks: readonly ShardTask[],
  storage: Storage,
  log: Logger,
  hooks: LocalRunHooks,
  how: { busy: number; gpus: readonly { uuid: string }[]; sameEngine: boolean; early: EarlyEngine | undefined; known: KnownJob },
): Promise<ShardStepResult[]> {
  const { busy, gpus, sameEngine, early, known } = how;
  let shards: ShardStepResult[];
  if (busy > 1) {
    const threads = Math.max(1, Math.floor(os.availableParallelism() / busy));
    shards = await runShardsLocally(
      tasks,
      {
        workers: busy,
        log,
        envFor: (i) => {
          const gpu = gpus[i % Math.max(1, gpus.length)];
          return gpu === undefined ? { UPSCALE_CPU_THREADS: String(threads) } : { CUDA_VISIBLE_DEVICES: gpu.uuid, NVIDIA_VISIBLE_DEVICES: gpu.uuid };
        },
      },
      hooks,
    );
  } else {
    // An early engine with other settings (a size made even) goes now, before the shard builds its own.
    if (!sameEngine) await early?.close();
    shards = await runInProcess(tasks, storage, log, hooks, sameEngine ? early : undefined, known);
  }
  return shards;
}

/**
 * Shards of the plan without a manifest yet (a rerun after an interrupt has fewer). Only sizes the
 * worker count: when storage cannot answer now, every shard counts as pending and the shard steps,
 * which retry, meet the outage themselves.
 */
async function pendingShards(count: number, jobId: string, output: string, storage: Storage, log: Logger): Promise<number> {
  const layout = jobLayout(output, jobId);
  try {
    const done = await Promise.all(Array.from({ length: count }, (_, i) => storage.exists(layout.shardManifest(i))));
    return done.filter((d) => !d).length;
  } catch (err) {
    log.debug({ err }, 'Could not count the finished shards; sizing the workers for all of them');
    return count;
  }
}

/** An engine being created ahead of its first use; closed by whoever started it. */
interface EarlyEngine {
  get(): Promise<Engine>;
  close(): Promise<void>;
}

function startEngineEarly(settings: UpscaleSettings, storage: Storage, log: Logger): EarlyEngine {
  const creating = createEngine(engineOptionsFor(settings), engineHooksFor(storage, log));
  // Its error (say, an explicit provider that is missing) surfaces when a shard asks for it.
  creating.catch(() => undefined);
  let closing: Promise<void> | undefined;
  return {
    get: () => creating,
    // Once: the run may drop it early (other settings) and closes it again at the end.
    close: () =>
      (closing ??= (async () => {
        const engine = await creating.catch(() => undefined);
        await engine?.close();
      })()),
  };
}

/** True when the engine's output size is known from the settings alone (a scale, or both sides). */
function sizeKnownBeforeProbe(settings: UpscaleSettings): boolean {
  return (settings.width === undefined) === (settings.height === undefined);
}

/**
 * The settings with the decided size as an explicit target when it is not the plain scale (made
 * even, or `width`/`height`); the plain scale stays a scale, so the model runs without a Resize.
 */
function sizedSettings(settings: UpscaleSettings, decision: OutputDecision, probe: Probe, modelScale: number | undefined): UpscaleSettings {
  const { scale: _scale, width: _width, height: _height, ...rest } = settings;
  if (decision.size === undefined || modelScale === undefined) return settings;
  const scale = settings.scale ?? modelScale;
  const plain = settings.width === undefined && settings.height === undefined && decision.size.width === probe.video.displayWidth * scale && decision.size.height === probe.video.displayHeight * scale;
  return plain ? settings : { ...rest, width: decision.size.width, height: decision.size.height };
}

/**
 * A rough sustained throughput of one local worker, for sizing shards: about 55 GFLOP/s per core
 * with ONNX Runtime's CPU provider (measured 110-117 on 2 cores, bench:engine), and a conservative
 * 5 TFLOP/s for a GPU (WebGPU fp32 on an H200 ran general-x4v3 at 640x360 in 81 ms: ~7 TFLOP/s).
 */
function workerGflops(onGpu: boolean, workers: number): number {
  return onGpu ? 5000 : (55 * os.availableParallelism()) / workers;
}

/**
 * One worker: the shards in order, on one engine created when the first shard needs it. They take
 * the plan and probe from the probe step in this process, and the first skips the source check the
 * probe step has just made (each still checks before its commit).
 */
async function runInProcess(tasks: readonly ShardTask[], storage: Storage, log: Logger, hooks: PoolHooks, early: EarlyEngine | undefined, known: KnownJob): Promise<ShardStepResult[]> {
  let engine: Engine | undefined;
  const results: ShardStepResult[] = [];
  try {
    for (const task of tasks) {
      hooks.signal?.throwIfAborted();
      const shard = task.shard ?? 0;
      hooks.onWorkerState?.(0, 'busy', shard);
      // The early engine has the run's settings; the encoder resolved since does not change inference.
      const engineFor = async (): Promise<Engine> => early?.get() ?? (engine ??= await createEngine(engineOptionsFor(task.settings), engineHooksFor(storage, log)));
      const result = await runShardStep(task, storage, log, {
        engine: engineFor,
        known: { ...known, identityChecked: results.length === 0 },
        onFrame: (done) => hooks.onProgress?.(0, shard, done),
        ...(hooks.signal ? { signal: hooks.signal } : {}),
      });
      results.push(result);
      hooks.onShardDone?.(0, result);
    }
    hooks.onWorkerState?.(0, 'idle');
    return results;
  } finally {
    await engine?.close();
  }
}
