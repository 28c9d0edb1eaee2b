import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { clip, ffprobeJson } from '../../test/fixtures/clips.ts';
import { encodeShard, type EncodeOptions } from './encode.ts';
import { chooseEncoder, nvencUsable, type VideoCodec } from './encoders.ts';
import { MediaError } from './errors.ts';
import { extractFrames, type Frame } from './extract.ts';
import { ptsList } from './frame-index.ts';
import { probe } from './probe.ts';
import type { Probe } from './probe-schema.ts';
import { identityShardOptions } from './test-shard-options.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-encode-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(p: Probe, start: number, end: number, output: string, codec: VideoCodec): EncodeOptions {
  return identityShardOptions(p, start, end, join(dir, output), codec);
}

interface ShardInfo {
  streams: { codec_name: string; pix_fmt: string; color_space?: string }[];
  packets: { pts_time: string }[];
}

describe('encodeShard', () => {
  for (const codec of ['h264', 'hevc', 'av1', 'ffv1'] as const) {
    it(`writes a ${codec} shard with every frame at its source time relative to the shard's first frame`, async () => {
      const src = await clip('bframes');
      const p = await probe(src);
      const res = await encodeShard(extractFrames({ input: src, probe: p, start: 5, end: 19 }), options(p, 5, 19, `${codec}.nut`, codec));
      assert.equal(res.frames, 14);
      assert.ok(res.bytes > 0);
      assert.ok(res.wallMs >= res.flushMs && res.waitMs >= 0 && res.writeMs >= 0);
      const info = (await ffprobeJson(res.output, ['-show_entries', 'stream=codec_name,pix_fmt:packet=pts_time'])) as ShardInfo;
      assert.equal(info.streams[0]?.codec_name, codec);
      assert.equal(info.streams[0]?.pix_fmt, 'yuv420p');
      const times = info.packets.map((x) => Number(x.pts_time)).sort((a, b) => a - b);
      // NUT cannot store negative timestamps, so a B-frame shard may start at its decoding delay
      // instead of 0; the concat demuxer removes each file's start offset.
      const want = ptsList(p.frames, 5, 19).map((t) => ((t - ptsList(p.frames, 5, 6)[0]!) * p.video.timeBase.num) / p.video.timeBase.den);
      times.forEach((t, i) => assert.ok(Math.abs(t - times[0]! - want[i]!) < 1e-6, `frame ${i}: ${t} vs ${want[i]}`));
      assert.deepEqual((await readdir(dir)).filter((f) => f.includes('partial')), []);
    });
  }

  it('keeps 10 bits and the colour tags from rgb48le frames', async () => {
    const src = await clip('hevc10');
    const p = await probe(src);
    const res = await encodeShard(extractFrames({ input: src, probe: p, start: 0, end: 6 }), options(p, 0, 6, 'ten.nut', 'hevc'));
    assert.equal(res.pixFmt, 'yuv420p10le');
    const info = (await ffprobeJson(res.output, ['-show_entries', 'stream=codec_name,pix_fmt,color_space,color_transfer,color_primaries'])) as ShardInfo;
    assert.deepEqual(info.streams[0], { codec_name: 'hevc', pix_fmt: 'yuv420p10le', color_space: 'bt709', color_transfer: 'bt709', color_primaries: 'bt709' });
  });

  async function* frames(n: number, size: number, fail?: Error): AsyncGenerator<Buffer> {
    for (let i = 0; i < n; i++) yield Buffer.alloc(size, i * 10);
    if (fail) throw fail;
  }

  const bad: { name: string; frames: () => AsyncIterable<Buffer>; code: string; msg: RegExp }[] = [
    { name: 'fewer frames than planned', frames: () => frames(4, 160 * 120 * 3), code: 'FrameMismatch', msg: /received 4 frames, planned 5/ },
    { name: 'more frames than planned', frames: () => frames(6, 160 * 120 * 3), code: 'FrameMismatch', msg: /more than the 5 planned frames/ },
    { name: 'a frame of the wrong size', frames: () => frames(5, 100), code: 'InvalidOptions', msg: /frame 0 has 100 bytes, expected 57600 \(160x120 rgb24\)/ },
  ];
  for (const b of bad) {
    it(`refuses ${b.name} and leaves no shard file`, async () => {
      const p = await probe(await clip('basic'));
      const o = options(p, 0, 5, `bad-${b.code}.nut`, 'ffv1');
      await assert.rejects(encodeShard(b.frames(), o), (e: unknown) => e instanceof MediaError && e.reason === b.code && b.msg.test(e.message) && e.message.startsWith(`encode ${o.output}: `));
      assert.equal(existsSync(o.output), false);
      assert.deepEqual((await readdir(dir)).filter((f) => f.includes('partial')), []);
    });
  }

  it('aborts on an upstream error (a failed inference) and rethrows it unchanged', async () => {
    const p = await probe(await clip('basic'));
    const o = options(p, 0, 5, 'upstream.nut', 'h264');
    const boom = new Error('inference failed on frame 3');
    await assert.rejects(encodeShard(frames(3, 160 * 120 * 3, boom), o), (e: unknown) => e === boom);
    assert.equal(existsSync(o.output), false);
  });

  it('reports settings an encoder rejects as a permanent InvalidOptions error', async () => {
    const p = await probe(await clip('basic'));
    const o = { ...options(p, 0, 2, 'preset.nut', 'h264'), preset: 'nonsense' };
    await assert.rejects(encodeShard(frames(2, 160 * 120 * 3), o), (e: unknown) => e instanceof MediaError && e.reason === 'InvalidOptions' && e.permanent && /refused its settings/.test(e.message));
    assert.equal(existsSync(o.output), false);
  });

  it('names the encoder, the setting and its cause when an encoder refuses to open', async () => {
    const p = await probe(await clip('basic'));
    const o = { ...options(p, 0, 2, 'svt-preset.nut', 'av1'), preset: '99' };
    await assert.rejects(encodeShard(frames(2, 160 * 120 * 3), o), (e: unknown) => {
      assert.ok(e instanceof MediaError && e.reason === 'InvalidOptions' && e.permanent, String(e));
      assert.match(e.message, /^encode libsvtav1: the encoder refused its settings \(160x120, yuv420p, preset 99\): .*'preset' out of range/);
      assert.doesNotMatch(e.message, /\.nut/, 'no temporary file name');
      return true;
    });
    assert.equal(existsSync(o.output), false);
  });

  it('crops an odd frame size to even for 4:2:0, which x264 needs', async () => {
    const p = await probe(await clip('basic'));
    const o = { ...options(p, 0, 2, 'odd.nut', 'h264'), width: 65, height: 49 };
    await encodeShard(frames(2, 65 * 49 * 3), o);
    const info = (await ffprobeJson(o.output, ['-show_streams'])) as { streams: { width: number; height: number; pix_fmt: string }[] };
    assert.deepEqual([info.streams[0]?.width, info.streams[0]?.height, info.streams[0]?.pix_fmt], [64, 48, 'yuv420p']);
  });

  it('accepts extracted frame objects and plain buffers alike', async () => {
    const p = await probe(await clip('basic'));
    async function* mixed(): AsyncGenerator<Frame | Buffer> {
      yield Buffer.alloc(160 * 120 * 3, 7);
      yield { data: Buffer.alloc(160 * 120 * 3, 9), pts: 800, index: 1 };
    }
    const res = await encodeShard(mixed(), options(p, 0, 2, 'mixed.nut', 'ffv1'));
    assert.equal(res.frames, 2);
  });
});

describe('chooseEncoder', () => {
  it('uses NVENC only where a test encode works, else the CPU encoder with a log line', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const usable = await nvencUsable('h264_nvenc');
    const choice = await chooseEncoder('h264', 'auto', log);
    if (usable) {
      assert.equal(choice.encoder, 'h264_nvenc');
    } else {
      assert.equal(choice.encoder, 'libx264');
      assert.ok(lines.some((l) => l.includes('Fell back to the CPU encoder')), lines.join(''));
      await assert.rejects(chooseEncoder('hevc', 'nvenc'), (e: unknown) => e instanceof MediaError && e.reason === 'EncoderUnavailable' && e.permanent);
    }
    assert.deepEqual(await chooseEncoder('av1', 'auto'), { codec: 'av1', encoder: 'libsvtav1' });
    assert.deepEqual(await chooseEncoder('ffv1', 'cpu'), { codec: 'ffv1', encoder: 'ffv1' });
    await assert.rejects(chooseEncoder('ffv1', 'nvenc'), (e: unknown) => e instanceof MediaError && e.reason === 'EncoderUnavailable');
  });
});
