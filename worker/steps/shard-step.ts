/**
 * The shard step: decode exactly the shard's frames, upscale them, encode, upload under this
 * attempt's own media key, then commit the shard's manifest (written only if no other attempt has
 * committed; see storage/shard-manifest.ts). A shard whose manifest already matches its media is
 * skipped (resume); an attempt that loses the commit to a concurrent one deletes its own media and
 * reports the shard as done by the other.
 *
 * The input reaches ffmpeg through `Storage.mediaSource` (S3 objects on the worker's loopback proxy,
 * never a presigned URL); when ffmpeg fails because a storage read failed, the storage room's
 * classification of that read is the step's error (a transient one gives exit 3, not ffmpeg's 403).
 *
 * Decode, inference and encode overlap: extraction and encoding are ffmpeg processes fed through
 * bounded async iterables, and inference runs on the engine's session threads, so the slowest of
 * the three sets the pace instead of their sum.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { UpscaleError, inStep } from '../errors.ts';
import { createEngine, type Engine, type InputFrame } from '../engine/engine.ts';
import { outputGeometry } from '../engine/output-size.ts';
import { encodeShard, sourceTiming, type EncodeResult } from '../media/encode.ts';
import { extractFrames, type ExtractStats, type Frame } from '../media/extract.ts';
import { probeSchema, type Probe } from '../media/probe-schema.ts';
import { rgbFormatFor, type RgbFormat } from '../media/raw-format.ts';
import { convertsMatrix, outputColour, sourceColour } from '../media/colour.ts';
import { isInterlaced } from '../media/interlace.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { checkShard, commitShardManifest } from '../storage/shard-manifest.ts';
import type { Storage } from '../storage/storage.ts';
import type { MediaSource } from '../storage/types.ts';
import type { ShardTask, UpscaleSettings } from '../task.ts';
import { engineHooksFor, engineOptionsFor } from './engine-options.ts';
import { checkJobIdentity } from './job-identity.ts';
import { planFileSchema, shardRanges, type PlanFile } from './plan-file.ts';

export interface ShardStepResult {
  step: 'shard';
  jobId: string;
  shard: number;
  start: number;
  end: number;
  frames: number;
  /** True when an earlier run (or, with `byOtherAttempt`, a concurrent one) had finished this shard. */
  skipped: boolean;
  /** True when a concurrent attempt committed this shard first; this attempt's media was discarded. */
  byOtherAttempt?: boolean;
  seconds: number;
  /** Wall-clock milliseconds per stage (they overlap, so they do not add up to `seconds`). */
  stages?: { decodeWaitMs: number; inferenceMs: number; encodeFlushMs: number; uploadMs: number };
}

/** A job's plan and probe, as the driver that just wrote them has them. */
export interface KnownJob {
  plan: PlanFile;
  probe: Probe;
}

export interface ShardStepHooks {
  /**
   * Gives the engine to reuse across shards (a long-lived local worker, which closes it); called only
   * when the shard has work to do. Absent: the step creates an engine and closes it.
   */
  engine?: () => Promise<Engine>;
  /** Called after each encoded frame with the frames done so far in this shard. */
  onFrame?: (done: number) => void;
  /**
   * The job's plan and probe as the driver in this process has them (it just wrote them: `upscale
   * run`), so they are not read back and parsed again; `identityChecked` when the driver checked the
   * source and model a moment ago, so the check before the work is skipped (the one before the
   * commit still runs: a source replaced during the shard is never recorded as done).
   */
  known?: KnownJob & { identityChecked?: boolean };
  /** Environment to read `JOB_COMPLETION_INDEX` from (an Indexed Job's pod). */
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
}

/** Runs one shard; errors are {@link UpscaleError}s in step `shard`. */
export async function runShardStep(task: ShardTask, storage: Storage, log: Logger, hooks: ShardStepHooks = {}): Promise<ShardStepResult> {
  try {
    return await shardStep(task, storage, log, hooks);
  } catch (error) {
    throw inStep(error, 'shard');
  }
}

/** The shard index from the task, else from an Indexed Job's `JOB_COMPLETION_INDEX`. */
export function shardIndexOf(task: ShardTask, env: Readonly<Record<string, string | undefined>>): number {
  if (task.shard !== undefined) return task.shard;
  const raw = env['JOB_COMPLETION_INDEX'];
  if (raw !== undefined && /^\d+$/.test(raw)) return Number(raw);
  throw new UpscaleError('InvalidArgument', 'no shard index: set the task\'s "shard" or JOB_COMPLETION_INDEX', { subject: 'shard' });
}

async function shardStep(task: ShardTask, storage: Storage, log: Logger, hooks: ShardStepHooks): Promise<ShardStepResult> {
  const began = performance.now();
  const layout = jobLayout(task.output, task.jobId);
  // The task's own problem first: a pod without an index fails on that, not on a missing plan.
  const index = shardIndexOf(task, hooks.env ?? process.env);
  const plan = hooks.known?.plan ?? (await storage.readJson(layout.plan, planFileSchema));
  const range = shardRanges(plan)[index];
  if (range === undefined) {
    throw new UpscaleError('InvalidArgument', `shard ${index} is not in the plan ${layout.plan} (${plan.shards.length} shards)`, { subject: layout.plan });
  }
  const base = { step: 'shard' as const, jobId: task.jobId, shard: index, start: range.start, end: range.end };
  // Never mix: the intermediates belong to the source and model the probe saw.
  if (hooks.known?.identityChecked !== true) await checkJobIdentity(storage, layout, task.input, task.settings.model);
  const check = await checkShard(storage, layout, { shard: index, start: range.start, end: range.end });
  if (check.done) {
    log.info({ job: task.jobId, shard: index }, 'Skipped shard finished by an earlier run');
    return { ...base, frames: check.manifest.frames, skipped: true, seconds: 0 };
  }

  const probe = hooks.known?.probe ?? (await storage.readJson(layout.probe, probeSchema));
  // Not awaited here: the source's decoder starts while the engine loads (upscaleSource).
  const engine = hooks.engine ? hooks.engine() : createEngine(engineOptionsFor(task.settings), engineHooksFor(storage, log));
  engine.catch(() => undefined); // met in upscaleSource
  const work = await mkdtemp(join(tmpdir(), 'upscale-shard-'));
  try {
    const encoded = await upscaleRange(task, probe, range, engine, storage, work, log, hooks);
    const uploadStart = performance.now();
    const attempt = randomBytes(6).toString('hex');
    const mediaUri = layout.shardAttemptMedia(index, attempt);
    const uploaded = await storage.upload(mediaUri, { path: encoded.result.output }, { ...(hooks.signal ? { signal: hooks.signal } : {}) });
    const uploadMs = performance.now() - uploadStart;
    // Again before the commit: a source replaced during a long shard must not be recorded as done.
    await checkJobIdentity(storage, layout, task.input, task.settings.model);
    const commit = await commitShardManifest(storage, layout, {
      version: 2,
      shard: index,
      start: range.start,
      end: range.end,
      frames: encoded.result.frames,
      bytes: uploaded.size,
      sha256: uploaded.sha256,
      media: mediaUri.slice(layout.shardsPrefix.length),
      video: encoded.result.video,
    });
    if (!commit.committed) {
      await storage.delete(mediaUri);
      log.info({ job: task.jobId, shard: index, media: commit.media }, 'Discarded shard media: another attempt finished the shard first');
      return { ...base, frames: commit.winner.frames, skipped: true, byOtherAttempt: true, seconds: round((performance.now() - began) / 1000) };
    }
    if (commit.replaced !== undefined) log.warn({ job: task.jobId, shard: index, reason: commit.replaced }, 'Replaced a shard manifest that did not check out');
    const seconds = (performance.now() - began) / 1000;
    log.info({ job: task.jobId, shard: index, frames: encoded.result.frames, seconds: round(seconds), fps: round(encoded.result.frames / seconds) }, 'Finished shard');
    return {
      ...base,
      frames: encoded.result.frames,
      skipped: false,
      seconds: round(seconds),
      stages: {
        decodeWaitMs: Math.round(encoded.extract?.waitMs ?? 0),
        inferenceMs: Math.round(encoded.inferenceMs),
        encodeFlushMs: Math.round(encoded.result.flushMs),
        uploadMs: Math.round(uploadMs),
      },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    if (hooks.engine === undefined) await (await engine.catch(() => undefined))?.close();
  }
}

interface Encoded {
  result: EncodeResult;
  extract: ExtractStats | undefined;
  inferenceMs: number;
}

async function upscaleRange(
  task: ShardTask,
  probe: Probe,
  range: { index: number; start: number; end: number },
  engine: Promise<Engine>,
  storage: Storage,
  work: string,
  log: Logger,
  hooks: ShardStepHooks,
): Promise<Encoded> {
  const source = await storage.mediaSource(task.input);
  try {
    return await upscaleSource(task, probe, range, engine, source, work, log, hooks);
  } catch (error) {
    throw storageFailureOr(error, source, range.index);
  } finally {
    source.release();
  }
}

/**
 * The error to report when upscaling failed: the storage room's classification of a failed read of
 * the source (AccessDenied, NotFound, or a transient Unavailable: exit 3) rather than ffmpeg's
 * rendering of the proxy's answer, when there was one.
 */
function storageFailureOr(error: unknown, source: MediaSource, index: number): unknown {
  const failure = source.failure();
  if (failure === undefined || error === failure) return error;
  if (error instanceof UpscaleError && error.code === 'Cancelled') return error;
  return new UpscaleError(failure.code, `shard ${index}: ${failure.message}`, {
    subject: failure.subject ?? source.display,
    kind: failure.kind,
    cause: error,
  });
}

async function upscaleSource(
  task: ShardTask,
  probe: Probe,
  range: { index: number; start: number; end: number },
  starting: Promise<Engine>,
  source: MediaSource,
  work: string,
  log: Logger,
  hooks: ShardStepHooks,
): Promise<Encoded> {
  const format = rgbFormatFor(probe);
  // A deep source's frames run on the engine's uint16 sessions: started now, beside the decoder's
  // start, rather than when the first frame reaches the engine.
  if (format === 'rgb48le') starting.then((engine) => engine.prepare(16), () => undefined);
  let extract: ExtractStats | undefined;
  const decoded = extractFrames({
    input: source.url,
    name: source.display,
    probe,
    start: range.start,
    end: range.end,
    format,
    deinterlace: task.settings.deinterlace,
    log,
    onStats: (stats) => {
      extract = stats;
    },
  });
  // The decoder starts now (ffmpeg's start and the seek, some 100 ms) and waits, one frame decoded,
  // for the engine; a failed engine stops it.
  const { frames, stop } = startedEarly(decoded);
  try {
    return await encodeUpscaled(task, probe, range, await starting, frames, { format, work }, log, hooks, () => extract);
  } finally {
    await stop(); // a decoder nobody read from (the engine failed, the encoder did not start)
  }
}

async function encodeUpscaled(
  task: ShardTask,
  probe: Probe,
  range: { index: number; start: number; end: number },
  engine: Engine,
  frames: AsyncGenerator<Frame, void, undefined>,
  { format, work }: { format: RgbFormat; work: string },
  log: Logger,
  hooks: ShardStepHooks,
  extract: () => ExtractStats | undefined,
): Promise<Encoded> {
  const width = probe.video.displayWidth;
  const height = probe.video.displayHeight;
  const deep = probe.video.bitDepth > 8;
  const geometry = outputGeometry(width, height, engine.info.modelScale, outputRequest(task.settings));
  logColourDecisions(task, probe, geometry.height, range.index, log);
  const bitDepth = format === 'rgb48le' ? 16 : 8;
  async function* inputs(): AsyncGenerator<InputFrame> {
    for await (const frame of frames) yield { data: frame.data, width, height, index: frame.index, bitDepth };
  }
  let inferenceMs = 0;
  let done = 0;
  async function* upscaled(): AsyncGenerator<Buffer> {
    let mark = performance.now();
    for await (const out of engine.upscaleStream(inputs())) {
      // Stopping here ends extraction and lets the engine finish its current run cleanly.
      if (hooks.signal?.aborted) throw new UpscaleError('Cancelled', `shard ${range.index} interrupted`, { subject: `shard ${range.index}` });
      inferenceMs += performance.now() - mark;
      done++;
      hooks.onFrame?.(done);
      yield Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength);
      mark = performance.now();
    }
  }
  const result = await encodeShard(upscaled(), {
    output: join(work, `shard-${range.index}.nut`),
    width: geometry.width,
    height: geometry.height,
    // The engine returns frames at the depth they went in: rgb48le for a deep source.
    format,
    ...sourceTiming(probe, range.start, range.end),
    codec: task.settings.codec,
    hardware: task.settings.encoder,
    ...(task.settings.crf !== undefined ? { crf: task.settings.crf } : {}),
    ...(task.settings.preset !== undefined ? { preset: task.settings.preset } : {}),
    // A deep source gets a 10-bit output (HEVC Main 10 by default) fed from the 16-bit frames.
    ...(deep ? { pixFmt: deepPixFmt(task.settings) } : {}),
    log,
  });
  return { result, extract: extract(), inferenceMs };
}

/**
 * The same frames, the generator started at once (its first frame asked for now: a generator does
 * nothing until asked), and a way to end it before anyone iterated.
 */
function startedEarly<T>(source: AsyncGenerator<T, void, undefined>): { frames: AsyncGenerator<T, void, undefined>; stop: () => Promise<void> } {
  const first = source.next();
  first.catch(() => undefined); // met by whoever iterates
  let iterated = false;
  async function* frames(): AsyncGenerator<T, void, undefined> {
    iterated = true;
    try {
      const r = await first;
      if (r.done === true) return;
      yield r.value;
      yield* source;
    } finally {
      await source.return(undefined);
    }
  }
  return {
    frames: frames(),
    // Once iterated, the consumer's own return() ends the source (above).
    stop: async () => {
      if (iterated) return;
      await first.catch(() => undefined);
      await source.return(undefined);
    },
  };
}

/** Logs what the shard does about interlacing, alpha and the colour matrix (the decisions are in media/). */
function logColourDecisions(task: ShardTask, probe: Probe, height: number, shard: number, log: Logger): void {
  const v = probe.video;
  if (isInterlaced(v.fieldOrder)) {
    if (task.settings.deinterlace === 'auto') log.info({ shard, fieldOrder: v.fieldOrder, filter: 'bwdif' }, 'Deinterlaced interlaced source before upscaling');
    else log.info({ shard, fieldOrder: v.fieldOrder }, 'Kept the fields of interlaced source (deinterlace off)');
  }
  if (v.alpha) log.warn({ shard, pixFmt: v.pixFmt }, 'Dropped the alpha channel of the source: the model upscales RGB');
  if (convertsMatrix(v, height)) {
    log.info({ shard, from: sourceColour(v).matrix, to: outputColour(v, height).matrix, height }, 'Converted colour matrix for the output size');
  }
}

/**
 * What the engine was asked for (engine-options.ts): a target size, a scale, or the model's own.
 * `upscale run` passes the size it decided (even for 4:2:0); an odd size from another driver is
 * cropped to even by the encoder (encode.ts).
 */
function outputRequest(settings: UpscaleSettings): { width: number; height: number } | { scale: number } | undefined {
  if ((settings.width === undefined) !== (settings.height === undefined)) {
    throw new UpscaleError('InvalidArgument', 'settings.width and settings.height go together in a shard task (upscale run derives the other from the source)', { subject: 'settings.width' });
  }
  if (settings.width !== undefined && settings.height !== undefined) return { width: settings.width, height: settings.height };
  return settings.scale === undefined ? undefined : { scale: settings.scale };
}

function deepPixFmt(settings: UpscaleSettings): string {
  return settings.codec === 'ffv1' ? 'yuv444p10le' : 'yuv420p10le';
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
