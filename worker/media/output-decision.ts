/**
 * Everything about the output that can be decided before a frame is upscaled: the container, the
 * video codec (one that fits the container and the source when the user named none), the encoder's
 * preset and CRF range, and the output frame size (even for 4:2:0 encoders). Pure: the facts
 * (paths, encoders of this ffmpeg, the probed source) are gathered by the caller; a bad choice is
 * an {@link UpscaleError} naming the option and the cause, so `upscale run` fails before the engine
 * starts and leaves nothing behind.
 */
import { UpscaleError } from '../errors.ts';
import { containerFor, OUTPUT_EXTENSIONS, videoCodecsFor, type Container, type ContainerKind } from './container-policy.ts';
import type { VideoCodec } from './encoders.ts';
import { stillFormatForName } from './still-format.ts';
import { ENCODER_RULES, presetList } from './encode-rules.ts';

/** The encoder each codec would use here (after the NVENC/CPU choice), or why there is none. */
export type EncoderLookup = Partial<Record<VideoCodec, { encoder: string } | { unavailable: string }>>;

/** What the probe says about the source, once known. */
export interface SourceFacts {
  /** Display size (rotation applied): the size the engine upscales. */
  width: number;
  height: number;
  bitDepth: number;
  /** Video streams besides the one upscaled (cover art excluded). */
  otherVideo: readonly { index: number; codec: string }[];
}

export interface OutputFacts {
  /** The output as the user gave it. */
  output: string;
  /** The input as the user gave it (for messages). */
  input: string;
  /** The output names an existing directory. */
  outputIsDirectory: boolean;
  /** Input and output are the same file (same path after resolving links, or the same inode). */
  sameFile: boolean;
  encoders: EncoderLookup;
  /** The model's native scale, when known (catalogue models); sizes are decided only with it. */
  modelScale?: number;
  /** Absent before the probe: then only what does not depend on the source is decided. */
  source?: SourceFacts;
}

export interface OutputChoices {
  /** The codec the user named; absent = chosen from the container and the source. */
  codec?: VideoCodec;
  crf?: number;
  preset?: string;
  scale?: number;
  width?: number;
  height?: number;
}

export interface OutputDecision {
  container: Container;
  codec: VideoCodec;
  encoder: string;
  /** The output frame size; absent before the probe or for a custom model of unknown scale. */
  size?: { width: number; height: number };
  /** What was chosen or changed on the user's behalf, for the log. */
  notes: string[];
}

/**
 * The codec used when the user names none: AV1 for WebM (the only one it takes here), HEVC Main 10
 * for a source of more than 8 bits (H.264 High 10 plays in few players and no browser), else H.264.
 */
export function defaultCodecs(kind: ContainerKind, deep: boolean): readonly VideoCodec[] {
  if (kind === 'webm') return ['av1'];
  return deep ? ['hevc', 'av1', 'h264'] : ['h264', 'hevc', 'av1'];
}

/** True when the encoded pixel format subsamples chroma 4:2:0 (all but 10-bit FFV1, which is 4:4:4). */
export function subsamples420(codec: VideoCodec, deep: boolean): boolean {
  return !(codec === 'ffv1' && deep);
}

/**
 * The output frame size: the model's scale, `scale`, or a target `width`/`height` (one of them
 * keeps the source's aspect), then made even for a 4:2:0 encoder (rounded down, at least 2).
 * `changed` is set when the size was made even.
 */
export function outputSize(
  source: { width: number; height: number },
  modelScale: number,
  choices: { scale?: number | undefined; width?: number | undefined; height?: number | undefined },
  evenOnly: boolean,
): { width: number; height: number; requested: { width: number; height: number } } {
  let width: number;
  let height: number;
  if (choices.width !== undefined || choices.height !== undefined) {
    width = choices.width ?? Math.max(1, Math.round((source.width * (choices.height as number)) / source.height));
    height = choices.height ?? Math.max(1, Math.round((source.height * (choices.width as number)) / source.width));
  } else {
    const scale = choices.scale ?? modelScale;
    width = source.width * scale;
    height = source.height * scale;
  }
  const requested = { width, height };
  if (evenOnly) {
    width = Math.max(2, width - (width % 2));
    height = Math.max(2, height - (height % 2));
  }
  return { width, height, requested };
}

/** Decides the output; see the file comment. @throws UpscaleError naming the option and the cause */
export function decideOutput(facts: OutputFacts, choices: OutputChoices): OutputDecision {
  const out = facts.output;
  if (facts.outputIsDirectory) {
    throw new UpscaleError('InvalidArgument', `-o/--output ${out} is a directory: name the output file, e.g. ${out.replace(/\/+$/, '')}/out.mp4`, { subject: out });
  }
  if (facts.sameFile) {
    throw new UpscaleError('InvalidArgument', `-o/--output ${out} is the input ${facts.input}: the output is written while the input is still read, so it cannot replace it (even with --overwrite); write to another file`, { subject: out });
  }
  const container = containerFor(out);
  if (container === undefined && stillFormatForName(out) !== undefined) {
    throw new UpscaleError('Unsupported', `-o/--output ${out}: unsupported output extension for a video input: it names a still image format (use one of ${OUTPUT_EXTENSIONS.join(', ')}; PNG, JPEG and WebP outputs are for image inputs)`, { subject: out });
  }
  if (container === undefined) {
    throw new UpscaleError('Unsupported', `-o/--output ${out}: unsupported output extension (use one of ${OUTPUT_EXTENSIONS.join(', ')})`, { subject: out });
  }
  if (choices.scale !== undefined && (choices.width !== undefined || choices.height !== undefined)) {
    throw new UpscaleError('InvalidArgument', '--scale and --width/--height both set the output size: give one of them', { subject: '--scale' });
  }
  const accepted = videoCodecsFor(container.kind);
  const notes: string[] = [];
  let codec: VideoCodec;
  let encoder: string;
  if (choices.codec !== undefined) {
    if (!accepted.includes(choices.codec)) {
      throw new UpscaleError('Unsupported', `--codec ${choices.codec} cannot be stored in ${out} (.${container.kind} takes ${accepted.join(', ')}): choose one of those or another container, e.g. .mkv`, { subject: '--codec' });
    }
    codec = choices.codec;
    encoder = encoderOf(facts, codec);
    checkEncoderSettings(encoder, codec, choices);
  } else {
    // Before the probe the bit depth is unknown: every default the source could get must accept the settings.
    const depths = facts.source === undefined ? [false, true] : [facts.source.bitDepth > 8];
    let picked: { codec: VideoCodec; encoder: string } | undefined;
    for (const deep of depths) {
      const chosen = firstAvailable(facts, defaultCodecs(container.kind, deep), out);
      checkEncoderSettings(chosen.encoder, chosen.codec, choices);
      picked ??= chosen;
    }
    ({ codec, encoder } = picked as { codec: VideoCodec; encoder: string });
    if (facts.source !== undefined) {
      const why = container.kind === 'webm' ? 'WebM holds AV1 here' : facts.source.bitDepth > 8 ? `the source has ${facts.source.bitDepth}-bit video and H.264 High 10 plays in few players` : 'the default';
      const tag = codec === 'hevc' && (container.kind === 'mp4' || container.kind === 'mov') ? ', tagged hvc1' : '';
      notes.push(`chose ${codec} (${encoder}${codec === 'hevc' && facts.source.bitDepth > 8 ? ', Main 10' : ''}${tag}) for ${out}: ${why}; pass --codec to choose another`);
    }
  }
  const decision: OutputDecision = { container, codec, encoder, notes };
  if (facts.source !== undefined) {
    for (const v of facts.source.otherVideo) notes.push(`video stream ${v.index} (${v.codec}) dropped: only the first video stream is upscaled`);
    if (facts.modelScale !== undefined) {
      const deep = facts.source.bitDepth > 8;
      const size = outputSize(facts.source, facts.modelScale, choices, subsamples420(codec, deep));
      if (size.width !== size.requested.width || size.height !== size.requested.height) {
        notes.push(`output size ${size.requested.width}x${size.requested.height} made even: ${size.width}x${size.height} (${encoder} encodes 4:2:0, which needs even sizes)`);
      }
      decision.size = { width: size.width, height: size.height };
    }
  }
  return decision;
}

function encoderOf(facts: OutputFacts, codec: VideoCodec): string {
  const found = facts.encoders[codec];
  if (found === undefined) throw new UpscaleError('Unsupported', `--codec ${codec}: no encoder for ${codec} was looked up`, { subject: '--codec' });
  if ('unavailable' in found) throw new UpscaleError('Unsupported', `--codec ${codec}: ${found.unavailable}`, { subject: '--codec' });
  return found.encoder;
}

function firstAvailable(facts: OutputFacts, codecs: readonly VideoCodec[], out: string): { codec: VideoCodec; encoder: string } {
  const reasons: string[] = [];
  for (const codec of codecs) {
    const found = facts.encoders[codec];
    if (found !== undefined && 'encoder' in found) return { codec, encoder: found.encoder };
    reasons.push(`${codec}: ${found === undefined ? 'not looked up' : found.unavailable}`);
  }
  throw new UpscaleError('Unsupported', `-o/--output ${out}: no encoder here for the codecs it takes (${reasons.join('; ')})`, { subject: out });
}

/** Refuses a preset or CRF the encoder does not take, instead of ffmpeg clamping or failing late. */
export function checkEncoderSettings(encoder: string, codec: VideoCodec, choices: Pick<OutputChoices, 'crf' | 'preset'>): void {
  const rules = ENCODER_RULES[encoder];
  if (rules === undefined) {
    if (choices.preset !== undefined) throw new UpscaleError('InvalidArgument', `--preset ${choices.preset}: ${codec} (${encoder}) is lossless and takes no preset`, { subject: '--preset' });
    if (choices.crf !== undefined) throw new UpscaleError('InvalidArgument', `--crf ${choices.crf}: ${codec} (${encoder}) is lossless and takes no CRF`, { subject: '--crf' });
    return;
  }
  if (choices.preset !== undefined && !rules.presets.includes(choices.preset)) {
    throw new UpscaleError('InvalidArgument', `--preset ${choices.preset} is not a preset of ${encoder} (--codec ${codec}): use ${presetList(rules.presets)}`, { subject: '--preset' });
  }
  const [lo, hi] = rules.crf;
  if (choices.crf !== undefined && (choices.crf < lo || choices.crf > hi)) {
    throw new UpscaleError('InvalidArgument', `--crf ${choices.crf} is outside the ${rules.quality} range of ${encoder} (--codec ${codec}): use ${lo}-${hi}`, { subject: '--crf' });
  }
}
