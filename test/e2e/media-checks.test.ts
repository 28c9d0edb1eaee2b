/**
 * The e2e tests' frame check against stand-in "upscales" made with ffmpeg from the real footage: a
 * faithful one passes, one shifted by a frame (which a PSNR floor of 25 dB lets through) and one of
 * other footage fail, each naming the frame.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { clip } from '../fixtures/clips.ts';
import { assertFramesMatchSource } from './media-checks.ts';

const run = promisify(execFile);
const SIZE = { width: 160, height: 120 };

/** `source` through `filters`, then scaled x4 as an upscaler would, stored losslessly. */
async function standIn(source: string, output: string, filters: string[]): Promise<string> {
  const vf = [...filters, 'scale=640:480:flags=bicubic'].join(',');
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', '-i', source, '-map', '0:v', '-vf', vf, '-fps_mode', 'passthrough', '-c:v', 'ffv1', output]);
  return output;
}

describe('assertFramesMatchSource', () => {
  let dir: string;
  let source: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'media-checks-'));
    source = await clip('basic');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts an upscale of each frame, having compared most frames with both neighbours', async () => {
    const match = await assertFramesMatchSource(await standIn(source, join(dir, 'faithful.mkv'), []), source, SIZE);
    assert.equal(match.frames, 48);
    assert.ok(match.minPsnr > 30, `min PSNR ${match.minPsnr}`);
    // The footage repeats frames (3:2-like); each moving pair is compared from both sides.
    assert.ok(match.compared >= 16, `only ${match.compared} neighbour comparisons`);
  });

  it('refuses frames shifted by one, though each is within 25 dB of the frame it stands for', async () => {
    const shifted = await standIn(source, join(dir, 'shifted.mkv'), ['trim=start_frame=1', 'setpts=PTS-STARTPTS']);
    // The PSNR floor alone passes it: only the neighbour comparison catches the shift.
    await assertFramesMatchSource(shifted, source, SIZE, { first: 1 });
    await assert.rejects(assertFramesMatchSource(shifted, source, SIZE, { minPsnr: 0 }), /output frame 0 does not show source frame 0 more than its neighbour 1/);
    await assert.rejects(assertFramesMatchSource(shifted, source, SIZE), /output frame 0 .*(PSNR|neighbour 1)/);
  });

  it('refuses other pictures of the same length, naming the frame and its PSNR', async () => {
    const negated = await standIn(source, join(dir, 'negated.mkv'), ['negate']);
    await assert.rejects(assertFramesMatchSource(negated, source, SIZE), /output frame 0 vs source frame 0: luma PSNR \d+\.\d dB, want > 25/);
  });

  it('pairs a segment from its first source frame', async () => {
    const segment = await standIn(source, join(dir, 'segment.mkv'), ['trim=start_frame=10:end_frame=20', 'setpts=PTS-STARTPTS']);
    const match = await assertFramesMatchSource(segment, source, SIZE, { first: 10 });
    assert.equal(match.frames, 10);
    await assert.rejects(assertFramesMatchSource(segment, source, SIZE, { first: 11 }), /output frame \d+ does not show source frame \d+ more than its neighbour/);
  });
});
