/**
 * Benchmark (not a test): the probe's frame count on a source without `nb_frames`. A 60 s 640x480
 * H.264 clip (the test footage looped, made once and cached under `.cache/bench/`, keyed by its
 * recipe) as MKV and as MP4; each probe timed 3 times, the median reported:
 * - MKV, full decode (`decode: 'always'`: what every MKV/WebM probe did before `packets+sample`),
 * - MKV, default (packets plus a 48-packet sampled decode),
 * - MP4, default (the container's `nb_frames` agrees with the packets: no decode), the reference.
 *
 *   node test/bench/probe-bench.ts [--seconds 60] [--size 640x480] [--skip-full-decode]
 * (`--skip-full-decode`: only the two default probes, for long or large clips, e.g. `--seconds 600
 * --size 1920x1080`, the scaling model's 10-minute 1080p source.)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { probe, type ProbeOptions } from '../../worker/media/probe.ts';
import { REPO, sourceVideo } from '../fixtures/clips.ts';

const run = promisify(execFile);

async function benchClip(seconds: number, size: string, ext: 'mkv' | 'mp4'): Promise<string> {
  const args = ['-v', 'error', '-stream_loop', '-1', '-i', sourceVideo(), '-t', String(seconds), '-an', '-vf', `scale=${size}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '48'];
  const key = createHash('sha256').update(JSON.stringify(args)).digest('hex').slice(0, 10);
  const dir = join(REPO, '.cache', 'bench');
  const path = join(dir, `probe-${seconds}s-${size}-${key}.${ext}`);
  if (existsSync(path)) return path;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp.${process.pid}.${ext}`;
  // One encode: the MKV is the MP4's stream copied, the same packets in the other container.
  await run('ffmpeg', ext === 'mp4' ? [...args, '-y', tmp] : ['-v', 'error', '-i', await benchClip(seconds, size, 'mp4'), '-c', 'copy', '-y', tmp]);
  await rename(tmp, path);
  return path;
}

async function median3(path: string, opts: ProbeOptions): Promise<{ seconds: number; frames: number; source: string }> {
  const times: number[] = [];
  let last = await probe(path, opts);
  for (let i = 0; i < 3; i++) {
    const began = performance.now();
    last = await probe(path, opts);
    times.push((performance.now() - began) / 1000);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[1] ?? 0, frames: last.video.frameCount, source: last.video.frameCountSource };
}

/** Runs the section; returns its JSON. */
export async function probeBench(argv: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({ args: argv, options: { seconds: { type: 'string', default: '60' }, size: { type: 'string', default: '640x480' }, 'skip-full-decode': { type: 'boolean', default: false } } });
  const seconds = Number(values.seconds);
  const mp4 = await benchClip(seconds, values.size, 'mp4');
  const mkv = await benchClip(seconds, values.size, 'mkv');
  const rows = [
    ...(values['skip-full-decode'] ? [] : [{ case: 'MKV, full decode (before)', ...(await median3(mkv, { decode: 'always' })) }]),
    { case: 'MKV, packets + sample (now)', ...(await median3(mkv, {})) },
    { case: 'MP4, nb_frames + packets', ...(await median3(mp4, {})) },
  ];
  console.log(`Probe of a ${seconds} s ${values.size} H.264 clip (median of 3)`);
  for (const r of rows) console.log(`  ${r.case.padEnd(30)}${r.seconds.toFixed(3).padStart(8)} s  ${String(r.frames).padStart(6)} frames  (${r.source})`);
  const [before, now] = rows;
  if (!values['skip-full-decode'] && before !== undefined && now !== undefined) {
    if (before.frames !== now.frames) throw new Error(`the cheap count (${now.frames}) differs from the full decode (${before.frames})`);
    console.log(`  speed-up on MKV: ${(before.seconds / now.seconds).toFixed(1)}x`);
  }
  return { bench: 'probe', seconds, size: values.size, rows };
}

if (import.meta.main) console.log(JSON.stringify(await probeBench(process.argv.slice(2))));
