/**
 * Assemble: join the shard files in plan order without re-encoding, add the source's audio,
 * subtitles, chapters and metadata, verify, and publish atomically.
 *
 * - Order comes from each shard's frame range (never from file names or directory order); the
 *   shards must cover every source frame exactly once and share codec parameters (codec, size,
 *   pixel format, time base, extradata hash), or nothing is written. Those facts come with the
 *   shards when the caller has them (the assemble step: from each shard's manifest, the shard
 *   step's read-back of the very bytes); otherwise each shard is inspected, a few at once.
 * - Audio and subtitles are read once from the source and never cut, so there are no priming
 *   gaps or clicks at shard joins. `-copyts` keeps every stream on the source's clock; the joined
 *   video (shard-relative from 0) is placed at the source video's start with `-itsoffset`, so the
 *   audio/video offset of the source is kept exactly, VFR included. A source that starts after 0
 *   (MPEG-TS) has every stream moved back by its earliest start, so the output starts at 0
 *   (`timelineShift`).
 * - A segment (source frames `[first, end)`, media/segment.ts) starts the output at 0: the joined
 *   video starts there, and the source is read from the segment's first frame for its duration
 *   (`-seek_timestamp 1 -ss <pts of first> -t <span>` on the source, no `-copyts`), so audio and
 *   subtitle packets keep their distance to the video; copied audio starts at its first packet at or
 *   after the segment's start (less than one audio frame later, the gap kept as a timestamp offset).
 * - Streams the container cannot hold are converted or dropped with a warning (`container-policy.ts`).
 * - The result is checked against the probe: frame count, duration within one frame (both the span
 *   of the frames and the duration the container declares), stream counts and the audio/video start
 *   offset. MP4/MOV get their last video packet's duration set so the edit list ends where the
 *   source video does (`mp4-duration.ts`). It is written under a random temporary name beside the
 *   output (created exclusively, so never through someone else's file or link), flushed to disk and
 *   published with `storage/atomic-file.ts`: linked into place (an output that appeared meanwhile is
 *   not replaced unless `overwrite`) and the directory synced, so a crash right after leaves the
 *   whole output, not an empty or missing one.
 */
import { execFile } from 'node:child_process';
import { constants as fsConstants, createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile, access } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { mapBounded } from '../bounded-map.ts';
import { planProblem } from '../shard-plan.ts';
import { discard, publish, reserveTemporary } from '../storage/atomic-file.ts';
import { concatList, type ShardFile } from './concat-list.ts';
import { containerFor, OUTPUT_EXTENSIONS, planStreams, videoCodecsFor, type Container, type StreamPlan } from './container-policy.ts';
import type { VideoCodec } from './encoders.ts';
import { MediaError } from './errors.ts';
import { colourTagOptions, outputColour } from './colour.ts';
import { classifyFailure } from './ffmpeg-errors.ts';
import { startFfmpeg } from './ffmpeg-run.ts';
import { displayName, ffmpegUrl, sourceInputOptions } from './input-policy.ts';
import { inspectMedia, inspectShard, prepareMediaInspection, type Inspection, type ShardInspection } from './inspect.ts';
import { mp4EndFilter } from './mp4-duration.ts';
import type { Probe } from './probe-schema.ts';
import { ptsAt } from './frame-index.ts';
import { spanSeconds, type FrameSpan } from './segment.ts';

export type { ShardFile } from './concat-list.ts';

/** A shard to join, with its inspection when one is already known (the shard step's, from its manifest). */
export interface AssembleShard extends ShardFile {
  /** What `inspectShard` gave for exactly these bytes; without it the shard is inspected here. */
  inspection?: ShardInspection;
}

/** A shard that is not done yet: its range, and its file once it is (staged, its bytes checked). */
export interface ArrivingShard {
  start: number;
  end: number;
  /** Resolves when the shard is done; rejects when it never will be (the mux stops with that error). */
  ready(): Promise<AssembleShard>;
}

export interface AssembleOptions {
  /** The source (local path or presigned URL): audio, subtitles, chapters and metadata come from it. */
  source: string;
  /** Display name of the source for logs and errors (default: the probe's input name). */
  sourceName?: string;
  probe: Probe;
  /** Shard files with their frame ranges, in any order. */
  shards: readonly AssembleShard[];
  /**
   * Instead of `shards`: shards still being made, in any order. The mux starts when the first
   * (lowest) one is ready and takes each of the others, in plan order, as soon as it is (through
   * a named pipe: the concat demuxer opens a shard only when it reaches it), so what is left after
   * the last shard is its own bytes, the verification and the publish. Each is checked against the
   * first when it arrives; a mismatch or a rejected `ready` stops the mux and nothing is written.
   */
  arriving?: readonly ArrivingShard[];
  /**
   * With `arriving`: what the shards will hold, when the caller decided it before any was made (the
   * local run chose the codec and the output size). The mux then starts at once and takes the first
   * shard through a named pipe too, so ffmpeg has started (about 0.1 s of a core) while the shards
   * are still being made; the first is checked against this, the others against the first.
   */
  expect?: ExpectedShards;
  /** Source frames `[first, end)` the shards cover (default: all of them). */
  segment?: FrameSpan;
  /** Local output path; the container follows the extension (.mp4, .m4v, .mov, .mkv, .webm). */
  output: string;
  /** Replace an existing output (default false: `OutputExists`). */
  overwrite?: boolean;
  log?: Logger;
}

/** The video every shard of a job holds, as decided before the first was made. */
export interface ExpectedShards {
  codec: VideoCodec;
  /** Frame height of the shards (the output's). */
  height: number;
}

export interface AssembleResult {
  output: string;
  bytes: number;
  frames: number;
  /** Video duration of the output, seconds. */
  duration: number;
  videoCodec: string;
  audio: number;
  subtitles: number;
  /** Streams converted or dropped for the container. */
  warnings: string[];
  /** Time spent checking shards, muxing, and verifying the result. */
  checkMs: number;
  muxMs: number;
  verifyMs: number;
}

/** Joins the shards and muxes the source's other streams into `output`; see the file comment. */
export async function assemble(opts: AssembleOptions): Promise<AssembleResult> {
  const { probe } = opts;
  const output = resolve(opts.output);
  const container = containerFor(output);
  if (!container) {
    throw new MediaError('UnsupportedOutput', 'assemble', opts.output, `unsupported output extension (use one of ${OUTPUT_EXTENSIONS.join(', ')})`);
  }
  if (!opts.overwrite && (await exists(output))) {
    throw new MediaError('OutputExists', 'assemble', opts.output, 'the output already exists (pass overwrite to replace it)');
  }
  const arriving = opts.arriving === undefined ? undefined : [...opts.arriving].sort((a, b) => a.start - b.start);
  const ranges = arriving ?? [...opts.shards].sort((a, b) => a.start - b.start);
  const segment = opts.segment ?? { first: 0, end: probe.video.frameCount };
  const problem = planProblem(ranges.map((s) => ({ start: s.start - segment.first, end: s.end - segment.first })), segment.end - segment.first);
  if (problem !== undefined) throw new MediaError('VerifyFailed', 'assemble', opts.output, `shards do not cover the source: ${problem}`);

  let mark = performance.now();
  // Streaming: the first shard fixes the codec parameters the others are checked against as they
  // come; with `expect`, nothing is waited for here and the feed checks the first when it lands.
  const expect = arriving === undefined ? undefined : opts.expect;
  const shards = arriving === undefined ? opts.shards.map((s) => ({ ...s, path: resolve(s.path) })).sort((a, b) => a.start - b.start) : expect !== undefined ? [] : [await firstArrived(arriving)];
  const { codec, height, first } = expect !== undefined ? { ...expect, first: undefined } : await checkShards(shards, opts.output);
  if (!videoCodecsFor(container.kind).includes(codec)) {
    throw new MediaError('UnsupportedOutput', 'assemble', opts.output, `${codec} video cannot be stored in .${container.kind} (${container.kind} takes ${videoCodecsFor(container.kind).join(', ')}; use .mkv or another codec)`);
  }
  const plan = planStreams(probe, container.kind);
  for (const w of plan.warnings) opts.log?.warn({ output: opts.output }, `Converted or dropped a stream: ${w}`);
  const checkMs = performance.now() - mark;

  const work = await mkdtemp(join(tmpdir(), 'upscale-assemble-'));
  let tmp: string | undefined;
  // MP4/MOV are written with the index at the front, so the verify pass's ffprobe can start now and
  // read the finished file in one pass from its stdin (inspect.ts): its start is not added after the mux.
  const readBack = container.faststart ? prepareMediaInspection('assemble') : undefined;
  try {
    tmp = await reserveTemporary(output);
    const list = join(work, 'shards.ffconcat');
    const reference = first === undefined ? undefined : { shard: shards[0] as AssembleShard, inspection: first };
    const feed = arriving === undefined ? undefined : await pipeFeed(arriving, reference ?? (expect as ExpectedShards), work, opts);
    await writeFile(list, concatList(probe.frames, probe.video.timeBase, feed?.files ?? shards));
    mark = performance.now();
    await mux(opts, segment, list, tmp, container, plan, codec, height, feed);
    const muxMs = performance.now() - mark;
    mark = performance.now();
    const got = readBack ? await readBack.inspect(tmp) : await inspectMedia(tmp, 'assemble');
    verify(probe, segment, plan, got, opts.output);
    const verifyMs = performance.now() - mark;
    const bytes = (await stat(tmp)).size;
    await publishOutput(tmp, output, opts);
    const tb = got.video.timeBase;
    const result: AssembleResult = {
      output,
      bytes,
      frames: got.video.packets,
      duration: ((got.video.endPts - got.video.firstPts) * tb.num) / tb.den,
      videoCodec: got.video.codec,
      audio: got.audio.length,
      subtitles: got.subtitles.length,
      warnings: plan.warnings,
      checkMs,
      muxMs,
      verifyMs,
    };
    opts.log?.info({ output: opts.output, frames: result.frames, shards: ranges.length, bytes }, 'Assembled output');
    return result;
  } finally {
    readBack?.cancel();
    await rm(work, { recursive: true, force: true });
    if (tmp !== undefined) await discard(tmp);
  }
}

/** Publishes the verified temporary file; an output created meanwhile is kept unless `overwrite`. */
async function publishOutput(tmp: string, output: string, opts: AssembleOptions): Promise<void> {
  try {
    await publish(tmp, output, opts.overwrite ?? false);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new MediaError('OutputExists', 'assemble', opts.output, 'the output appeared while assembling (pass overwrite to replace it)');
    }
    throw error;
  }
}

/**
 * Shard inspections run at once. Each is an ffprobe start (mostly loading its libraries, CPU) and a
 * short demux, so they scale with cores; bounded so a 1,000-shard job does not start 1,000 processes.
 */
const INSPECT_CONCURRENCY = Math.max(1, Math.min(8, availableParallelism()));

/** Checks every shard can be joined to the first; returns the video codec and frame height. */
async function checkShards(shards: readonly AssembleShard[], output: string): Promise<{ codec: VideoCodec; height: number; first: ShardInspection }> {
  const inspected = await mapBounded(shards, inspectionOf, INSPECT_CONCURRENCY);
  const first = inspected[0];
  if (first === undefined) throw new MediaError('VerifyFailed', 'assemble', output, 'there are no shards to join');
  for (const [i, s] of shards.entries()) {
    const got = inspected[i];
    if (got !== undefined) checkJoinable(s, got, shards[0] as AssembleShard, first, output);
  }
  const codec = first.codec;
  if (codec !== 'h264' && codec !== 'hevc' && codec !== 'av1' && codec !== 'ffv1') {
    throw new MediaError('VerifyFailed', 'assemble', output, `shards hold ${codec} video, not one of h264, hevc, av1, ffv1`);
  }
  return { codec, height: first.height, first };
}

function inspectionOf(s: AssembleShard): Promise<ShardInspection> {
  return s.inspection ? Promise.resolve(s.inspection) : inspectShard(s.path, 'assemble');
}

/** Throws unless shard `s` (inspected as `got`) holds its range's frames and can be joined to the first. */
function checkJoinable(s: AssembleShard, got: ShardInspection, firstShard: AssembleShard, first: ShardInspection, output: string): void {
  if (got.packets !== s.end - s.start) {
    throw new MediaError('VerifyFailed', 'assemble', s.path, `shard holds ${got.packets} frames, its range [${s.start},${s.end}) needs ${s.end - s.start}`);
  }
  const diffs = joinDifferences(first, got);
  if (diffs.length > 0) {
    throw new MediaError('VerifyFailed', 'assemble', s.path, `shard cannot be joined to ${firstShard.path} for ${output}: different ${diffs.join(', ')} (all shards of a job must use one encoder and settings)`);
  }
}

/** The first arriving shard, once it is ready, with its range checked against the plan's. */
async function firstArrived(arriving: readonly ArrivingShard[]): Promise<AssembleShard> {
  const head = arriving[0] as ArrivingShard;
  const shard = sameRange(head, await head.ready());
  return { ...shard, path: resolve(shard.path) };
}

/** `shard`, once it is sure to be the one `pending` stands for (its caller's bug otherwise). */
function sameRange(pending: ArrivingShard, shard: AssembleShard): AssembleShard {
  if (shard.start !== pending.start || shard.end !== pending.end) throw new Error(`arriving shard [${pending.start},${pending.end}) resolved to [${shard.start},${shard.end})`);
  return shard;
}

/**
 * Feeds arriving shards to the mux through named pipes in `work`, each written once the shard is
 * ready and checked: every shard after the first, or every shard when only what they will hold is
 * known (`ExpectedShards`: the mux started before the first landed). `run` writes them in plan order
 * (a pipe's writer is opened first, and the open returns when ffmpeg reaches that shard); `stop`
 * releases a writer still waiting for ffmpeg, which stopped.
 */
interface PipeFeed {
  files: ShardFile[];
  run(): Promise<void>;
  stop(): void;
}

/** The shard the others are joined to, with its inspection. */
interface Reference {
  shard: AssembleShard;
  inspection: ShardInspection;
}

async function pipeFeed(arriving: readonly ArrivingShard[], from: Reference | ExpectedShards, work: string, opts: AssembleOptions): Promise<PipeFeed> {
  let reference = 'shard' in from ? from : undefined;
  const skip = reference === undefined ? 0 : 1;
  const rest = arriving.slice(skip);
  const pipes = rest.map((_, i) => join(work, `shard-${String(i + skip).padStart(6, '0')}.nut`));
  if (pipes.length > 0) await makeFifos(pipes);
  let stopped = false;
  let releaseWait: () => void = () => undefined;
  const stopping = new Promise<undefined>((resolveStop) => (releaseWait = () => resolveStop(undefined)));
  let writing: { path: string; stream: WriteStream } | undefined;
  const feedAll = async (): Promise<void> => {
    for (const [i, pending] of rest.entries()) {
      // Opened first: the open returns when ffmpeg reaches this shard (logged), whether or not it is ready.
      const path = pipes[i] as string;
      const stream = createWriteStream(path);
      writing = { path, stream };
      stream.once('open', () => opts.log?.debug({ output: opts.output, shard: [pending.start, pending.end] }, 'Mux reached shard'));
      // Not waited for once the mux has stopped: the shard may never come.
      const shard = await Promise.race([pending.ready(), stopping]);
      if (shard === undefined || stopped) return;
      const got = await inspectionOf(sameRange(pending, shard));
      if (reference !== undefined) checkJoinable(shard, got, reference.shard, reference.inspection, opts.output);
      else {
        checkExpected(shard, got, from as ExpectedShards, opts.output);
        reference = { shard, inspection: got };
      }
      await pipeline(createReadStream(shard.path), stream);
      writing = undefined;
      opts.log?.debug({ output: opts.output, shard: [shard.start, shard.end] }, 'Streamed shard into the output');
    }
  };
  const firstFiles = 'shard' in from ? [from.shard] : [];
  return {
    files: [...firstFiles, ...rest.map((s, i) => ({ path: pipes[i] as string, start: s.start, end: s.end }))],
    // After `stop`, what the feed was doing fails because it was stopped: not an error of its own.
    run: () => feedAll().catch((error: unknown) => {
      if (!stopped) throw error;
    }),
    stop: () => {
      if (stopped) return;
      stopped = true;
      releaseWait();
      const pending = writing;
      if (pending === undefined) return;
      pending.stream.destroy();
      void releaseWriter(pending.path, pending.stream);
    },
  };
}

/** Throws unless the first shard (inspected as `got`) holds its range's frames of the video the mux was set up for. */
function checkExpected(s: AssembleShard, got: ShardInspection, expect: ExpectedShards, output: string): void {
  if (got.packets !== s.end - s.start) {
    throw new MediaError('VerifyFailed', 'assemble', s.path, `shard holds ${got.packets} frames, its range [${s.start},${s.end}) needs ${s.end - s.start}`);
  }
  if (got.codec !== expect.codec || got.height !== expect.height) {
    throw new MediaError('VerifyFailed', 'assemble', s.path, `shard holds ${got.codec} video ${got.width}x${got.height}, ${output} was set up for ${expect.codec} video ${expect.height} lines high (all shards of a job must use the job's encoder and size)`);
  }
}

/**
 * A pipe writer whose open waits for a reader that will never come (ffmpeg stopped) returns when
 * the pipe is opened for reading: done here, again until the stream has closed (the open may not
 * have reached the kernel yet the first time).
 */
async function releaseWriter(path: string, stream: WriteStream): Promise<void> {
  for (let i = 0; i < 100 && !stream.closed; i++) {
    await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK).then((fh) => fh.close(), () => undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates named pipes (Node has no mkfifo): one `mkfifo` for all of them. */
async function makeFifos(paths: readonly string[]): Promise<void> {
  await new Promise<void>((resolveMade, reject) => {
    execFile('mkfifo', ['-m', '600', '--', ...paths], (err, _stdout, stderr) => (err ? reject(new Error(`mkfifo failed: ${stderr.trim() || err.message}`)) : resolveMade()));
  });
}

/** The codec parameters in which shard `b` differs from shard `a` (joined streams must share them). */
function joinDifferences(a: ShardInspection, b: ShardInspection): string[] {
  const diffs: string[] = (['codec', 'width', 'height', 'pixFmt', 'extradataHash'] as const).filter((k) => a[k] !== b[k]);
  if (a.timeBase.num * b.timeBase.den !== b.timeBase.num * a.timeBase.den) diffs.push('timeBase');
  return diffs;
}

async function mux(opts: AssembleOptions, segment: FrameSpan, list: string, tmp: string, container: Container, plan: StreamPlan, codec: VideoCodec, height: number, feed?: PipeFeed): Promise<void> {
  const { probe } = opts;
  const name = displayName(opts.source, opts.sourceName ?? probe.input);
  const part = isPart(probe, segment);
  const shift = part ? 0 : timelineShift(probe, plan);
  // Colour tags (the shards', see colour.ts) are repeated on the copied stream: FFV1 in NUT shards cannot carry them.
  // -y: the temporary output exists (created exclusively, empty) and ffmpeg may replace it.
  // A segment: no packet from before its start (ffmpeg's default, -1, copies those the seek landed on).
  const out: string[] = ['-y', ...(part ? ['-copypriorss', '0'] : ['-copyts']), '-map', '0:v:0', '-c:v', 'copy', ...colourTagOptions(outputColour(probe.video, height))];
  const mov = container.kind === 'mp4' || container.kind === 'mov';
  if (codec === 'hevc' && mov) out.push('-tag:v', 'hvc1');
  // The muxer ends the edit list at the decode-time span: make it the source's (see mp4-duration.ts).
  if (mov) out.push('-bsf:v', mp4EndFilter(probe, segment));
  const counters = { audio: 0, subtitle: 0 };
  for (const s of plan.streams) {
    const k = counters[s.kind]++;
    const spec = `-c:${s.kind === 'audio' ? 'a' : 's'}:${k}`;
    out.push('-map', `1:${s.index}`, spec, s.action === 'copy' ? 'copy' : s.encoder);
    if (s.action === 'convert' && s.channels !== undefined) {
      out.push(...(s.channels === 'discrete' ? [`-mapping_family:a:${k}`, '255'] : [`-filter:a:${k}`, `aformat=channel_layouts=${s.channels.layout}`]));
    }
  }
  if (plan.attachments) out.push('-map', '1:t?', '-c:t', 'copy');
  out.push('-map_metadata', '1', '-map_chapters', '1');
  if (container.faststart) out.push('-movflags', '+faststart');
  out.push('-f', container.muxer);
  const job = startFfmpeg({
    inputs: [
      {
        source: ffmpegUrl(list),
        options: ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file', '-format_whitelist', 'concat,nut', ...(part ? [] : ['-itsoffset', seconds(probe.video.startTime - shift)])],
      },
      {
        source: ffmpegUrl(opts.source),
        options: [...sourceInputOptions(opts.source, probe.container.demuxer), ...(part ? segmentInput(probe, segment) : shift > 0 ? ['-itsoffset', seconds(-shift)] : [])],
      },
    ],
    output: ffmpegUrl(tmp),
    outputOptions: out,
  });
  // A feed that fails (a shard that will not come, or cannot be joined) stops ffmpeg, and its error
  // is the one reported; ffmpeg failing first releases the feed.
  let feedFailure: { error: unknown } | undefined;
  const feeding = feed?.run().catch((error: unknown) => {
    feedFailure = { error };
    job.kill();
  });
  try {
    await job.done;
    await feeding;
  } catch (err) {
    feed?.stop();
    await feeding;
    if (feedFailure !== undefined) throw feedFailure.error;
    const e = classifyFailure('assemble', name, job.stderr, `muxing ${opts.output}`, err);
    throw e;
  } finally {
    job.kill();
  }
  if (feedFailure !== undefined) throw feedFailure.error;
}

/**
 * Seconds taken off every stream of a whole-source output so that it starts at 0, as ffmpeg's own
 * transcodes do: the earliest start among the video and the kept audio streams, when that is after
 * 0. An MPEG-TS source starts at 1.4 s or later (a broadcast capture or camcorder file anywhere on
 * its 26-hour clock); kept as it is, an MP4 output opened with an empty edit list of that length
 * (players show 12.4 s for a 1 s clip starting at 11.4 s) and a Matroska one declared its video
 * track as long as its end time. The offsets between the streams are kept exactly. A source that
 * starts at 0 or before (an MP4 whose audio priming precedes 0) is left on its own clock.
 */
export function timelineShift(probe: Pick<Probe, 'video' | 'audio'>, plan: Pick<StreamPlan, 'streams'>): number {
  const kept = new Set(plan.streams.filter((s) => s.kind === 'audio').map((s) => s.index));
  const audioStarts = probe.audio.filter((a) => kept.has(a.index)).map((a) => a.firstPacketTime).filter((t): t is number => t !== null);
  const start = Math.min(probe.video.startTime, ...audioStarts);
  return start > 0 ? start : 0;
}

/** True when the segment is not the whole source. */
function isPart(probe: Probe, segment: FrameSpan): boolean {
  return segment.first !== 0 || segment.end !== probe.video.frameCount;
}

/** Source input options reading from the segment's first frame for its span (see the file comment). */
function segmentInput(probe: Probe, segment: FrameSpan): string[] {
  const tb = probe.video.timeBase;
  const at = (ptsAt(probe.frames, segment.first) * tb.num) / tb.den;
  return ['-seek_timestamp', '1', '-ss', seconds(at), '-t', seconds(spanSeconds(probe.frames, tb, segment).duration)];
}

/** Compares the written output with the probe (and the segment of it the shards cover). */
function verify(probe: Probe, segment: FrameSpan, plan: StreamPlan, got: Inspection, output: string): void {
  const v = probe.video;
  const fail = (msg: string): never => {
    throw new MediaError('VerifyFailed', 'assemble', output, msg);
  };
  const part = isPart(probe, segment);
  const frames = segment.end - segment.first;
  const what = part ? `the segment [${segment.first},${segment.end}) of the source` : 'the source';
  if (got.video.packets !== frames) fail(`output has ${got.video.packets} video frames, ${what} has ${frames}`);
  const tb = got.video.timeBase;
  const duration = ((got.video.endPts - got.video.firstPts) * tb.num) / tb.den;
  const wanted = part ? spanSeconds(probe.frames, v.timeBase, segment).duration : v.duration;
  const frame = v.duration / v.frameCount;
  if (Math.abs(duration - wanted) > frame + 1e-3) fail(`output video lasts ${duration.toFixed(4)} s, ${what} ${wanted.toFixed(4)} s`);
  // What players go by: the duration the container declares (an MP4 edit list, a Matroska tag).
  const declared = got.video.declaredDuration;
  if (declared !== null && Math.abs(declared - wanted) > frame + 1e-3) {
    fail(`output video stream declares ${declared.toFixed(4)} s, ${what} lasts ${wanted.toFixed(4)} s`);
  }
  const wantAudio = plan.streams.filter((s) => s.kind === 'audio').length;
  const wantSubs = plan.streams.filter((s) => s.kind === 'subtitle').length;
  if (got.audio.length !== wantAudio) fail(`output has ${got.audio.length} audio streams, expected ${wantAudio}`);
  if (got.subtitles.length !== wantSubs) fail(`output has ${got.subtitles.length} subtitle streams, expected ${wantSubs}`);
  // A/V sync: the offset between the first video frame and the first audio packet (priming
  // included, which is what every container keeps) must be the source's.
  const srcAudio = probe.audio[0]?.firstPacketTime ?? null;
  const outAudio = got.audio[0]?.firstPacketTime ?? null;
  if (part && outAudio !== null) {
    // Copied audio starts at its first packet at or after the segment's first frame: later by less
    // than one audio frame (at most 0.1 s for any common codec), never before.
    const lead = outAudio - (got.video.firstPts * tb.num) / tb.den;
    if (lead < -frame / 2 || lead > MAX_AUDIO_FRAME) fail(`audio starts ${(lead * 1000).toFixed(1)} ms after the segment's first video frame`);
  } else if (srcAudio !== null && outAudio !== null) {
    const outVideo = (got.video.firstPts * tb.num) / tb.den;
    const drift = outVideo - outAudio - (v.startTime - srcAudio);
    if (Math.abs(drift) > frame / 2) fail(`audio/video offset changed by ${(drift * 1000).toFixed(1)} ms`);
  }
}

/** Longest audio frame of a common codec, seconds (Vorbis 8192 samples at 44.1 kHz: 0.186 s; AAC 1024 at 8 kHz: 0.128 s). */
const MAX_AUDIO_FRAME = 0.2;

function seconds(s: number): string {
  return s.toFixed(6);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
