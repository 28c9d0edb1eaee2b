/**
 * The fixed cost of a short `upscale run` (issues 13 and 14), checked by what the process does, not
 * by how long it takes (timings belong to `npm run bench -- --only fixed-cost`):
 * - a local run loads neither the AWS SDK nor the Kubernetes client (together some 1.1 s of module
 *   loading on 2 cores), and still writes every frame;
 * - it starts ffmpeg and ffprobe no more often than the work needs (each start loads some 200
 *   libraries, about 90 ms of CPU): the version check reads the banners of the table runs;
 * - with only --width given (the height follows from the probe) one engine is built, not an early
 *   one thrown away for the sized one;
 * - the same Storage still reaches the SDK on the first s3:// URI (a bad endpoint fails there, with
 *   the S3 error, and the next call tries again).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UpscaleError } from '../../worker/errors.ts';
import { Storage } from '../../worker/storage/storage.ts';
import { clip } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';
import { decodedFrames } from './media-checks.ts';

// Records every module a process (and each of its threads) resolves, ESM and CommonJS alike, and
// appends the list to MODULES_OUT at exit; and every module each thread loads, as
// \`<main|worker> <url>\` lines, to LOADS_OUT.
const RECORDER = `
import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
const seen = new Set();
const loads = new Set();
registerHooks({
  resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; },
  load(url, context, next) { loads.add(url); return next(url, context); },
});
const thread = isMainThread ? 'main' : 'worker';
process.on('exit', () => {
  appendFileSync(process.env.MODULES_OUT, [...seen].join('\\n') + '\\n');
  appendFileSync(process.env.LOADS_OUT, [...loads].map((u) => thread + ' ' + u).join('\\n') + '\\n');
});
`;

describe('upscale run: fixed cost', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'run-fixed-cost-'));
    await writeFile(join(dir, 'recorder.mjs'), RECORDER);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a local run loads neither the AWS SDK nor the Kubernetes client, and writes its frame', { timeout: 600_000 }, async () => {
    const source = await clip('oneframe');
    const output = join(dir, 'one.mp4');
    const modules = join(dir, 'modules.txt');
    const loads = join(dir, 'loads.txt');
    const run = await upscale(['run', '-i', source, '-o', output, '--ep', 'cpu', '--no-progress'], {
      env: { NODE_OPTIONS: `--import=${join(dir, 'recorder.mjs')}`, MODULES_OUT: modules, LOADS_OUT: loads },
      timeoutMs: 540_000,
    });
    assert.equal(run.code, 0, explain(run));
    assert.equal(await decodedFrames(output), 1);
    const loaded = (await readFile(modules, 'utf8')).split('\n');
    assert.ok(loaded.some((u) => u.includes('/onnxruntime-node/')), 'the recorder saw the engine load (it records this process)');
    assert.deepEqual(loaded.filter((u) => u.includes('/@aws-sdk/') || u.includes('/@kubernetes/client-node/')), []);

    // What the main thread loads before the probe is on the path of every run. ONNX Runtime runs in
    // the session threads only (a catalogue model is not validated here); protobufjs is for an
    // output Resize (not at the model's own scale); cli-progress draws a bar on a terminal only;
    // node:http (whose ESM exports load Node's fetch, some 50 ms of CPU) serves http(s) inputs and
    // the S3 media proxy only.
    const byThread = (await readFile(loads, 'utf8')).split('\n').filter((l) => l !== '');
    const packages = (thread: string): string[] => [...new Set(byThread.filter((l) => l.startsWith(`${thread} `)).map((l) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(l)?.[1]).filter((p) => p !== undefined))];
    assert.ok(packages('worker').includes('onnxruntime-node'), `session threads load ONNX Runtime: ${packages('worker').join(', ')}`);
    assert.deepEqual(packages('main').filter((p) => ['onnxruntime-node', 'protobufjs', 'cli-progress'].includes(p)), [], `main thread: ${packages('main').join(', ')}`);
    assert.deepEqual(packages('worker').filter((p) => p === 'protobufjs'), [], `session threads: ${packages('worker').join(', ')}`);
    assert.deepEqual(byThread.filter((l) => l === 'main node:http' || l === 'main node:https'), []);
  });

  it('a 1-frame run starts ffmpeg 4 times and ffprobe 5 times (the versions come from the table runs), the next one 3 and 4 (the tables from disk)', { timeout: 600_000 }, async () => {
    const source = await clip('oneframe');
    const starts = join(dir, 'starts.log');
    // Wrappers that record each start (binary and first arguments) and run the real binaries.
    const wrap = async (tool: string): Promise<string> => {
      const real = process.env[tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'] ?? tool;
      const path = join(dir, tool);
      await writeFile(path, `#!/bin/sh\necho "${tool} $*" >> '${starts}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
      return path;
    };
    const env = { FFMPEG_PATH: await wrap('ffmpeg'), FFPROBE_PATH: await wrap('ffprobe'), UPSCALE_FFMPEG_CACHE: join(dir, 'ffmpeg-answers') };
    const runOnce = async (name: string): Promise<string[]> => {
      await rm(starts, { force: true });
      const output = join(dir, name);
      const run = await upscale(['run', '-i', source, '-o', output, '--ep', 'cpu', '--no-progress'], { env, timeoutMs: 540_000 });
      assert.equal(run.code, 0, explain(run));
      assert.equal(await decodedFrames(output), 1);
      return (await readFile(starts, 'utf8')).trim().split('\n');
    };
    const count = (lines: string[], tool: string): number => lines.filter((l) => l.startsWith(`${tool} `)).length;
    // ffmpeg: the encoder table (its banner: the version), the shard's decode and encode, the mux.
    // ffprobe: the pixel-format table (its banner: the version), the probe's two passes (started by
    // the launcher and taken over by the probe: not started twice), the shard's read-back, the
    // verify of the output. No `-version` run of either.
    const first = await runOnce('starts.mp4');
    assert.deepEqual(first.filter((l) => l.includes('-version')), []);
    assert.equal(count(first, 'ffmpeg'), 4, first.join('\n'));
    assert.equal(count(first, 'ffprobe'), 5, first.join('\n'));
    // The same binaries again: both tables (and banners) come from the answers kept on disk.
    const next = await runOnce('again.mp4');
    assert.deepEqual(next.filter((l) => l.includes('-encoders') || l.includes('-show_pixel_formats')), [], next.join('\n'));
    assert.equal(count(next, 'ffmpeg'), 3, next.join('\n'));
    assert.equal(count(next, 'ffprobe'), 4, next.join('\n'));
  });

  it('with only --width given, builds one engine (the sized one), not an early one besides', { timeout: 600_000 }, async () => {
    const source = await clip('oneframe');
    const output = join(dir, 'wide.mp4');
    const run = await upscale(['run', '-i', source, '-o', output, '--ep', 'cpu', '--width', '320', '--no-progress'], { timeoutMs: 540_000 });
    assert.equal(run.code, 0, explain(run));
    const started = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; output?: { width: number; height: number } })
      .filter((l) => l.msg === 'Started inference engine');
    assert.deepEqual(
      started.map((l) => l.output),
      [{ width: 320, height: 240 }],
    );
    assert.equal(await decodedFrames(output), 1);
  });

  it('Storage loads the S3 client on the first s3:// URI, and a bad setting fails there and again on retry', async () => {
    const storage = new Storage({ env: { AWS_ENDPOINT_URL_S3: 'not a url', AWS_REGION: 'us-east-1' } });
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        await assert.rejects(storage.stat('s3://bucket/key'), (e: unknown) => {
          assert.ok(e instanceof UpscaleError, `attempt ${attempt}: ${String(e)}`);
          assert.match(e.message, /AWS_ENDPOINT_URL_S3/);
          return true;
        });
      }
    } finally {
      storage.close();
    }
  });
});
