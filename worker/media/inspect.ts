/**
 * Inspects files this room wrote, one ffprobe run each, demux only (no decoding), local files and
 * known demuxers only:
 * - {@link inspectShard}: what decides whether shards can be joined (codec parameters, the video
 *   extradata hash) and how many packets the shard holds. ffprobe counts the packets itself
 *   (`-count_packets`), so nothing is printed or parsed per packet.
 * - {@link inspectMedia}: what the assembled output is checked against the source with: stream
 *   counts, every video packet's pts (frame count and span) and each audio stream's first packet.
 *   No data hash: `-show_data_hash` makes ffprobe MD5 every listed packet's payload, a cost that
 *   grows with the file's bytes, and nothing here compares payloads.
 * The cost of either is then an ffprobe start plus a demux pass (page-cache reads), not the bytes.
 *
 * A step that is about to write such a file can start its ffprobe first ({@link prepareShardInspection},
 * {@link prepareMediaInspection}): it waits on stdin and is given the finished file's bytes, so its
 * start (0.1 s) is paid while the file is written, not after. Only for files read in one pass from
 * the front: NUT, and MP4/MOV with the index at the front (`+faststart`). A Matroska output keeps
 * its duration tag at the end, so it is inspected by path. So is a file above {@link PIPE_LIMIT_BYTES}:
 * its bytes through Node and a pipe cost ~1 ms per MB more than ffprobe reading the file itself
 * (68 MB: 166-237 against 104-136 ms here), more than the start saves.
 */
import { stat } from 'node:fs/promises';
import { MediaError, type MediaStep } from './errors.ts';
import { classifyFailure } from './ffmpeg-errors.ts';
import { runFfprobe, standbyFfprobe, type StandbyFfprobe } from './ffprobe-run.ts';
import { ffmpegUrl, SOURCE_DEMUXERS } from './input-policy.ts';
import { parseNum, parseRational, type Rational } from './probe-schema.ts';

/** A shard's video stream as far as joining it to the others goes. */
export interface ShardInspection {
  codec: string;
  width: number;
  height: number;
  pixFmt: string;
  timeBase: Rational;
  extradataHash: string;
  /** Video packets (one per frame for the encoders used here). */
  packets: number;
}

export interface Inspection {
  video: {
    codec: string;
    timeBase: Rational;
    /** Video packets with a pts (one per frame for the encoders used here). */
    packets: number;
    /** Smallest pts and end of the last frame (its pts + duration), time base units. */
    firstPts: number;
    endPts: number;
    /** The stream duration the container declares (MP4 edit list; Matroska `DURATION` tag less the first pts), seconds. */
    declaredDuration: number | null;
  };
  /** `firstPacketTime`: pts of the stream's first packet in seconds (priming included). */
  audio: { index: number; codec: string; firstPacketTime: number | null }[];
  subtitles: { index: number; codec: string }[];
}

interface PacketStats {
  count: number;
  first: number | null;
  min: number;
  max: number;
  lastDuration: number | null;
  prevMax: number;
}

type Fields = Record<string, string>;

const SHARD_ENTRIES = ['-count_packets', '-show_data_hash', 'md5', '-show_entries', 'stream=index,codec_type,codec_name,width,height,pix_fmt,time_base,extradata_hash,nb_read_packets'];
const MEDIA_ENTRIES = ['-show_entries', 'stream=index,codec_type,codec_name,time_base,duration:stream_tags=DURATION:packet=stream_index,pts,duration'];

/** Largest file a waiting ffprobe is given through its stdin; a larger one is inspected by path. */
export const PIPE_LIMIT_BYTES = 16 * 1024 * 1024;

/** An inspection whose ffprobe already runs and waits for the file (see the file comment). */
export interface PreparedInspection<T> {
  /** Inspects the finished file at `path` (once). */
  inspect(path: string): Promise<T>;
  /** Stops the waiting ffprobe when the file will not come. */
  cancel(): void;
}

/** Inspects a shard; throws `VerifyFailed` (naming `step`) when it has no video. */
export async function inspectShard(path: string, step: MediaStep): Promise<ShardInspection> {
  return shardOf(await probeLines(path, step, SHARD_ENTRIES), path, step);
}

/** {@link inspectShard} with its ffprobe started now, for a NUT shard still being written. */
export function prepareShardInspection(step: MediaStep): PreparedInspection<ShardInspection> {
  return prepare(SHARD_ENTRIES, ['nut'], step, shardOf);
}

function shardOf({ streams }: Lines, path: string, step: MediaStep): ShardInspection {
  const v = videoOf(streams, path, step);
  return {
    codec: v['codec_name'] ?? 'unknown',
    width: Number(v['width'] ?? 0),
    height: Number(v['height'] ?? 0),
    pixFmt: v['pix_fmt'] ?? 'unknown',
    timeBase: parseRational(v['time_base']),
    extradataHash: v['extradata_hash'] ?? '',
    packets: Number(v['nb_read_packets'] ?? 0),
  };
}

/** Inspects an assembled output; throws `VerifyFailed` (naming `step`) when it has no video. */
export async function inspectMedia(path: string, step: MediaStep): Promise<Inspection> {
  return mediaOf(await probeLines(path, step, MEDIA_ENTRIES), path, step);
}

/** {@link inspectMedia} with its ffprobe started now, for an MP4 or MOV written with `+faststart`. */
export function prepareMediaInspection(step: MediaStep): PreparedInspection<Inspection> {
  return prepare(MEDIA_ENTRIES, ['mov'], step, mediaOf);
}

type Lines = Awaited<ReturnType<typeof probeLines>>;

/** An ffprobe reading `entries` started now, with only `demuxers`, whose lines `read` turns into the answer. */
function prepare<T>(entries: readonly string[], demuxers: readonly string[], step: MediaStep, read: (lines: Lines, path: string, step: MediaStep) => T): PreparedInspection<T> {
  const standby = standbyFfprobe(pipeArgs(entries, demuxers));
  return {
    inspect: async (path) => read(await probeLines(path, step, entries, await smallEnough(path, standby)), path, step),
    cancel: () => standby.cancel(),
  };
}

function mediaOf({ streams, packets }: Lines, path: string, step: MediaStep): Inspection {
  const v = videoOf(streams, path, step);
  const pk = packets.get(Number(v['index']));
  const seconds = (s: Fields, pts: number | null | undefined): number | null => {
    const tb = parseRational(s['time_base']);
    return pts === null || pts === undefined || tb.den === 0 ? null : (pts * tb.num) / tb.den;
  };
  return {
    video: {
      codec: v['codec_name'] ?? 'unknown',
      timeBase: parseRational(v['time_base']),
      packets: pk?.count ?? 0,
      firstPts: pk ? pk.min : 0,
      // The concat demuxer carries no packet durations; then the last frame is taken to last as
      // long as the one before it.
      endPts: pk ? pk.max + (pk.lastDuration ?? (pk.count > 1 ? pk.max - pk.prevMax : 0)) : 0,
      // Matroska's DURATION tag is where the track ends on the file's clock, not how long it lasts.
      declaredDuration: parseNum(v['duration']) ?? since(hms(v['tag:DURATION']), seconds(v, pk?.min)),
    },
    audio: streams
      .filter((s) => s['codec_type'] === 'audio')
      .map((s) => ({ index: Number(s['index']), codec: s['codec_name'] ?? 'unknown', firstPacketTime: seconds(s, packets.get(Number(s['index']))?.first) })),
    subtitles: streams.filter((s) => s['codec_type'] === 'subtitle').map((s) => ({ index: Number(s['index']), codec: s['codec_name'] ?? 'unknown' })),
  };
}

/** `standby` for a file up to {@link PIPE_LIMIT_BYTES}; otherwise it is stopped and the file is read by path. */
async function smallEnough(path: string, standby: StandbyFfprobe): Promise<StandbyFfprobe | undefined> {
  const size = await stat(path).then((s) => s.size, () => 0); // a missing file: the standby names it
  if (size <= PIPE_LIMIT_BYTES) return standby;
  standby.cancel();
  return undefined;
}

/** ffprobe's arguments for reading `entries` of a file given on stdin, with only `demuxers`. */
function pipeArgs(entries: readonly string[], demuxers: readonly string[]): string[] {
  return ['-protocol_whitelist', 'pipe', '-format_whitelist', demuxers.join(','), ...entries, '-of', 'compact', '-i', 'pipe:0'];
}

/**
 * Runs ffprobe with `entries` in the compact writer (on `path`, or on its bytes through a waiting
 * `standby`); returns the stream sections and per-stream packet statistics.
 */
async function probeLines(path: string, step: MediaStep, entries: readonly string[], standby?: StandbyFfprobe): Promise<{ streams: Fields[]; packets: Map<number, PacketStats> }> {
  const streams: Fields[] = [];
  const packets = new Map<number, PacketStats>();
  const onLine = (line: string): void => {
    const [section, ...parts] = line.split('|');
    const f: Fields = {};
    for (const part of parts) {
      const eq = part.indexOf('=');
      if (eq > 0) f[part.slice(0, eq)] = part.slice(eq + 1);
    }
    if (section === 'packet') countPacket(packets, f);
    else if (section === 'stream') streams.push(f);
  };
  const res = standby
    ? await standby.run(path, { onLine })
    : await runFfprobe(['-protocol_whitelist', 'file', '-format_whitelist', SOURCE_DEMUXERS.join(','), ...entries, '-of', 'compact', '-i', ffmpegUrl(path)], { onLine });
  if (res.code !== 0) throw classifyFailure(step, path, res.stderr, 'inspecting');
  return { streams, packets };
}

function videoOf(streams: readonly Fields[], path: string, step: MediaStep): Fields {
  const v = streams.find((s) => s['codec_type'] === 'video');
  if (!v) throw new MediaError('VerifyFailed', step, path, 'the file has no video stream');
  return v;
}

function countPacket(packets: Map<number, PacketStats>, f: Fields): void {
  const pts = parseNum(f['pts']);
  if (pts === null) return;
  const i = Number(f['stream_index']);
  let s = packets.get(i);
  if (!s) {
    s = { count: 0, first: pts, min: pts, max: -Infinity, lastDuration: null, prevMax: -Infinity };
    packets.set(i, s);
  }
  s.count++;
  s.min = Math.min(s.min, pts);
  if (pts > s.max) {
    s.prevMax = s.max;
    s.max = pts;
    s.lastDuration = parseNum(f['duration']);
  } else if (pts > s.prevMax) {
    s.prevMax = pts;
  }
}

/** `end - start` seconds; `end` alone when the start is unknown, null without an end. */
function since(end: number | null, start: number | null): number | null {
  return end === null ? null : end - (start ?? 0);
}

/** Seconds of a Matroska `DURATION` tag (`HH:MM:SS.nnnnnnnnn`); null when absent or malformed. */
function hms(tag: string | undefined): number | null {
  const m = tag === undefined ? null : /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(tag);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}
