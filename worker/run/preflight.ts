/**
 * The checks `upscale run` makes before it takes the lock, probes, or starts the engine: gather the
 * facts (the input and output on disk, the encoders of this ffmpeg, the model's scale) and hand
 * them to the pure {@link decideOutput}. After the probe the same decision is made again with the
 * source's size and bit depth, and what was chosen on the user's behalf is logged.
 */
import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { findModel } from '../../models/catalogue.ts';
import { UpscaleError } from '../errors.ts';
import { chooseEncoder, VIDEO_CODECS, type EncoderHardware } from '../media/encoders.ts';
import { SUPPORTED_INPUTS } from '../media/ffmpeg-errors.ts';
import { decideOutput, type EncoderLookup, type OutputChoices, type OutputDecision, type OutputFacts } from '../media/output-decision.ts';
import type { Probe } from '../media/probe-schema.ts';
import { parseLocation } from '../storage/location.ts';
import type { UpscaleSettings } from '../task.ts';

export interface PreflightFacts extends OutputFacts {
  /** The local input is a directory. */
  inputIsDirectory: boolean;
}

/** What the user chose that decides the output, from the settings (`autoCodec`: no --codec given). */
export function choicesOf(settings: UpscaleSettings, autoCodec: boolean): OutputChoices {
  return {
    ...(autoCodec ? {} : { codec: settings.codec }),
    ...(settings.crf !== undefined ? { crf: settings.crf } : {}),
    ...(settings.preset !== undefined ? { preset: settings.preset } : {}),
    ...(settings.scale !== undefined ? { scale: settings.scale } : {}),
    ...(settings.width !== undefined ? { width: settings.width } : {}),
    ...(settings.height !== undefined ? { height: settings.height } : {}),
  };
}

/** Reads the input and output paths, the encoders and the model's scale. */
export async function gatherFacts(input: string, output: string, settings: UpscaleSettings): Promise<PreflightFacts> {
  return {
    input,
    output,
    ...(await pathFacts(input, output)),
    encoders: await encoderLookup(settings.encoder),
    ...(modelScale(settings.model) !== undefined ? { modelScale: modelScale(settings.model) as number } : {}),
  };
}

/** What the paths on disk say: a directory input or output, the output being the input. */
export async function pathFacts(input: string, output: string): Promise<{ inputIsDirectory: boolean; outputIsDirectory: boolean; sameFile: boolean }> {
  const inLoc = parseLocation(input);
  const outLoc = parseLocation(output);
  const inStat = inLoc.kind === 'file' ? await statOrUndefined(inLoc.path) : undefined;
  const outStat = outLoc.kind === 'file' ? await statOrUndefined(outLoc.path) : undefined;
  let sameFile = false;
  if (inLoc.kind === 'file' && outLoc.kind === 'file' && inStat !== undefined) {
    if (outStat !== undefined) sameFile = outStat.dev === inStat.dev && outStat.ino === inStat.ino;
    else sameFile = (await resolvedPath(outLoc.path)) === (await resolvedPath(inLoc.path));
  }
  // One S3 object: assembly would replace the source it still reads (with --overwrite) or refuse late.
  if (inLoc.kind === 's3' && outLoc.kind === 's3') sameFile = inLoc.bucket === outLoc.bucket && inLoc.key === outLoc.key;
  return {
    inputIsDirectory: inStat?.isDirectory() ?? false,
    outputIsDirectory: (outStat?.isDirectory() ?? false) || (outLoc.kind === 'file' && output.endsWith('/')),
    sameFile,
  };
}

/**
 * The checks before any work; returns the decision without the source (codec for a named one).
 * @throws UpscaleError naming the option or input and the cause
 */
export function preflight(facts: PreflightFacts, choices: OutputChoices): OutputDecision {
  if (facts.inputIsDirectory) {
    throw new UpscaleError('Unsupported', `-i/--input ${facts.input} is a directory, not a video file: upscale reads ${SUPPORTED_INPUTS}`, { subject: facts.input });
  }
  return decideOutput(facts, choices);
}

/** The decision once the source is probed; logs what was chosen or changed on the user's behalf. */
export function decideForSource(facts: PreflightFacts, choices: OutputChoices, probe: Probe, log: Logger): OutputDecision {
  const decision = decideOutput(
    {
      ...facts,
      source: { width: probe.video.displayWidth, height: probe.video.displayHeight, bitDepth: probe.video.bitDepth, otherVideo: probe.otherVideo ?? [] },
    },
    choices,
  );
  for (const note of decision.notes) log.info({ output: facts.output, codec: decision.codec, encoder: decision.encoder, ...decision.size }, `Decided output: ${note}`);
  return decision;
}

export function modelScale(model: string): number | undefined {
  return findModel(model)?.scale;
}

/** The encoder each codec would get here, or why it has none (a missing encoder, no NVENC). */
async function encoderLookup(hardware: EncoderHardware): Promise<EncoderLookup> {
  // Asked side by side: each NVENC test encode is an ffmpeg start of its own.
  const answers = await Promise.all(
    VIDEO_CODECS.map(async (codec) => {
      try {
        return [codec, { encoder: (await chooseEncoder(codec, hardware)).encoder }] as const;
      } catch (error) {
        if (!(error instanceof UpscaleError)) throw error;
        return [codec, { unavailable: error.message }] as const;
      }
    }),
  );
  const lookup: EncoderLookup = {};
  for (const [codec, answer] of answers) lookup[codec] = answer;
  return lookup;
}

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await stat(p);
  } catch {
    return undefined;
  }
}

/** The path with its directory's links resolved (the file itself may not exist yet). */
async function resolvedPath(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    try {
      return path.join(await realpath(path.dirname(p)), path.basename(p));
    } catch {
      return path.resolve(p);
    }
  }
}
