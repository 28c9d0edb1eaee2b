/**
 * Makes an MP4/MOV video track last exactly as long as the source video, variable frame rate and
 * B-frames included, on ffmpeg 5.1.
 *
 * Why: ffmpeg 5.1's MP4 muxer ends the video's edit list at the track's decode-time span: the last
 * packet's dts plus that packet's duration, minus the first dts. Shards (NUT) and the concat demuxer
 * carry no true frame durations, only a constant `1/r_frame_rate`. For a constant-rate stream the
 * dts are the pts shifted by a constant decoding delay, so that span equals the display span. For a
 * variable-rate stream with B-frames the dts lag the pts by a delay counted in frames, not in time:
 * the last dts falls a few (variable) frame durations before the last pts, and the edit list ended
 * before the last frame was shown (0.400 s for a 0.459 s source whose last frame starts at 0.417 s).
 *
 * Fix: a `setts` bitstream filter on the copied video gives the last packet (in decode order) the
 * duration that makes the decode-time span equal the source's display span, `endPts - startPts` of
 * the probe's frame index (last frame included with its true duration). Timestamps are untouched.
 * For a constant-rate stream this is the ordinary frame duration, so nothing changes there.
 */
import { ptsAt } from './frame-index.ts';
import type { Probe } from './probe-schema.ts';

/**
 * The `-bsf:v` value for the assembled MP4/MOV video of `probe`'s source (see the file comment).
 * Works in whatever time base the copied stream has (`TB`), since the span is given in seconds as an
 * exact fraction. With a `segment` (source frames `[first, end)`) the span is the segment's.
 */
export function mp4EndFilter(probe: Pick<Probe, 'video' | 'frames'>, segment: { first: number; end: number } = { first: 0, end: probe.video.frameCount }): string {
  const v = probe.video;
  const last = segment.end - segment.first - 1;
  // Source span in seconds as num/den, converted to the stream's ticks by the filter itself.
  const spanTicks = segment.first === 0 && segment.end === v.frameCount ? probe.frames.endPts - v.startPts : ptsAt(probe.frames, segment.end) - ptsAt(probe.frames, segment.first);
  const span = `${spanTicks}*${v.timeBase.num}/(${v.timeBase.den}*TB)`;
  const duration = `if(eq(N,${last}),max(1,round(${span}-(DTS-STARTDTS))),DURATION)`;
  // Commas inside an option value must be escaped in a bitstream filter list.
  return `setts=pts=PTS:dts=DTS:duration=${duration.replace(/,/g, '\\,')}`;
}
