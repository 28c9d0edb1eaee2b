/**
 * `upscale run` on a still image (PNG, JPEG, WebP): one picture through the same engine as video
 * frames (tiling included), written in the input's format or the one the output's extension names.
 * No shards, no job prefix, no resume: decode, upscale, encode to a temporary file beside the output,
 * publish it atomically. The same run lock as a video run keeps two runs off one output.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createEngine } from '../engine/engine.ts';
import { UpscaleError } from '../errors.ts';
import { availableEncoders } from '../media/encoders.ts';
import { decideStill, type StillChoices, type StillDecision, type StillFacts } from '../media/still-decision.ts';
import { stillFormatOf, STILL_SNIFF_BYTES, type StillFormat } from '../media/still-format.ts';
import { decodeStill, encodeStill, probeStill, resizeAlpha, type StillProbe } from '../media/still-io.ts';
import { headBytes } from '../media/sniff.ts';
import { checkModel, engineHooksFor, engineOptionsFor } from '../steps/engine-options.ts';
import { discard, publish, temporaryPathFor } from '../storage/atomic-file.ts';
import { parseLocation } from '../storage/location.ts';
import type { Storage } from '../storage/storage.ts';
import type { UpscaleSettings } from '../task.ts';
import { modelScale, pathFacts } from './preflight.ts';
import { acquireRunLock } from './run-lock.ts';

export interface StillRunOptions {
  input: string;
  output: string;
  /** The input's format, from {@link stillInputFormat}. */
  format: StillFormat;
  settings: UpscaleSettings;
  overwrite: boolean;
  choices: StillChoices;
}

export interface StillRunResult {
  format: StillFormat;
  width: number;
  height: number;
  alpha: StillDecision['alpha'];
  seconds: number;
}

/** The still format of a local input, read from its first bytes; undefined for anything else. */
export async function stillInputFormat(input: string): Promise<StillFormat | undefined> {
  if (parseLocation(input).kind !== 'file') return undefined;
  const head = await headBytes(input, STILL_SNIFF_BYTES);
  return head === undefined ? undefined : stillFormatOf(head);
}

/** Upscales one image; errors are UpscaleErrors naming the input, output or option. */
export async function runStill(options: StillRunOptions, storage: Storage, log: Logger): Promise<StillRunResult> {
  const began = performance.now();
  const paths = await pathFacts(options.input, options.output);
  const scale = modelScale(options.settings.model);
  const facts: StillFacts = {
    input: options.input,
    output: options.output,
    inputFormat: options.format,
    outputIsDirectory: paths.outputIsDirectory,
    sameFile: paths.sameFile,
    outputIsLocal: parseLocation(options.output).kind === 'file',
    encoders: await availableEncoders(),
    ...(scale !== undefined ? { modelScale: scale } : {}),
  };
  // Before the lock, the probe or the engine: a bad output or option costs nothing and leaves nothing.
  decideStill(facts, options.choices);
  const output = parseLocation(options.output);
  if (output.kind !== 'file') throw new UpscaleError('Internal', 'a still output passed the local-path check but is not a file');
  if (!options.overwrite && (await exists(output.path))) {
    throw new UpscaleError('AlreadyExists', `-o/--output ${options.output}: the file already exists (pass --overwrite to replace it)`, { subject: options.output });
  }
  await checkModel(options.settings.model, storage);
  const lock = await acquireRunLock(options.output, {
    onStale: (stale) => log.info({ output: options.output, pid: stale.pid, lock: stale.path }, 'Took over the lock of a run that no longer runs'),
  });
  try {
    const probe = await probeStill(inputPath(options.input), options.format);
    const decision = decideStill({ ...facts, source: probe }, options.choices);
    for (const note of decision.notes) log.info({ output: options.output, format: decision.format }, `Decided output: ${note}`);
    for (const warning of decision.warnings) log.warn({ output: options.output, format: decision.format }, `Decided output: ${warning}`);
    const pixels = await upscaleImage(options, probe, decision, storage, log);
    const tmp = await temporaryPathFor(output.path);
    try {
      await encodeStill(pixels.data, pixels, decision.inputPixFmt, { name: decision.encoder, args: decision.encoderArgs }, tmp, options.output);
      await publish(tmp, output.path, options.overwrite);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new UpscaleError('AlreadyExists', `-o/--output ${options.output}: the file appeared while upscaling (pass --overwrite to replace it)`, { subject: options.output });
      }
      throw error;
    } finally {
      await discard(tmp);
    }
    log.info({ output: options.output, format: decision.format, width: pixels.width, height: pixels.height, alpha: decision.alpha }, 'Wrote upscaled image');
    return { format: decision.format, width: pixels.width, height: pixels.height, alpha: decision.alpha, seconds: (performance.now() - began) / 1000 };
  } finally {
    await lock.release();
  }
}

/** Decodes, upscales the colour on the engine, and puts a kept alpha back at the output size. */
async function upscaleImage(options: StillRunOptions, probe: StillProbe, decision: StillDecision, storage: Storage, log: Logger): Promise<{ data: Uint8Array; width: number; height: number }> {
  const decoded = await decodeStill(inputPath(options.input), options.format, probe, decision.alpha === 'keep' ? 'rgba' : 'rgb24');
  const keepAlpha = decision.alpha === 'keep';
  const rgb = keepAlpha ? channels(decoded, 4, [0, 1, 2]) : decoded;
  const engine = await createEngine(engineOptionsFor(sizedSettings(options.settings, decision)), engineHooksFor(storage, log));
  let out;
  try {
    out = await engine.upscale({ data: rgb, width: probe.width, height: probe.height, index: 0 });
  } finally {
    await engine.close();
  }
  if (!keepAlpha) return out;
  const alpha = await resizeAlpha(channels(decoded, 4, [3]), probe, out);
  const rgba = new Uint8Array(out.width * out.height * 4);
  for (let p = 0, q = 0, a = 0; a < alpha.length; p += 3, q += 4, a++) {
    rgba[q] = out.data[p] as number;
    rgba[q + 1] = out.data[p + 1] as number;
    rgba[q + 2] = out.data[p + 2] as number;
    rgba[q + 3] = alpha[a] as number;
  }
  return { data: rgba, width: out.width, height: out.height };
}

/** A target size for the engine when the decided one is not the model's plain scale. */
function sizedSettings(settings: UpscaleSettings, decision: StillDecision): UpscaleSettings {
  if (decision.size === undefined || (settings.width === undefined && settings.height === undefined)) return settings;
  return { ...settings, width: decision.size.width, height: decision.size.height };
}

/** The chosen channels of packed pixels with `stride` bytes each. */
function channels(data: Uint8Array, stride: number, pick: readonly number[]): Uint8Array {
  const n = data.length / stride;
  const out = new Uint8Array(n * pick.length);
  for (let i = 0, o = 0; i < n; i++) for (const c of pick) out[o++] = data[i * stride + c] as number;
  return out;
}

/** The local path of a still input (only local files are sniffed as stills). */
function inputPath(input: string): string {
  const location = parseLocation(input);
  return location.kind === 'file' ? location.path : input;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
