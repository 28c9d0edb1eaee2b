/**
 * Segments: which source frames a job upscales when the user asks for part of the video
 * (`--start`, `--duration`, `--frames`).
 *
 * Times are seconds from the first frame in display order (0 is the first frame, whatever the
 * container's start time), so `--start 2 --duration 1` means the same on an MP4 that starts at 0 and
 * a transport stream that starts at 1.4 s. A frame belongs to the segment when its presentation time
 * lies in `[start, start + duration)`; selection runs on the probe's exact per-frame timestamps
 * (frame-index.ts), so it is frame-exact on variable-frame-rate sources too.
 */
import { z } from 'zod';
import { UpscaleError } from '../errors.ts';
import { frameCount, ptsAt, type FrameIndex } from './frame-index.ts';

/** A segment as the task contract carries it; every field optional, `duration` and `frames` exclusive. */
export const segmentSchema = z
  .object({
    /** Seconds from the first frame (default 0). */
    start: z.number().min(0).optional(),
    /** Seconds to upscale from `start` (default: to the end). */
    duration: z.number().positive().optional(),
    /** Frames to upscale from `start`, instead of `duration`. */
    frames: z.int().min(1).optional(),
    /** First source frame (0-based, display order), instead of `start`. */
    firstFrame: z.int().min(0).optional(),
  })
  .refine((s) => s.duration === undefined || s.frames === undefined, 'give duration or frames, not both')
  .refine((s) => s.start === undefined || s.firstFrame === undefined, 'give start or firstFrame, not both');
export type Segment = z.infer<typeof segmentSchema>;

/** Names the options in messages: CLI flags by default, task fields when a task is checked. */
export interface SegmentOptionNames {
  start: string;
  duration: string;
  frames: string;
  firstFrame: string;
}
export const CLI_SEGMENT_NAMES: SegmentOptionNames = { start: '--start', duration: '--duration', frames: '--frames', firstFrame: '--frames' };
export const TASK_SEGMENT_NAMES: SegmentOptionNames = { start: 'segment.start', duration: 'segment.duration', frames: 'segment.frames', firstFrame: 'segment.firstFrame' };

/** Frames `[first, end)` of the source, in display order. */
export interface FrameSpan {
  first: number;
  end: number;
}

const TIME = /^(?:(?:(\d+):)?([0-5]?\d):)?(\d+(?:\.\d+)?)$/;

/**
 * Parses `--frames`: `N` (N frames from `--start`) or `A-B` (source frames A to B, both included, 0-based).
 * @throws UpscaleError `InvalidArgument` naming `--frames`
 */
export function parseFrames(text: string): Pick<Segment, 'frames' | 'firstFrame'> {
  const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(text);
  const a = Number(m?.[1]);
  const b = m?.[2] === undefined ? undefined : Number(m[2]);
  if (!m || (b === undefined && a < 1) || (b !== undefined && b < a)) {
    throw new UpscaleError('InvalidArgument', `--frames ${JSON.stringify(text)} is not a frame count (24) or an inclusive frame range (100-123)`, { subject: '--frames' });
  }
  return b === undefined ? { frames: a } : { firstFrame: a, frames: b - a + 1 };
}

/**
 * Parses `12.5`, `1:02.5` (MM:SS) or `01:02:03.250` (HH:MM:SS.mmm) into seconds.
 * @throws UpscaleError `InvalidArgument` naming `option`
 */
export function parseTime(text: string, option: string): number {
  const match = TIME.exec(text.trim());
  const [, h, m, s] = match ?? [];
  const seconds = Number(s);
  if (!match || !Number.isFinite(seconds) || ((h !== undefined || m !== undefined) && seconds >= 60)) {
    throw new UpscaleError('InvalidArgument', `${option} ${JSON.stringify(text)} is not a time: give seconds (12.5) or HH:MM:SS.mmm (00:01:02.500)`, { subject: option });
  }
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + seconds;
}

/**
 * The frames of `index` a segment selects. Times convert to ticks of the stream's `timeBase`; a
 * frame exactly on a boundary (within a millionth of a tick, for seconds that are not exact in
 * binary) counts as at that boundary.
 * @throws UpscaleError `InvalidArgument` naming the option when the segment selects no frame
 */
export function selectSegment(index: FrameIndex, timeBase: { num: number; den: number }, segment: Segment, names: SegmentOptionNames = CLI_SEGMENT_NAMES): FrameSpan {
  const count = frameCount(index);
  const origin = ptsAt(index, 0);
  const seconds = (ticks: number): number => ((ticks - origin) * timeBase.num) / timeBase.den;
  const ticksOf = (s: number): number => (s * timeBase.den) / timeBase.num;
  const eps = 1e-6;
  const videoEnd = seconds(index.endPts);
  if (segment.firstFrame !== undefined && segment.firstFrame >= count) {
    throw new UpscaleError('InvalidArgument', `${names.firstFrame}: frame ${segment.firstFrame} is past the last frame: the video has ${count} frames (0-${count - 1})`, { subject: names.firstFrame });
  }
  const start = segment.firstFrame !== undefined ? seconds(ptsAt(index, segment.firstFrame)) : (segment.start ?? 0);
  const firstFrom = ticksOf(start) - eps;
  let first = segment.firstFrame ?? 0;
  while (first < count && ptsAt(index, first) - origin < firstFrom) first++;
  if (first >= count) {
    throw new UpscaleError('InvalidArgument', `${names.start} ${start}s is at or after the last frame: the video is ${round(videoEnd)}s long`, { subject: names.start });
  }
  let end = count;
  if (segment.frames !== undefined) end = Math.min(count, first + segment.frames);
  if (segment.duration !== undefined) {
    const until = ticksOf(start + segment.duration) - eps;
    end = first;
    while (end < count && ptsAt(index, end) - origin < until) end++;
    if (end === first) {
      throw new UpscaleError(
        'InvalidArgument',
        `${names.duration} ${segment.duration}s selects no frame after ${names.start} ${start}s (the next frame is at ${round(seconds(ptsAt(index, first)))}s)`,
        { subject: names.duration },
      );
    }
  }
  return { first, end };
}

/** Seconds of the span: from its first frame's pts to the end of its last frame (the next frame's pts). */
export function spanSeconds(index: FrameIndex, timeBase: { num: number; den: number }, span: FrameSpan): { start: number; duration: number } {
  const origin = ptsAt(index, 0);
  const at = (i: number): number => ((ptsAt(index, i) - origin) * timeBase.num) / timeBase.den;
  return { start: at(span.first), duration: at(span.end) - at(span.first) };
}

function round(s: number): number {
  return Math.round(s * 1000) / 1000;
}
