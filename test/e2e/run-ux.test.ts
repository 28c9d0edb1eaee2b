/**
 * `upscale` as a person meets it (issue 13), as child processes on tiny clips with the real model on
 * the CPU and the real ffmpeg:
 * - a default run on a machine without a GPU writes only JSON lines on stderr (no native ONNX
 *   Runtime or Dawn output from probing providers) and leaves nothing in its TMPDIR;
 * - a rerun that finds every shard done reports the frames it upscaled (0) and their rate, and says
 *   that it kept the earlier plan when `--shard-frames` changed;
 * - `--workers 2` on a clip planned as one shard starts one worker and reports one;
 * - Ctrl-C pressed again and again (to the whole process group, as a terminal sends it) exits 3,
 *   the documented transient code, and leaves nothing in TMPDIR;
 * - `--version`; a failed step prints its result line on stdout, names `step` once in its log line,
 *   and without a task says to pass `--task`; on a terminal a failure is one line without a JSON
 *   stack, and the bar never shows cli-progress's `ETA NFs`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO, clip } from '../fixtures/clips.ts';
import { UPSCALE_BIN, explain, finished, startUpscale, upscale, type CliResult } from './cli.ts';

const FAST = ['--codec', 'ffv1', '--no-progress'];

/** Every non-empty stderr line, parsed; fails naming the first line that is not JSON. */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        assert.fail(`a stderr line is not JSON: ${line.slice(0, 300)}`);
      }
    });
}

/** Runs `upscale <args>` on a pseudo-terminal (Python's pty), returning what the terminal showed. */
function onTerminal(args: readonly string[]): Promise<{ code: number | null; screen: string }> {
  const python = process.env['PYTHON'] ?? 'python3';
  const script = 'import os, pty, sys; status = pty.spawn(sys.argv[1:]); sys.exit(os.waitstatus_to_exitcode(status))';
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', script, process.execPath, UPSCALE_BIN, ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (screen += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, screen }));
  });
}

describe('upscale run: a quiet start and honest figures', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-ux-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes only JSON on stderr, leaves its TMPDIR empty, and a full-skip rerun reports 0 frames upscaled', async () => {
    const input = await clip('tiny-basic');
    const output = join(dir, 'quiet.mkv');
    const scratch = await mkdtemp(join(tmpdir(), 'e2e-ux-tmp-'));
    try {
      // The default provider choice (auto), as a user without a GPU runs it.
      const first = await upscale(['run', '-i', input, '-o', output, ...FAST, '--shard-frames', '4', '--keep-intermediates'], { env: { TMPDIR: scratch } });
      assert.equal(first.code, 0, explain(first));
      const lines = jsonLines(first.stderr);
      assert.doesNotMatch(first.stderr, /onnxruntime_src|vkCreateInstance|providers_shared\.so with error/);
      const skipped = lines.filter((l) => l['msg'] === 'Skipped execution provider').map((l) => l['provider']);
      assert.deepEqual(skipped, ['tensorrt', 'cuda', 'webgpu'], 'each GPU provider is skipped once, in our own log line');
      assert.deepEqual(await readdir(scratch), [], 'nothing is left in TMPDIR (e.g. mat-debug-<pid>.log)');
      assert.equal(first.result?.['upscaledFrames'], 12);

      const again = await upscale(['run', '-i', input, '-o', output, ...FAST, '--shard-frames', '6', '--keep-intermediates', '--overwrite'], { env: { TMPDIR: scratch } });
      assert.equal(again.code, 0, explain(again));
      assert.equal(again.result?.['skippedShards'], 3, 'the three shards of the first run are reused');
      assert.equal(again.result?.['upscaledFrames'], 0);
      assert.equal(again.result?.['fps'], 0, 'no frame was upscaled in this run');
      const kept = jsonLines(again.stderr).find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('Kept the shard plan of an earlier run'));
      assert.ok(kept !== undefined, `the rerun says it kept the old plan:\n${again.stderr}`);
      assert.equal(kept['shardFrames'], 6);
      assert.equal(kept['doneShards'], 3);
      assert.deepEqual(await readdir(scratch), []);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('replans without a word of doubt when the earlier run finished no shard', async () => {
    const input = await clip('tiny-noaudio');
    const output = join(dir, 'replan.mkv');
    // A plan from an earlier run that was stopped before any shard finished: probe step alone.
    const jobDir = `${output}.upscale`;
    const probe = await upscale(['run', '-i', input, '-o', output, ...FAST, '--ep', 'cpu', '--shard-frames', '4', '--keep-intermediates']);
    assert.equal(probe.code, 0, explain(probe));
    // Remove the shard manifests: as if interrupted before the first shard committed.
    for (const job of await readdir(jobDir)) {
      for (const name of await readdir(join(jobDir, job, 'shards')).catch(() => [] as string[])) {
        if (name.endsWith('.json')) await rm(join(jobDir, job, 'shards', name));
      }
    }
    const rerun = await upscale(['run', '-i', input, '-o', output, ...FAST, '--ep', 'cpu', '--shard-frames', '6', '--overwrite']);
    assert.equal(rerun.code, 0, explain(rerun));
    assert.equal(rerun.result?.['shards'], 2, 'planned afresh with 6 frames a shard');
    assert.match(rerun.stderr, /Replaced the shard plan of an earlier run that had finished no shard/);
  });

  it('starts no more workers than shards: --workers 2 on a one-shard clip reports one', async () => {
    const output = join(dir, 'one-shard.mkv');
    const run = await upscale(['run', '-i', await clip('tiny-basic'), '-o', output, ...FAST, '--ep', 'cpu', '--workers', '2', '--shard-frames', '12']);
    assert.equal(run.code, 0, explain(run));
    assert.equal(run.result?.['shards'], 1);
    assert.equal(run.result?.['workers'], 1);
  });
});

/** Runs `body` with a fresh scratch TMPDIR and output folder, both removed after it. */
async function inScratch(name: string, body: (scratch: string, out: string) => Promise<void>): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), `e2e-ux-${name}-`));
  const out = await mkdtemp(join(tmpdir(), `e2e-ux-${name}out-`));
  try {
    await body(scratch, out);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
  }
}

/** A started `upscale`, with its stderr so far and whether it has exited, for tests that signal it mid-run. */
function watchedUpscale(args: readonly string[], env: Record<string, string>): { pid: number; done: Promise<CliResult>; stderr: () => string; exited: () => boolean } {
  const child = startUpscale(args, { env });
  const done = finished(child);
  let stderr = '';
  child.stderr?.on('data', (d: string) => (stderr += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  return { pid: child.pid ?? 0, done, stderr: () => stderr, exited: () => exited };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The error-level JSON log lines of a run's stderr. */
function failureLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('{') && l.includes('"level":50'));
}

describe('upscale run: interrupted', () => {
  it('exits 3 and leaves nothing in TMPDIR however often Ctrl-C is pressed', () =>
    inScratch('int', async (scratch, out) => {
      const child = watchedUpscale(['run', '-i', await clip('basic'), '-o', join(out, 'int.mkv'), ...FAST, '--ep', 'cpu'], { TMPDIR: scratch });
      const group = -child.pid;
      while (!child.stderr().includes('Started inference engine') && !child.exited()) await pause(50);
      // The first Ctrl-C, then the reflex: more of them, until it has exited.
      process.kill(group, 'SIGINT');
      while (!child.exited()) {
        await pause(30);
        if (!child.exited()) process.kill(group, 'SIGINT');
      }
      const run = await child.done;
      assert.equal(run.code, 3, explain(run));
      assert.doesNotMatch(run.stderr, /terminate called|Napi::Error/);
      assert.deepEqual(await readdir(scratch), [], 'nothing is left in TMPDIR');
    }));
});

describe('upscale run: killed outright', () => {
  it('the next upscale process removes the private TMPDIR folder a SIGKILLed run left', () =>
    inScratch('kill', async (scratch, out) => {
      const child = watchedUpscale(['run', '-i', await clip('basic'), '-o', join(out, 'killed.mkv'), ...FAST, '--ep', 'cpu'], { TMPDIR: scratch });
      // Killed mid-shard, with work in its folder.
      while (!child.stderr().includes('Started run')) await pause(20);
      await pause(500);
      process.kill(-child.pid, 'SIGKILL');
      await child.done;
      const left = await readdir(scratch);
      assert.equal(left.length, 1, `the killed run left its folder: ${left.join(', ')}`);
      const next = await upscale(['run', '-i', await clip('oneframe'), '-o', join(out, 'next.mkv'), ...FAST, '--ep', 'cpu'], { env: { TMPDIR: scratch } });
      assert.equal(next.code, 0, explain(next));
      assert.deepEqual(await readdir(scratch), [], 'the dead run\'s folder is gone, and the new run\'s own');
    }));
});

describe('upscale run: interrupted while it starts', () => {
  // Moments of the start-up, each found from what the run shows, not from a delay: its private
  // TMPDIR appearing (the run command's modules still loading, its own handlers not yet there), a
  // moment later, and its first log line (the probe done, the engine starting: an abort there was
  // reported as Internal).
  const moments: { name: string; reached: (scratch: string, stderr: string) => Promise<boolean>; extraMs?: number }[] = [
    { name: 'as its private TMPDIR appears', reached: async (scratch) => (await readdir(scratch)).some((f) => f.startsWith('upscale-')) },
    { name: '50 ms after its TMPDIR appears', reached: async (scratch) => (await readdir(scratch)).some((f) => f.startsWith('upscale-')), extraMs: 50 },
    { name: 'at its first log line', reached: async (_scratch, stderr) => stderr.includes('\n') },
  ];
  for (const moment of moments) {
    it(`a Ctrl-C ${moment.name}: exit 3, Cancelled (never Internal), nothing left in TMPDIR`, () =>
      inScratch('early', async (scratch, out) => {
        const child = watchedUpscale(['run', '-i', await clip('basic'), '-o', join(out, 'early.mkv'), ...FAST, '--ep', 'cpu'], { TMPDIR: scratch });
        while (!child.exited() && !(await moment.reached(scratch, child.stderr()))) await pause(2);
        if (moment.extraMs !== undefined) await pause(moment.extraMs);
        assert.equal(child.exited(), false, 'the run is still going at that moment');
        process.kill(child.pid, 'SIGINT');
        const run = await child.done;
        assert.equal(run.code, 3, explain(run));
        for (const line of failureLines(run.stderr)) assert.equal((JSON.parse(line) as { code?: string }).code, 'Cancelled', line.slice(0, 400));
        assert.notEqual(run.result?.['ok'], true, 'no result line claims success');
        assert.deepEqual(await readdir(scratch), [], 'nothing is left in TMPDIR');
      }));
  }
});

describe('upscale run: interrupted while ffprobe starts', () => {
  it('a Ctrl-C to the process group (as a terminal, or a pod\'s SIGTERM) while ffprobe starts: exit 3, Cancelled, not "ffprobe failed to run" (exit 2)', () =>
    inScratch('slowprobe', async (scratch, out) => {
      // An ffprobe that takes 3 s to start, so the signal lands while the start-up check waits for it.
      const slow = join(out, 'ffprobe');
      await writeFile(slow, `#!/bin/sh\nsleep 3\nexec ffprobe "$@"\n`, { mode: 0o755 });
      const child = watchedUpscale(['run', '-i', await clip('oneframe'), '-o', join(out, 'slow.mkv'), ...FAST, '--ep', 'cpu', '--log-level', 'debug'], { TMPDIR: scratch, FFPROBE_PATH: slow });
      // The command's own handlers are on right after this line.
      while (!child.exited() && !child.stderr().includes('Started run command')) await pause(10);
      await pause(200);
      assert.equal(child.exited(), false);
      process.kill(-child.pid, 'SIGINT');
      const run = await child.done;
      assert.equal(run.code, 3, explain(run));
      const failure = failureLines(run.stderr)[0] ?? '';
      assert.equal((JSON.parse(failure) as { code?: string }).code, 'Cancelled', failure.slice(0, 400));
      assert.deepEqual(await readdir(scratch), [], 'nothing is left in TMPDIR');
    }));
});

describe('upscale: small things users notice', () => {
  it('prints its version', async () => {
    const run = await upscale(['--version']);
    assert.equal(run.code, 0, explain(run));
    const { version } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string };
    assert.equal(run.stdout.trim(), version);
  });

  it('a step without a task: result line on stdout, "step" once in the log line, and a hint to pass --task', async () => {
    const run = await upscale(['probe']);
    assert.equal(run.code, 2, explain(run));
    assert.equal(run.result?.['ok'], false);
    assert.equal(run.result?.['step'], 'probe');
    assert.match(run.message, /^upscale probe: .*--task <json> or --task-file <path>/m);
    const failed = run.stderr.split('\n').find((l) => l.includes('"msg":"Failed step"')) ?? '';
    const top = failed.slice(0, failed.indexOf('"err":'));
    assert.equal(top.match(/"step":/g)?.length, 1, `one "step" key before err: ${top}`);
  });

  it('on a terminal: a failure is one readable line, and a run shows no "ETA NFs"', async () => {
    const failure = await onTerminal(['run', '-i', '/nonexistent/in.mp4', '-o', join(tmpdir(), 'e2e-ux-never.mkv')]);
    assert.equal(failure.code, 2, failure.screen);
    assert.match(failure.screen, /upscale run: .*\/nonexistent\/in\.mp4/);
    assert.doesNotMatch(failure.screen, /"level":|"stack":/, `no JSON log line with a stack on a terminal:\n${failure.screen}`);

    const dir = await mkdtemp(join(tmpdir(), 'e2e-ux-tty-'));
    try {
      const ok = await onTerminal(['run', '-i', await clip('tiny-basic'), '-o', join(dir, 'bar.mkv'), '--codec', 'ffv1', '--ep', 'cpu']);
      assert.equal(ok.code, 0, ok.screen);
      assert.match(ok.screen, /frames \|/, 'the bar was drawn');
      assert.doesNotMatch(ok.screen, /NFs|NaN/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
