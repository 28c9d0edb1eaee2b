/**
 * `upscale run` end to end on each kind of source that breaks naive sharding, with the real model on
 * a few tiny frames (64x48, 12 frames, keyframe every 4, so three shards of 5 frames start and end
 * off keyframes): B-frames with open GOPs, variable frame rate, 10-bit HEVC, WebM without
 * `nb_frames`, rotation metadata, no audio, a subtitle stream, MPEG-TS far from 0, MPEG-PS with a frame
 * without a timestamp, and a one-frame video.
 *
 * Every output must hold exactly the source's frames at 4x the displayed size, keep the source's
 * streams, and show the right pictures (PSNR against the source after scaling back down); each kind
 * adds the property it is about.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLIP_FRAMES, clip, ffprobeJson, videoFramemd5, videoPtsSeconds, type ClipName } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';
import { assertFramesMatchSource, decodedFrames, displaySize, streamKinds, streams, subtitlesSrt, videoDuration, videoStream } from './media-checks.ts';

interface Kind {
  title: string;
  clip: ClipName;
  ext: string;
  args: string[];
  /**
   * A lossy output codec (H.264, HEVC, AV1) at 64x48 whose noise swamps the differences between the clip's neighbouring
   * frames: each frame is still checked against its own source frame (PSNR), not against neighbours.
   */
  lossyTiny?: true;
  /** The kind's own property, checked after the common ones. */
  check: (output: string, source: string, dir: string) => Promise<void>;
}

const SHARDED = ['--shard-frames', '5'];

const KINDS: Kind[] = [
  {
    title: 'B-frames with open GOPs, shard boundaries off keyframes: identical to an unsharded run',
    clip: 'tiny-bframes',
    ext: 'mkv',
    args: [...SHARDED, '--workers', '2', '--codec', 'ffv1'],
    async check(output, source, dir) {
      const whole = join(dir, 'bframes-whole.mkv');
      const run = await upscale(['run', '-i', source, '-o', whole, '--shard-frames', '12', '--codec', 'ffv1', '--ep', 'cpu', '--no-progress']);
      assert.equal(run.code, 0, explain(run));
      assert.deepEqual(await videoFramemd5(output), await videoFramemd5(whole));
    },
  },
  {
    title: 'variable frame rate: source timestamps kept',
    clip: 'tiny-vfr',
    ext: 'mp4',
    args: SHARDED,
    lossyTiny: true, // H.264, the .mp4 default
    async check(output, source) {
      const [got, want] = [await videoPtsSeconds(output), await videoPtsSeconds(source)];
      assert.equal(new Set(want.slice(1).map((t, i) => Math.round((t - (want[i] as number)) * 1e4))).size > 1, true, 'the source is VFR');
      assert.equal(got.length, want.length);
      got.forEach((t, i) => assert.ok(Math.abs(t - (want[i] as number)) < 5e-4, `frame ${i}: pts ${t}s, source ${want[i]}s`));
      const longest = Math.max(...want.slice(1).map((t, i) => t - (want[i] as number)));
      const [end, sourceEnd] = [await videoDuration(output), await videoDuration(source)];
      assert.ok(Math.abs(end - sourceEnd) <= longest, `video duration ${end}s, source ${sourceEnd}s`);
    },
  },
  {
    title: '10-bit HEVC: 10 bits and BT.709 tags kept',
    clip: 'tiny-hevc10',
    ext: 'mkv',
    args: [...SHARDED, '--codec', 'hevc'],
    lossyTiny: true,
    async check(output) {
      const video = await videoStream(output);
      assert.deepEqual(
        [video.codec_name, video.pix_fmt, video.color_primaries, video.color_transfer, video.color_space],
        ['hevc', 'yuv420p10le', 'bt709', 'bt709', 'bt709'],
      );
    },
  },
  {
    title: 'WebM without nb_frames: every frame counted and kept (AV1 + Opus)',
    clip: 'tiny-webm',
    ext: 'webm',
    args: [...SHARDED, '--codec', 'av1'],
    lossyTiny: true,
    async check(output, source) {
      assert.equal((await videoStream(source))['nb_frames'], undefined, 'the source container has no frame count');
      assert.deepEqual((await streams(output)).map((s) => s.codec_name), ['av1', 'opus']);
    },
  },
  {
    title: 'rotation metadata: the output plays upright',
    clip: 'tiny-rotated',
    ext: 'mp4',
    args: SHARDED,
    async check(output, source) {
      assert.deepEqual(displaySize(await videoStream(source)), { width: 48, height: 64 }, 'the source carries a 90-degree display matrix');
      assert.deepEqual(displaySize(await videoStream(output)), { width: 192, height: 256 });
    },
  },
  {
    title: 'no audio: a video-only output',
    clip: 'tiny-noaudio',
    ext: 'mp4',
    args: SHARDED,
    async check(output) {
      assert.deepEqual(await streamKinds(output), ['video']);
    },
  },
  {
    title: 'a subtitle stream: cues carried with their timing and language',
    clip: 'tiny-subtitles',
    ext: 'mkv',
    args: SHARDED,
    async check(output, source) {
      const sub = (await streams(output)).find((s) => s.codec_type === 'subtitle');
      assert.equal(sub?.tags?.['language'], 'eng');
      const cues = await subtitlesSrt(source);
      assert.match(cues, /Hello shards/);
      assert.equal(await subtitlesSrt(output), cues);
    },
  },
  {
    title: 'MPEG-TS on a clock from 11.4 s: the output starts at 0 and lasts as long as the source, audio offset kept (MKV, and MP4)',
    clip: 'tiny-ts',
    ext: 'mkv',
    args: SHARDED,
    async check(output, source, dir) {
      const startOf = async (path: string): Promise<{ format: number; duration: number; video: number; audio: number }> => {
        const doc = (await ffprobeJson(path, ['-show_entries', 'format=start_time,duration:stream=codec_type,start_time'])) as { format: Record<string, string>; streams: Record<string, string>[] };
        const at = (kind: string): number => Number(doc.streams.find((s) => s['codec_type'] === kind)?.['start_time']);
        return { format: Number(doc.format['start_time']), duration: Number(doc.format['duration']), video: at('video'), audio: at('audio') };
      };
      const src = await startOf(source);
      assert.ok(src.format > 10, `the source starts at ${src.format} s`);
      const mp4 = join(dir, 'tiny-ts.mp4');
      const run = await upscale(['run', '-i', source, '-o', mp4, '--ep', 'cpu', '--no-progress']);
      assert.equal(run.code, 0, explain(run));
      for (const path of [output, mp4]) {
        const got = await startOf(path);
        assert.ok(Math.abs(got.format) < 1e-3, `${path} starts at ${got.format} s`);
        // Players show the container's duration: about the source's (the audio may end a little
        // after the video), not its start time plus that (12 s).
        assert.ok(got.duration < src.duration + 0.2, `${path} lasts ${got.duration} s, the source ${src.duration} s`);
        const frame = 1 / 24;
        const [video, sourceVideo] = [await videoDuration(path), await videoDuration(source)];
        assert.ok(Math.abs(video - sourceVideo) <= frame, `${path}: video lasts ${video} s, the source's ${sourceVideo} s`);
        assert.ok(Math.abs(got.video - got.audio - (src.video - src.audio)) < 1e-3, `${path}: video ${got.video} s, audio ${got.audio} s; source ${src.video} s, ${src.audio} s`);
      }
    },
  },
  {
    title: 'MPEG-PS whose last frame decodes without a timestamp: every frame kept, in order',
    clip: 'tiny-mpeg-ps',
    ext: 'mkv',
    args: SHARDED,
    async check(output, source) {
      const doc = (await ffprobeJson(source, ['-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp'])) as { frames: { best_effort_timestamp?: number }[] };
      assert.ok(doc.frames.some((f) => f.best_effort_timestamp === undefined), 'a source frame has no timestamp');
      const got = await videoPtsSeconds(output);
      const step = 1 / 24;
      got.forEach((t, i) => assert.ok(Math.abs(t - got[0]! - i * step) < 2e-3, `frame ${i} at ${t} s`));
    },
  },
  {
    title: 'a one-frame video',
    clip: 'oneframe',
    ext: 'mp4',
    args: [],
    async check() {},
  },
];

describe('upscale run: each kind of source', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-kinds-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const kind of KINDS) {
    it(kind.title, async () => {
      const source = await clip(kind.clip);
      const output = join(dir, `${kind.clip}.${kind.ext}`);
      const run = await upscale(['run', '-i', source, '-o', output, ...kind.args, '--ep', 'cpu', '--no-progress']);
      assert.equal(run.code, 0, explain(run));
      const frames = CLIP_FRAMES[kind.clip];
      assert.equal(run.result?.['frames'], frames);
      assert.equal(await decodedFrames(output), frames);
      const shown = displaySize(await videoStream(source));
      assert.deepEqual(displaySize(await videoStream(output)), { width: shown.width * 4, height: shown.height * 4 });
      assert.deepEqual(await streamKinds(output), await streamKinds(source), 'the source streams are kept');
      // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
      await assertFramesMatchSource(output, source, shown, kind.lossyTiny ? { minCompared: 0 } : {});
      await kind.check(output, source, dir);
    });
  }
});
