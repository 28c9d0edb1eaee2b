/**
 * The launcher (bin/upscale.js) and the compile cache it turns on (bin/compile-cache.js) are
 * JavaScript: with a warm cache, a start loads no TypeScript stripper at all. A `.ts` entry is
 * stripped before the cache is on, so Node loaded its stripper (amaro) in every process (0.04-0.05 s
 * of a 2-core machine's start).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO } from '../test/fixtures/clips.ts';

const run = promisify(execFile);

test('with a warm compile cache, `upscale --version` loads no TypeScript stripper', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entry-'));
  try {
    const recorder = join(dir, 'recorder.mjs');
    // Node's own module list: the stripper is an internal module, invisible to module hooks.
    await writeFile(recorder, "process.on('exit', () => process.stderr.write('STRIPPER ' + process.moduleLoadList.filter((m) => m.includes('amaro')).length + '\\n'));\n");
    const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '', HOME: dir, XDG_CACHE_HOME: join(dir, 'cache') };
    const start = async (): Promise<{ stdout: string; loads: number }> => {
      const { stdout, stderr } = await run(process.execPath, ['--import', recorder, join(REPO, 'bin', 'upscale.js'), '--version'], { env });
      const m = /STRIPPER (\d+)/.exec(stderr);
      assert.ok(m, `the recorder ran: ${stderr}`);
      return { stdout: stdout.trim(), loads: Number(m[1]) };
    };
    const cold = await start();
    assert.match(cold.stdout, /^\d+\.\d+\.\d+$/);
    assert.equal(cold.loads, 1, 'the first start strips the TypeScript modules (the recorder sees the stripper load)');
    const warm = await start();
    assert.equal(warm.stdout, cold.stdout);
    assert.equal(warm.loads, 0, 'a start with the cache filled loads the stripper');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
