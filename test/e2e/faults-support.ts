/**
 * Shared pieces of the fault-injection tests (test/e2e/faults-*.test.ts): a seeded random source (so
 * a failing run can be replayed with its seed), the direct children of a process (to kill one local
 * worker, not the run), a longer tiny clip made with the real ffmpeg, per-frame hashes of an output,
 * and the shards that `upscale run`'s log says it finished.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sourceVideo } from '../fixtures/clips.ts';

const run = promisify(execFile);

/**
 * mulberry32: a tiny deterministic generator. The seed comes from `UPSCALE_FAULT_SEED` when set,
 * else `fallback`; tests print it so a failure can be replayed.
 */
export function seededRandom(fallback: number): { seed: number; next: () => number; between: (lo: number, hi: number) => number } {
  const env = process.env['UPSCALE_FAULT_SEED'];
  const seed = env !== undefined && /^\d+$/.test(env) ? Number(env) : fallback;
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, between: (lo, hi) => lo + (hi - lo) * next() };
}

/** Direct children of `pid` whose command line contains `marker` (Linux /proc). */
export async function childrenOf(pid: number, marker: string): Promise<number[]> {
  let listed: string;
  try {
    listed = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const child of listed.trim().split(/\s+/).filter(Boolean).map(Number)) {
    try {
      if ((await readFile(`/proc/${child}/cmdline`, 'utf8')).includes(marker)) out.push(child);
    } catch {
      // Exited between the two reads.
    }
  }
  return out;
}

/**
 * A 64x48 H.264 clip of `frames` frames (keyframe every 4, B-frames, AAC) cut from the footage, with
 * light temporal noise so that no two frames are alike (the cartoon repeats frames): a repeated or
 * shifted output frame then shows in a per-frame comparison.
 */
export async function tinyClip(dir: string, frames: number): Promise<string> {
  const path = join(dir, `tiny-${frames}.mp4`);
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-y', '-i', sourceVideo(), '-vf', 'scale=64:48,noise=alls=12:allf=t', '-frames:v', String(frames),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '4', '-c:a', 'aac', '-b:a', '64k', '-shortest', path]);
  return path;
}

/** MD5 of each decoded frame of the first video stream, in order. */
export async function frameHashes(path: string): Promise<string[]> {
  const { stdout } = await run('ffmpeg', ['-hide_banner', '-v', 'error', '-nostdin', '-i', path, '-map', '0:v:0', '-f', 'framemd5', '-'], { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(',').at(-1)?.trim() ?? '');
}

/** Shard indexes of the 'Finished shard' log lines (pino JSON on stderr) of one or more runs. */
export function finishedShards(stderr: string): number[] {
  const out: number[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"Finished shard"')) continue;
    const entry = JSON.parse(line) as { msg?: string; shard?: number };
    if (entry.msg === 'Finished shard' && typeof entry.shard === 'number') out.push(entry.shard);
  }
  return out;
}
