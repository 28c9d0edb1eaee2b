/**
 * Benchmark (not a test): `upscale run` end to end next to the bare engine on the same frames, in
 * one process run, so both see the same machine and the same background load.
 *
 *   npm run bench:run [-- --clip basic --model realesr-general-x4v3 --ep cpu --workers 1]
 *
 * 1. Decodes every frame of the clip (160x120, 48 frames by default) to RGB first, then times
 *    `engine.upscaleStream` alone on them (after one warm-up frame): the engine's frames/s.
 * 2. Runs the real command, `node bin/upscale.js run` (a child process: probe, shards, assemble, an
 *    H.264 MP4 with the source's audio), and reads its JSON result: end-to-end frames/s and the
 *    per-stage milliseconds summed over shards (decode wait, inference, encode flush, storage upload).
 * 3. Times the bare engine once more and uses the mean of both engine runs, so a load change during
 *    the benchmark shows up as a spread between them instead of skewing the ratio.
 *
 * Goal: e2e/engine >= 0.9, because decode, encode and uploads overlap inference instead of adding
 * to it. End-to-end time includes what the engine number does not: process start, model load, probe
 * and assembly; the table shows them as "other".
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { upscaleSettingsSchema } from '../../worker/task.ts';
import { CLIP_FRAMES, clip, type ClipName } from '../fixtures/clips.ts';
import { decodeFrames, timeBareEngine } from '../bench/bare-engine.ts';
import { explain, upscale } from './cli.ts';

const { values } = parseArgs({
  options: {
    clip: { type: 'string', default: 'basic' },
    model: { type: 'string', default: 'realesr-general-x4v3' },
    ep: { type: 'string', default: 'cpu' },
    workers: { type: 'string', default: '1' },
  },
});

const name = values.clip as ClipName;
if (!(name in CLIP_FRAMES)) throw new Error(`unknown clip ${name}: one of ${Object.keys(CLIP_FRAMES).join(', ')}`);
const source = await clip(name);
const settings = upscaleSettingsSchema.parse({ model: values.model, ep: values.ep });
const log = pino({ level: 'warn' }, pino.destination(2));

// 1. Every frame decoded up front, so the engine run measures inference alone.
const { frames, width, height } = await decodeFrames(source);
const timeEngine = (): Promise<number> => timeBareEngine(frames, settings, log);

const dir = await mkdtemp(join(tmpdir(), 'bench-run-'));
try {
  const engineBefore = await timeEngine();

  // 2. The real command, end to end.
  const output = join(dir, 'bench.mp4');
  const began = performance.now();
  const run = await upscale(['run', '-i', source, '-o', output, '--model', values.model, '--ep', values.ep, '--workers', values.workers, '--no-progress'], { timeoutMs: 3_600_000 });
  const processSeconds = (performance.now() - began) / 1000;
  if (run.code !== 0 || run.result === undefined) throw new Error(`upscale run failed: ${explain(run)}`);
  const runSeconds = Number(run.result['seconds']);
  const stages = run.result['stages'] as Record<string, number>;

  const engineAfter = await timeEngine();

  // 3. The table.
  const n = frames.length;
  const engineSeconds = (engineBefore + engineAfter) / 2;
  const engineFps = n / engineSeconds;
  const e2eFps = n / runSeconds;
  const row = (label: string, seconds: number, note = ''): string => `${label.padEnd(34)}${seconds.toFixed(2).padStart(9)} s${(n / seconds).toFixed(3).padStart(10)} fps  ${note}`;
  const stage = (label: string, ms: number | undefined, note = ''): string => `  ${label.padEnd(32)}${((ms ?? 0) / 1000).toFixed(2).padStart(9)} s${(((ms ?? 0) / 1000 / runSeconds) * 100).toFixed(1).padStart(9)} %    ${note}`;
  console.log(`upscale run vs the bare engine: ${source.split('/').at(-1)} (${width}x${height}, ${n} frames), ${values.model}, ep ${values.ep}, ${values.workers} worker(s)`);
  console.log(`${'measure'.padEnd(34)}${'time'.padStart(11)}${'rate'.padStart(14)}`);
  console.log(row('engine alone (before the run)', engineBefore));
  console.log(row('engine alone (after the run)', engineAfter));
  console.log(row('upscale run, end to end', runSeconds, `(process wall ${processSeconds.toFixed(2)} s, ${(n / processSeconds).toFixed(3)} fps)`));
  console.log(`${'stages of the run (summed over shards)'.padEnd(43)}${'share of the run'.padStart(20)}`);
  const inShards = stages['shardMs'] ?? 0;
  const overhead = inShards - (stages['inferenceMs'] ?? 0) - (stages['encodeFlushMs'] ?? 0) - (stages['uploadMs'] ?? 0);
  console.log(stage('inference', stages['inferenceMs'], '(waiting for upscaled frames; includes the decode wait)'));
  console.log(stage('  of which decode wait', stages['decodeWaitMs'], '(engine waiting for decoded frames)'));
  console.log(stage('encode flush', stages['encodeFlushMs'], '(encoder finishing after the last frame)'));
  console.log(stage('storage upload', stages['uploadMs'], '(shard to the job prefix)'));
  console.log(stage('other shard time', overhead, '(model load, ffmpeg start, encoder back-pressure, manifest)'));
  console.log(stage('outside shards', runSeconds * 1000 - inShards, '(probe, plan, assembly)'));
  const ratio = e2eFps / engineFps;
  console.log(`ratio e2e/engine: ${ratio.toFixed(3)} (goal >= 0.9: ${ratio >= 0.9 ? 'met' : 'not met'})`);
  console.log(JSON.stringify({ bench: 'upscale-run', clip: name, width, height, frames: n, model: values.model, ep: values.ep, workers: Number(values.workers), engineSeconds: [engineBefore, engineAfter], engineFps, runSeconds, processSeconds, e2eFps, ratio, stages }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
