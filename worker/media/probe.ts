/**
 * Probe: ffprobe -> the small, zod-validated {@link Probe} document.
 *
 * Exact frame count. `nb_frames` from a header is only a claim (MP4 counts edit-list-discarded
 * samples, Matroska/WebM usually have none, a truncated file keeps its header), so the count always
 * comes from reading the stream:
 * 1. A demux-only packet scan (no decoding; cheap) lists every video packet's pts and keyframe flag.
 *    Sorted, those pts are the frame timestamps extraction selects by.
 * 2. When the container states `nb_frames` and it equals the packet count, that is the count
 *    (`container+packets`). Without one (WebM/MKV), a codec that maps packets to frames one to one
 *    (progressive H.264/HEVC, VP9, AV1, ...: `packet-count.ts`) has its first 48 packets decoded;
 *    when they give exactly their own timestamps the packets are the index (`packets+sample`).
 * 3. Otherwise (field-coded or other codecs, a disagreement) the stream is decoded once
 *    (`-show_frames`, the same decoder and timestamps extraction uses) and the decoded
 *    timestamps are compared with the packets': equal gives `packets+decode`; different (packets
 *    that decode to no frame, or no packet timestamps at all) makes the decoded list the index
 *    (`decode`). A full decode costs about as much as playing the file once, which is why it is not
 *    done when the packets are enough; `decode: 'always'` forces it.
 */
import type { Logger } from 'pino';
import { MediaError } from './errors.ts';
import { classifyFailure, truncationIn } from './ffmpeg-errors.ts';
import { runFfprobe } from './ffprobe-run.ts';
import { firstFrameHdrMetadata, firstPacketTimes, frameIndexFor, hasNoPackets, startEarlyPacketScan, type EarlyPacketScan } from './frame-scan.ts';
import { frameCount, isVariableFrameRate } from './frame-index.ts';
import { demuxerOf, displayName, isAllowedDemuxer } from './input-policy.ts';
import { DEFAULT_INPUT_LIMITS, frameSizeRefusal, keptStreams, pictureRefusal, refusedPictureIn, type InputLimits } from './input-limits.ts';
import { pixelFormatInfo } from './pixel-formats.ts';
import { probeHeadArgs } from './probe-args.ts';
import { headBytes, startsLikeIsoBmff } from './sniff.ts';
import {
  ffprobeOutputSchema,
  parseNum,
  parseRational,
  type FfprobeStream,
  type Probe,
} from './probe-schema.ts';

export interface ProbeOptions {
  /** Name of the input in logs and errors (e.g. the `s3://` URI a presigned URL was made from). */
  name?: string;
  /** Decode the stream to confirm the count: `auto` (default, see the file comment), always, never. */
  decode?: 'auto' | 'always' | 'never';
  /** Largest picture and most audio/subtitle streams accepted (input-limits.ts); defaults 64 MP, 64. */
  limits?: Partial<InputLimits>;
  log?: Logger;
  signal?: AbortSignal;
}

/**
 * Probes a local file or http(s) URL. Throws {@link MediaError}: `NotAVideo`, `NoVideoStream`,
 * `TruncatedInput`, `UnsafeInput`, `InputNotFound` (permanent) or `InputUnreachable`/`FfmpegFailed`.
 */
export async function probe(input: string, opts: ProbeOptions = {}): Promise<Probe> {
  const name = displayName(input, opts.name);
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS, ...opts.limits };
  // The video packets are scanned beside this first pass (frame-scan.ts: startEarlyPacketScan).
  const early = startEarlyPacketScan(input, name, opts.signal);
  try {
    return await probeWith(input, name, limits, early, opts);
  } finally {
    early.cancel();
  }
}

async function probeWith(input: string, name: string, limits: InputLimits, early: EarlyPacketScan, opts: ProbeOptions): Promise<Probe> {
  const signal = opts.signal ? { signal: opts.signal } : {};
  // The head pass (probe-args.ts); the packet scan runs beside it (startEarlyPacketScan).
  const head = await runFfprobe(probeHeadArgs(input, limits.maxPixels), signal);
  const refused = refusedPictureIn(head.stderr);
  if (refused !== undefined) throw new MediaError('UnsupportedInput', 'probe', name, pictureRefusal(refused, limits.maxPixels));
  if (head.code !== 0) {
    if ((await headBytes(input, 1))?.length === 0) throw new MediaError('NotAVideo', 'probe', name, 'the file is empty (0 bytes)');
    const failure = classifyFailure('probe', name, head.stderr, 'ffprobe');
    // "moov atom not found": a cut MP4, or something that never was one (a text file named .mp4).
    if (failure instanceof MediaError && failure.reason === 'TruncatedInput') {
      const first = await headBytes(input, 12);
      if (first !== undefined && !startsLikeIsoBmff(first)) {
        throw new MediaError('NotAVideo', 'probe', name, 'not a video file ffmpeg can read (it does not start like an MP4/MOV file, whatever its name says)');
      }
    }
    throw failure;
  }
  const truncated = truncationIn(head.stderr);
  if (truncated !== undefined) throw classifyFailure('probe', name, [truncated], 'ffprobe');
  const parsed = ffprobeOutputSchema.safeParse(JSON.parse(head.stdout || '{}'));
  if (!parsed.success) throw new MediaError('NotAVideo', 'probe', name, `unexpected ffprobe output: ${parsed.error.message}`);
  const { format, streams, chapters, packets } = parsed.data;
  if (!isAllowedDemuxer(format.format_name)) {
    throw new MediaError('UnsafeInput', 'probe', name, `container ${format.format_name} is not accepted`);
  }
  const v = streams.find((s) => s.codec_type === 'video' && s.disposition?.['attached_pic'] !== 1);
  if (v !== undefined && v.width !== undefined && v.height !== undefined) {
    const tooLarge = frameSizeRefusal(v.width, v.height, limits.maxPixels);
    if (tooLarge !== undefined) throw new MediaError('UnsupportedInput', 'probe', name, tooLarge);
  }
  // A stream with no packets has no decoded frame, so ffprobe knows no pixel format (or no size).
  if (v?.codec_name && (!v.pix_fmt || v.pix_fmt === 'unknown' || !v.width) && (await hasNoPackets(input, demuxerOf(format.format_name), v.index, opts.signal))) {
    throw new MediaError('NoVideoStream', 'probe', name, `video stream ${v.index} (${v.codec_name}) has no frames`);
  }
  if (!v?.codec_name || !v.width || !v.height || !v.pix_fmt) {
    const kinds = streams.map((s) => s.codec_type ?? 'unknown').join(', ') || 'none';
    throw new MediaError('NoVideoStream', 'probe', name, `no video stream (streams: ${kinds})`);
  }
  const demuxer = demuxerOf(format.format_name);
  const { kept, dropped } = keptStreams(streams.filter((s) => (s.codec_type === 'audio' && s.codec_name) || s.codec_type === 'subtitle'), limits.maxStreams);
  if (dropped.length > 0) {
    opts.log?.warn(
      { input: name, kept: kept.length, dropped: dropped.length, firstDropped: dropped[0]?.index, maxStreams: limits.maxStreams },
      `Dropped ${dropped.length} audio/subtitle streams beyond the limit of ${limits.maxStreams} (streams ${dropped[0]?.index}-${dropped.at(-1)?.index}); raise it with --max-streams`,
    );
  }
  const timeBase = parseRational(v.time_base);
  if (timeBase.num <= 0) throw new MediaError('UnsupportedInput', 'probe', name, `video stream has no time base`);
  // `v:0` is this stream unless another video stream (a cover picture) comes first.
  const firstVideo = streams.find((s) => s.codec_type === 'video') === v;
  const { index, source } = await frameIndexFor(input, name, demuxer, v, { ...opts, maxPixels: limits.maxPixels }, firstVideo ? early.scan : undefined);
  const count = frameCount(index);
  const rotation = rotationOf(v);
  const swap = rotation === 90 || rotation === 270;
  const pixel = await pixelFormatInfo(v.pix_fmt);
  const sec = (pts: number): number => (pts * timeBase.num) / timeBase.den;
  const startPts = index.ptsRuns[0]?.[0] ?? 0;
  const doc: Probe = {
    version: 1,
    input: name,
    container: {
      formatName: format.format_name,
      demuxer,
      startTime: parseNum(format.start_time),
      duration: parseNum(format.duration),
      size: parseNum(format.size),
      bitRate: parseNum(format.bit_rate),
      tags: format.tags ?? {},
    },
    video: {
      index: v.index,
      codec: v.codec_name,
      profile: v.profile ?? null,
      width: v.width,
      height: v.height,
      displayWidth: swap ? v.height : v.width,
      displayHeight: swap ? v.width : v.height,
      rotation,
      pixFmt: v.pix_fmt,
      bitDepth: pixel?.bitDepth ?? (Number(v.bits_per_raw_sample) || 8),
      sar: v.sample_aspect_ratio && v.sample_aspect_ratio !== '0:1' ? v.sample_aspect_ratio : '1:1',
      dar: v.display_aspect_ratio ?? null,
      colorRange: known(v.color_range),
      colorSpace: known(v.color_space),
      colorTransfer: known(v.color_transfer),
      colorPrimaries: known(v.color_primaries),
      fieldOrder: known(v.field_order),
      colourModel: pixel?.model ?? (v.color_space === 'gbr' ? 'rgb' : 'yuv'),
      alpha: pixel?.alpha ?? false,
      // Only PQ streams carry HDR10 static metadata; others are not decoded for it.
      hdr: known(v.color_transfer) === 'smpte2084' ? await firstFrameHdrMetadata(input, demuxer, v.index, opts.signal) : null,
      timeBase,
      rFrameRate: parseRational(v.r_frame_rate),
      avgFrameRate: parseRational(v.avg_frame_rate),
      startPts,
      startTime: sec(startPts),
      duration: sec(index.endPts - startPts),
      frameCount: count,
      frameCountSource: source,
      containerFrameCount: parseNum(v.nb_frames),
      vfr: isVariableFrameRate(index),
    },
    frames: index,
    audio: kept
      .filter((s) => s.codec_type === 'audio' && s.codec_name)
      .map((s) => ({
        index: s.index,
        codec: s.codec_name ?? 'unknown',
        language: s.tags?.['language'] ?? null,
        title: s.tags?.['title'] ?? null,
        channels: s.channels ?? null,
        channelLayout: s.channel_layout === undefined || s.channel_layout === 'unknown' ? null : s.channel_layout,
        sampleRate: parseNum(s.sample_rate),
        firstPacketTime: null as number | null,
      })),
    subtitles: kept
      .filter((s) => s.codec_type === 'subtitle')
      .map((s) => ({ index: s.index, codec: s.codec_name ?? 'unknown', language: s.tags?.['language'] ?? null, title: s.tags?.['title'] ?? null })),
    chapters: chapters.map((c) => ({ start: Number(c.start_time), end: Number(c.end_time), title: c.tags?.['title'] ?? null })),
    otherVideo: streams
      .filter((s) => s !== v && s.codec_type === 'video' && s.disposition?.['attached_pic'] !== 1)
      .map((s) => ({ index: s.index, codec: s.codec_name ?? 'unknown' })),
    maxPixels: limits.maxPixels,
  };
  if (dropped.length > 0) doc.droppedStreams = dropped.map((s) => s.index);
  const firsts = await firstPacketTimes(input, demuxer, doc.audio.map((a) => a.index), packets ?? [], opts.signal);
  for (const a of doc.audio) a.firstPacketTime = firsts.get(a.index) ?? null;
  opts.log?.info(
    { input: name, codec: doc.video.codec, frames: count, frameCountSource: source, vfr: doc.video.vfr, width: doc.video.displayWidth, height: doc.video.displayHeight },
    'Probed video',
  );
  return doc;
}

/** A small summary of a probe, for a Kubernetes termination message (4 KiB at most). */
export function probeSummary(p: Probe): Record<string, string | number | boolean> {
  const fps = p.video.avgFrameRate.den ? p.video.avgFrameRate.num / p.video.avgFrameRate.den : 0;
  return {
    input: p.input,
    codec: p.video.codec,
    width: p.video.displayWidth,
    height: p.video.displayHeight,
    frames: p.video.frameCount,
    fps: Math.round(fps * 1000) / 1000,
    vfr: p.video.vfr,
    bitDepth: p.video.bitDepth,
    duration: p.video.duration,
    audio: p.audio.length,
    subtitles: p.subtitles.length,
  };
}

function known(s: string | undefined): string | null {
  return s === undefined || s === 'unknown' || s === '' ? null : s;
}

function rotationOf(v: FfprobeStream): number {
  const fromSide = v.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const raw = fromSide ?? Number(v.tags?.['rotate'] ?? 0);
  const r = ((Math.round((Number.isFinite(raw) ? raw : 0) / 90) * 90) % 360 + 360) % 360;
  return r;
}

