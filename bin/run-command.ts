/**
 * `upscale run`: flags -> settings -> the local driver, with a progress bar on a terminal
 * (frames, fps, ETA, per-worker state) and JSON logs (pino, stderr) otherwise.
 */
import type { MultiBar, SingleBar } from 'cli-progress';
import pino, { type Logger } from 'pino';
import { requireSupportedFfmpeg } from '../worker/media/ffmpeg-check.ts';
import { UpscaleError } from '../worker/errors.ts';
import { runLocal, type LocalRunHooks } from '../worker/run/local-run.ts';
import { runStill, stillInputFormat } from '../worker/run/still-run.ts';
import type { ShardStepResult } from '../worker/steps/shard-step.ts';
import { Storage } from '../worker/storage/storage.ts';
import { parseFrames, parseTime, segmentSchema, type Segment } from '../worker/media/segment.ts';
import { parseTask, upscaleSettingsSchema } from '../worker/task.ts';
import { failureToReport, handleInterrupts } from './interrupt.ts';
import { emitFailure, emitResult } from './result.ts';

export interface RunFlags {
  input: string;
  output: string;
  model: string;
  scale?: string;
  workers?: number;
  shardFrames?: number;
  start?: string;
  duration?: string;
  frames?: string;
  tile: number | 'auto';
  precision: string;
  ep: string;
  multiGpu: boolean;
  codec?: string;
  width?: number;
  height?: number;
  crf?: number;
  preset?: string;
  quality?: number;
  pngCompression?: number;
  deinterlace?: string;
  maxPixels?: number;
  maxStreams?: number;
  overwrite: boolean;
  keepIntermediates: boolean;
  progress: boolean;
  logLevel: string;
}

/**
 * The segment the flags ask for, or undefined for the whole video.
 * @throws UpscaleError `InvalidArgument` naming the flag
 */
export function segmentOf(flags: Pick<RunFlags, 'start' | 'duration' | 'frames'>): Segment | undefined {
  if (flags.start === undefined && flags.duration === undefined && flags.frames === undefined) return undefined;
  const frames = flags.frames === undefined ? {} : parseFrames(flags.frames);
  if (flags.duration !== undefined && flags.frames !== undefined) throw new UpscaleError('InvalidArgument', '--duration and --frames both give the length: use one', { subject: '--frames' });
  if (frames.firstFrame !== undefined && flags.start !== undefined) throw new UpscaleError('InvalidArgument', '--frames A-B gives the start itself: drop --start or give --frames a count', { subject: '--frames' });
  const segment: Segment = { ...frames };
  if (flags.start !== undefined) segment.start = parseTime(flags.start, '--start');
  if (flags.duration !== undefined) {
    segment.duration = parseTime(flags.duration, '--duration');
    if (segment.duration <= 0) throw new UpscaleError('InvalidArgument', `--duration ${JSON.stringify(flags.duration)} must be longer than 0`, { subject: '--duration' });
  }
  return segmentSchema.parse(segment);
}

/** Runs the job and returns the process exit code. */
export async function runRunCommand(flags: RunFlags): Promise<number> {
  const bars = flags.progress && process.stderr.isTTY ? await progressBars() : undefined;
  // With a bar on the terminal only warnings and errors are logged, so the bar stays readable.
  const log = pino({ level: bars ? 'warn' : flags.logLevel }, pino.destination(2));
  log.debug({ uptimeMs: Math.round(process.uptime() * 1000) }, 'Started run command');
  const storage = new Storage();
  const controller = new AbortController();
  const removeHandlers = handleInterrupts(controller, 'run');
  try {
    const settings = parseTask(
      upscaleSettingsSchema,
      {
        model: flags.model,
        tile: flags.tile,
        precision: flags.precision,
        ep: flags.ep,
        enableMultiGpu: flags.multiGpu,
        ...(flags.codec !== undefined ? { codec: flags.codec } : {}),
        ...(flags.width !== undefined ? { width: flags.width } : {}),
        ...(flags.height !== undefined ? { height: flags.height } : {}),
        ...(flags.scale !== undefined ? { scale: Number(flags.scale) } : {}),
        ...(flags.crf !== undefined ? { crf: flags.crf } : {}),
        ...(flags.preset !== undefined ? { preset: flags.preset } : {}),
        ...(flags.deinterlace !== undefined ? { deinterlace: flags.deinterlace } : {}),
      },
      'flags',
    );
    const segment = segmentOf(flags);
    // Run since before this module loaded (ffmpeg-prefetch.ts); cached per process.
    log.debug(await requireSupportedFfmpeg(), 'Checked ffmpeg version');
    const still = await stillInputFormat(flags.input);
    if (still !== undefined) {
      const videoOptions = [flags.codec !== undefined ? '--codec' : '', flags.crf !== undefined ? '--crf' : '', flags.preset !== undefined ? '--preset' : ''].filter((o) => o !== '');
      const image = await runStill(
        {
          input: flags.input,
          output: flags.output,
          format: still,
          settings,
          overwrite: flags.overwrite,
          choices: {
            ...(settings.scale !== undefined ? { scale: settings.scale } : {}),
            ...(settings.width !== undefined ? { width: settings.width } : {}),
            ...(settings.height !== undefined ? { height: settings.height } : {}),
            ...(flags.quality !== undefined ? { quality: flags.quality } : {}),
            ...(flags.pngCompression !== undefined ? { pngCompression: flags.pngCompression } : {}),
            videoOptions,
          },
        },
        storage,
        log,
      );
      bars?.stop();
      await emitResult({ ok: true, step: 'run', kind: 'image', output: flags.output, frames: 1, format: image.format, width: image.width, height: image.height, alpha: image.alpha, seconds: Math.round(image.seconds * 100) / 100 }, undefined);
      return 0;
    }
    for (const [given, flag] of [[flags.quality, '--quality'], [flags.pngCompression, '--png-compression']] as const) {
      if (given !== undefined) throw new UpscaleError('InvalidArgument', `${flag} ${given}: it sets a still image's encoder, and ${flags.input} is not a PNG, JPEG or WebP image (for video use --crf and --preset)`, { subject: flag });
    }
    const result = await runLocal(
      {
        input: flags.input,
        output: flags.output,
        settings,
        overwrite: flags.overwrite,
        keepIntermediates: flags.keepIntermediates,
        autoCodec: flags.codec === undefined,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        ...(flags.shardFrames !== undefined ? { shardFrames: flags.shardFrames } : {}),
        ...(segment !== undefined ? { segment } : {}),
        limits: { ...(flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {}), ...(flags.maxStreams !== undefined ? { maxStreams: flags.maxStreams } : {}) },
      },
      storage,
      log,
      { ...progressHooks(bars, log), signal: controller.signal },
    );
    bars?.stop();
    // Frames of the plan: the segment's, else the whole source's.
    const frames = result.probe.frames;
    // Frames upscaled by this run: a rerun that skips finished shards does not count theirs.
    const upscaled = result.shards.filter((s) => !s.skipped).reduce((sum, s) => sum + s.frames, 0);
    await emitResult(
      {
        ok: true,
        step: 'run',
        jobId: result.jobId,
        output: flags.output,
        frames,
        shards: result.shards.length,
        skippedShards: result.shards.filter((s) => s.skipped).length,
        workers: result.workers,
        seconds: Math.round(result.seconds * 100) / 100,
        upscaledFrames: upscaled,
        fps: Math.round((upscaled / result.seconds) * 100) / 100,
        stages: stageTotals(result.shards),
      },
      undefined,
    );
    return 0;
  } catch (error) {
    bars?.stop();
    return await emitFailure(await failureToReport(error, controller.signal), 'run', log, undefined, { logLine: bars === undefined });
  } finally {
    removeHandlers();
    storage.close();
  }
}

/**
 * Milliseconds per stage summed over the shards this run did (skipped ones have none), so a person
 * or the benchmark sees where the time went: decode waits, inference, encoder flushes, uploads.
 * With several workers these are worker times: they overlap in wall time.
 */
function stageTotals(shards: readonly ShardStepResult[]): Record<string, number> {
  const totals: Record<string, number> = { decodeWaitMs: 0, inferenceMs: 0, encodeFlushMs: 0, uploadMs: 0, shardMs: 0 };
  for (const shard of shards) {
    if (shard.stages === undefined) continue;
    for (const [stage, ms] of Object.entries(shard.stages)) totals[stage] = (totals[stage] ?? 0) + ms;
    totals['shardMs'] = (totals['shardMs'] ?? 0) + Math.round(shard.seconds * 1000);
  }
  return totals;
}

/** The bars on a terminal; cli-progress (and its string-width) is loaded only then, not for JSON logs. */
async function progressBars(): Promise<MultiBar> {
  const { MultiBar, Presets } = await import('cli-progress');
  return new MultiBar({ stream: process.stderr, clearOnComplete: false, hideCursor: true, format: '{bar} {value}/{total} frames | {fps} fps | ETA {etaText} | {state}' }, Presets.shades_classic);
}

/** Progress as a bar (terminal) or as periodic log lines (no terminal). */
function progressHooks(bars: MultiBar | undefined, log: Logger): LocalRunHooks {
  let total: SingleBar | undefined;
  const states = new Map<number, string>();
  const inShard = new Map<number, number>();
  let finished = 0;
  let began = 0;
  let frames = 0;
  let loggedAt = 0;
  let loggedFrames = 0;
  const update = (): void => {
    const running = [...inShard.values()].reduce((a, b) => a + b, 0);
    const done = finished + running;
    const seconds = (performance.now() - began) / 1000;
    const state = [...states.entries()].map(([w, s]) => `w${w}:${s}`).join(' ');
    const fps = seconds > 0 ? done / seconds : 0;
    // cli-progress's own ETA reads `NFs` (infinite) until frames move: ours waits for a rate.
    const etaText = fps > 0 && done > 0 ? formatSeconds((frames - done) / fps) : '--';
    total?.update(done, { fps: fps.toFixed(2), state, etaText });
    // Without a terminal, a progress line at most every 10 s (and none while nothing moved).
    if (bars === undefined && done > loggedFrames && performance.now() - loggedAt >= 10_000) {
      loggedAt = performance.now();
      loggedFrames = done;
      const eta = fps > 0 ? Math.round((frames - done) / fps) : undefined;
      log.info({ frames: done, total: frames, fps: Math.round(fps * 100) / 100, etaSeconds: eta, workers: state }, 'Upscaled frames');
    }
  };
  return {
    onPlan: (plan) => {
      began = performance.now();
      loggedAt = began;
      frames = plan.frames;
      log.info({ job: plan.jobId, frames, shards: plan.shards, workers: plan.workers }, 'Started run');
      total = bars?.create(frames, 0, { fps: '0', state: '', etaText: '--' });
    },
    onWorkerState: (worker, state, shard) => {
      states.set(worker, shard === undefined ? state : `shard ${shard}`);
      update();
    },
    onProgress: (worker, _shard, done) => {
      inShard.set(worker, done);
      update();
    },
    onShardDone: (worker, result) => {
      inShard.delete(worker);
      finished += result.frames;
      update();
    },
  };
}

/** `42s`, `3m05s`, `1h02m`: the ETA on the bar. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
