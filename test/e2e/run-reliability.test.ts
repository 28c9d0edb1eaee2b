/**
 * `upscale run` against the holes of issue 11, as child processes on tiny clips with the real model
 * on the CPU:
 * - a source replaced under the same name (same frame count, other content) is not resumed from the
 *   old intermediates: the rerun starts afresh, says why, and the output is the new source's;
 * - a second run on the same output while one runs exits 2 naming the output and the other pid; a
 *   lock left by a dead process is taken over;
 * - the final local output is flushed to disk (fsync of the file, then of its directory, seen with
 *   strace) before the intermediates are deleted, and is published from a random temporary name.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { clip } from '../fixtures/clips.ts';
import { lockPathFor } from '../../worker/run/run-lock.ts';
import { UPSCALE_BIN, explain, finished, startUpscale, upscale } from './cli.ts';
import { assertFramesMatchSource, decodedFrames } from './media-checks.ts';

const run = promisify(execFile);
const FAST = ['--codec', 'ffv1', '--ep', 'cpu', '--no-progress', '--shard-frames', '6'];

describe('upscale run: reliability', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-reliability-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('starts afresh when the source was replaced by another clip of the same length', async () => {
    const input = join(dir, 'replaced.mp4');
    const output = join(dir, 'replaced.mkv');
    await copyFile(await clip('tiny-basic'), input);
    const first = await upscale(['run', '-i', input, '-o', output, ...FAST, '--keep-intermediates']);
    assert.equal(first.code, 0, explain(first));
    await rm(output);

    // Another clip, same name, same 12 frames: the old shards must not be reused.
    const other = await clip('tiny-negated');
    await copyFile(other, input);
    const second = await upscale(['run', '-i', input, '-o', output, ...FAST]);
    assert.equal(second.code, 0, explain(second));
    assert.equal(second.result?.['skippedShards'], 0, 'no shard of the old source is reused');
    assert.match(second.stderr, /Deleted stale job intermediates and started afresh/);
    assert.match(second.stderr, /the source [^"]*replaced\.mp4 changed since the job was probed/);
    assert.equal(await decodedFrames(output), 12);
    // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
    await assertFramesMatchSource(output, other, { width: 64, height: 48 }, { minPsnr: 20 });
    assert.equal(existsSync(`${output}.upscale`), false, 'the intermediates are gone after success');
  });

  it('refuses a second run on the same output while one runs (exit 2), and takes over a dead run\'s lock', async () => {
    const input = await clip('tiny-basic');
    const output = join(dir, 'locked.mkv');
    const lock = await lockPathFor(output);
    const firstChild = startUpscale(['run', '-i', input, '-o', output, ...FAST]);
    const first = finished(firstChild);
    // Wait until the first run holds the lock.
    for (let i = 0; i < 400 && !existsSync(lock); i++) await new Promise((r) => setTimeout(r, 25));
    assert.ok(existsSync(lock), `the first run took its lock ${lock}`);
    const second = await upscale(['run', '-i', input, '-o', output, ...FAST]);
    assert.equal(second.code, 2, explain(second));
    assert.match(second.stderr, new RegExp(`output ${output.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is being written by another upscale run \\(pid ${firstChild.pid}`));
    const done = await first;
    assert.equal(done.code, 0, explain(done));
    assert.equal(existsSync(lock), false, 'the lock is released when the run ends');

    // A lock whose process is gone (killed with SIGKILL) does not block the next run.
    const dead = await run(process.execPath, ['-e', 'console.log(process.pid)']);
    await writeFile(lock, `${JSON.stringify({ pid: Number(dead.stdout.trim()), host: os.hostname(), nonce: 'dead', output, since: new Date(0).toISOString() })}\n`);
    const third = await upscale(['run', '-i', input, '-o', output, ...FAST, '--overwrite']);
    assert.equal(third.code, 0, explain(third));
    assert.match(third.stderr, /Took over the lock of a run that no longer runs/);
    assert.equal(existsSync(lock), false);
  });

  it('flushes the output and its directory to disk before deleting the intermediates', async () => {
    const input = await clip('tiny-basic');
    const output = join(dir, 'durable.mkv');
    const trace = join(dir, 'strace.log');
    await run('strace', ['-f', '-y', '-qq', '-o', trace, '-e', 'trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat,rmdir,unlink,unlinkat',
      process.execPath, UPSCALE_BIN, 'run', '-i', input, '-o', output, ...FAST], { maxBuffer: 64 << 20, timeout: 240_000 });
    assert.equal(await decodedFrames(output), 12);
    const lines = (await readFile(trace, 'utf8')).split('\n');
    const quoted = JSON.stringify(output);
    // The call that gave the output its name, and the temporary file it came from.
    const publishAt = lines.findIndex((l) => /\b(link|linkat|rename|renameat2?)\(/.test(l) && (l.includes(`${quoted})`) || l.includes(`${quoted},`)));
    assert.ok(publishAt >= 0, `no link/rename to ${output} in the trace`);
    const from = /"([^"]*\.partial[^"]*)"/.exec(lines[publishAt] ?? '')?.[1];
    assert.ok(from !== undefined, `the output is published from a temporary file: ${lines[publishAt]}`);
    const fsyncOf = (path: string) => (l: string) => /\bf(data)?sync\(\d+</.test(l) && l.includes(`<${path}>`);
    const fileSynced = lines.slice(0, publishAt).some(fsyncOf(from));
    assert.ok(fileSynced, `the temporary output ${from} is fsynced before it is published`);
    assert.doesNotMatch(from, /partial-\d+$/, 'the temporary name is random, not the pid');
    const dirSyncAt = lines.findIndex((l, i) => i > publishAt && fsyncOf(dir)(l));
    assert.ok(dirSyncAt > publishAt, `the output directory ${dir} is fsynced after the output is published`);
    const deleteAt = lines.findIndex((l) => /\b(unlink|unlinkat|rmdir)\(/.test(l) && l.includes(`${output}.upscale/`) && !l.includes('.partial'));
    assert.ok(deleteAt > dirSyncAt, 'the intermediates are deleted only after the output is durable');
  });
});
