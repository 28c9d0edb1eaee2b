import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { badInput, clip, CLIP_FRAMES, ffprobeJson, truncatedFaststart, type BadInput } from '../../test/fixtures/clips.ts';
import { MediaError } from './errors.ts';
import { frameCount, ptsAt } from './frame-index.ts';
import { isInterlaced } from './interlace.ts';
import { probe, probeSummary } from './probe.ts';
import { probeSchema } from './probe-schema.ts';

const execFileAsync = promisify(execFile);

describe('probe', () => {
  it('describes an H.264 + AAC MP4 exactly', async () => {
    const path = await clip('basic');
    const p = await probe(path);
    assert.equal(p.input, path);
    assert.equal(p.container.demuxer, 'mov');
    assert.equal(p.video.codec, 'h264');
    assert.deepEqual([p.video.width, p.video.height, p.video.displayWidth, p.video.displayHeight], [160, 120, 160, 120]);
    assert.equal(p.video.frameCount, 48);
    assert.equal(p.video.frameCountSource, 'container+packets');
    assert.equal(frameCount(p.frames), 48);
    // The MP4 muxer picks the time base (1/19184 from Debian 12's x264 and ffmpeg 5.1); read what
    // this build chose and check the probe agrees with it and with the 23.98 fps footage.
    const stream = (await ffprobeJson(path, ['-select_streams', 'v:0', '-show_entries', 'stream=time_base,avg_frame_rate'])) as { streams: { time_base: string; avg_frame_rate: string }[] };
    const [tbNum, tbDen] = (stream.streams[0]?.time_base ?? '').split('/').map(Number);
    assert.deepEqual(p.video.timeBase, { num: tbNum, den: tbDen });
    assert.deepEqual(p.video.avgFrameRate, { num: 1199, den: 50 });
    const step = ((ptsAt(p.frames, 1) - ptsAt(p.frames, 0)) * p.video.timeBase.num) / p.video.timeBase.den;
    assert.ok(Math.abs(step - 50 / 1199) < 1e-4, `frame step ${step}s`);
    assert.equal(p.video.vfr, false);
    assert.equal(p.video.bitDepth, 8);
    assert.equal(p.video.pixFmt, 'yuv420p');
    assert.ok(Math.abs(p.video.duration - 48 / (1199 / 50)) < 1e-6);
    assert.equal(p.frames.ptsRuns.length, 1, 'constant rate is one run');
    assert.deepEqual(p.audio.map((a) => [a.codec, a.channels, a.sampleRate]), [['aac', 2, 48000]]);
    assert.ok(p.audio[0]?.firstPacketTime !== null && (p.audio[0]?.firstPacketTime ?? 0) < 0, 'AAC priming packet precedes 0');
    assert.deepEqual(p.subtitles, []);
    // The document is what later steps read back: it must validate and stay small.
    assert.deepEqual(probeSchema.parse(JSON.parse(JSON.stringify(p))), p);
    assert.ok(JSON.stringify(p).length < 4096);
    assert.equal(probeSummary(p)['frames'], 48);
  });

  it('finds the keyframes of an open-GOP B-frame stream', async () => {
    const p = await probe(await clip('bframes'));
    assert.deepEqual(p.frames.keyframes, [0, 12, 24, 36]);
    assert.equal(p.video.frameCount, 48);
  });

  it('counts WebM frames from packets and a sampled decode when the container has no nb_frames', async () => {
    const p = await probe(await clip('webm'));
    assert.equal(p.video.codec, 'vp9');
    assert.equal(p.video.containerFrameCount, null);
    assert.equal(p.video.frameCountSource, 'packets+sample');
    assert.equal(p.video.frameCount, 48);
    assert.equal(p.container.demuxer, 'matroska');
    assert.equal(p.audio[0]?.codec, 'opus');
    assert.equal(p.video.vfr, false, 'millisecond jitter is not VFR');
  });

  for (const name of ['webm', 'hevc10'] as const) {
    it(`gives the ${name} clip the same frame index from packets as from a full decode`, async () => {
      const path = await clip(name);
      const cheap = await probe(path);
      const full = await probe(path, { decode: 'always' });
      assert.equal(cheap.video.frameCountSource, 'packets+sample');
      assert.equal(full.video.frameCountSource, 'packets+decode');
      assert.deepEqual(cheap.frames, full.frames);
      assert.equal(cheap.video.frameCount, CLIP_FRAMES[name]);
    });
  }

  it('decodes an interlaced H.264 MKV in full: its fields may be separate packets', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'probe-interlaced-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'interlaced.mkv');
    await execFileAsync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25', '-frames:v', '24', '-vf', 'setfield=tff', '-c:v', 'libx264', '-preset', 'ultrafast', '-flags', '+ildct+ilme', '-x264opts', 'tff=1', '-field_order', 'tt', path]);
    const p = await probe(path);
    // Interlaced, whichever order is reported: ffmpeg 7.1's x264 wrapper writes 'tb' where 5.1 writes
    // 'tt' for the same options, and deinterlacing treats tt/bb/tb/bt alike.
    assert.ok(isInterlaced(p.video.fieldOrder), `field order ${p.video.fieldOrder}`);
    assert.equal(p.video.containerFrameCount, null);
    assert.equal(p.video.frameCountSource, 'packets+decode');
    assert.equal(p.video.frameCount, 24);
  });

  it('detects a variable frame rate from the packet timestamps', async () => {
    const p = await probe(await clip('vfr'));
    assert.equal(p.video.vfr, true);
    assert.deepEqual(p.video.timeBase, { num: 1, den: 90000 });
    assert.equal(ptsAt(p.frames, 5) - ptsAt(p.frames, 4), 4503);
    assert.equal(ptsAt(p.frames, 4) - ptsAt(p.frames, 3), 3003);
  });

  it('reports 10-bit HEVC with its colour tags', async () => {
    const p = await probe(await clip('hevc10'));
    assert.equal(p.video.codec, 'hevc');
    assert.equal(p.video.bitDepth, 10);
    assert.equal(p.video.pixFmt, 'yuv420p10le');
    assert.deepEqual([p.video.colorSpace, p.video.colorPrimaries, p.video.colorTransfer, p.video.colorRange], ['bt709', 'bt709', 'bt709', 'tv']);
  });

  it('reports rotation and the upright display size', async () => {
    const p = await probe(await clip('rotated'));
    assert.equal(p.video.rotation, 90);
    assert.deepEqual([p.video.displayWidth, p.video.displayHeight], [120, 160]);
  });

  it('lists subtitle streams with their language', async () => {
    const p = await probe(await clip('subtitles'));
    assert.deepEqual(p.subtitles.map((s) => [s.codec, s.language]), [['subrip', 'eng']]);
  });

  it('handles a one-frame video and a video without audio', async () => {
    const one = await probe(await clip('oneframe'));
    assert.equal(one.video.frameCount, 1);
    assert.ok(one.video.duration > 0);
    assert.deepEqual(one.audio, []);
    assert.deepEqual((await probe(await clip('noaudio'))).audio, []);
  });

  it('forces a full decode on request and agrees with the packets', async () => {
    const p = await probe(await clip('basic'), { decode: 'always' });
    assert.equal(p.video.frameCountSource, 'packets+decode');
    assert.equal(p.video.frameCount, 48);
  });

  const bad: { kind: BadInput | 'truncated-faststart' | 'missing'; code: string; message: RegExp }[] = [
    { kind: 'truncated', code: 'TruncatedInput', message: /truncated/ },
    { kind: 'truncated-faststart', code: 'TruncatedInput', message: /truncated/ },
    { kind: 'text', code: 'NotAVideo', message: /not a video/ },
    { kind: 'hls', code: 'UnsafeInput', message: /refusing to read a hls file/ },
    { kind: 'concat', code: 'UnsafeInput', message: /refusing to read a concat file/ },
    { kind: 'audio-only', code: 'NoVideoStream', message: /no video stream \(streams: audio\)/ },
    { kind: 'missing', code: 'InputNotFound', message: /does not exist/ },
  ];
  for (const b of bad) {
    it(`refuses a ${b.kind} input with a permanent ${b.code} error naming it`, async () => {
      const path =
        b.kind === 'missing' ? '/nonexistent/clip.mp4' : b.kind === 'truncated-faststart' ? await truncatedFaststart() : await badInput(b.kind);
      await assert.rejects(probe(path), (err: unknown) => {
        assert.ok(err instanceof MediaError, String(err));
        assert.equal(err.reason, b.code);
        assert.equal(err.permanent, true);
        assert.equal(err.step, 'probe');
        assert.ok(err.message.startsWith(`probe ${path}: `), err.message);
        assert.match(err.message, b.message);
        return true;
      });
    });
  }

  it('names a presigned URL without its signature and classifies HTTP errors', async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/denied') ? 403 : 404);
      res.end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      for (const [path, code, permanent] of [['denied', 'InputForbidden', true], ['gone', 'InputNotFound', true]] as const) {
        const url = `http://127.0.0.1:${port}/${path}/in.mp4?X-Amz-Signature=secret`;
        await assert.rejects(probe(url), (err: unknown) => {
          assert.ok(err instanceof MediaError);
          assert.doesNotMatch(err.message, /secret/);
          assert.ok(err.message.startsWith(`probe http://127.0.0.1:${port}/${path}/in.mp4?<redacted>: `), err.message);
          assert.equal(err.reason, code);
          assert.equal(err.permanent, permanent);
          return true;
        });
      }
    } finally {
      server.close();
    }
  });
});
