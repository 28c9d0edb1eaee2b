/**
 * Everything about a still image's output that can be decided before it is upscaled: the format
 * (the input's, unless the output's extension names another still format), the encoder and its
 * settings (`--quality` for JPEG and WebP, `--png-compression` for PNG), what happens to an alpha
 * channel and to a 16-bit source, and the output size. Pure: the caller gathers the facts; a bad
 * choice is an {@link UpscaleError} naming the option and the cause, raised before any work.
 */
import { UpscaleError } from '../errors.ts';
import { OUTPUT_EXTENSIONS } from './container-policy.ts';
import { outputSize } from './output-decision.ts';
import { STILL_ENCODERS, STILL_EXTENSIONS, stillFormatForName, type StillFormat } from './still-format.ts';

/** JPEG and WebP quality when `--quality` is not given. */
export const DEFAULT_QUALITY = 95;

export interface StillSource {
  /** Upright size (EXIF orientation applied): the size the engine upscales. */
  width: number;
  height: number;
  /** Bits per sample of the colour channels: 8 or 16. */
  bitDepth: number;
  alpha: boolean;
}

export interface StillFacts {
  input: string;
  output: string;
  /** The input's format, from its bytes. */
  inputFormat: StillFormat;
  outputIsDirectory: boolean;
  sameFile: boolean;
  /** The output is a local path (stills are not written to object storage). */
  outputIsLocal: boolean;
  /** The ffmpeg encoders this machine has, by name. */
  encoders: ReadonlySet<string>;
  /** The model's native scale, when known (catalogue models). */
  modelScale?: number;
  /** Absent before the image is probed. */
  source?: StillSource;
}

export interface StillChoices {
  scale?: number;
  width?: number;
  height?: number;
  /** 1-100, JPEG and WebP. */
  quality?: number;
  /** 0-9 (zlib level), PNG. */
  pngCompression?: number;
  /** Video options the user gave (`--codec`, `--crf`, `--preset`): none applies to a still. */
  videoOptions?: readonly string[];
}

export interface StillDecision {
  format: StillFormat;
  encoder: string;
  /** The raw pixels fed to the encoder: `rgb24`, or `rgba` when the alpha is kept. */
  inputPixFmt: 'rgb24' | 'rgba';
  /** ffmpeg output options after `-c:v`: pixel format and quality. */
  encoderArgs: string[];
  /** `keep`: resized with lanczos beside the upscaled colour; `drop`: the format has none. */
  alpha: 'none' | 'keep' | 'drop';
  /** Absent before the probe or for a custom model of unknown scale (the engine's output decides). */
  size?: { width: number; height: number };
  /** What was chosen on the user's behalf (log at info). */
  notes: string[];
  /** What is lost (log at warn). */
  warnings: string[];
}

/** Decides the output; see the file comment. @throws UpscaleError naming the option and the cause */
export function decideStill(facts: StillFacts, choices: StillChoices): StillDecision {
  const out = facts.output;
  const what = `the input ${facts.input} is a still image (${facts.inputFormat})`;
  if (facts.outputIsDirectory) {
    throw new UpscaleError('InvalidArgument', `-o/--output ${out} is a directory: name the output file, e.g. ${out.replace(/\/+$/, '')}/out.${facts.inputFormat === 'jpeg' ? 'jpg' : facts.inputFormat}`, { subject: out });
  }
  if (facts.sameFile) {
    throw new UpscaleError('InvalidArgument', `-o/--output ${out} is the input ${facts.input}: the output cannot replace its input (even with --overwrite); write to another file`, { subject: out });
  }
  const format = stillFormatForName(out);
  if (format === undefined) {
    const video = OUTPUT_EXTENSIONS.some((ext) => out.toLowerCase().replace(/[?#].*$/, '').endsWith(ext));
    const why = video ? 'a video extension' : 'an unsupported output extension';
    throw new UpscaleError('Unsupported', `-o/--output ${out}: ${what} and ${out} has ${why}: write a still image (${STILL_EXTENSIONS.join(', ')})`, { subject: out });
  }
  if (!facts.outputIsLocal) {
    throw new UpscaleError('Unsupported', `-o/--output ${out}: ${what}; still images are written to a local path only (not object storage or URLs)`, { subject: out });
  }
  const video = choices.videoOptions ?? [];
  if (video.length > 0) {
    throw new UpscaleError('InvalidArgument', `${video.join(', ')}: ${what}; these options set the video encoder (use --quality for JPEG/WebP, --png-compression for PNG)`, { subject: video[0] as string });
  }
  if (choices.scale !== undefined && (choices.width !== undefined || choices.height !== undefined)) {
    throw new UpscaleError('InvalidArgument', '--scale and --width/--height both set the output size: give one of them', { subject: '--scale' });
  }
  if (facts.modelScale === undefined && (choices.width === undefined) !== (choices.height === undefined)) {
    throw new UpscaleError('InvalidArgument', `${choices.width !== undefined ? '--width' : '--height'}: the model's scale is unknown (not a catalogue model), so the other side cannot follow the aspect: give both --width and --height, or --scale`, { subject: choices.width !== undefined ? '--width' : '--height' });
  }
  if (choices.quality !== undefined && format === 'png') {
    throw new UpscaleError('InvalidArgument', `--quality ${choices.quality}: ${out} is a PNG, which is lossless (use --png-compression 0-9 for its size/speed)`, { subject: '--quality' });
  }
  if (choices.pngCompression !== undefined && format !== 'png') {
    throw new UpscaleError('InvalidArgument', `--png-compression ${choices.pngCompression}: ${out} is a ${format.toUpperCase()}, not a PNG (use --quality 1-100)`, { subject: '--png-compression' });
  }
  const encoder = STILL_ENCODERS[format];
  if (!facts.encoders.has(encoder)) {
    throw new UpscaleError('Unsupported', `-o/--output ${out}: this ffmpeg has no ${encoder} encoder, which writes ${format.toUpperCase()}: use an ffmpeg built with it, or another format (${STILL_EXTENSIONS.join(', ')})`, { subject: out });
  }
  const notes: string[] = [];
  const warnings: string[] = [];
  if (format !== facts.inputFormat) notes.push(`writing ${format} for ${out} (the input is ${facts.inputFormat}): the output's extension names the format`);
  const alpha = facts.source?.alpha !== true ? 'none' : format === 'jpeg' ? 'drop' : 'keep';
  if (alpha === 'keep') notes.push('kept the alpha channel: resized with lanczos to the output size (the model upscales the colour only)');
  if (alpha === 'drop') warnings.push(`dropped the alpha channel: ${out} is a JPEG, which has none (write .png or .webp to keep it)`);
  if (facts.source !== undefined && facts.source.bitDepth > 8) {
    warnings.push(`reduced the ${facts.source.bitDepth}-bit source to 8 bits per channel: the models take and give 8-bit RGB`);
  }
  const quality = choices.quality ?? DEFAULT_QUALITY;
  const inputPixFmt = alpha === 'keep' ? 'rgba' : 'rgb24';
  let encoderArgs: string[];
  if (format === 'png') {
    encoderArgs = ['-pix_fmt', inputPixFmt, ...(choices.pngCompression !== undefined ? ['-compression_level', String(choices.pngCompression)] : [])];
  } else if (format === 'jpeg') {
    // Full-range 4:4:4 keeps the model's colour detail; quality maps onto mjpeg's qscale (95 -> 2).
    encoderArgs = ['-pix_fmt', 'yuvj444p', '-qmin', '1', '-qmax', '31', '-q:v', String(jpegQscale(quality))];
  } else {
    // bgra lets libwebp convert from sRGB itself; a fully opaque alpha is not stored.
    encoderArgs = ['-pix_fmt', 'bgra', '-quality', String(quality)];
  }
  const decision: StillDecision = { format, encoder, inputPixFmt, encoderArgs, alpha, notes, warnings };
  if (facts.source !== undefined && facts.modelScale !== undefined) {
    const size = outputSize(facts.source, facts.modelScale, choices, false);
    decision.size = { width: size.width, height: size.height };
  }
  return decision;
}

/** mjpeg's quantiser scale (1 best - 31) for a quality of 1-100: 100 -> 1, 95 -> 2, 50 -> 11. */
export function jpegQscale(quality: number): number {
  return Math.min(31, Math.max(1, Math.round((100 - quality) / 5) + 1));
}
