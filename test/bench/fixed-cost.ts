/**
 * Benchmark (not a test): the fixed cost of a short `upscale run` (issues 13 and 14).
 *
 *   npm run bench -- --only fixed-cost [-- --runs 5 --ep auto]
 *
 * 1. A 1-frame job (160x120, realesr-general-x4v3) run `--runs` times as a child process: the
 *    median launch-to-exit wall time, and for the median run the stages between its debug log
 *    lines (process start and module loading, ffmpeg checks, probe, engine start, the shard, the
 *    assembly, exit).
 * 2. The whole process on the 48-frame clip next to a bare ONNX Runtime session on the same frames,
 *    in this process run (engine before and after, their mean): the frames/s ratio of the process
 *    wall time, start-up and assembly included.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { upscaleSettingsSchema } from '../../worker/task.ts';
import { clip } from '../fixtures/clips.ts';
import { decodeFrames, timeBareEngine } from './bare-engine.ts';
import { UPSCALE_BIN } from '../e2e/cli.ts';

/** Log messages that end a stage, in the order a run logs them, and the stage's name. */
const MARKS: readonly [string, string][] = [
  ['Started run command', 'node start, module loading'],
  ['Checked ffmpeg version', 'ffmpeg/ffprobe version checks (and encoder, pixel-format tables)'],
  ['Probed video', 'preflight, lock, probe step'],
  ['Planned shards', 'plan'],
  ['Upscaled frame', 'shard: decode start, engine ready, first frame'],
  ['Finished shard', 'shard: encode flush, verify, upload, manifest'],
  ['Assembled output', 'assembly (concat, audio, verify, publish)'],
];

interface Timed {
  wallMs: number;
  stages: { stage: string; ms: number }[];
}

/** One `upscale run` as a child process; wall time from spawn to exit, stages from its log. */
async function runOnce(args: readonly string[]): Promise<Timed> {
  const began = Date.now();
  const child = spawn(process.execPath, [UPSCALE_BIN, ...args, '--no-progress', '--log-level', 'debug'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const ended = Date.now();
  if (code !== 0) throw new Error(`upscale ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`);
  const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { time: number; msg: string });
  const stages: Timed['stages'] = [];
  let at = began;
  for (const [msg, stage] of MARKS) {
    const line = lines.find((l) => l.msg === msg);
    if (line === undefined) continue;
    stages.push({ stage, ms: line.time - at });
    at = line.time;
  }
  stages.push({ stage: 'engine close, exit', ms: ended - at });
  return { wallMs: ended - began, stages };
}

const { values } = parseArgs({ args: process.argv.slice(2), options: { runs: { type: 'string', default: '5' }, ep: { type: 'string', default: 'auto' } }, strict: false });
const runs = Number(values.runs);
const ep = String(values.ep);
const dir = await mkdtemp(join(tmpdir(), 'bench-fixed-cost-'));
try {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  // 1. The 1-frame job.
  const one = await clip('oneframe');
  const timed: Timed[] = [];
  for (let i = 0; i < runs; i++) timed.push(await runOnce(['run', '-i', one, '-o', join(dir, `one-${i}.mp4`), '--ep', ep]));
  const sorted = [...timed].sort((a, b) => a.wallMs - b.wallMs);
  const median = sorted[Math.floor(sorted.length / 2)] as Timed;
  console.log(`1-frame job (160x120, realesr-general-x4v3, --ep ${ep}), ${runs} runs, load average before: ${load}`);
  console.log(`launch to exit: median ${(median.wallMs / 1000).toFixed(2)} s (all: ${timed.map((t) => (t.wallMs / 1000).toFixed(2)).join(', ')} s)`);
  console.log('stages of the median run:');
  for (const s of median.stages) console.log(`  ${s.stage.padEnd(66)}${(s.ms / 1000).toFixed(3).padStart(8)} s`);

  // 2. The whole process next to a bare engine on the 48-frame clip.
  const source = await clip('basic');
  const { frames, width, height } = await decodeFrames(source);
  const settings = upscaleSettingsSchema.parse({ model: 'realesr-general-x4v3', ep });
  const log = pino({ level: 'warn' }, pino.destination(2));
  const timeEngine = (): Promise<number> => timeBareEngine(frames, settings, log);
  const engineBefore = await timeEngine();
  const whole = await runOnce(['run', '-i', source, '-o', join(dir, 'clip.mp4'), '--ep', ep]);
  const engineAfter = await timeEngine();
  const n = frames.length;
  const engineFps = n / ((engineBefore + engineAfter) / 2);
  const processFps = n / (whole.wallMs / 1000);
  const ratio = processFps / engineFps;
  console.log(`\n${n}-frame clip (${width}x${height}): bare engine ${engineFps.toFixed(3)} fps (before ${engineBefore.toFixed(2)} s, after ${engineAfter.toFixed(2)} s); whole process ${processFps.toFixed(3)} fps (${(whole.wallMs / 1000).toFixed(2)} s launch to exit)`);
  console.log(`ratio process/engine: ${ratio.toFixed(3)} (goal >= 0.9: ${ratio >= 0.9 ? 'met' : 'not met'}); load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // The fixed cost: launch to exit less the frames' inference at the bare engine's rate (same size,
  // same run). The 1-frame job pays all of it; the clip hides part of it behind its frames.
  const fixedOneFrame = median.wallMs / 1000 - 1 / engineFps;
  const fixedClip = whole.wallMs / 1000 - n / engineFps;
  console.log(`fixed cost (launch to exit less inference at the bare engine's rate): 1-frame job ${fixedOneFrame.toFixed(2)} s (median), ${n}-frame clip ${fixedClip.toFixed(2)} s (goal < 0.8 s: ${fixedOneFrame < 0.8 ? 'met' : 'not met'} for the 1-frame job)`);
  console.log(JSON.stringify({ bench: 'fixed-cost', ep, runs, oneFrameWallMs: timed.map((t) => t.wallMs), oneFrameMedianMs: median.wallMs, stages: median.stages, clipFrames: n, engineSeconds: [engineBefore, engineAfter], engineFps, processSeconds: whole.wallMs / 1000, processFps, ratio, fixedOneFrameSeconds: fixedOneFrame, fixedClipSeconds: fixedClip, load }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
