/**
 * When the packet scan alone gives the exact frame list (no full decode): a source without
 * `nb_frames` (Matroska, WebM) used to be decoded in full to confirm its packets, which costs about
 * a playback of the file (minutes for a 2-hour 1080p film). Packets are one displayed frame each
 * for most codecs; the exceptions are known and are what the full decode stays for:
 * - field-coded H.264/HEVC/MPEG-2 (PAFF: one packet per field, two packets per frame), so an
 *   interlaced or unknown field order is decoded;
 * - codecs whose packets can hold no displayed frame or several (VP8 alt-ref frames, MPEG-4 Part 2
 *   packed B-frames, ...): only codecs on {@link PACKET_EXACT_CODECS} are trusted;
 * - packets without a timestamp, duplicate timestamps, or edit-list-discarded packets;
 * - a container `nb_frames` that disagrees with the packet count (one of the two is wrong).
 * Even then the first {@link SAMPLE_PACKETS} packets are decoded and must give exactly their own
 * timestamps (a cheap check that catches a stream the rules above misjudge). Pure: the scan and
 * the sample decode are done by `frame-scan.ts`.
 */

/** Codecs whose every packet decodes to exactly one displayed frame (when progressive). */
export const PACKET_EXACT_CODECS: ReadonlySet<string> = new Set(['h264', 'hevc', 'vp9', 'av1', 'ffv1', 'prores', 'dnxhd', 'mjpeg', 'png', 'utvideo', 'huffyuv', 'rawvideo']);

/** Codecs that can be field-coded (one packet per field): trusted only with a progressive field order. */
const FIELD_CODED_CODECS: ReadonlySet<string> = new Set(['h264', 'hevc', 'mpeg2video', 'mjpeg', 'dnxhd', 'prores']);

/** Packets decoded at the start of the stream to check that packets and frames match one to one. */
export const SAMPLE_PACKETS = 48;

/** What the packet scan saw, as far as this rule needs it. */
export interface PacketFacts {
  codec: string;
  /** ffprobe's `field_order` of the stream (undefined when not reported). */
  fieldOrder: string | undefined;
  /** Packet timestamps in demux order (discarded packets left out). */
  pts: readonly number[];
  missingPts: boolean;
  /** Packets flagged discarded (`D`, an MP4 edit list): their frames never reach the output. */
  discarded: number;
  /** The container's `nb_frames`, null when it states none. */
  declaredFrames: number | null;
}

/**
 * Why the packets cannot stand alone (a full decode is needed), or undefined when a sample decode
 * of the first packets is enough.
 */
export function packetsNeedDecode(f: PacketFacts): string | undefined {
  if (f.pts.length === 0) return 'no video packets';
  if (f.missingPts) return 'packets without timestamps';
  if (f.discarded > 0) return 'packets discarded by an edit list';
  if (f.declaredFrames !== null && f.declaredFrames !== f.pts.length) return `the container states ${f.declaredFrames} frames, the packets ${f.pts.length}`;
  if (!PACKET_EXACT_CODECS.has(f.codec)) return `codec ${f.codec} may hold zero or several frames per packet`;
  if (FIELD_CODED_CODECS.has(f.codec) && f.fieldOrder !== 'progressive') return `field order ${f.fieldOrder ?? 'unknown'} (fields may be separate packets)`;
  if (new Set(f.pts).size !== f.pts.length) return 'duplicate packet timestamps';
  return undefined;
}

/**
 * True when decoding the first `sampled` packets gave exactly their timestamps (as a set: decode
 * order is not display order), so packets and frames match one to one.
 */
export function sampleMatches(packetPts: readonly number[], sampled: number, decodedPts: readonly number[]): boolean {
  const expected = packetPts.slice(0, sampled);
  if (decodedPts.length !== expected.length) return false;
  const want = new Set(expected);
  return decodedPts.every((p) => want.has(p)) && new Set(decodedPts).size === decodedPts.length;
}
