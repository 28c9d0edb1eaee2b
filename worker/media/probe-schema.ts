/**
 * Schemas of the probe: what ffprobe prints (validated at the boundary, loosely: ffprobe omits
 * fields freely) and the small probe document we keep (validated when read back from storage).
 */
import { z } from 'zod';
import { frameIndexSchema } from './frame-index.ts';
import { hdrMetadataSchema } from './hdr-metadata.ts';

const str = z.string().optional();
const tags = z.record(z.string(), z.string()).optional();

/** One stream as `ffprobe -show_streams -of json` prints it (only the fields we use). */
export const ffprobeStreamSchema = z.object({
  index: z.number().int(),
  codec_type: z.string().optional(),
  codec_name: str,
  profile: str,
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  pix_fmt: str,
  sample_aspect_ratio: str,
  display_aspect_ratio: str,
  color_range: str,
  color_space: str,
  color_transfer: str,
  color_primaries: str,
  field_order: str,
  r_frame_rate: str,
  avg_frame_rate: str,
  time_base: str,
  start_pts: z.number().optional(),
  start_time: str,
  duration: str,
  nb_frames: str,
  bits_per_raw_sample: str,
  channels: z.number().int().optional(),
  channel_layout: str,
  sample_rate: str,
  disposition: z.record(z.string(), z.number()).optional(),
  tags,
  side_data_list: z.array(z.object({ side_data_type: str, rotation: z.number().optional() }).loose()).optional(),
});
export type FfprobeStream = z.infer<typeof ffprobeStreamSchema>;

/** `ffprobe -show_format -show_streams -show_chapters -of json`. */
export const ffprobeOutputSchema = z.object({
  streams: z.array(ffprobeStreamSchema).default([]),
  /** The first packets (`-read_intervals`), when asked for. */
  packets: z.array(z.object({ stream_index: z.number().int(), pts_time: z.string().optional() })).optional(),
  chapters: z
    .array(z.object({ start_time: z.string(), end_time: z.string(), tags }))
    .default([]),
  format: z.object({
    format_name: z.string(),
    start_time: str,
    duration: str,
    size: str,
    bit_rate: str,
    tags,
  }),
});
export type FfprobeOutput = z.infer<typeof ffprobeOutputSchema>;

const rational = z.object({ num: z.number().int(), den: z.number().int() });
export type Rational = z.infer<typeof rational>;
const nstr = z.string().nullable();

/** Where the exact frame count came from; see `probe.ts` for the rule. */
export const frameCountSourceSchema = z.enum(['container+packets', 'packets+sample', 'packets+decode', 'decode']);

/** The probe document: everything later steps need about the source, and nothing bulky. */
export const probeSchema = z.object({
  version: z.literal(1),
  /** Display name of the input (no presigned query string). */
  input: z.string(),
  container: z.object({
    /** ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
    formatName: z.string(),
    /** Demuxer forced with `-f` on every later read. */
    demuxer: z.string(),
    startTime: z.number().nullable(),
    duration: z.number().nullable(),
    size: z.number().nullable(),
    bitRate: z.number().nullable(),
    tags: z.record(z.string(), z.string()),
  }),
  video: z.object({
    index: z.number().int(),
    codec: z.string(),
    profile: nstr,
    /** Coded size (before rotation). */
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** Size of decoded frames as extraction delivers them: rotation applied (90/270 swap). */
    displayWidth: z.number().int().positive(),
    displayHeight: z.number().int().positive(),
    /** Degrees from the display matrix (or legacy `rotate` tag), normalised to 0, 90, 180 or 270. */
    rotation: z.number().int(),
    pixFmt: z.string(),
    /** Bits per component of the decoded pixel format (8, 10, 12...). */
    bitDepth: z.number().int().positive(),
    sar: z.string(),
    dar: nstr,
    colorRange: nstr,
    colorSpace: nstr,
    colorTransfer: nstr,
    colorPrimaries: nstr,
    /** ffprobe `field_order`: `progressive`, or `tt`/`bb`/`tb`/`bt` for interlaced (null: unknown). */
    fieldOrder: nstr,
    /** How the pixel format codes colour (RGB and palette, gray, YUV); see pixel-formats.ts. */
    colourModel: z.enum(['rgb', 'gray', 'yuv']).default('yuv'),
    /** The pixel format has an alpha channel (the RGB frames the model sees have none). */
    alpha: z.boolean().default(false),
    /** HDR10 mastering display / content light level of the first frame (PQ sources), for x265. */
    hdr: hdrMetadataSchema.nullable().default(null),
    timeBase: rational,
    rFrameRate: rational,
    avgFrameRate: rational,
    /** Pts of the first frame in display order (time base units) and in seconds. */
    startPts: z.number().int(),
    startTime: z.number(),
    /** From the first frame's pts to the end of the last frame, seconds. */
    duration: z.number(),
    /** Exact number of frames a decode of the whole stream yields. */
    frameCount: z.number().int().positive(),
    frameCountSource: frameCountSourceSchema,
    /** `nb_frames` from the container header, when present (not trusted on its own). */
    containerFrameCount: z.number().int().nullable(),
    /** True when frame durations vary (timestamps are preserved either way). */
    vfr: z.boolean(),
  }),
  frames: frameIndexSchema,
  audio: z.array(
    z.object({
      index: z.number().int(),
      codec: z.string(),
      language: nstr,
      title: nstr,
      channels: z.number().int().nullable(),
      /** ffmpeg's name of the channel layout (`5.1(side)`); null when unknown. Absent in probes written before it. */
      channelLayout: nstr.optional(),
      sampleRate: z.number().int().nullable(),
      /** Pts of the stream's first packet, seconds (priming included): the reference for A/V sync checks. */
      firstPacketTime: z.number().nullable(),
    }),
  ),
  subtitles: z.array(z.object({ index: z.number().int(), codec: z.string(), language: nstr, title: nstr })),
  chapters: z.array(z.object({ start: z.number(), end: z.number(), title: nstr })),
  /** Video streams besides the upscaled one (cover art excluded): dropped, and said so in the log. */
  otherVideo: z.array(z.object({ index: z.number().int(), codec: z.string() })).optional(),
  /** Audio/subtitle streams left out under the probe's `maxStreams` limit (input-limits.ts). */
  droppedStreams: z.array(z.number().int()).optional(),
  /**
   * The `maxPixels` limit the probe checked the declared size against (input-limits.ts). Extraction
   * passes it to the decoder too, so frames that grow past it later in the stream are refused before
   * they are allocated. Absent in documents written before it was recorded: the default (64 MP).
   */
  maxPixels: z.int().positive().optional(),
});
export type Probe = z.infer<typeof probeSchema>;

/** Parses "num/den" (or "num:den"); "0/0" and garbage give 0/1. */
export function parseRational(s: string | undefined): Rational {
  const m = s?.match(/^(-?\d+)[/:](\d+)$/);
  if (!m) return { num: 0, den: 1 };
  const num = Number(m[1]);
  const den = Number(m[2]);
  return den === 0 ? { num: 0, den: 1 } : { num, den };
}

/** Parses an ffprobe number field ("N/A" and missing give null). */
export function parseNum(s: string | undefined): number | null {
  if (s === undefined || s === 'N/A' || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}
