import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { clip, ffprobeJson, videoPtsSeconds, type ClipName } from '../../test/fixtures/clips.ts';
import { assemble, timelineShift, type ShardFile } from './assemble.ts';
import { encodeShard, sourceTiming } from './encode.ts';
import type { VideoCodec } from './encoders.ts';
import { MediaError } from './errors.ts';
import { extractFrames } from './extract.ts';
import { probe } from './probe.ts';
import type { Probe } from './probe-schema.ts';
import { identityShardOptions } from './test-shard-options.ts';

const run = promisify(execFile);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-assemble-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const RANGES: [number, number][] = [[0, 17], [17, 31], [31, 48]];

/** Extracts and encodes the clip in three shards (identity upscaler). */
async function shards(name: ClipName, codec: VideoCodec): Promise<{ src: string; p: Probe; files: ShardFile[] }> {
  const src = await clip(name);
  const p = await probe(src);
  const files: ShardFile[] = [];
  for (const [i, [start, end]] of RANGES.entries()) {
    const output = join(dir, `${name}-${codec}-${String(i).padStart(6, '0')}.nut`);
    await encodeShard(extractFrames({ input: src, probe: p, start, end }), identityShardOptions(p, start, end, output, codec));
    files.push({ path: output, start, end });
  }
  return { src, p, files };
}

/** The video stream duration as ffprobe reports it (for MP4: the edit list), seconds. */
async function videoStreamDuration(path: string): Promise<number> {
  const s = (await ffprobeJson(path, ['-select_streams', 'v:0', '-show_entries', 'stream=duration'])) as { streams: { duration: string }[] };
  return Number(s.streams[0]?.duration);
}

/**
 * How long the source's video lasts from its first frame to the end of its last: the container's
 * last frame duration when it states one (5.1's MP4 muxer does), else the step between the last two
 * frames, which is what the probe takes (7.1's MP4 of a passthrough-timed clip gives the last frame
 * none, and its stream duration ends at the last frame's start).
 */
async function sourceVideoLength(path: string): Promise<number> {
  const p = (await ffprobeJson(path, ['-select_streams', 'v:0', '-show_entries', 'packet=pts_time,duration_time'])) as { packets: { pts_time: string; duration_time?: string }[] };
  const packets = p.packets.map((k) => ({ pts: Number(k.pts_time), duration: Number(k.duration_time ?? NaN) })).sort((a, b) => a.pts - b.pts);
  const [first, previous, last] = [packets[0], packets.at(-2), packets.at(-1)];
  if (!first || !previous || !last) throw new Error(`${path}: fewer than 2 video packets`);
  const lastDuration = last.duration > 0 ? last.duration : last.pts - previous.pts;
  return last.pts + lastDuration - first.pts;
}

async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-i', path, '-f', 'null', '-']);
  return stderr;
}

interface Streams {
  streams: { codec_type: string; codec_name: string }[];
}

describe('assemble', () => {
  let h264: Awaited<ReturnType<typeof shards>>;
  before(async () => {
    h264 = await shards('bframes', 'h264');
  });

  it('joins B-frame H.264 shards into a faststart MP4 with the source audio, in sync', async () => {
    const out = join(dir, 'bframes.mp4');
    const r = await assemble({ source: h264.src, probe: h264.p, shards: [...h264.files].reverse(), output: out });
    assert.equal(r.frames, 48);
    assert.equal(r.videoCodec, 'h264');
    assert.equal(r.audio, 1);
    assert.deepEqual(r.warnings, []);
    assert.ok(Math.abs(r.duration - h264.p.video.duration) < 1e-3, `${r.duration}`);
    assert.equal(await decodeErrors(out), '', 'the joined stream decodes without errors');
    const bytes = await readFile(out);
    assert.ok(bytes.indexOf('moov') < bytes.indexOf('mdat'), 'moov before mdat (+faststart)');
    const s = (await ffprobeJson(out, ['-show_entries', 'stream=codec_type,codec_name'])) as Streams;
    assert.deepEqual(s.streams.map((x) => [x.codec_type, x.codec_name]), [['video', 'h264'], ['audio', 'aac']]);
    const src = await videoPtsSeconds(h264.src);
    const got = await videoPtsSeconds(out);
    got.forEach((t, i) => assert.ok(Math.abs(t - src[i]!) < 1e-4, `frame ${i} at ${t}, source ${src[i]}`));
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('partial')), []);
  });

  it('keeps variable frame durations through H.264 shards into MP4, and the source video duration', async () => {
    const v = await shards('vfr', 'h264');
    const out = join(dir, 'vfr.mp4');
    const r = await assemble({ source: v.src, probe: v.p, shards: v.files, output: out });
    assert.equal(r.frames, 48);
    const src = await videoPtsSeconds(v.src);
    const got = await videoPtsSeconds(out);
    got.forEach((t, i) => assert.ok(Math.abs(t - got[0]! - (src[i]! - src[0]!)) < 1e-5, `frame ${i}`));
    // The MP4 edit list must end where the source video does, after the last frame has been shown.
    const [o, s] = await Promise.all([videoStreamDuration(out), sourceVideoLength(v.src)]);
    assert.ok(o > got[got.length - 1]!, `video ends at ${o} s, before its last frame at ${got[got.length - 1]} s`);
    assert.ok(Math.abs(o - s) < 1e-3, `output video lasts ${o} s, the source ${s} s`);
  });

  it('ends a sharded variable-rate MP4 where the source does when the last frames are B-frames of a short shard', async () => {
    // tiny-vfr: 12 frames, durations 3003/4503 ticks; shards end off keyframes and the last is 2 frames.
    const src = await clip('tiny-vfr');
    const p = await probe(src);
    const files: ShardFile[] = [];
    for (const [i, [start, end]] of ([[0, 5], [5, 10], [10, 12]] as const).entries()) {
      const output = join(dir, `tiny-vfr-${i}.nut`);
      await encodeShard(extractFrames({ input: src, probe: p, start, end }), {
        output, width: 64, height: 48, format: 'rgb24', ...sourceTiming(p, start, end), codec: 'h264', preset: 'veryfast',
      });
      files.push({ path: output, start, end });
    }
    const r = await assemble({ source: src, probe: p, shards: files, output: join(dir, 'tiny-vfr.mp4') });
    const [o, s] = await Promise.all([videoStreamDuration(r.output), sourceVideoLength(src)]);
    assert.ok(Math.abs(o - s) < 1e-3, `output video lasts ${o} s, the source ${s} s`);
    assert.deepEqual(await videoPtsSeconds(r.output), await videoPtsSeconds(src));
  });

  it('converts subtitles for MP4 and both audio and subtitles for WebM, with warnings', async () => {
    const s = await shards('subtitles', 'av1');
    const mp4 = await assemble({ source: s.src, probe: s.p, shards: s.files, output: join(dir, 'subs.mp4') });
    assert.deepEqual(mp4.warnings, ['subtitle stream 2 (subrip) converted to mov_text for mp4']);
    const a = (await ffprobeJson(mp4.output, ['-show_entries', 'stream=codec_type,codec_name'])) as Streams;
    assert.deepEqual(a.streams.map((x) => x.codec_name), ['av1', 'aac', 'mov_text']);
    const webm = await assemble({ source: s.src, probe: s.p, shards: s.files, output: join(dir, 'subs.webm') });
    assert.deepEqual(webm.warnings, ['audio stream 1 (aac) converted to libopus: webm cannot hold aac', 'subtitle stream 2 (subrip) converted to webvtt for webm']);
    const b = (await ffprobeJson(webm.output, ['-show_entries', 'stream=codec_type,codec_name'])) as Streams;
    assert.deepEqual(b.streams.map((x) => x.codec_name), ['av1', 'opus', 'webvtt']);
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', webm.output, '-map', '0:s', '-f', 'webvtt', '-']);
    assert.match(stdout, /Hello shards/);
  });

  it('remixes AC-3 5.1(side) to the 5.1 layout Opus takes for WebM, every channel kept', async () => {
    const s = await shards('surround', 'av1');
    assert.equal(s.p.audio[0]?.channelLayout, '5.1(side)');
    const webm = await assemble({ source: s.src, probe: s.p, shards: s.files, output: join(dir, 'surround.webm') });
    assert.deepEqual(webm.warnings, ['audio stream 1 (ac3) converted to libopus as 5.1 (from 5.1(side)): webm cannot hold ac3']);
    const b = (await ffprobeJson(webm.output, ['-select_streams', 'a', '-show_entries', 'stream=codec_name,channels,channel_layout'])) as { streams: { codec_name: string; channels: number; channel_layout: string }[] };
    assert.deepEqual(b.streams.map((x) => [x.codec_name, x.channels, x.channel_layout]), [['opus', 6, '5.1']]);
  });

  it('refuses a codec the container cannot hold, and unknown extensions', async () => {
    for (const [output, msg] of [['x.webm', /h264 video cannot be stored in \.webm/], ['x.avi', /unsupported output extension/]] as const) {
      await assert.rejects(assemble({ source: h264.src, probe: h264.p, shards: h264.files, output: join(dir, output) }), (e: unknown) => e instanceof MediaError && e.reason === 'UnsupportedOutput' && e.permanent && msg.test(e.message));
    }
  });

  it('never overwrites an existing output unless asked', async () => {
    const out = join(dir, 'exists.mkv');
    await writeFile(out, 'keep me');
    await assert.rejects(assemble({ source: h264.src, probe: h264.p, shards: h264.files, output: out }), (e: unknown) => e instanceof MediaError && e.reason === 'OutputExists');
    assert.equal(await readFile(out, 'utf8'), 'keep me');
    const r = await assemble({ source: h264.src, probe: h264.p, shards: h264.files, output: out, overwrite: true });
    assert.equal(r.frames, 48);
  });

  it('never writes through a file or link planted at a temporary name beside the output', async () => {
    // Whatever name a writer could predict (the old one was `.<name>.partial-<pid>`), a planted
    // link there must not redirect the output: temporary names are random and created exclusively.
    const shared = join(dir, 'shared');
    await mkdir(shared, { recursive: true });
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'not yours');
    const out = join(shared, 'planted.mkv');
    await symlink(victim, join(shared, `.planted.mkv.partial-${process.pid}`));
    const r = await assemble({ source: h264.src, probe: h264.p, shards: h264.files, output: out });
    assert.equal(r.frames, 48);
    assert.equal(await readFile(victim, 'utf8'), 'not yours');
    assert.ok((await lstat(out)).isFile(), 'the output is a regular file of its own');
  });

  it('refuses shards that do not cover the source, miscount, or cannot be joined', async () => {
    const ffv1 = join(dir, 'odd-ffv1.nut');
    await encodeShard(extractFrames({ input: h264.src, probe: h264.p, start: 17, end: 31 }), {
      output: ffv1, width: 160, height: 120, format: 'rgb24', ...sourceTiming(h264.p, 17, 31), codec: 'ffv1',
    });
    const [a, b, c] = h264.files as [ShardFile, ShardFile, ShardFile];
    const cases: { shards: ShardFile[]; msg: RegExp }[] = [
      { shards: [a, c], msg: /shards do not cover the source: shard 1 starts at frame 31, expected 17/ },
      { shards: [a, { ...b, end: 30 }, { ...c, start: 30 }], msg: /shard holds 14 frames, its range \[17,30\) needs 13/ },
      { shards: [a, { ...b, path: ffv1 }, c], msg: /cannot be joined .* different codec, extradataHash/ },
    ];
    for (const k of cases) {
      const out = join(dir, 'refused.mkv');
      await assert.rejects(assemble({ source: h264.src, probe: h264.p, shards: k.shards, output: out }), (e: unknown) => e instanceof MediaError && e.reason === 'VerifyFailed' && k.msg.test(e.message));
      assert.equal(existsSync(out), false);
    }
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('partial')), []);
  });
});

describe('timelineShift', () => {
  const at = (video: number, audio: (number | null)[]): Pick<Probe, 'video' | 'audio'> =>
    ({ video: { startTime: video }, audio: audio.map((t, i) => ({ index: i + 1, firstPacketTime: t })) }) as unknown as Pick<Probe, 'video' | 'audio'>;
  const keep = (...indexes: number[]): { streams: { index: number; kind: 'audio'; action: 'copy' }[] } => ({ streams: indexes.map((index) => ({ index, kind: 'audio', action: 'copy' })) });

  it('moves a source that starts after 0 back by its earliest kept stream (MPEG-TS at 11.4 s, audio 23 ms before the video)', () => {
    assert.equal(timelineShift(at(11.4, [11.377]), keep(1)), 11.377);
    assert.equal(timelineShift(at(1.4, []), keep()), 1.4);
  });
  it('ignores an audio stream the output drops, and one without packets', () => {
    assert.equal(timelineShift(at(11.4, [2, 11.5]), keep(2)), 11.4);
    assert.equal(timelineShift(at(11.4, [null]), keep(1)), 11.4);
  });
  it('leaves a source that starts at 0 or before on its own clock (MP4 with AAC priming before 0)', () => {
    assert.equal(timelineShift(at(0, [-0.021]), keep(1)), 0);
    assert.equal(timelineShift(at(0.5, [0]), keep(1)), 0);
    assert.equal(timelineShift(at(-0.04, []), keep()), 0);
  });
});
