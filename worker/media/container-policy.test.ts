import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerFor, planStreams, videoCodecsFor, type ContainerKind } from './container-policy.ts';

describe('containerFor', () => {
  const cases: [string, string | undefined, boolean | undefined][] = [
    ['out.mp4', 'mp4', true],
    ['/a/b/OUT.MP4', 'mp4', true],
    ['clip.m4v', 'mp4', true],
    ['clip.mov', 'mov', true],
    ['clip.mkv', 'matroska', false],
    ['clip.webm', 'webm', false],
    ['s3://bucket/key/out.mkv', 'matroska', false],
    ['https://host/out.mp4?X-Amz-Signature=abc', 'mp4', true],
    ['clip.avi', undefined, undefined],
    ['noext', undefined, undefined],
  ];
  for (const [name, muxer, faststart] of cases) {
    it(`maps ${name} to ${muxer ?? 'nothing'}`, () => {
      assert.equal(containerFor(name)?.muxer, muxer);
      assert.equal(containerFor(name)?.faststart, faststart);
    });
  }
});

describe('videoCodecsFor', () => {
  it('allows only what each muxer accepts', () => {
    assert.deepEqual(videoCodecsFor('webm'), ['av1']);
    assert.ok(!videoCodecsFor('mp4').includes('ffv1'));
    assert.ok(!videoCodecsFor('mov').includes('av1'), 'ffmpeg 5.1 cannot put AV1 in MOV');
    assert.deepEqual(videoCodecsFor('mkv'), ['h264', 'hevc', 'av1', 'ffv1']);
  });
});

describe('planStreams', () => {
  const src = {
    audio: [
      { index: 1, codec: 'aac', language: 'eng', title: null, channels: 2, sampleRate: 48000, firstPacketTime: 0 },
      { index: 2, codec: 'flac', language: 'jpn', title: null, channels: 2, sampleRate: 48000, firstPacketTime: 0 },
      { index: 3, codec: 'vorbis', language: null, title: null, channels: 2, sampleRate: 44100, firstPacketTime: 0 },
    ],
    subtitles: [
      { index: 4, codec: 'subrip', language: 'eng', title: null },
      { index: 5, codec: 'hdmv_pgs_subtitle', language: 'fra', title: null },
      { index: 6, codec: 'mov_text', language: 'deu', title: null },
    ],
  };
  const cases: { kind: ContainerKind; actions: string[]; warnings: number }[] = [
    { kind: 'mkv', actions: ['1 copy', '2 copy', '3 copy', '4 copy', '5 copy', '6 srt'], warnings: 1 },
    { kind: 'mp4', actions: ['1 copy', '2 alac', '3 aac', '4 mov_text', '6 copy'], warnings: 4 },
    { kind: 'mov', actions: ['1 copy', '2 alac', '3 aac', '4 mov_text', '6 copy'], warnings: 4 },
    { kind: 'webm', actions: ['1 libopus', '2 libopus', '3 copy', '4 webvtt', '6 webvtt'], warnings: 5 },
  ];
  for (const c of cases) {
    it(`copies, converts or drops each stream for ${c.kind}`, () => {
      const plan = planStreams(src, c.kind);
      assert.deepEqual(plan.streams.map((s) => `${s.index} ${s.action === 'copy' ? 'copy' : s.encoder}`), c.actions);
      assert.equal(plan.warnings.length, c.warnings, plan.warnings.join('; '));
      assert.equal(plan.attachments, c.kind === 'mkv');
    });
  }
  it('gives Opus a channel layout it takes: the Vorbis one with as many channels, or discrete channels over 8', () => {
    const audio = (channels: number, channelLayout: string | null) => ({ audio: [{ index: 1, codec: 'ac3', language: null, title: null, channels, channelLayout, sampleRate: 48000, firstPacketTime: 0 }], subtitles: [] });
    const of = (channels: number, layout: string | null) => {
      const s = planStreams(audio(channels, layout), 'webm').streams[0];
      return s?.action === 'convert' ? s.channels : 'copied';
    };
    assert.deepEqual(of(6, '5.1(side)'), { layout: '5.1' });
    assert.deepEqual(of(8, '7.1(wide)'), { layout: '7.1' });
    assert.deepEqual(of(3, '2.1'), { layout: '3.0' });
    assert.equal(of(6, '5.1'), undefined);
    assert.equal(of(2, 'stereo'), undefined);
    assert.equal(of(6, null), undefined);
    assert.equal(of(16, 'hexadecagonal'), 'discrete');
    assert.deepEqual(planStreams(audio(16, 'hexadecagonal'), 'webm').warnings, ['audio stream 1 (ac3) converted to libopus as 16 channels without positions (Opus names at most 8): webm cannot hold ac3']);
    // Other containers' encoders (AAC, ALAC) take any layout.
    const mp4 = planStreams({ ...audio(6, '5.1(side)'), audio: [{ ...audio(6, '5.1(side)').audio[0]!, codec: 'dts' }] }, 'mp4').streams[0];
    assert.ok(mp4?.action === 'convert' && mp4.encoder === 'aac' && mp4.channels === undefined);
  });
  it('explains a dropped image subtitle', () => {
    assert.ok(planStreams(src, 'mp4').warnings.includes('subtitle stream 5 (hdmv_pgs_subtitle) dropped: mp4 cannot hold image subtitles'));
  });
});
