/**
 * The step commands a cluster's pods run (`upscale probe|shard|assemble --task-file T --result-file
 * R`), as child processes on a tiny clip with the real model: each writes a valid JSON result of at
 * most 4096 bytes (a termination message) to R and stdout; a shard task without `shard` takes its
 * index from JOB_COMPLETION_INDEX (an Indexed Job); a malformed task exits 2 naming the field.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { explain, upscale, type CliResult } from './cli.ts';
import { decodedFrames, videoStream } from './media-checks.ts';

const TERMINATION_MESSAGE_LIMIT = 4096;
const FRAMES = CLIP_FRAMES['tiny-basic'];

describe('upscale probe|shard|assemble', () => {
  let dir: string;
  let common: { version: number; jobId: string; input: string; output: string };
  let n = 0;

  /** Writes `task` to a file, runs the step with a result file, and returns the run and the file's result. */
  async function step(name: string, task: unknown, options: { env?: Record<string, string>; raw?: string; args?: string[] } = {}): Promise<{ run: CliResult; text: string; result: Record<string, unknown> }> {
    n++;
    const taskFile = join(dir, `task-${n}.json`);
    const resultFile = join(dir, `result-${n}.json`);
    await writeFile(taskFile, options.raw ?? JSON.stringify(task));
    const run = await upscale([name, '--task-file', taskFile, '--result-file', resultFile, ...(options.args ?? [])], options.env ? { env: options.env } : {});
    const text = await readFile(resultFile, 'utf8');
    assert.ok(Buffer.byteLength(text) <= TERMINATION_MESSAGE_LIMIT, `result file of ${Buffer.byteLength(text)} bytes`);
    return { run, text, result: JSON.parse(text) as Record<string, unknown> };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-steps-'));
    common = { version: 1, jobId: 'e2e-steps', input: await clip('tiny-basic'), output: join(dir, 'out.mkv') };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('probe, two shards by JOB_COMPLETION_INDEX, assemble: each writes its result file', async () => {
    const probe = await step('probe', { ...common, step: 'probe', plan: { shardCount: 2 } });
    assert.equal(probe.run.code, 0, explain(probe.run));
    assert.deepEqual(probe.run.result, probe.result, 'the same result on stdout and in the file');
    assert.equal(probe.result['ok'], true);
    assert.equal(probe.result['step'], 'probe');
    assert.equal(probe.result['jobId'], common.jobId);
    assert.equal(probe.result['shards'], 2);

    const shardTask = { ...common, step: 'shard', settings: { ep: 'cpu', codec: 'ffv1' } };
    for (const index of [1, 0]) {
      const shard = await step('shard', shardTask, { env: { JOB_COMPLETION_INDEX: String(index) } });
      assert.equal(shard.run.code, 0, explain(shard.run));
      assert.equal(shard.result['ok'], true);
      assert.equal(shard.result['shard'], index);
      assert.deepEqual([shard.result['start'], shard.result['end'], shard.result['frames']], [index * 6, index * 6 + 6, 6]);
      assert.equal(shard.result['skipped'], false);
      const stages = shard.result['stages'] as Record<string, unknown>;
      for (const stage of ['decodeWaitMs', 'inferenceMs', 'encodeFlushMs', 'uploadMs']) assert.equal(typeof stages[stage], 'number', stage);
    }
    const again = await step('shard', shardTask, { env: { JOB_COMPLETION_INDEX: '1' } });
    assert.equal(again.run.code, 0, explain(again.run));
    assert.equal(again.result['skipped'], true, 'a finished shard is not redone');

    const assembled = await step('assemble', { ...common, step: 'assemble' });
    assert.equal(assembled.run.code, 0, explain(assembled.run));
    assert.equal(assembled.result['ok'], true);
    assert.equal(assembled.result['frames'], FRAMES);
    assert.equal(await decodedFrames(common.output), FRAMES);
    const video = await videoStream(common.output);
    assert.deepEqual([video.codec_name, video.width, video.height], ['ffv1', 256, 192]);
  });

  it('probe refuses a still image, naming `upscale run` for it (cluster jobs take videos)', async () => {
    const png = join(dir, 'photo.png');
    await promisify(execFile)('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=64x48', '-frames:v', '1', png]);
    const { run, result } = await step('probe', { ...common, jobId: 'e2e-still', input: png, output: join(dir, 'photo.mkv'), step: 'probe' });
    assert.equal(run.code, 2, explain(run));
    assert.match(String(result['message']), /photo\.png.*the input is a still image \(png\), not a video: cluster jobs .* run `upscale run` on a local copy/);
  });

  const malformed: { name: string; step: string; task?: () => unknown; raw?: string; field: RegExp }[] = [
    { name: 'a wrongly typed field', step: 'shard', task: () => ({ ...common, step: 'shard', shard: 0, settings: { crf: 'high' } }), field: /settings\.crf/ },
    { name: 'a missing job id', step: 'probe', task: () => ({ version: 1, input: common.input, output: common.output }), field: /jobId/ },
    { name: 'an unknown task version', step: 'assemble', task: () => ({ ...common, version: 99 }), field: /version/ },
    { name: 'text that is not JSON', step: 'probe', raw: '{"version": 1, "jobId": ', field: /not valid JSON/ },
    { name: 'a shard task without shard or JOB_COMPLETION_INDEX', step: 'shard', task: () => ({ ...common, step: 'shard', jobId: 'e2e-no-index' }), field: /JOB_COMPLETION_INDEX/ },
  ];
  for (const c of malformed) {
    it(`${c.step} with ${c.name} exits 2 naming it`, async () => {
      const { run, result } = await step(c.step, c.task?.(), c.raw === undefined ? {} : { raw: c.raw });
      assert.equal(run.code, 2, explain(run));
      assert.match(run.message, c.field);
      assert.equal(result['ok'], false);
      assert.equal(result['step'], c.step);
      assert.match(String(result['message']), c.field);
    });
  }
});
