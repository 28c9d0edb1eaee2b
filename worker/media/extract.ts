/**
 * Frame-exact extraction: decodes exactly frames [start, end) of the source as raw packed RGB.
 *
 * How: input-seek (`-ss` before `-i`, with `-noaccurate_seek`) to the keyframe at or before `start`
 * (from the probe's frame index), keep source timestamps (`-copyts`), decode from there, and select
 * by pts: `select=gte(pts,pts(start))*lt(pts,pts(end))`, `-fps_mode passthrough` (never duplicate or
 * drop), `-frames:v end-start` (stop decoding once the range is out). Decoding starts at a keyframe
 * and runs forward, so B-frames and open GOPs before `start` are decoded with their references;
 * open-GOP leading pictures of that keyframe display before it and are discarded by the selection.
 *
 * Verification: a `showinfo` filter after the selection prints each selected frame's pts; frame i is
 * yielded only after its pts equals the index's pts for `start + i`, and the count must be exactly
 * `end - start`. Anything else is a `FrameMismatch` error: never a silently shifted or shortened shard.
 *
 * Resuming from an earlier keyframe: an attempt can come out with frames missing although the index
 * is right. A demuxer seeking by a coarser index lands after the first frame; and ffmpeg 5.1's H.264
 * decoder, started on an open-GOP I-frame (a recovery point, not an IDR), withholds at the end-of-file
 * drain the frames it decoded before that I-frame was output: the last P-frame of a short final GOP
 * is lost. Seeking a little earlier lands on the same keyframe, so neither is cured by a margin.
 * When a frame arrives later than expected (a gap) or the attempt ends short, extraction resumes at
 * the first frame not yet delivered, decoding from an earlier keyframe: the previous one, then one at
 * least {@link REORDER_SPAN} frames back (the decoder has output its recovery point before it reaches
 * the frames wanted, whatever its reorder depth), then frame 0. Frames already delivered were
 * verified and are not repeated.
 *
 * Colour: samples are read as RGB with the source's matrix and range, or for untagged sources what
 * players assume (see colour.ts). Interlaced sources are deinterlaced first unless `deinterlace` is
 * `off` (see interlace.ts); the pts the selection and check see are the source's either way.
 *
 * Rotation: ffmpeg's default autorotation is kept: frames come out upright, in the probe's
 * `displayWidth` x `displayHeight`, so the output plays the right way up without rotation metadata
 * (which encoders/assembly therefore do not write).
 *
 * One frame size: the probe reads the size of the first frames only, and the engine and encoder take
 * one size per job. A stream whose frames change size later (concatenated clips, a broadcast switching
 * resolution) is refused at the first frame of another size (`showinfo` prints each frame's size):
 * ffmpeg would otherwise rescale it to the first size without a word (5.1), and its filter graph
 * restarts `showinfo`'s frame numbers, which once left extraction waiting forever. The decoder gets
 * the probe's `-max_pixels`, so a frame that grows past the limit is refused before it is allocated.
 */
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { MediaError } from './errors.ts';
import { classifyFailure } from './ffmpeg-errors.ts';
import { startFfmpeg, type FfmpegJob } from './ffmpeg-run.ts';
import { frameCount, keyframeAtOrBefore, previousKeyframe, ptsAt, ptsList, type FrameIndex } from './frame-index.ts';
import { displayName, ffmpegUrl, sourceInputOptions } from './input-policy.ts';
import type { Probe } from './probe-schema.ts';
import { decodeScaleOptions } from './colour.ts';
import { deinterlaceFilters, type DeinterlaceMode } from './interlace.ts';
import { frameBytes, rgbFormatFor, type RgbFormat } from './raw-format.ts';
import { DEFAULT_MAX_PIXELS, midStreamRefusal, refusedPictureIn } from './input-limits.ts';

/** One decoded frame: packed RGB bytes, its source pts (stream time base) and source index. */
export interface Frame {
  data: Buffer;
  pts: number;
  index: number;
}

export interface ExtractStats {
  frames: number;
  /** Wall time from start to the last frame. */
  wallMs: number;
  /** Time the consumer waited for decoded frames (decode not overlapped with the consumer). */
  waitMs: number;
  /** Frame the decode started from (the seek keyframe) on the successful attempt. */
  seekFrame: number;
  attempts: number;
}

export interface ExtractOptions {
  /** Local path or presigned http(s) URL of the source. */
  input: string;
  /** Display name for logs and errors (defaults to the input without a query string). */
  name?: string;
  probe: Probe;
  /** First frame (inclusive) and last frame (exclusive), source display order. */
  start: number;
  end: number;
  /** Pixel layout (default {@link rgbFormatFor}: rgb48le for sources deeper than 8 bits). */
  format?: RgbFormat;
  /** Deinterlace a source probed as interlaced (`auto`, the default) or keep its fields (`off`). */
  deinterlace?: DeinterlaceMode;
  log?: Logger;
  /** Called once when extraction finishes (also after an early stop by the consumer). */
  onStats?: (stats: ExtractStats) => void;
}

// `n:` is not used: it restarts at 0 when ffmpeg reconfigures the filter graph mid-stream.
const SHOWINFO = /Parsed_showinfo_\d+ @ [^\]]+\] n:\s*\d+ pts:\s*(-?\d+)(?:.*? s:(\d+)x(\d+))?/;

/**
 * Decodes frames [start, end) of the source; see the file comment. Frames have
 * `probe.video.displayWidth x displayHeight` pixels in `format`. Breaking out of the loop stops ffmpeg.
 */
export async function* extractFrames(opts: ExtractOptions): AsyncGenerator<Frame, void, undefined> {
  const { probe, start, end } = opts;
  const name = displayName(opts.input, opts.name ?? probe.input);
  const total = frameCount(probe.frames);
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= total)) {
    throw new MediaError('InvalidOptions', 'extract', name, `frame range [${start},${end}) is not within the ${total} frames of the source`);
  }
  const seekFrames = seekPlan(probe.frames, start);
  const stats: ExtractStats = { frames: 0, wallMs: 0, waitMs: 0, seekFrame: seekFrames[0] ?? 0, attempts: 0 };
  const began = performance.now();
  let from = start;
  try {
    for (const [i, seekFrame] of seekFrames.entries()) {
      stats.attempts++;
      stats.seekFrame = seekFrame;
      const short = yield* attempt(opts, name, seekFrame, from, i < seekFrames.length - 1, stats);
      if (short === undefined) return;
      opts.log?.warn({ input: name, start, end, seekFrame, resumeAt: short.resumeAt, nextSeekFrame: seekFrames[i + 1], reason: short.why }, 'Resumed extraction from an earlier keyframe');
      from = short.resumeAt;
    }
  } finally {
    stats.wallMs = performance.now() - began;
    opts.onStats?.(stats);
  }
}

/**
 * Twice the largest reorder depth H.264 and HEVC allow (16 frames): decoding from a keyframe this far
 * before the wanted frames, the decoder outputs that keyframe before it reaches them.
 */
export const REORDER_SPAN = 32;

/**
 * Keyframes to decode from, in the order tried: the one at or before `start`, the one before it, one
 * at least {@link REORDER_SPAN} frames before `start`, and frame 0; strictly decreasing.
 */
export function seekPlan(index: FrameIndex, start: number): number[] {
  const k = keyframeAtOrBefore(index, start);
  const out: number[] = [];
  for (const f of [k, previousKeyframe(index, k), keyframeAtOrBefore(index, Math.max(0, start - REORDER_SPAN)), 0]) {
    if (out.length === 0 || f < (out[out.length - 1] as number)) out.push(f);
  }
  return out;
}

/** Why an attempt stopped early, and the first frame it did not deliver. */
interface Short {
  resumeAt: number;
  why: string;
}

/**
 * One decode attempt from keyframe `seekFrame`, delivering frames [from, end); returns how it fell
 * short when `canRetry` and frames are missing, so the caller resumes from an earlier keyframe.
 */
async function* attempt(
  opts: ExtractOptions,
  name: string,
  seekFrame: number,
  from: number,
  canRetry: boolean,
  stats: ExtractStats,
): AsyncGenerator<Frame, Short | undefined, undefined> {
  const { probe, start, end } = opts;
  const v = probe.video;
  const format = opts.format ?? rgbFormatFor(probe);
  const size = frameBytes(v.displayWidth, v.displayHeight, format);
  const expected = ptsList(probe.frames, from, end);
  const first = ptsAt(probe.frames, from);
  const after = ptsAt(probe.frames, end);
  const label = `frames [${start},${end})`;

  const seen: number[] = [];
  let wake: (() => void) | undefined;
  // Set when stderr shows a frame extraction must not deliver; ffmpeg is stopped at once.
  let refused: MediaError | undefined;
  const refuse = (why: string): void => {
    refused ??= new MediaError('UnsupportedInput', 'extract', name, `${label}: ${why}`);
    job.kill();
    wake?.();
  };
  const maxPixels = probe.maxPixels ?? DEFAULT_MAX_PIXELS;
  // Lines the video decoder printed about the data (damaged packets it concealed), the first kept.
  const damage: Damage = { lines: 0 };
  // autoDestroy off: fluent-ffmpeg treats a 'close' of its output stream within 20 ms of ffmpeg's
  // own exit as a failure ("Output stream closed"); the stream is destroyed after ffmpeg exits.
  const stdout = new PassThrough({ highWaterMark: Math.max(size, 64 * 1024), autoDestroy: false });
  const seek =
    seekFrame > 0
      ? ['-seek_timestamp', '1', '-noaccurate_seek', '-ss', seconds(ptsAt(probe.frames, seekFrame), v.timeBase)]
      : [];
  // Deinterlacing comes before the selection, so a shard's first frame has its previous field pair.
  const filters = [
    ...deinterlaceFilters(v.fieldOrder, opts.deinterlace ?? 'auto'),
    `select='gte(pts\\,${first})*lt(pts\\,${after})'`,
    'showinfo=checksum=0',
    `scale=${[...decodeScaleOptions(v), 'flags=bicubic+accurate_rnd+full_chroma_int'].join(':')}`,
    `format=${format}`,
  ].join(',');
  const job: FfmpegJob = startFfmpeg({
    inputs: [{ source: ffmpegUrl(opts.input), options: ['-copyts', ...sourceInputOptions(opts.input, probe.container.demuxer), '-max_pixels', String(maxPixels), ...seek] }],
    output: stdout,
    outputOptions: ['-map', `0:${v.index}`, '-vf', filters, '-fps_mode', 'passthrough', '-frames:v', String(end - from), '-f', 'rawvideo'],
    onStderrLine: (line) => {
      const m = SHOWINFO.exec(line);
      if (m) {
        const frame = from + seen.push(Number(m[1])) - 1;
        const [w, h] = [Number(m[2] ?? v.displayWidth), Number(m[3] ?? v.displayHeight)];
        if (w !== v.displayWidth || h !== v.displayHeight) refuse(sizeChange(v, frame, w, h));
        wake?.();
        return;
      }
      const big = refusedPictureIn([line]);
      if (big !== undefined) refuse(midStreamRefusal({ width: v.displayWidth, height: v.displayHeight }, big, maxPixels));
      // Frames decoded before the range's first (an open GOP's leading pictures) are not its concern.
      // Decoding (and parsing) runs ahead of the frames output: the damage is at or after the next one.
      const said = seen.length > 0 || from === 0 ? decoderComplaint(line, v.codec) : undefined;
      if (said !== undefined && damage.lines++ === 0) damage.first = { frame: from + seen.length, said };
    },
  });
  let failure: unknown;
  job.done.catch((err: unknown) => {
    failure = err;
    wake?.();
  });
  let finished = false;
  const exited = job.done.then(
    () => true,
    () => false,
  );
  // fluent-ffmpeg reports the exit after stderr is drained: no showinfo line can come later.
  void exited.then(() => {
    finished = true;
    wake?.();
  });
  const ptsOf = async (i: number): Promise<number | undefined> => {
    while (seen[i] === undefined && failure === undefined && refused === undefined && !finished) await new Promise<void>((r) => (wake = r));
    if (refused !== undefined) throw refused;
    return seen[i];
  };

  let buf = Buffer.allocUnsafe(size);
  let filled = 0;
  let i = 0;
  let mark = performance.now();
  try {
    for await (const chunk of stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(size - filled, chunk.length - off);
        chunk.copy(buf, filled, off, off + n);
        filled += n;
        off += n;
        if (filled < size) continue;
        const pts = await ptsOf(i);
        const want = expected[i] as number;
        if (pts !== want) {
          // A later frame of the range: the ones before it were never output (a gap, not a wrong index).
          if (canRetry && pts !== undefined && pts > want && expected.includes(pts)) {
            return { resumeAt: from + i, why: `frame ${from + i} (pts ${want}) was not decoded, pts ${pts} came instead` };
          }
          throw new MediaError('FrameMismatch', 'extract', name, `${label}: frame ${from + i} decoded with pts ${pts ?? 'unknown'}, expected ${want}${damageNote(damage)}`);
        }
        stats.waitMs += performance.now() - mark;
        stats.frames++;
        yield { data: buf, pts: want, index: from + i };
        mark = performance.now();
        i++;
        buf = Buffer.allocUnsafe(size);
        filled = 0;
      }
    }
    const ok = await exited;
    finished = true;
    if (refused !== undefined) throw refused;
    if (!ok) throw classifyFailure('extract', name, job.stderr, `decoding ${label}`, failure);
    if (i < expected.length && filled === 0 && canRetry) {
      return { resumeAt: from + i, why: `decoding ended after ${i} of ${expected.length} frames from frame ${from}` };
    }
    if (i !== expected.length || filled !== 0) {
      throw new MediaError('FrameMismatch', 'extract', name, `${label}: decoded ${from - start + i} frames (${filled} stray bytes), expected ${end - start}${damageNote(damage)}`);
    }
    return undefined;
  } finally {
    finished = true;
    wake?.();
    job.kill();
    await exited;
    await job.exited; // `exited` can settle before the process is gone (see FfmpegJob.exited)
    stdout.destroy();
    if (damage.first !== undefined) {
      const near = damage.first.frame;
      opts.log?.warn(
        { input: name, frames: label, nearFrame: near, lines: damage.lines, decoder: damage.first.said },
        `The decoder met damaged data at or after frame ${near} and concealed it (ffmpeg's decoder error lines: ${damage.lines}): frames from there may show damage; repair or re-encode the source if they do`,
      );
    }
  }
}

/** Lines the video decoder printed about damaged data during one attempt, the first kept. */
interface Damage {
  lines: number;
  first?: { frame: number; said: string };
}

/** The decoder's complaint, for a frame-count or timestamp mismatch it explains; empty without one. */
function damageNote(damage: Damage): string {
  const f = damage.first;
  return f === undefined ? '' : `: the decoder met damaged data at or after frame ${f.frame} (${f.said}) and could not decode every frame; repair or re-encode the source`;
}

/**
 * What the video decoder said about the data in an ffmpeg stderr line (`[h264 @ 0x...] error while
 * decoding MB 0 4, bytestream 3282`), or undefined for any other line. ffmpeg conceals damaged
 * packets and carries on, so these lines are the only sign of damage. The decoder's context is
 * named after it: the codec (`h264`, `hevc`, `mpeg2video`) or a library holding the codec's name
 * (`libdav1d` for av1).
 */
export function decoderComplaint(line: string, codec: string): string | undefined {
  const m = /^\[([\w-]+) @ 0x[0-9a-f]+\] (.+)$/.exec(line.trim());
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return m[1] === codec || m[1].includes(codec) ? m[2] : undefined;
}

/** Why frame `frame` of `w` x `h` cannot be delivered: the stream no longer has the probed frame size. */
function sizeChange(v: Probe['video'], frame: number, w: number, h: number): string {
  const first = `${v.displayWidth}x${v.displayHeight}`;
  return `frame ${frame} is ${w}x${h}, but the video starts at ${first}: its frame size changes mid-stream, and a job upscales one frame size; cut the source where the size changes, or scale it to one size first (ffmpeg -vf scale=${v.displayWidth}:${v.displayHeight})`;
}

/** Seconds of `pts` as a decimal string ffmpeg parses exactly to the microsecond. */
function seconds(pts: number, tb: { num: number; den: number }): string {
  const us = Math.floor((pts * tb.num * 1_000_000) / tb.den);
  const sign = us < 0 ? '-' : '';
  const a = Math.abs(us);
  return `${sign}${Math.floor(a / 1_000_000)}.${String(a % 1_000_000).padStart(6, '0')}`;
}
