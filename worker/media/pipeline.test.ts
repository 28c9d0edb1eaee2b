/**
 * The media pipeline end to end with the real ffmpeg and an identity "upscaler" (frames pass
 * through unchanged; the real model is the engine's business): for every clip type, extracting in
 * shards [0,17), [17,31), [31,48), encoding lossless FFV1 shards and assembling must give exactly the
 * frames (framemd5, timestamps included) of the unsharded run, with the source's audio, subtitles,
 * rotation, bit depth and timestamps.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clip, ffprobeJson, videoFramemd5, videoPtsSeconds, type ClipName } from '../../test/fixtures/clips.ts';
import { assemble, type AssembleResult } from './assemble.ts';
import { encodeShard, sourceTiming } from './encode.ts';
import { extractFrames } from './extract.ts';
import { probe } from './probe.ts';
import type { Probe } from './probe-schema.ts';
import { rgbFormatFor } from './raw-format.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-pipeline-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** probe -> per range: extract -> identity -> encode ffv1 -> assemble to `out`. */
async function pipeline(src: string, p: Probe, ranges: [number, number][], out: string): Promise<AssembleResult> {
  const shards = [];
  for (const [i, [start, end]] of ranges.entries()) {
    const path = join(dir, `${out}.${String(i).padStart(6, '0')}.nut`);
    const frames = extractFrames({ input: src, probe: p, start, end });
    const pts: number[] = [];
    async function* identity() {
      for await (const f of frames) {
        pts.push(f.pts);
        yield f;
      }
    }
    const res = await encodeShard(identity(), {
      output: path,
      width: p.video.displayWidth,
      height: p.video.displayHeight,
      format: rgbFormatFor(p),
      ...sourceTiming(p, start, end),
      codec: 'ffv1',
    });
    assert.equal(res.frames, end - start);
    assert.equal(pts.length, end - start);
    shards.push({ path, start, end });
  }
  return assemble({ source: src, probe: p, shards: shards.reverse(), output: join(dir, out) });
}

const SHARDS: [number, number][] = [[0, 17], [17, 31], [31, 48]];

interface Case {
  clip: ClipName;
  ext: string;
  check?: (p: Probe, out: string, result: AssembleResult) => Promise<void>;
}

const cases: Case[] = [
  { clip: 'basic', ext: 'mkv' },
  { clip: 'bframes', ext: 'mkv' },
  { clip: 'noaudio', ext: 'mkv', check: async (_p, _out, r) => assert.equal(r.audio, 0) },
  {
    clip: 'vfr',
    ext: 'mov',
    check: async (p, out) => {
      assert.equal(p.video.vfr, true);
      const src = await videoPtsSeconds(await clip('vfr'));
      const got = await videoPtsSeconds(out);
      assert.equal(got.length, src.length);
      // Relative timestamps equal to the microsecond; the variable durations survive.
      got.forEach((t, i) => assert.ok(Math.abs(t - (got[0] as number) - ((src[i] as number) - (src[0] as number))) < 1e-5, `frame ${i}: ${t} vs ${src[i]}`));
      const deltas = new Set(got.slice(1).map((t, i) => Math.round((t - (got[i] as number)) * 90000)));
      assert.deepEqual([...deltas].sort(), [3003, 4503]);
    },
  },
  {
    clip: 'hevc10',
    ext: 'mkv',
    check: async (p, out) => {
      assert.equal(p.video.bitDepth, 10);
      const s = (await ffprobeJson(out, ['-select_streams', 'v:0', '-show_entries', 'stream=pix_fmt,color_space,color_primaries,color_transfer,color_range'])) as { streams: Record<string, string>[] };
      assert.deepEqual(s.streams[0], { pix_fmt: 'yuv420p10le', color_range: 'tv', color_space: 'bt709', color_transfer: 'bt709', color_primaries: 'bt709' });
    },
  },
  { clip: 'webm', ext: 'mkv', check: async (p) => assert.equal(p.video.containerFrameCount, null) },
  {
    clip: 'rotated',
    ext: 'mkv',
    check: async (p, out) => {
      assert.equal(p.video.rotation, 90);
      const s = (await ffprobeJson(out, ['-select_streams', 'v:0', '-show_entries', 'stream=width,height:stream_side_data_list'])) as { streams: { width: number; height: number; side_data_list?: unknown[] }[] };
      assert.equal(s.streams[0]?.width, 120);
      assert.equal(s.streams[0]?.height, 160);
      assert.equal(s.streams[0]?.side_data_list, undefined, 'no rotation metadata: frames are upright');
    },
  },
  {
    clip: 'subtitles',
    ext: 'mkv',
    check: async (_p, out, r) => {
      assert.equal(r.subtitles, 1);
      const s = (await ffprobeJson(out, ['-select_streams', 's', '-show_entries', 'stream=codec_name:stream_tags=language'])) as { streams: { codec_name: string; tags: { language: string } }[] };
      assert.deepEqual(s.streams.map((x) => [x.codec_name, x.tags.language]), [['subrip', 'eng']]);
    },
  },
];

describe('sharded and unsharded runs decode to the same frames', () => {
  for (const c of cases) {
    it(`${c.clip}: shards [0,17) [17,31) [31,48) equal one shard [0,48)`, async () => {
      const src = await clip(c.clip);
      const p = await probe(src);
      assert.equal(p.video.frameCount, 48);
      const one = await pipeline(src, p, [[0, 48]], `${c.clip}-whole.${c.ext}`);
      const three = await pipeline(src, p, SHARDS, `${c.clip}-sharded.${c.ext}`);
      const a = await videoFramemd5(one.output);
      const b = await videoFramemd5(three.output);
      assert.equal(a.length, 48);
      assert.deepEqual(b, a);
      for (const r of [one, three]) {
        assert.equal(r.frames, 48);
        assert.ok(Math.abs(r.duration - p.video.duration) <= p.video.duration / 48, `duration ${r.duration} vs ${p.video.duration}`);
        assert.equal(r.audio, p.audio.length);
      }
      if (p.audio.length > 0) {
        const s = (await ffprobeJson(three.output, ['-select_streams', 'a', '-show_entries', 'stream=codec_name'])) as { streams: { codec_name: string }[] };
        assert.equal(s.streams[0]?.codec_name, p.audio[0]?.codec, 'audio is copied, not re-encoded');
      }
      await c.check?.(p, three.output, three);
    });
  }

  it('oneframe: a one-frame video goes through as one shard', async () => {
    const src = await clip('oneframe');
    const p = await probe(src);
    assert.equal(p.video.frameCount, 1);
    const r = await pipeline(src, p, [[0, 1]], 'oneframe.mkv');
    assert.equal(r.frames, 1);
    assert.equal((await videoFramemd5(r.output)).length, 1);
  });
});
