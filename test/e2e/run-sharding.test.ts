/**
 * `upscale run` end to end on the 160x120, 48-frame clip with audio: real ffmpeg, the real
 * realesr-general-x4v3 model on the CPU, one worker with one shard and three workers with five
 * shards. Both outputs are lossless (ffv1), so sharding must not change a single decoded pixel.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clip, videoFramemd5 } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';
import { assertFramesMatchSource, decodedFrames, frameSeconds, streams, videoDuration, videoStream } from './media-checks.ts';

const FRAMES = 48;

describe('upscale run: sharding keeps every frame', () => {
  let dir: string;
  let source: string;
  const outputs: Record<'one' | 'three', string> = { one: '', three: '' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-sharding-'));
    source = await clip('basic');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const cases = [
    { name: 'one' as const, workers: 1, shardFrames: FRAMES, shards: 1 },
    { name: 'three' as const, workers: 3, shardFrames: 10, shards: 5 },
  ];
  for (const c of cases) {
    it(`${c.workers} worker(s), ${c.shards} shard(s): ${FRAMES} frames at 640x480 with audio, duration kept`, async () => {
      const output = join(dir, `${c.name}.mkv`);
      const run = await upscale(['run', '-i', source, '-o', output, '--workers', String(c.workers), '--shard-frames', String(c.shardFrames), '--codec', 'ffv1', '--ep', 'cpu', '--no-progress']);
      assert.equal(run.code, 0, explain(run));
      assert.equal(run.result?.['frames'], FRAMES);
      assert.equal(run.result?.['shards'], c.shards);
      assert.equal(run.result?.['workers'], c.workers);
      outputs[c.name] = output;

      assert.equal(await decodedFrames(output), FRAMES);
      const video = await videoStream(output);
      assert.deepEqual([video.codec_name, video.width, video.height], ['ffv1', 640, 480]);
      const audio = (await streams(output)).filter((s) => s.codec_type === 'audio');
      assert.deepEqual(audio.map((s) => s.codec_name), ['aac']);
      const sourceVideo = await videoStream(source);
      const frame = frameSeconds(sourceVideo);
      const [got, want] = [await videoDuration(output), await videoDuration(source)];
      assert.ok(Math.abs(got - want) <= frame, `video duration ${got}s, source ${want}s (one frame is ${frame.toFixed(4)}s)`);
      // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
      await assertFramesMatchSource(output, source, { width: 160, height: 120 });
      // A successful run removes its intermediates.
      assert.equal(existsSync(`${output}.upscale`), false, 'the job prefix is removed after success');
    });
  }

  it('sharded and unsharded outputs decode to identical frames (framemd5)', async (t) => {
    if (outputs.one === '' || outputs.three === '') return t.skip('an earlier run failed');
    const [one, three] = [await videoFramemd5(outputs.one), await videoFramemd5(outputs.three)];
    assert.equal(one.length, FRAMES);
    assert.deepEqual(three, one);
  });
});
