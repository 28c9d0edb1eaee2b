import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { UpscaleError } from '../errors.ts';
import { requireSupportedFfmpeg } from './ffmpeg-check.ts';
import { availableEncoders } from './encoders.ts';
import { pixelFormatInfo } from './pixel-formats.ts';

const saved = { ffmpeg: process.env['FFMPEG_PATH'], ffprobe: process.env['FFPROBE_PATH'] };
function restore(name: 'FFMPEG_PATH' | 'FFPROBE_PATH', value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

describe('requireSupportedFfmpeg', () => {
  afterEach(() => {
    restore('FFMPEG_PATH', saved.ffmpeg);
    restore('FFPROBE_PATH', saved.ffprobe);
  });

  it('accepts the ffmpeg and ffprobe this machine runs and reports their versions', async () => {
    const first = (tool: string): string => execFileSync(process.env[tool === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH'] ?? tool, ['-version'], { encoding: 'utf8' }).split('\n', 1)[0] ?? '';
    const found = await requireSupportedFfmpeg();
    assert.equal(first('ffmpeg').split(' ')[2], found.ffmpeg);
    assert.equal(first('ffprobe').split(' ')[2], found.ffprobe);
  });

  it('refuses a missing ffprobe, naming the path and the variable to set', async () => {
    process.env['FFPROBE_PATH'] = '/nonexistent/ffprobe';
    await assert.rejects(requireSupportedFfmpeg(), (e: unknown) => {
      assert.ok(e instanceof UpscaleError);
      assert.equal(e.code, 'Unsupported');
      assert.equal(e.permanent, true);
      assert.equal(e.message, 'ffprobe was not found: /nonexistent/ffprobe; install ffmpeg 5.1 or later, or point FFPROBE_PATH at one');
      return true;
    });
  });

  it('takes an ffprobe killed by a signal as it starts (a pod\'s SIGTERM to the group) for a transient failure, not a broken install, and caches no empty pixel-format table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffmpeg-check-killed-'));
    try {
      // Dies by SIGTERM, as a child of a pod being deleted does.
      const killed = join(dir, 'ffprobe');
      await writeFile(killed, '#!/bin/sh\nkill -TERM $$\n');
      await chmod(killed, 0o755);
      process.env['FFPROBE_PATH'] = killed;
      await assert.rejects(requireSupportedFfmpeg(), (e: unknown) => {
        assert.ok(e instanceof UpscaleError);
        assert.equal(e.permanent, false, e.message);
        assert.equal(e.message, `ffprobe was killed by SIGTERM while it started (${killed})`);
        return true;
      });
      await assert.rejects(pixelFormatInfo('yuv420p'), /was killed by SIGTERM/);
      // The next run of a working ffprobe at that path has the table: nothing empty was kept.
      await writeFile(killed, `#!/bin/sh\nexec '${saved.ffprobe ?? 'ffprobe'}' "$@"\n`);
      assert.equal((await pixelFormatInfo('yuv420p10le'))?.bitDepth, 10);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a binary that is not ffmpeg', async () => {
    process.env['FFMPEG_PATH'] = '/bin/true';
    await assert.rejects(requireSupportedFfmpeg(), (e: unknown) => e instanceof UpscaleError && e.code === 'Unsupported' && /^ffmpeg at \/bin\/true printed no version/.test(e.message));
  });

  it('runs each binary path once per process, for the version and its table, and a new path afresh', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffmpeg-check-'));
    try {
      // Wrappers around the real binaries that count their runs.
      const wrap = async (name: string, real: string): Promise<string> => {
        const path = join(dir, name);
        await writeFile(path, `#!/bin/sh\necho run >> '${path}.runs'\nexec '${real}' "$@"\n`);
        await chmod(path, 0o755);
        return path;
      };
      const runs = (path: string): Promise<number> => readFile(`${path}.runs`, 'utf8').then((t) => t.split('\n').filter(Boolean).length, () => 0);
      const ffmpeg = await wrap('ffmpeg-a', saved.ffmpeg ?? 'ffmpeg');
      const ffprobe = await wrap('ffprobe-a', saved.ffprobe ?? 'ffprobe');
      process.env['FFMPEG_PATH'] = ffmpeg;
      process.env['FFPROBE_PATH'] = ffprobe;
      const first = await requireSupportedFfmpeg();
      assert.deepEqual(await Promise.all([requireSupportedFfmpeg(), requireSupportedFfmpeg()]), [first, first]);
      assert.equal(await runs(ffmpeg), 1);
      assert.equal(await runs(ffprobe), 1);
      // The encoder and pixel-format tables come from the very runs whose banners gave the versions.
      assert.ok((await availableEncoders()).has('libx264'));
      assert.equal((await pixelFormatInfo('yuv420p10le'))?.bitDepth, 10);
      assert.equal(await runs(ffmpeg), 1);
      assert.equal(await runs(ffprobe), 1);
      const other = await wrap('ffmpeg-b', saved.ffmpeg ?? 'ffmpeg');
      process.env['FFMPEG_PATH'] = other;
      assert.deepEqual(await requireSupportedFfmpeg(), first);
      assert.equal(await runs(other), 1);
      assert.equal(await runs(ffprobe), 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
