/**
 * Fault injection (issue 11): `upscale run`'s local worker processes SIGKILLed at seeded random
 * moments, several times per run and across reruns, with the real model on the CPU. The run either
 * retries the killed worker's shard on the other worker or fails transiently; a rerun resumes. At
 * the end every frame must be in the output exactly once with the very pixels of an uninterrupted
 * reference run (the CPU model is deterministic: per-frame MD5 equality), every shard must have been
 * committed exactly once across all runs ('Finished shard' log lines), and a committed shard's
 * manifest must never be rewritten. Replay a failure with UPSCALE_FAULT_SEED=<seed printed>.
 */
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { explain, finished, startUpscale, upscale, type CliResult } from './cli.ts';
import { decodedFrames } from './media-checks.ts';
import { childrenOf, finishedShards, frameHashes, seededRandom, tinyClip } from './faults-support.ts';

const FRAMES = 40;
const SHARD_FRAMES = 2;
const SHARDS = FRAMES / SHARD_FRAMES;
const KILLS = 8;
const MAX_RUNS = 12;
const FAST = ['--codec', 'ffv1', '--ep', 'cpu', '--no-progress'];

/** Manifest file -> mtime (ns) under an output's intermediates. */
async function manifests(output: string): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const root = `${output}.upscale`;
  for (const job of await readdir(root).catch(() => [] as string[])) {
    const shards = join(root, job, 'shards');
    for (const name of await readdir(shards).catch(() => [] as string[])) {
      if (/^\d{6}\.json$/.test(name)) out.set(join(shards, name), (await stat(join(shards, name), { bigint: true })).mtimeNs);
    }
  }
  return out;
}

describe('faults: local workers SIGKILLed at random moments', () => {
  let dir: string;
  let input: string;
  let reference: string[];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-faults-kill-'));
    input = await tinyClip(dir, FRAMES);
    const ref = join(dir, 'reference.mkv');
    const done = await upscale(['run', '-i', input, '-o', ref, ...FAST, '--workers', '1', '--shard-frames', String(FRAMES)]);
    assert.equal(done.code, 0, explain(done));
    reference = await frameHashes(ref);
    assert.equal(reference.length, FRAMES);
    assert.equal(new Set(reference).size, FRAMES, 'the reference frames all differ, so a repeated or shifted frame shows');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it(`loses and repeats no frame and redoes no finished shard after ${KILLS} kills`, async () => {
    const random = seededRandom(1101);
    const output = join(dir, 'killed.mkv');
    const args = ['run', '-i', input, '-o', output, ...FAST, '--workers', '2', '--shard-frames', String(SHARD_FRAMES), '--keep-intermediates'];
    const runs: CliResult[] = [];
    const committed = new Map<string, bigint>();
    let kills = 0;
    let last: CliResult | undefined;
    for (let attempt = 0; attempt < MAX_RUNS && last?.code !== 0; attempt++) {
      const child = startUpscale(args);
      const result = finished(child);
      // Up to three kills per run, each after a random 0.3-2.5 s, of one random live worker.
      for (let k = 0; k < 3 && kills < KILLS && child.exitCode === null; k++) {
        await sleep(random.between(300, 2500));
        const workers = await childrenOf(child.pid ?? 0, 'shard-process');
        const victim = workers[Math.floor(random.next() * workers.length)];
        if (victim === undefined || child.exitCode !== null) continue;
        try {
          process.kill(victim, 'SIGKILL');
          kills++;
        } catch {
          // It exited on its own (the run was ending).
        }
      }
      last = await result;
      runs.push(last);
      assert.ok(last.code === 0 || last.code === 3, `a run with killed workers exits 0 or 3 (transient): ${explain(last)}`);
      if (last.code === 3) assert.match(last.message + last.stderr, /worker \d+ died \(signal SIGKILL\)|every local worker exited/);
      // A manifest, once written, is never rewritten by a later attempt or run.
      for (const [path, mtime] of await manifests(output)) {
        const before = committed.get(path);
        if (before !== undefined) assert.equal(mtime, before, `${path} was rewritten`);
        committed.set(path, mtime);
      }
    }
    const midShard = runs.reduce((n, r) => n + new Set(r.stderr.match(/worker \d+ died \(signal SIGKILL\) while running shard \d+/g)).size, 0);
    console.log(`seed ${random.seed}: ${kills} worker kills (${midShard} mid-shard) over ${runs.length} runs (exits ${runs.map((r) => r.code).join(',')}), ${FRAMES} frames checked`);
    assert.equal(last?.code, 0, last === undefined ? 'no run' : explain(last));
    assert.ok(kills >= KILLS / 2, `at least ${KILLS / 2} kills landed (${kills})`);
    assert.ok(runs.length >= 2, 'the kills interrupted at least one run');
    assert.ok(midShard >= 1, 'at least one kill landed in the middle of a shard');

    const shards = finishedShards(runs.map((r) => r.stderr).join('\n'));
    const counts = new Map<number, number>();
    for (const s of shards) counts.set(s, (counts.get(s) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort((a, b) => a - b), Array.from({ length: SHARDS }, (_, i) => i), 'every shard was committed');
    assert.deepEqual([...counts.entries()].filter(([, n]) => n > 1), [], 'no shard was committed twice');
    assert.equal(committed.size, SHARDS);

    assert.equal(await decodedFrames(output), FRAMES);
    const hashes = await frameHashes(output);
    const wrong = hashes.map((h, i) => (h === reference[i] ? -1 : i)).filter((i) => i >= 0);
    assert.deepEqual(wrong, [], 'every frame is the reference run\'s frame at that position');
  });
});
