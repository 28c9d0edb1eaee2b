/**
 * Reading the frame timestamps of a source for the probe (see `probe.ts` for the counting rule):
 * a demux-only packet scan, then either a decode of the first packets (`packet-count.ts` says when
 * that is enough) or a full decode listing each output frame's timestamp.
 * Both stream ffprobe's output line by line, so a film's 10^5 frames never sit in one string.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { MediaError } from './errors.ts';
import { classifyFailure, truncationIn } from './ffmpeg-errors.ts';
import { runFfprobe } from './ffprobe-run.ts';
import { packetScanArgs } from './probe-args.ts';
import { buildFrameIndex, type FrameIndex } from './frame-index.ts';
import { hdrMetadataFrom, type HdrMetadata } from './hdr-metadata.ts';
import { ffmpegUrl, sourceInputOptions } from './input-policy.ts';
import { midStreamRefusal, refusedPictureIn } from './input-limits.ts';
import { packetsNeedDecode, sampleMatches, SAMPLE_PACKETS } from './packet-count.ts';
import { parseNum, parseRational, type FfprobeStream, type Probe } from './probe-schema.ts';

export interface ScanOptions {
  decode?: 'auto' | 'always' | 'never';
  /** Passed to the decoder as `-max_pixels` (input-limits.ts): a larger frame anywhere in the stream is refused. */
  maxPixels?: number;
  log?: Logger;
  signal?: AbortSignal;
}

/** Pts (seconds) of the first packet of a stream; reads only the start of the file. */
export async function firstPacketTime(input: string, demuxer: string | undefined, stream: number, signal?: AbortSignal): Promise<number | null> {
  const res = await runFfprobe(
    [...sourceInputOptions(input, demuxer), '-select_streams', String(stream), '-read_intervals', '%+#1', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', '-i', ffmpegUrl(input)],
    signal ? { signal } : {},
  );
  if (res.code !== 0) return null;
  const first = res.stdout.split('\n').map((l) => l.replace(/,+$/, '').trim()).find((l) => l !== '');
  return parseNum(first);
}

/**
 * Pts (seconds) of the first packet of each of `streams` among `read`, the packets of the first 10 s
 * that the probe's first pass lists (`-read_intervals %+10`; a per-stream call costs one ffprobe
 * start each: 300 audio tracks took minutes). A stream without a packet in that window gets its own call.
 */
export async function firstPacketTimes(
  input: string,
  demuxer: string | undefined,
  streams: readonly number[],
  read: readonly { stream_index: number; pts_time?: string | undefined }[],
  signal?: AbortSignal,
): Promise<Map<number, number | null>> {
  const out = new Map<number, number | null>();
  const wanted = new Set(streams);
  for (const p of read) {
    const t = parseNum(p.pts_time);
    if (wanted.has(p.stream_index) && !out.has(p.stream_index) && t !== null) out.set(p.stream_index, t);
  }
  for (const i of streams) if (!out.has(i)) out.set(i, await firstPacketTime(input, demuxer, i, signal));
  return out;
}

/** True when the stream has not a single packet (a video track with no frames). */
export async function hasNoPackets(input: string, demuxer: string | undefined, stream: number, signal?: AbortSignal): Promise<boolean> {
  const res = await runFfprobe(
    [...sourceInputOptions(input, demuxer), '-select_streams', String(stream), '-read_intervals', '%+#1', '-show_entries', 'packet=pts', '-of', 'csv=p=0', '-i', ffmpegUrl(input)],
    signal ? { signal } : {},
  );
  return res.code === 0 && res.stdout.trim() === '';
}

/** HDR10 metadata of the stream's first frame (decoded once), or null when it carries none. */
export async function firstFrameHdrMetadata(input: string, demuxer: string | undefined, stream: number, signal?: AbortSignal): Promise<HdrMetadata | null> {
  const res = await runFfprobe(
    [...sourceInputOptions(input, demuxer), '-select_streams', String(stream), '-read_intervals', '%+#1', '-show_frames', '-show_entries', 'frame=side_data_list', '-of', 'json', '-i', ffmpegUrl(input)],
    signal ? { signal } : {},
  );
  if (res.code !== 0) return null;
  const doc = z.object({ frames: z.array(z.object({ side_data_list: z.unknown() }).loose()).default([]) }).safeParse(JSON.parse(res.stdout || '{}'));
  return doc.success ? hdrMetadataFrom(doc.data.frames[0]?.side_data_list) : null;
}

export interface ScannedFrames {
  pts: number[];
  keyPts: Set<number>;
  lastDuration: number;
  missingPts: boolean;
  /** Packets flagged discarded (left out of `pts`). */
  discarded: number;
  /** Decoded frames without a timestamp given ffmpeg's own (see `scanDecoded`), in `pts`. */
  predicted?: number;
}

/**
 * A packet scan of the first video stream (`v:0`) started before the probe knows the stream or the
 * demuxer, beside its first pass: two ffprobe starts at once instead of one after the other (some
 * 100 ms of a short job's fixed cost). The probe hands it to `frameIndexFor` when its video stream
 * is the first video stream (it is not when a cover picture comes first), and cancels it in any case
 * once done (a no-op for a finished scan).
 */
export interface EarlyPacketScan {
  scan: Promise<ScannedFrames>;
  cancel(): void;
}

export function startEarlyPacketScan(input: string, name: string, signal?: AbortSignal): EarlyPacketScan {
  const stop = new AbortController();
  const both = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal]);
  const scan = scanPackets(input, name, undefined, 'v:0', { signal: both });
  scan.catch(() => undefined); // met by the probe when it uses the scan; a cancelled one by nobody
  return { scan, cancel: () => stop.abort() };
}

/** Demux-only scan of the video packets (see the file comment): `stream` an index or a specifier. */
async function scanPackets(input: string, name: string, demuxer: string | undefined, stream: number | string, opts: ScanOptions): Promise<ScannedFrames> {
  const out: ScannedFrames = { pts: [], keyPts: new Set(), lastDuration: 0, missingPts: false, discarded: 0 };
  let maxPts = -Infinity;
  const res = await runFfprobe(
    packetScanArgs(input, demuxer, stream),
    {
      onLine: (line) => {
        const f = fields(line);
        if (f['pts'] === undefined) return; // side-data lines
        if (f['flags']?.includes('D')) {
          out.discarded++; // discarded by an edit list: never decoded to output
          return;
        }
        const pts = parseNum(f['pts']);
        if (pts === null) {
          out.missingPts = true;
          return;
        }
        out.pts.push(pts);
        if (f['flags']?.startsWith('K')) out.keyPts.add(pts);
        if (pts > maxPts) {
          maxPts = pts;
          out.lastDuration = parseNum(f['duration']) ?? 0;
        }
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  if (res.code !== 0) throw classifyFailure('probe', name, res.stderr, 'ffprobe packet scan');
  const truncated = truncationIn(res.stderr);
  if (truncated !== undefined) throw classifyFailure('probe', name, [truncated], 'ffprobe packet scan');
  return out;
}

/**
 * Decode of the video stream, listing each output frame's timestamp: in full, or only the frames of
 * its first `packets` packets (ffprobe flushes the decoder at the end of the interval).
 */
async function scanDecoded(input: string, name: string, demuxer: string, v: FfprobeStream, opts: ScanOptions, packets?: number): Promise<ScannedFrames> {
  const out: ScannedFrames = { pts: [], keyPts: new Set(), lastDuration: 0, missingPts: false, discarded: 0, predicted: 0 };
  let maxPts = -Infinity;
  // A frame decoded without a timestamp (MPEG-PS/TS carry one at least every 0.7 s, not on every
  // frame; ffmpeg's own MPEG-PS muxer leaves the last one without) gets the one ffmpeg's decoder
  // gives it, which is what the extraction's selection sees: the previous frame's plus that frame's
  // duration (the stream's frame duration when it has none). The extraction checks each frame's
  // pts against the index, so a guess that differs from ffmpeg's fails there, never silently.
  let previous: { pts: number; duration: number } | undefined;
  const res = await runFfprobe(
    [
      ...sourceInputOptions(input, demuxer),
      '-select_streams', String(v.index),
      ...(packets === undefined ? [] : ['-read_intervals', `%+#${packets}`]),
      ...(opts.maxPixels === undefined ? [] : ['-max_pixels', String(opts.maxPixels)]),
      '-show_entries', 'frame=best_effort_timestamp,duration,pkt_duration', '-of', 'compact=p=0', '-i', ffmpegUrl(input),
    ],
    {
      onLine: (line) => {
        const f = fields(line);
        if (f['best_effort_timestamp'] === undefined) return; // side-data lines
        // ffprobe 6.0 added a frame's `duration` and 7.0 dropped `pkt_duration`; 5.1 has only the latter.
        const duration = parseNum(f['duration'] ?? f['pkt_duration']) ?? 0;
        let pts = parseNum(f['best_effort_timestamp']);
        if (pts === null && previous !== undefined) {
          pts = previous.pts + (previous.duration > 0 ? previous.duration : fallbackDuration(v, []));
          out.predicted = (out.predicted ?? 0) + 1;
        }
        if (pts === null) {
          out.missingPts = true;
          return;
        }
        previous = { pts, duration };
        out.pts.push(pts);
        if (pts > maxPts) {
          maxPts = pts;
          out.lastDuration = duration;
        }
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  // ffprobe goes on past a refused frame and leaves it out: without this, the index would silently lack it.
  const refused = refusedPictureIn(res.stderr);
  if (refused !== undefined) throw new MediaError('UnsupportedInput', 'probe', name, midStreamRefusal({ width: v.width ?? 0, height: v.height ?? 0 }, refused, opts.maxPixels ?? 0));
  if (res.code !== 0) throw classifyFailure('probe', name, res.stderr, 'ffprobe decode');
  const truncated = truncationIn(res.stderr);
  if (truncated !== undefined) throw classifyFailure('probe', name, [truncated], 'ffprobe decode');
  return out;
}

/** The frame index of video stream `v` and where its count came from. */
export async function frameIndexFor(
  input: string,
  name: string,
  demuxer: string,
  v: FfprobeStream,
  opts: ScanOptions,
  /** The stream's packet scan when already under way (startEarlyPacketScan). */
  scanned?: Promise<ScannedFrames>,
): Promise<{ index: FrameIndex; source: Probe['video']['frameCountSource'] }> {
  const packets = await (scanned ?? scanPackets(input, name, demuxer, v.index, opts));
  const declared = parseNum(v.nb_frames);
  const mode = opts.decode ?? 'auto';
  const trusted = !packets.missingPts && packets.pts.length > 0 && declared === packets.pts.length;
  let chosen = packets;
  let source: Probe['video']['frameCountSource'] = 'container+packets';
  let decode = mode === 'always' || (mode === 'auto' && !trusted) || packets.missingPts;
  if (decode && mode === 'auto' && !trusted) {
    // No container count to agree with: the packets can stand alone when the codec maps packets to
    // frames one to one and a decode of the first packets confirms it (packet-count.ts).
    const why = packetsNeedDecode({ codec: v.codec_name ?? '', fieldOrder: v.field_order, pts: packets.pts, missingPts: packets.missingPts, discarded: packets.discarded, declaredFrames: declared });
    if (why === undefined) {
      const sample = await scanDecoded(input, name, demuxer, v, opts, SAMPLE_PACKETS);
      if (!sample.missingPts && sampleMatches(packets.pts, SAMPLE_PACKETS, sample.pts)) {
        source = 'packets+sample';
        decode = false;
      } else {
        opts.log?.info({ input: name, sampledPackets: Math.min(SAMPLE_PACKETS, packets.pts.length), decodedFrames: sample.pts.length }, 'Decoded the whole video stream: its first packets did not decode one frame each');
      }
    } else {
      opts.log?.debug({ input: name, reason: why }, 'Decoding the whole video stream to count its frames');
    }
  }
  if (decode) {
    const decoded = await scanDecoded(input, name, demuxer, v, opts);
    if (decoded.missingPts) throw new MediaError('UnsupportedInput', 'probe', name, 'the first decoded video frames carry no timestamps; frame-exact processing is impossible');
    if ((decoded.predicted ?? 0) > 0) opts.log?.info({ input: name, frames: decoded.predicted }, "Gave video frames without a timestamp ffmpeg's: the previous frame's plus its duration");
    if (!packets.missingPts && sameSet(packets.pts, decoded.pts)) {
      source = 'packets+decode';
    } else {
      opts.log?.warn({ input: name, packets: packets.pts.length, decoded: decoded.pts.length }, 'Used decoded frame timestamps: packets and frames disagree');
      // Seek points: packet keyframes that are also decoded frames; without packet pts, none (decode from 0).
      const decodedSet = new Set(decoded.pts);
      decoded.keyPts = new Set([...packets.keyPts].filter((p) => decodedSet.has(p)));
      if (decoded.lastDuration <= 0) decoded.lastDuration = packets.lastDuration;
      chosen = decoded;
      source = 'decode';
    }
  }
  if (chosen.pts.length === 0) throw new MediaError('NoVideoStream', 'probe', name, 'the video stream has no frames');
  if (chosen.lastDuration <= 0) chosen.lastDuration = fallbackDuration(v, chosen.pts);
  try {
    return { index: buildFrameIndex(chosen.pts, chosen.keyPts, chosen.lastDuration), source };
  } catch (err) {
    throw new MediaError('UnsupportedInput', 'probe', name, `video timestamps are not unique (${(err as Error).message}); frame-exact processing is impossible`, { cause: err });
  }
}

/** Duration of the last frame when the container gives none: the previous delta, else 1/fps. */
function fallbackDuration(v: FfprobeStream, pts: readonly number[]): number {
  const sorted = [...pts].sort((a, b) => a - b);
  const a = sorted[sorted.length - 2];
  const b = sorted[sorted.length - 1];
  if (a !== undefined && b !== undefined && b > a) return b - a;
  const tb = parseRational(v.time_base);
  const fr = parseRational(v.avg_frame_rate).num ? parseRational(v.avg_frame_rate) : parseRational(v.r_frame_rate);
  if (!fr.num || !tb.num) return 1;
  return Math.max(1, Math.round((fr.den * tb.den) / (fr.num * tb.num)));
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.every((x, i) => x === sb[i]);
}

function fields(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of line.split('|')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}
