/**
 * The probe pod's termination message for big plans: `upscale probe --result-file R` on a real
 * 15,000-frame clip planned into 10,000 and 15,000 shards. The result file stays within 4096 bytes
 * and keeps `shards`, `frames` and the summary; `shardFrames` (run-length shard sizes) is there when
 * it fits and dropped when it would not.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { clip } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';

const run = promisify(execFile);
const TERMINATION_MESSAGE_LIMIT = 4096;
const FRAMES = 15_000;

describe('upscale probe result for 10,000+ shards', () => {
  let dir: string;
  let input: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-probe-result-'));
    input = join(dir, 'long.mp4');
    // The 12-frame tiny clip looped to 15,000 frames: one keyframe every 250, no audio.
    await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', '-stream_loop', '-1', '-i', await clip('tiny-basic'), '-an', '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '250', input]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function probe(jobId: string, plan: Record<string, number>): Promise<{ text: string; result: Record<string, unknown> }> {
    const taskFile = join(dir, `${jobId}.task.json`);
    const resultFile = join(dir, `${jobId}.result.json`);
    await writeFile(taskFile, JSON.stringify({ version: 1, jobId, step: 'probe', input, output: join(dir, `${jobId}.mkv`), plan }));
    const cli = await upscale(['probe', '--task-file', taskFile, '--result-file', resultFile]);
    assert.equal(cli.code, 0, explain(cli));
    const text = await readFile(resultFile, 'utf8');
    return { text, result: JSON.parse(text) as Record<string, unknown> };
  }

  it('keeps shardFrames for 15,000 one-frame shards, in 4 KiB', async () => {
    const { text, result } = await probe('one-frame-shards', { shardFrames: 1 });
    assert.ok(Buffer.byteLength(text) <= TERMINATION_MESSAGE_LIMIT, `${Buffer.byteLength(text)} bytes`);
    assert.deepEqual([result['ok'], result['shards'], result['frames'], result['shardFrames']], [true, FRAMES, FRAMES, [[1, FRAMES]]]);
    assert.equal((result['summary'] as Record<string, unknown>)['frames'], FRAMES);
  });

  it('sends 10,000 uneven shards (1 and 2 frames) as two runs, in 4 KiB', async () => {
    const { text, result } = await probe('uneven-shards', { shardCount: 10_000 });
    assert.ok(Buffer.byteLength(text) <= TERMINATION_MESSAGE_LIMIT, `${Buffer.byteLength(text)} bytes`);
    assert.equal(result['truncated'], undefined, 'not cut down to an error record');
    const longer = FRAMES - 10_000;
    assert.deepEqual([result['ok'], result['step'], result['shards'], result['frames'], result['shardFrames']], [true, 'probe', 10_000, FRAMES, [[2, longer], [1, 10_000 - longer]]]);
    assert.equal((result['summary'] as Record<string, unknown>)['codec'], 'h264');
  });
});
