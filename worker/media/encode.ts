/**
 * Encode one shard: raw RGB frames (piped to ffmpeg's stdin) -> a NUT shard file.
 *
 * Timestamps: every frame keeps its source pts. The pipe carries none, so a `setpts` expression
 * (see `setpts-expr.ts`) in a `-filter_script` file gives frame N the shard-relative pts
 * `pts[N] - pts[0]` in the source time base, `-enc_time_base` makes the encoder use that time base
 * and `-fps_mode passthrough` forbids duplicating or dropping. Shard-relative timestamps let the
 * concat demuxer place each shard at its offset from the plan (`concat-list.ts`). NUT stores no
 * negative timestamps, so a shard with B-frames is shifted by its decoding delay; the concat
 * demuxer subtracts each file's own start, so this never reaches the output.
 * This works on ffmpeg 5.1 for CFR and VFR alike; nothing is normalised to a constant rate.
 *
 * Container: NUT keeps any time base exactly (Matroska rounds to 1 ms), stores B-frame streams and
 * every codec used here, and is a crash-tolerant intermediate (no index needed to read it). It is
 * written to a temporary name, its packet count checked, then renamed: a shard file that exists is
 * complete. That one ffprobe run also reads what assembly joins shards by (codec parameters and the
 * extradata hash, `inspect.ts`); the result carries it, so the shard manifest can record it and
 * assembly need not start an ffprobe per shard again.
 *
 * Colour: RGB -> YUV uses the output's matrix and range from `outputColour` (colour.ts): the
 * source's, or BT.709 where an SD source becomes HD, and the output is always tagged explicitly
 * (matrix, primaries, transfer, range), so players show the colours of the source and HDR tags survive.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { discard, publish, reserveTemporary } from '../storage/atomic-file.ts';
import { chooseEncoder, defaultPixFmt, encoderOptions, type EncoderChoice, type EncoderHardware, type VideoCodec } from './encoders.ts';
import { MediaError } from './errors.ts';
import { classifyFailure } from './ffmpeg-errors.ts';
import { ffmpegUrl } from './input-policy.ts';
import { startFfmpeg } from './ffmpeg-run.ts';
import { prepareShardInspection, type ShardInspection } from './inspect.ts';
import type { Probe, Rational } from './probe-schema.ts';
import { ptsList } from './frame-index.ts';
import { colourTagFilter, colourTagOptions, encodeScaleOptions, outputColour, type SourceColourFacts } from './colour.ts';
import { withHdrParams, type HdrMetadata } from './hdr-metadata.ts';
import { frameBytes, type RgbFormat } from './raw-format.ts';
import { setptsExpression } from './setpts-expr.ts';

export interface EncodeOptions {
  /** Local path of the shard file to create (NUT; written atomically). */
  output: string;
  /** Size and layout of the incoming frames. */
  width: number;
  height: number;
  format: RgbFormat;
  /** Source pts of the shard's frames, in order (from extraction or `ptsList` of the probe). */
  pts: readonly number[];
  /** Source video time base and nominal frame rate (`probe.video.timeBase`, `rFrameRate`). */
  timeBase: Rational;
  frameRate: Rational;
  /** Codec, or an encoder chosen once per job with `chooseEncoder` (recommended for NVENC). */
  codec: VideoCodec | EncoderChoice;
  /** Used only when `codec` is a codec name (default `auto`). */
  hardware?: EncoderHardware;
  crf?: number;
  preset?: string;
  /** Output pixel format (default 4:2:0, 10-bit for rgb48le frames). */
  pixFmt?: string;
  /** The source's colour (the probe's `video` has these fields); absent: an untagged YUV source. */
  color?: SourceColourFacts;
  /** HDR10 static metadata to write (libx265 only; see hdr-metadata.ts). */
  hdr?: HdrMetadata | null;
  /** Sample aspect ratio to write, e.g. "1:1" (the source's, since scaling keeps it). */
  sar?: string;
  log?: Logger;
}

export interface EncodeResult {
  output: string;
  frames: number;
  bytes: number;
  encoder: string;
  pixFmt: string;
  /** Wall time from the first frame request to the verified shard. */
  wallMs: number;
  /** Time waiting for the next frame from upstream (decode + inference). */
  waitMs: number;
  /** Time the upstream was held back because ffmpeg's stdin was full (encoder slower). */
  writeMs: number;
  /** Time from the last frame to ffmpeg's exit (encoder flush and muxing). */
  flushMs: number;
  /** The shard's video stream as read back from the written file (undefined until it is). */
  video?: ShardInspection;
}

/** What every shard of a source shares with it: its timestamps, clock, colour and aspect. */
export type SourceTiming = Pick<EncodeOptions, 'pts' | 'timeBase' | 'frameRate' | 'color' | 'hdr' | 'sar'>;

/** The source timing of frames `[start, end)`, for {@link encodeShard}. */
export function sourceTiming(probe: Probe, start: number, end: number): SourceTiming {
  return {
    pts: ptsList(probe.frames, start, end),
    timeBase: probe.video.timeBase,
    frameRate: probe.video.rFrameRate,
    color: probe.video,
    hdr: probe.video.hdr,
    sar: probe.video.sar,
  };
}

/** Anything carrying frame bytes: a Buffer or an extracted/upscaled frame object. */
export type FrameLike = Buffer | { data: Buffer };

/**
 * Encodes the frames to `opts.output`. The iterable must yield exactly `pts.length` frames of
 * `width x height` in `format`; otherwise `FrameMismatch`/`InvalidOptions` and no shard file.
 * An error thrown by the iterable (extraction, inference) aborts the encode and is rethrown.
 */
export async function encodeShard(frames: AsyncIterable<FrameLike>, opts: EncodeOptions): Promise<EncodeResult> {
  const began = performance.now();
  const name = opts.output;
  const size = frameBytes(opts.width, opts.height, opts.format);
  if (opts.pts.length === 0) throw new MediaError('InvalidOptions', 'encode', name, 'a shard needs at least one frame');
  const choice = typeof opts.codec === 'string' ? await chooseEncoder(opts.codec, opts.hardware ?? 'auto', opts.log) : opts.codec;
  const pixFmt = opts.pixFmt ?? defaultPixFmt(choice.codec, opts.format === 'rgb48le');
  const result: EncodeResult = { output: opts.output, frames: 0, bytes: 0, encoder: choice.encoder, pixFmt, wallMs: 0, waitMs: 0, writeMs: 0, flushMs: 0 };

  const work = await mkdtemp(join(tmpdir(), 'upscale-encode-'));
  const output = resolve(opts.output);
  const tmp = await reserveTemporary(output);
  const script = join(work, 'filters.txt');
  const base = opts.pts[0] as number;
  const tb = opts.timeBase;
  const colour = outputColour(opts.color ?? { colorRange: null, colorSpace: null, colorTransfer: null, colorPrimaries: null, colourModel: 'yuv', displayHeight: opts.height }, opts.height);
  // 4:2:0 needs even sizes: an odd one (a driver that did not decide the size) loses its last column/row.
  const evenW = opts.width - (opts.width % 2);
  const evenH = opts.height - (opts.height % 2);
  const crop = pixFmt.includes('420') && (evenW !== opts.width || evenH !== opts.height);
  if (crop) opts.log?.info({ shard: opts.output, from: `${opts.width}x${opts.height}`, to: `${evenW}x${evenH}`, pixFmt }, 'Cropped an odd frame size to even for 4:2:0');
  await writeFile(
    script,
    [
      `settb=expr=${tb.num}/${tb.den}`,
      `setpts='${setptsExpression(opts.pts.map((p) => p - base))}'`,
      ...(crop ? [`crop=${evenW}:${evenH}:0:0`] : []),
      `scale=${[...encodeScaleOptions(colour), 'flags=bicubic+accurate_rnd+full_chroma_int'].join(':')}`,
      `format=${pixFmt}`,
      colourTagFilter(colour),
      ...(opts.sar ? [`setsar=${opts.sar.replace(':', '/')}`] : []),
    ].join(','),
  );

  let upstreamError: Error | undefined;
  let lastFrameAt = 0;
  async function* feed(): AsyncGenerator<Buffer> {
    let mark = performance.now();
    try {
      for await (const f of frames) {
        result.waitMs += performance.now() - mark;
        const data = Buffer.isBuffer(f) ? f : f.data;
        if (data.length !== size) {
          throw new MediaError('InvalidOptions', 'encode', name, `frame ${result.frames} has ${data.length} bytes, expected ${size} (${opts.width}x${opts.height} ${opts.format})`);
        }
        if (result.frames >= opts.pts.length) {
          throw new MediaError('FrameMismatch', 'encode', name, `received more than the ${opts.pts.length} planned frames`);
        }
        result.frames++;
        mark = performance.now();
        yield data;
        result.writeMs += performance.now() - mark;
        mark = performance.now();
      }
      if (result.frames !== opts.pts.length) {
        throw new MediaError('FrameMismatch', 'encode', name, `received ${result.frames} frames, planned ${opts.pts.length}`);
      }
      lastFrameAt = performance.now();
    } catch (err) {
      upstreamError = err instanceof Error ? err : new Error(String(err));
      throw upstreamError;
    }
  }
  const input = Readable.from(feed(), { objectMode: false, highWaterMark: size });
  // The read-back's ffprobe starts now and waits for the finished file (inspect.ts): its start is
  // not added to the time from the last frame to a committed shard.
  const readBack = prepareShardInspection('encode');
  const fps = opts.frameRate.num > 0 ? `${opts.frameRate.num}/${opts.frameRate.den}` : '25';
  const tags = colourTagOptions(colour);
  const job = startFfmpeg({
    inputs: [{ source: input, options: ['-protocol_whitelist', 'pipe,file', '-f', 'rawvideo', '-pix_fmt', opts.format, '-video_size', `${opts.width}x${opts.height}`, '-framerate', fps] }],
    output: ffmpegUrl(tmp),
    outputOptions: [
      '-y', // the temporary output exists (created exclusively, empty): ffmpeg may replace it
      '-filter_script:v', script,
      '-fps_mode', 'passthrough',
      '-enc_time_base', `${tb.num}:${tb.den}`,
      ...withHdrParams(encoderOptions(choice, { ...(opts.crf !== undefined ? { crf: opts.crf } : {}), ...(opts.preset !== undefined ? { preset: opts.preset } : {}), frameRate: opts.frameRate.num > 0 ? opts.frameRate : { num: 25, den: 1 } }), opts.hdr ?? null),
      ...tags,
      '-map_metadata', '-1',
      '-f', 'nut',
    ],
  });
  try {
    try {
      await job.done;
    } catch (err) {
      if (upstreamError !== undefined) throw upstreamError;
      const failure = classifyFailure('encode', name, job.stderr, `encoding with ${choice.encoder}`, err);
      if (failure.reason !== 'InvalidOptions') throw failure;
      throw new MediaError('InvalidOptions', 'encode', choice.encoder, encoderRefusal(choice.encoder, { ...opts, pixFmt }, job.stderr), { cause: err });
    }
    if (upstreamError !== undefined) throw upstreamError;
    result.flushMs = lastFrameAt ? performance.now() - lastFrameAt : 0;
    const video = await readBack.inspect(tmp);
    if (video.packets !== opts.pts.length) {
      throw new MediaError('FrameMismatch', 'encode', name, `shard file holds ${video.packets} frames, expected ${opts.pts.length}`);
    }
    result.video = video;
    result.bytes = (await stat(tmp)).size;
    await publish(tmp, output, true);
    result.wallMs = performance.now() - began;
    opts.log?.debug({ shard: opts.output, frames: result.frames, encoder: choice.encoder, ms: Math.round(result.wallMs) }, 'Encoded shard');
    return result;
  } finally {
    input.destroy();
    job.kill();
    readBack.cancel();
    await rm(work, { recursive: true, force: true });
    await discard(tmp);
  }
}

/**
 * Why an encoder refused to open, for people: the settings it was given and its own error lines
 * (`[libsvtav1 @ 0x..] Value 99 for parameter 'preset' out of range`), not a temporary file name.
 */
export function encoderRefusal(encoder: string, opts: Pick<EncodeOptions, 'width' | 'height' | 'crf' | 'preset' | 'pixFmt'>, stderr: readonly string[]): string {
  const settings = [`${opts.width}x${opts.height}`, opts.pixFmt, opts.preset === undefined ? undefined : `preset ${opts.preset}`, opts.crf === undefined ? undefined : `crf ${opts.crf}`].filter((x) => x !== undefined).join(', ');
  const own = stderr.filter((l) => l.includes(`[${encoder} @`) || l.startsWith(`${encoder.replace(/^lib/, '')} [error]`)).map((l) => l.replace(/^\[[^\]]* @ [^\]]*\] */, '').trim());
  return `the encoder refused its settings (${settings}): ${own.length > 0 ? own.slice(-3).join('; ') : 'it gave no reason (Error while opening encoder)'}`;
}
