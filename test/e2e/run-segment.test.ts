/**
 * Segments (`--start`/`--duration`/`--frames`, the task's `segment`) with the real ffmpeg and the
 * real model on the CPU, on a 24-frame clip with AAC audio and a SubRip cue:
 * - frame-exact: the segment's frames are, hash for hash, frames [first, end) of a full run (FFV1,
 *   lossless, so decoding either gives back the encoded pixels), and the output has end - first frames;
 * - audio: it lasts as long as the video within one AAC frame, and cross-correlating its PCM with the
 *   source's puts it at the segment's start within 1 ms;
 * - subtitles: the cue inside the segment is shifted by the segment's start;
 * - the step commands over the task contract honour the segment; a segment past the end or empty is
 *   refused before any work, exit 2, naming the option; a job planned for another segment is refused.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CLIP_FRAMES, SEGMENT_CUE, clip, ffprobeJson, videoFramemd5, videoPtsSeconds } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';

const run = promisify(execFile);
const MODEL = ['--model', 'realesr-animevideov3', '--ep', 'cpu', '--codec', 'ffv1', '--no-progress'];
const RATE = 48_000;
/** One AAC frame, seconds. */
const AAC_FRAME = 1024 / RATE;

/** Frame hashes only (framemd5's last column): the pixels, not the timestamps. */
function hashes(lines: readonly string[]): string[] {
  return lines.map((l) => l.split(',').at(-1)?.trim() ?? '');
}

/** Mono 48 kHz PCM of the first audio stream, placed by its timestamps (a late start is padded with silence, as a player shows it). */
async function pcm(path: string): Promise<Int16Array> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-i', path, '-map', '0:a:0', '-af', `aresample=${RATE}:async=1:first_pts=0`, '-ac', '1', '-f', 's16le', '-'], {
    encoding: 'buffer',
    maxBuffer: 64 << 20,
  });
  return new Int16Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 2));
}

/** The lag (samples, within ±maxLag) at which `part` best matches `whole` from sample `at`: normalised cross-correlation. */
function bestLag(part: Int16Array, whole: Int16Array, at: number, maxLag: number): { lag: number; score: number } {
  // Skip the first AAC frame: decoded without its predecessor's overlap, it differs from the source's.
  const from = 2048;
  const n = Math.min(part.length - from, whole.length - at - maxLag - from);
  let best = { lag: 0, score: -Infinity };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let dot = 0;
    let ea = 0;
    let eb = 0;
    for (let i = from; i < from + n; i++) {
      const a = part[i] as number;
      const b = whole[at + lag + i] as number;
      dot += a * b;
      ea += a * a;
      eb += b * b;
    }
    const score = dot / Math.sqrt(ea * eb || 1);
    if (score > best.score) best = { lag, score };
  }
  return best;
}

async function streamDuration(path: string, kind: 'a' | 's'): Promise<{ first: number; last: number }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', `${kind}:0`, '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', path]);
  const rows = stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.split(',').map(Number));
  const first = rows[0]?.[0] ?? NaN;
  const lastRow = rows.at(-1) ?? [NaN, NaN];
  return { first, last: (lastRow[0] as number) + (lastRow[1] as number) };
}

describe('upscale run --start/--duration/--frames', () => {
  let dir: string;
  let source: string;
  let full: string[];
  let sourcePts: number[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-segment-'));
    source = await clip('tiny-segment');
    const whole = join(dir, 'full.mkv');
    const r = await upscale(['run', '-i', source, '-o', whole, ...MODEL], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, explain(r));
    full = hashes(await videoFramemd5(whole));
    assert.equal(full.length, CLIP_FRAMES['tiny-segment']);
    sourcePts = await videoPtsSeconds(source);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('--start 0.5 --duration 0.3: frames [12,end) of a full run, audio in sync, the cue shifted', async (t) => {
    const output = join(dir, 'seg.mkv');
    const began = performance.now();
    const r = await upscale(['run', '-i', source, '-o', output, '--start', '0.5', '--duration', '0.3', ...MODEL], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, explain(r));
    t.diagnostic(`segment run: ${((performance.now() - began) / 1000).toFixed(1)} s`);
    // The frames whose source pts (ffprobe's), counted from the first frame's (0.021 s in this MKV),
    // lie in [0.5, 0.8): from frame 12 (0.5005 s at 23.976 fps).
    const origin = sourcePts[0] as number;
    const first = sourcePts.findIndex((p) => p - origin >= 0.5 - 1e-6);
    const end = sourcePts.findIndex((p) => p - origin >= 0.8 - 1e-6);
    t.diagnostic(`segment frames [${first},${end}), source pts ${sourcePts.slice(first, end + 1).join(' ')}`);
    assert.equal(first, 12);
    assert.ok(end - first >= 6, `[${first},${end})`);
    assert.equal(r.result?.['frames'], end - first);
    const got = hashes(await videoFramemd5(output));
    assert.equal(got.length, end - first, 'frame count');
    assert.deepEqual(got, full.slice(first, end), 'each frame is the full run\'s frame of the same source index');
    // The check can fail: neighbouring frames differ, so a shift by one would be seen.
    assert.notEqual(full[first - 1], full[first]);
    assert.notEqual(full[end], full[end - 1]);

    const pts = await videoPtsSeconds(output);
    assert.ok(Math.abs((pts[0] ?? NaN) - 0) < 1e-3, `video starts at ${pts[0]}`);
    const span = (sourcePts[end] as number) - (sourcePts[first] as number);
    const audio = await streamDuration(output, 'a');
    assert.ok(audio.first >= -1e-3 && audio.first < AAC_FRAME, `audio starts at ${audio.first} s`);
    assert.ok(Math.abs(audio.last - span) <= AAC_FRAME, `audio ends at ${audio.last} s, video at ${span} s`);

    // The source's PCM starts at its first audio packet: 0 in 5.1's MKV, -0.021 s in 7.1's (AAC's
    // priming kept at a negative time), so a source time t is sample (t - that start) x RATE.
    const sourceAudio = await streamDuration(source, 'a');
    const lag = bestLag(await pcm(output), await pcm(source), Math.round(((sourcePts[first] as number) - sourceAudio.first) * RATE), 2400);
    t.diagnostic(`audio lag ${lag.lag} samples, correlation ${lag.score.toFixed(3)}`);
    assert.ok(lag.score > 0.9, `the segment's audio is the source's (correlation ${lag.score})`);
    assert.ok(Math.abs(lag.lag) <= RATE / 1000, `audio offset ${lag.lag} samples`);

    // The cue's source pts carries the container's offset as the frames' do (0.621 s here for 0.600).
    const cueAt = async (path: string): Promise<number[]> =>
      ((await ffprobeJson(path, ['-select_streams', 's', '-show_entries', 'packet=pts_time'])) as { packets: { pts_time: string }[] }).packets.map((p) => Number(p.pts_time));
    const [sourceCue] = await cueAt(source);
    assert.ok(Math.abs((sourceCue as number) - origin - SEGMENT_CUE.start) <= 2e-3, `source cue at ${sourceCue} s`);
    const cues = await cueAt(output);
    assert.equal(cues.length, 1);
    assert.ok(Math.abs((cues[0] as number) - ((sourceCue as number) - (sourcePts[first] as number))) <= 2e-3, `cue at ${cues[0]} s`);
  });

  it('--frames 3-9 upscales source frames 3 to 9', async () => {
    const output = join(dir, 'frames.mkv');
    const r = await upscale(['run', '-i', source, '-o', output, '--frames', '3-9', ...MODEL], { timeoutMs: 600_000 });
    assert.equal(r.code, 0, explain(r));
    assert.deepEqual(hashes(await videoFramemd5(output)), full.slice(3, 10));
  });

  it('refuses a segment past the end or empty before any work, exit 2, naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['--start', '5'], /--start 5s is at or after the last frame/],
      [['--frames', '30-31'], /--frames: frame 30 is past the last frame/],
      [['--duration', '0'], /--duration "0" must be longer than 0/],
      [['--start', 'soon'], /--start "soon" is not a time/],
      [['--start', '0.51', '--duration', '0.01'], /--duration 0.01s selects no frame/],
    ];
    for (const [flags, message] of cases) {
      const output = join(dir, 'refused.mkv');
      const r = await upscale(['run', '-i', source, '-o', output, ...flags, ...MODEL]);
      assert.equal(r.code, 2, explain(r));
      assert.match(r.message, message);
      assert.equal(existsSync(output), false);
      assert.equal(existsSync(`${output}.upscale`), false, 'no intermediates');
    }
  });

  it('the step commands honour the task segment; another segment for a started job is refused', async () => {
    const common = { version: 1, jobId: 'seg-steps', input: source, output: join(dir, 'steps.mkv') };
    const taskFile = async (task: unknown): Promise<string> => {
      const path = join(dir, `task-${Math.random().toString(36).slice(2)}.json`);
      await writeFile(path, JSON.stringify(task));
      return path;
    };
    const bad = await upscale(['probe', '--task-file', await taskFile({ ...common, step: 'probe', segment: { start: 9 } })]);
    assert.equal(bad.code, 2, explain(bad));
    assert.match(bad.message, /segment\.start 9s is at or after the last frame/);

    const probe = await upscale(['probe', '--task-file', await taskFile({ ...common, step: 'probe', segment: { firstFrame: 12, frames: 8 }, plan: { shardCount: 2 } })]);
    assert.equal(probe.code, 0, explain(probe));
    assert.deepEqual([probe.result?.['frames'], probe.result?.['shards']], [8, 2]);
    const settings = { model: 'realesr-animevideov3', ep: 'cpu', codec: 'ffv1' };
    for (const shard of [0, 1]) {
      const r = await upscale(['shard', '--task-file', await taskFile({ ...common, step: 'shard', shard, settings })], { timeoutMs: 600_000 });
      assert.equal(r.code, 0, explain(r));
      assert.deepEqual([r.result?.['start'], r.result?.['end']], [12 + shard * 4, 16 + shard * 4]);
    }
    const moved = await upscale(['probe', '--task-file', await taskFile({ ...common, step: 'probe', segment: { firstFrame: 13, frames: 8 }, plan: { shardCount: 2 } })]);
    assert.equal(moved.code, 2, explain(moved));
    assert.match(moved.message, /segment: job seg-steps was planned for frames \[12,20\) and has 2 of 2 shards done; the segment now selects \[13,21\)/);

    const assembled = await upscale(['assemble', '--task-file', await taskFile({ ...common, step: 'assemble' })]);
    assert.equal(assembled.code, 0, explain(assembled));
    assert.deepEqual(hashes(await videoFramemd5(common.output)), full.slice(12, 20));
    const audio = await streamDuration(common.output, 'a');
    assert.ok(audio.first >= -1e-3 && audio.first < AAC_FRAME, `audio starts at ${audio.first} s`);
  });
});
