/**
 * Inspects a file this room wrote (a shard or an assembled output) in one ffprobe run: stream
 * parameters, the video extradata hash and every packet's pts (demux only, no decoding). Used to
 * check that shards can be joined and that the output matches the source. Local files only, known
 * demuxers only.
 */
import { MediaError, type MediaStep } from './errors.ts';
import { classifyFailure } from './ffmpeg-errors.ts';
import { runFfprobe } from './ffprobe-run.ts';
import { ffmpegUrl, SOURCE_DEMUXERS } from './input-policy.ts';
import { parseNum, parseRational, type Rational } from './probe-schema.ts';

export interface Inspection {
  formatName: string;
  video: {
    index: number;
    codec: string;
    width: number;
    height: number;
    pixFmt: string;
    timeBase: Rational;
    extradataHash: string;
    colorSpace: string | null;
    colorTransfer: string | null;
    colorPrimaries: string | null;
    colorRange: string | null;
    rotation: number;
    /** Video packets (one per frame for the encoders used here). */
    packets: number;
    /** Smallest pts and end of the last frame (its pts + duration), time base units. */
    firstPts: number;
    endPts: number;
    /** The stream duration the container declares (MP4 edit list, Matroska `DURATION` tag), seconds. */
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

const STREAM_FIELDS = 'index,codec_type,codec_name,width,height,pix_fmt,time_base,extradata_hash,color_space,color_transfer,color_primaries,color_range,duration';

/** Inspects a local file; throws `VerifyFailed` (naming `step`) when it has no video. */
export async function inspectMedia(path: string, step: MediaStep): Promise<Inspection> {
  const streams: Record<string, string>[] = [];
  const packets = new Map<number, PacketStats>();
  let formatName = '';
  const res = await runFfprobe(
    [
      '-protocol_whitelist', 'file', '-format_whitelist', SOURCE_DEMUXERS.join(','), '-show_data_hash', 'md5',
      '-show_entries', `format=format_name:stream=${STREAM_FIELDS}:stream_side_data=rotation:stream_tags=DURATION:packet=stream_index,pts,duration`,
      '-of', 'compact', '-i', ffmpegUrl(path),
    ],
    {
      onLine: (line) => {
        const [section, ...parts] = line.split('|');
        const f: Record<string, string> = {};
        for (const part of parts) {
          const eq = part.indexOf('=');
          if (eq > 0) f[part.slice(0, eq)] = part.slice(eq + 1);
        }
        if (section === 'packet') countPacket(packets, f);
        else if (section === 'stream') streams.push(f);
        else if (section === 'format') formatName = f['format_name'] ?? '';
      },
    },
  );
  if (res.code !== 0) throw classifyFailure(step, path, res.stderr, 'inspecting');
  const v = streams.find((s) => s['codec_type'] === 'video');
  if (!v) throw new MediaError('VerifyFailed', step, path, 'the file has no video stream');
  const index = Number(v['index']);
  const pk = packets.get(index);
  const known = (s: string | undefined): string | null => (s === undefined || s === 'unknown' ? null : s);
  const seconds = (s: Record<string, string>, pts: number | null | undefined): number | null => {
    const tb = parseRational(s['time_base']);
    return pts === null || pts === undefined || tb.den === 0 ? null : (pts * tb.num) / tb.den;
  };
  return {
    formatName,
    video: {
      index,
      codec: v['codec_name'] ?? 'unknown',
      width: Number(v['width'] ?? 0),
      height: Number(v['height'] ?? 0),
      pixFmt: v['pix_fmt'] ?? 'unknown',
      timeBase: parseRational(v['time_base']),
      extradataHash: v['extradata_hash'] ?? '',
      colorSpace: known(v['color_space']),
      colorTransfer: known(v['color_transfer']),
      colorPrimaries: known(v['color_primaries']),
      colorRange: known(v['color_range']),
      rotation: parseNum(v['rotation']) ?? 0,
      packets: pk?.count ?? 0,
      firstPts: pk ? pk.min : 0,
      // Shards (NUT) and the concat demuxer carry no packet durations; then the last frame is
      // taken to last as long as the one before it.
      endPts: pk ? pk.max + (pk.lastDuration ?? (pk.count > 1 ? pk.max - pk.prevMax : 0)) : 0,
      declaredDuration: parseNum(v['duration']) ?? hms(v['tag:DURATION']),
    },
    audio: streams
      .filter((s) => s['codec_type'] === 'audio')
      .map((s) => ({ index: Number(s['index']), codec: s['codec_name'] ?? 'unknown', firstPacketTime: seconds(s, packets.get(Number(s['index']))?.first) })),
    subtitles: streams.filter((s) => s['codec_type'] === 'subtitle').map((s) => ({ index: Number(s['index']), codec: s['codec_name'] ?? 'unknown' })),
  };
}

function countPacket(packets: Map<number, PacketStats>, f: Record<string, string>): void {
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

/** Seconds of a Matroska `DURATION` tag (`HH:MM:SS.nnnnnnnnn`); null when absent or malformed. */
function hms(tag: string | undefined): number | null {
  const m = tag === undefined ? null : /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(tag);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : null;
}
