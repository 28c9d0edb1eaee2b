/**
 * Fault injection (issue 11): a full disk under `upscale run`, on a real 4 MiB tmpfs mounted by the
 * test (needs root; skipped otherwise) and filled with a filler file to leave a chosen number of
 * bytes free. Three places fill up: the scratch directory (TMPDIR) where a shard is encoded, the
 * output's intermediates while shards are stored, and the output itself during assembly. Each run
 * must fail transiently (exit 3) with a message naming ENOSPC and the path, record no shard whose
 * media is incomplete (every manifest's sha256 matches its media), leave no final output, and, once
 * space is freed, a rerun must finish with the reference run's frames, skipping the stored shards.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { clip } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';
import { frameHashes } from './faults-support.ts';

const run = promisify(execFile);
const ARGS = ['--codec', 'ffv1', '--ep', 'cpu', '--no-progress', '--workers', '1', '--shard-frames', '2', '--keep-intermediates'];
const SHARDS = 6;

interface Manifest { sha256: string; bytes: number; media: string }

/** Committed shards under an output's intermediates: index -> manifest, each checked against its media. */
async function checkedManifests(output: string): Promise<Map<number, Manifest>> {
  const out = new Map<number, Manifest>();
  const base = `${output}.upscale`;
  for (const job of await readdir(base).catch(() => [] as string[])) {
    const shards = join(base, job, 'shards');
    for (const name of await readdir(shards).catch(() => [] as string[])) {
      if (!/^\d{6}\.json$/.test(name)) continue;
      const manifest = JSON.parse(await readFile(join(shards, name), 'utf8')) as Manifest;
      const media = await readFile(join(shards, manifest.media));
      assert.equal(media.length, manifest.bytes, `${name}: its media has the recorded size`);
      assert.equal(createHash('sha256').update(media).digest('hex'), manifest.sha256, `${name}: its media has the recorded sha256`);
      out.set(Number(name.slice(0, 6)), manifest);
    }
  }
  return out;
}

describe('faults: a full disk', () => {
  /** Why the tests cannot run here (mounting a tmpfs needs root with CAP_SYS_ADMIN), else undefined. */
  let cannot: string | undefined;
  let dir: string;
  let disk: string;
  let input: string;
  let reference: string[];
  let shardBytes: number;
  let outputBytes: number;

  /** Leaves about `free` bytes free on the tmpfs (the filler takes the rest). */
  async function leaveFree(free: number): Promise<void> {
    await rm(join(disk, 'filler'), { force: true });
    const s = await statfs(disk);
    await writeFile(join(disk, 'filler'), Buffer.alloc(Math.max(0, s.bavail * s.bsize - free)));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-faults-disk-'));
    disk = join(dir, 'disk');
    await mkdir(disk);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]);
    } catch (error) {
      cannot = `cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): ${(error as Error).message.split('\n')[0] ?? ''}`;
      return;
    }
    input = await clip('tiny-basic');
    const ref = join(dir, 'reference.mkv');
    const done = await upscale(['run', '-i', input, '-o', ref, ...ARGS]);
    assert.equal(done.code, 0, explain(done));
    reference = await frameHashes(ref);
    shardBytes = [...(await checkedManifests(ref)).values()].reduce((n, m) => n + m.bytes, 0);
    outputBytes = (await stat(ref)).size;
  });
  after(async () => {
    if (disk !== undefined && cannot === undefined) await run('umount', [disk]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  /** After freeing the disk: the rerun finishes, skips `stored` shards, and has the reference's frames. */
  async function rerunFreed(output: string, stored: number, env: Record<string, string> = {}): Promise<void> {
    await rm(join(disk, 'filler'), { force: true });
    const rerun = await upscale(['run', '-i', input, '-o', output, ...ARGS], { env });
    assert.equal(rerun.code, 0, explain(rerun));
    assert.equal(rerun.result?.['skippedShards'], stored, 'the stored shards are reused, none is redone');
    assert.deepEqual(await frameHashes(output), reference);
  }

  it('scratch (TMPDIR) full while encoding a shard: exit 3 naming ENOSPC and the scratch path, nothing recorded', async (t) => {
    if (cannot !== undefined) return t.skip(cannot);
    const scratch = join(disk, 'tmp');
    await mkdir(scratch, { recursive: true });
    await leaveFree(Math.floor(shardBytes / SHARDS / 3));
    const output = join(dir, 'scratch-full.mkv');
    const failed = await upscale(['run', '-i', input, '-o', output, ...ARGS], { env: { TMPDIR: scratch } });
    assert.equal(failed.code, 3, explain(failed));
    assert.match(failed.message, new RegExp(`no space left on device \\(ENOSPC\\) writing ${scratch}/(?:upscale-\\d+-\\w+/)?upscale-shard-\\w+/`));
    assert.equal((await checkedManifests(output)).size, 0, 'no shard recorded as done');
    assert.equal(existsSync(output), false);
    await rerunFreed(output, 0, { TMPDIR: scratch });
  });

  it('intermediates full while storing shards: exit 3 naming ENOSPC and the shard path; the stored shards are whole', async (t) => {
    if (cannot !== undefined) return t.skip(cannot);
    await leaveFree(Math.floor(shardBytes / 2));
    const output = join(disk, 'store-full.mkv');
    const failed = await upscale(['run', '-i', input, '-o', output, ...ARGS]);
    assert.equal(failed.code, 3, explain(failed));
    assert.match(failed.message, new RegExp(`writing ${output}\\.upscale/run-\\w+/shards/\\d{6}\\.\\w+\\.nut: no space left on device \\(ENOSPC\\)`));
    const stored = await checkedManifests(output);
    assert.ok(stored.size >= 1 && stored.size < SHARDS, `${stored.size} of ${SHARDS} shards stored before the disk filled`);
    assert.equal(existsSync(output), false);
    await rerunFreed(output, stored.size);
    await rm(output);
    await rm(`${output}.upscale`, { recursive: true });
  });

  it('output full during assembly: exit 3 naming ENOSPC and the temporary output, no output, no partial file left', async (t) => {
    if (cannot !== undefined) return t.skip(cannot);
    const output = join(disk, 'assemble-full.mkv');
    // Room for every shard and about half the output.
    await leaveFree(shardBytes + 64 * 1024 + Math.floor(outputBytes / 2));
    const failed = await upscale(['run', '-i', input, '-o', output, ...ARGS]);
    assert.equal(failed.code, 3, explain(failed));
    assert.match(failed.message, new RegExp(`^upscale run: assemble .*: no space left on device \\(ENOSPC\\) writing ${disk}/\\.assemble-full\\.mkv\\.\\w+\\.partial`, 'm'));
    assert.equal((await checkedManifests(output)).size, SHARDS);
    assert.equal(existsSync(output), false);
    assert.deepEqual((await readdir(disk)).filter((n) => n.includes('.partial')), [], 'the partial output was deleted');
    await rerunFreed(output, SHARDS);
  });
});
