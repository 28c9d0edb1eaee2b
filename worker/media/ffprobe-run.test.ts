/**
 * Early ffprobe runs (ffprobe-run.ts): a run started ahead of its caller is taken over by the first
 * runFfprobe call with the same arguments (one start, the same output as a run of its own); one
 * nobody takes neither keeps the process alive nor outlives it; an abort kills a taken run.
 * FFPROBE_PATH points at wrappers that record each start.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { clip, REPO } from '../../test/fixtures/clips.ts';
import { alive } from '../../test/fixtures/processes.ts';
import { runFfprobe, startFfprobeEarly } from './ffprobe-run.ts';
import { packetScanArgs, probeHeadArgs } from './probe-args.ts';

const dir = mkdtempSync(join(tmpdir(), 'ffprobe-run-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const real = execFileSync('sh', ['-c', 'command -v ffprobe'], { encoding: 'utf8' }).trim();
const starts = join(dir, 'starts.log');
const recording = join(dir, 'ffprobe');
writeFileSync(recording, `#!/bin/sh\necho "$*" >> '${starts}'\nexec '${real}' "$@"\n`);
chmodSync(recording, 0o755);
/** An "ffprobe" that writes its pid to `pidFile` and sleeps for 30 s. */
function sleeper(name: string): { path: string; pidFile: string } {
  const path = join(dir, name);
  const pidFile = join(dir, `${name}.pid`);
  writeFileSync(path, `#!/bin/sh\necho $$ > '${pidFile}'\nexec sleep 30\n`);
  chmodSync(path, 0o755);
  return { path, pidFile };
}
async function pidOf(pidFile: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      await sleep(25);
    }
  }
  throw new Error(`${pidFile} was never written`);
}
const startCount = (): number => readFileSync(starts, 'utf8').trim().split('\n').length;

test('an early run is taken over by the call with the same arguments: one start, the output of a run of its own', async () => {
  process.env['FFPROBE_PATH'] = recording;
  try {
    const source = await clip('basic');
    const scan = packetScanArgs(source, undefined, 'v:0');
    const head = probeHeadArgs(source, 8192 * 8192);
    startFfprobeEarly(scan);
    startFfprobeEarly(head);
    startFfprobeEarly(head); // started once
    await sleep(500); // both print (and finish) before anyone takes them
    const lines: string[] = [];
    const early = await runFfprobe(scan, { onLine: (l) => lines.push(l) });
    const earlyHead = await runFfprobe(head);
    assert.equal(startCount(), 2, readFileSync(starts, 'utf8'));
    // The same calls again: nothing early is left, so each starts its own.
    const ownLines: string[] = [];
    const own = await runFfprobe(scan, { onLine: (l) => ownLines.push(l) });
    const ownHead = await runFfprobe(head);
    assert.equal(startCount(), 4);
    assert.equal(early.code, 0);
    assert.ok(lines.length >= 48, `${lines.length} packet lines`);
    assert.deepEqual(lines, ownLines);
    assert.equal(early.stdout, '');
    assert.deepEqual(JSON.parse(earlyHead.stdout), JSON.parse(ownHead.stdout));
    assert.deepEqual([earlyHead.code, earlyHead.stderr], [ownHead.code, ownHead.stderr]);
    assert.deepEqual([early.code, early.stderr], [own.code, own.stderr]);
  } finally {
    delete process.env['FFPROBE_PATH'];
  }
});

test('an early run nobody takes keeps no process alive: the command exits at once and the run is killed', async () => {
  const { path, pidFile } = sleeper('untaken');
  const script = join(dir, 'untaken.ts');
  writeFileSync(script, `import { startFfprobeEarly } from ${JSON.stringify(join(REPO, 'worker/media/ffprobe-run.ts'))};\nstartFfprobeEarly(['-i', 'x']);\n`);
  const began = Date.now();
  await promisify(execFile)(process.execPath, [script], { env: { ...process.env, FFPROBE_PATH: path } });
  assert.ok(Date.now() - began < 10_000, `the command took ${Date.now() - began} ms to exit (the run sleeps 30 s)`);
  const pid = await pidOf(pidFile);
  for (let i = 0; i < 40 && alive(pid); i++) await sleep(50);
  assert.equal(alive(pid), false, `the untaken run (pid ${pid}) outlived the command`);
});

test('an abort kills a taken early run, and the call fails with an AbortError', async () => {
  const { path, pidFile } = sleeper('aborted');
  process.env['FFPROBE_PATH'] = path;
  try {
    startFfprobeEarly(['-i', 'aborted']);
    const pid = await pidOf(pidFile);
    const stop = new AbortController();
    const call = runFfprobe(['-i', 'aborted'], { signal: stop.signal });
    setTimeout(() => stop.abort(), 100);
    await assert.rejects(call, { name: 'AbortError' });
    for (let i = 0; i < 40 && alive(pid); i++) await sleep(50);
    assert.equal(alive(pid), false, 'the aborted run is still running');
  } finally {
    delete process.env['FFPROBE_PATH'];
  }
});
