/**
 * The inference engine: the worker's one door to ONNX Runtime. `createEngine` loads the model,
 * finds the best execution provider by creating sessions (one per visible GPU, each on its own
 * thread), logs one inventory line, and returns `upscale` / `upscaleStream` / `close`.
 *
 * Frames are packed RGB, 8 bits per sample (rgb24) or 16 (rgb48le), and come out at the depth they
 * went in. 8-bit frames run the uint8 model. The first 16-bit frame starts a second set of sessions
 * on the uint16 variant of a catalogue model (same provider, precision and devices), so a 10-bit
 * source stays deep through the model; a user's (uint8) model gets 16-bit frames dithered to 8 bits
 * and its output widened back. The engine reads a frame's `data` until its promise settles; do not
 * reuse that buffer earlier.
 */
import os from 'node:os';
import pino from 'pino';
import type { Logger } from 'pino';
import type { Precision } from '../../models/catalogue.ts';
import { UpscaleError } from '../errors.ts';
import { deviceSlots } from './device-slots.ts';
import { describeCpu, discoverGpus } from './devices.ts';
import type { GpuDiscovery } from './devices.ts';
import { runFrame } from './frame-job.ts';
import type { OutputFrame, TilingState } from './frame-job.ts';
import { frameProblem, prepareFrame } from './frame-prep.ts';
import type { InputFrame } from './frame-prep.ts';
import { autoBatchSize, autoTileSize, pixelsPerRun } from './memory-policy.ts';
import { isCatalogueSpec, loadModel } from './model-source.ts';
import type { FetchModel, LoadedModel } from './model-source.ts';
import { parseEngineOptions } from './options.ts';
import type { EngineOptions, EngineOptionsInput } from './options.ts';
import { mapOrdered } from './ordered.ts';
import { SessionPool } from './pool.ts';
import type { SessionStats } from './pool.ts';
import { startSessions } from './providers.ts';
import type { DeviceSlot, PreparedModel } from './providers.ts';
import type { ProviderFacts } from './provider-presence.ts';
import { Semaphore } from './semaphore.ts';
import type { ProviderName } from './session-options.ts';
import { convertDepth } from './sample-depth.ts';
import type { SampleType } from '../../models/io-contract.ts';

export type { InputFrame } from './frame-prep.ts';
export type { OutputFrame } from './frame-job.ts';
export type { EngineOptionsInput } from './options.ts';

/** What the engine runs on, as logged at start. */
export interface EngineInfo {
  readonly provider: ProviderName;
  readonly precision: Precision | 'as-built';
  readonly model: string;
  readonly modelScale: number;
  readonly devices: readonly { readonly device: string; readonly name: string; readonly memoryFreeMiB: number | undefined; readonly memoryTotalMiB: number | undefined; readonly threads: number }[];
  /** Current tile edge (0 = untiled); lowered after an out-of-memory retry. */
  readonly tileSize: number;
  readonly tilePad: number;
  readonly batchSize: number;
  readonly maxFramesInFlight: number;
  /** Model FLOPs per input pixel (catalogue models), for throughput reports. */
  readonly flopsPerInputPixel: number | undefined;
  readonly skipped: readonly { provider: ProviderName; precision: string; reason: string }[];
}

export interface Engine {
  readonly info: EngineInfo;
  /** Per-session counters (batches, images, run time); the uint16 sessions follow once started. */
  readonly stats: readonly SessionStats[];
  /** Upscales one frame. Rejects with an UpscaleError naming the frame index and the device. */
  upscale(frame: InputFrame): Promise<OutputFrame>;
  /** Upscales a stream, in order, with bounded look-ahead; throws at the first failed frame. */
  upscaleStream(frames: AsyncIterable<InputFrame> | Iterable<InputFrame>): AsyncGenerator<OutputFrame>;
  /**
   * Starts the sessions for frames of this depth now (16: the uint16 sessions of a catalogue model)
   * instead of at the first such frame, for a caller that knows the depth before its frames come
   * (the shard step, while its decoder starts). A no-op when they are started or not needed.
   */
  prepare(bitDepth: 8 | 16): void;
  /** Finishes outstanding batches and ends every session thread. */
  close(): Promise<void>;
}

/** Sessions of one model I/O depth: the uint8 ones, and (started on demand) the uint16 ones. */
interface Lane {
  readonly pool: SessionPool;
  readonly depth: 8 | 16;
  readonly label: string;
}

/** Things that cannot travel as JSON: a logger, a fetch function, the environment to read. */
export interface EngineHooks {
  readonly logger?: Logger;
  readonly fetchModel?: FetchModel;
  /** Environment for CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** What provider libraries and drivers are installed (default: read from this machine). */
  readonly providerFacts?: ProviderFacts;
}

function prepareModelFn(options: EngineOptions, hooks: EngineHooks, loaded: Map<string, LoadedModel>, samples: SampleType = 'uint8'): (precision: Precision | 'as-built') => Promise<PreparedModel> {
  // `auto` may try one precision on several providers: load and rewrite each model once.
  const prepared = new Map<string, PreparedModel>();
  return async (precision) => {
    const cached = prepared.get(precision);
    if (cached !== undefined) return cached;
    let model = loaded.get(precision);
    if (model === undefined) {
      model = await loadModel(options.model, precision === 'as-built' ? 'fp32' : precision, hooks.fetchModel, samples);
      loaded.set(precision, model);
    }
    const output = options.output;
    // A target size may differ from the model's scale for some input sizes: it always gets the Resize.
    const native = output === undefined || ('scale' in output && output.scale === model.scale);
    let bytes = model.bytes;
    if (!native) {
      // Loaded only here: it loads protobufjs, which a model at its own scale never needs.
      const { appendOutputResize } = await import('./resize-graph.ts');
      try {
        bytes = appendOutputResize(model.bytes);
      } catch (error) {
        throw new UpscaleError('Unsupported', `preparing model ${model.id} for output ${JSON.stringify(output)}: ${(error as Error).message}`, { subject: model.id, cause: error });
      }
    }
    const result = { bytes, precision: model.precision, samples: model.samples };
    prepared.set(precision, result);
    return result;
  };
}

function memoryBytes(provider: ProviderName, slots: readonly DeviceSlot[], options: EngineOptions): number {
  if (provider === 'cpu') return os.totalmem();
  if (options.deviceMemoryMiB !== undefined) return options.deviceMemoryMiB * 2 ** 20;
  const known = slots.map((s) => s.memoryFreeMiB).filter((m): m is number => m !== undefined);
  // Unknown GPU memory (WebGPU on another vendor): plan for a modest 4 GiB card.
  return (known.length > 0 ? Math.min(...known) : 4096) * 2 ** 20;
}

/**
 * Creates the engine.
 * @throws UpscaleError `InvalidArgument` (options), `NotFound`/`InvalidInput` (model),
 *   `Unsupported` (explicit provider unavailable, or an output resize the model cannot take)
 */
export async function createEngine(input: EngineOptionsInput, hooks: EngineHooks = {}): Promise<Engine> {
  const options = parseEngineOptions(input);
  const log = hooks.logger ?? pino({ name: 'engine' });
  const needsGpuInfo = options.provider !== 'cpu';
  const discovery: GpuDiscovery = needsGpuInfo ? await discoverGpus(hooks.env ?? process.env) : { gpus: [] };
  if (needsGpuInfo && discovery.note !== undefined) log.info({ reason: discovery.note }, 'Found no NVIDIA GPU through nvidia-smi');
  const cpu = describeCpu();
  const loaded = new Map<string, LoadedModel>();
  const started = await startSessions({
    provider: options.provider,
    precision: options.precision,
    fromCatalogue: isCatalogueSpec(options.model),
    prepareModel: prepareModelFn(options, hooks, loaded),
    devicesFor: (provider) =>
      deviceSlots(provider, {
        gpus: discovery.gpus,
        cpu,
        enableMultiGpu: options.enableMultiGpu,
        sessionsPerDevice: options.sessionsPerDevice,
        cpuSessions: options.cpuSessions,
        cpuThreads: options.cpuThreads,
      }),
    log,
    ...(hooks.providerFacts !== undefined ? { facts: hooks.providerFacts } : {}),
  });
  const model = loaded.get(started.precision);
  if (model === undefined) throw new UpscaleError('Internal', 'starting the engine: the model of the started sessions is not loaded');

  const weightPrecision = model.precision === 'as-built' ? 'fp32' : model.precision;
  const sessionsOnDevice = started.provider === 'cpu' ? started.sessions.length : options.sessionsPerDevice;
  const pixels = pixelsPerRun({ architecture: model.architecture, precision: weightPrecision, deviceMemoryBytes: memoryBytes(started.provider, started.slots, options), sessionsOnDevice });
  const tiling: TilingState = { tileSize: options.tileSize === 'auto' ? autoTileSize(pixels, options.tilePad) : options.tileSize, tilePad: options.tilePad };
  const batchSize = options.batchSize === 'auto' ? autoBatchSize(started.provider) : options.batchSize;
  const window = tiling.tileSize + 2 * tiling.tilePad;
  const pool = new SessionPool(started.sessions, { maxBatch: batchSize, maxPixels: Math.max(pixels, window * window), prefetch: options.prefetch }, log);
  const maxFramesInFlight = options.maxFramesInFlight ?? Math.max(2, started.sessions.length * options.prefetch * batchSize);
  const slots = new Semaphore(maxFramesInFlight);
  const graphResize = !(options.output === undefined || ('scale' in options.output && options.output.scale === model.scale));
  const modelLabel = `${model.id} (${model.precision})`;

  const devices = started.slots.map((s) => ({ device: s.label, name: s.name, memoryFreeMiB: s.memoryFreeMiB, memoryTotalMiB: s.memoryTotalMiB, threads: s.threads }));
  const info: EngineInfo = {
    provider: started.provider,
    precision: started.precision,
    model: model.id,
    modelScale: model.scale,
    devices,
    get tileSize() {
      return tiling.tileSize;
    },
    tilePad: tiling.tilePad,
    get batchSize() {
      return pool.maxBatch;
    },
    maxFramesInFlight,
    flopsPerInputPixel: model.flopsPerInputPixel,
    skipped: started.skipped,
  };
  log.info(
    {
      provider: info.provider,
      precision: info.precision,
      model: info.model,
      tileSize: info.tileSize,
      tilePad: info.tilePad,
      batchSize: info.batchSize,
      maxFramesInFlight,
      sessions: devices.length,
      multiGpu: options.enableMultiGpu,
      devices,
      output: options.output,
      crop: options.crop,
    },
    'Started inference engine',
  );

  let closed = false;
  const shallow: Lane = { pool, depth: 8, label: modelLabel };
  let deep: Promise<Lane> | undefined;
  let deepPool: SessionPool | undefined;
  let ditherLogged = false;
  const startDeep = async (): Promise<Lane> => {
    const precision = started.precision === 'as-built' ? 'fp32' : started.precision;
    try {
      const more = await startSessions({
        provider: started.provider,
        precision,
        fromCatalogue: true,
        prepareModel: prepareModelFn(options, hooks, new Map(), 'uint16'),
        devicesFor: () => started.slots,
        log,
        ...(hooks.providerFacts !== undefined ? { facts: hooks.providerFacts } : {}),
      });
      deepPool = new SessionPool(more.sessions, { maxBatch: batchSize, maxPixels: Math.max(pixels, window * window), prefetch: options.prefetch, bytesPerPixel: 6 }, log);
      log.info({ model: model.id, provider: more.provider, precision: more.precision, sessions: more.sessions.length }, 'Started uint16 inference sessions for 16-bit frames');
      return { pool: deepPool, depth: 16, label: `${model.id} (${more.precision}, uint16)` };
    } catch (error) {
      log.warn({ model: model.id, err: (error as Error).message }, 'Dithered 16-bit frames to 8 bits: the uint16 model could not start');
      return shallow;
    }
  };
  const laneFor = (frame: InputFrame): Lane | Promise<Lane> => {
    if ((frame.bitDepth ?? 8) !== 16) return shallow;
    if (model.fromCatalogue) return (deep ??= startDeep());
    if (!ditherLogged) {
      ditherLogged = true;
      log.info({ model: model.id }, 'Dithered 16-bit frames to 8 bits for a model with uint8 I/O');
    }
    return shallow;
  };
  const upscale = async (frame: InputFrame): Promise<OutputFrame> => {
    if (closed) throw new UpscaleError('Cancelled', `upscaling frame ${frame.index}: the engine is closed`, { subject: `frame ${frame.index}` });
    const problem = frameProblem(frame, options.crop);
    if (problem !== undefined) throw new UpscaleError('InvalidInput', `upscaling frame ${frame.index}: the frame ${problem}`, { subject: `frame ${frame.index}` });
    const lane = await laneFor(frame);
    await slots.acquire();
    try {
      const prepared = prepareFrame(frame, options.crop, lane.depth);
      const out = await runFrame(prepared, { modelScale: model.scale, graphResize, output: options.output, tiling, modelLabel: lane.label, submit: (items) => lane.pool.submit(items), log });
      const depth = frame.bitDepth ?? 8;
      return out.bitDepth === depth ? out : { ...out, data: convertDepth(out.data, out.width, out.bitDepth, depth), bitDepth: depth };
    } finally {
      slots.release();
    }
  };

  return {
    info,
    get stats() {
      return deepPool === undefined ? pool.stats : [...pool.stats, ...deepPool.stats];
    },
    upscale,
    upscaleStream: (frames) => mapOrdered(frames, upscale, maxFramesInFlight),
    prepare: (bitDepth) => {
      if (bitDepth === 16 && model.fromCatalogue && !closed) deep ??= startDeep();
    },
    close: async () => {
      closed = true;
      await pool.close();
      await deep;
      await deepPool?.close();
      log.info({ sessions: deepPool === undefined ? pool.stats : [...pool.stats, ...deepPool.stats] }, 'Closed inference engine');
    },
  };
}
