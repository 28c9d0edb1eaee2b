import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { encoderRunBanner, encoderTableRun, parseEncoderTable, pixelFormatTableRun, TableRunError } from './ffmpeg-tables.ts';
import { parseFfmpegVersion } from './ffmpeg-version.ts';

const saved = process.env['FFMPEG_PATH'];

describe('parseEncoderTable', () => {
  it('reads the rows below the legend, with the experimental column', () => {
    const text = [
      'Encoders:',
      ' V..... = Video',
      ' ...X.. = Codec is experimental',
      ' ------',
      ' V....D libx264              libx264 H.264 / AVC / MPEG-4 AVC (codec h264)',
      ' V..X.D avui                 Avid Meridien Uncompressed',
      ' A....D aac                  AAC (Advanced Audio Coding)',
      '',
    ].join('\n');
    assert.deepEqual([...parseEncoderTable(text)], [
      ['libx264', { experimental: false }],
      ['avui', { experimental: true }],
      ['aac', { experimental: false }],
    ]);
  });
});

describe('table runs', () => {
  afterEach(() => {
    if (saved === undefined) delete process.env['FFMPEG_PATH'];
    else process.env['FFMPEG_PATH'] = saved;
  });

  it("carry each binary's version in the banner, as -version prints it", async () => {
    const [encoders, formats] = await Promise.all([encoderTableRun(), pixelFormatTableRun()]);
    assert.ok(parseEncoderTable(encoders.stdout).has('libx264'));
    assert.match(parseFfmpegVersion(encoders.banner)?.version ?? '', /\d/);
    assert.ok(parseFfmpegVersion(encoders.banner)?.libavcodec);
    assert.match(formats.banner, /^ffprobe version /);
    assert.ok((JSON.parse(formats.stdout) as { pixel_formats: unknown[] }).pixel_formats.length > 100);
  });

  it('give the banner as soon as it is printed, before the run ends', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffmpeg-tables-'));
    try {
      // The real ffmpeg, then 4 s more before the run ends.
      const path = join(dir, 'slow-ffmpeg');
      await writeFile(path, `#!/bin/sh\n'${saved ?? 'ffmpeg'}' "$@"\nstatus=$?\nsleep 4\nexit $status\n`, { mode: 0o755 });
      process.env['FFMPEG_PATH'] = path;
      const began = Date.now();
      const at = (p: Promise<unknown>): Promise<number> => p.then(() => Date.now() - began);
      const [bannerAt, doneAt] = await Promise.all([at(encoderRunBanner()), at(encoderTableRun())]);
      assert.match(await encoderRunBanner(), /^ffmpeg version \S+/);
      assert.ok(doneAt >= 4000, `run ended after ${doneAt} ms`);
      assert.ok(bannerAt < doneAt - 2000, `banner after ${bannerAt} ms, run ended after ${doneAt} ms`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse a binary that fails, naming it and how it ended, and do not remember the failure', async () => {
    process.env['FFMPEG_PATH'] = '/bin/false';
    await assert.rejects(encoderTableRun(), (e: unknown) => e instanceof TableRunError && e.errno === undefined && e.message === '/bin/false -encoders exited 1');
    await assert.rejects(encoderRunBanner(), (e: unknown) => e instanceof TableRunError && e.message === '/bin/false -encoders exited 1');
    const dir = await mkdtemp(join(tmpdir(), 'ffmpeg-tables-'));
    try {
      const path = join(dir, 'ffmpeg');
      process.env['FFMPEG_PATH'] = path;
      await assert.rejects(encoderTableRun(), (e: unknown) => e instanceof TableRunError && e.errno === 'ENOENT' && e.path === path);
      // Installed since: the next call runs it.
      await writeFile(path, `#!/bin/sh\nexec '${saved ?? 'ffmpeg'}' "$@"\n`, { mode: 0o755 });
      assert.ok(parseEncoderTable((await encoderTableRun()).stdout).has('libx264'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('answers kept on disk', () => {
  /** Runs the encoder table in a fresh process (the per-process cache is empty there). */
  async function tableInChild(env: NodeJS.ProcessEnv): Promise<string> {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = `const m = await import(${JSON.stringify(new URL('./ffmpeg-tables.ts', import.meta.url).href)}); const t = await m.encoderTableRun(); console.log(m.parseEncoderTable(t.stdout).has('libx264'), /^ffmpeg version /.test(t.banner));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...env } });
    return stdout.trim();
  }

  it('a process with the same ffmpeg starts none; a replaced ffmpeg, or the cache off, is asked afresh', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffmpeg-answers-'));
    try {
      const starts = join(dir, 'starts.log');
      const wrapper = join(dir, 'ffmpeg');
      const writeWrapper = (extra: string): Promise<void> => writeFile(wrapper, `#!/bin/sh\n# ${extra}\necho "$*" >> '${starts}'\nexec '${saved ?? 'ffmpeg'}' "$@"\n`, { mode: 0o755 });
      const count = async (): Promise<number> => (await import('node:fs/promises')).readFile(starts, 'utf8').then((t) => t.trim().split('\n').length, () => 0);
      const env = { FFMPEG_PATH: wrapper, UPSCALE_FFMPEG_CACHE: join(dir, 'cache') };
      await writeWrapper('first');
      assert.equal(await tableInChild(env), 'true true');
      assert.equal(await count(), 1);
      // Written after the run: the next process finds it.
      for (let i = 0; i < 50 && (await (await import('node:fs/promises')).readdir(join(dir, 'cache')).catch(() => [])).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await tableInChild(env), 'true true');
      assert.equal(await count(), 1, 'the second process ran ffmpeg again');
      await writeWrapper('upgraded'); // another file: other size, times
      assert.equal(await tableInChild(env), 'true true');
      assert.equal(await count(), 2, 'a replaced ffmpeg was not asked');
      assert.equal(await tableInChild({ ...env, UPSCALE_FFMPEG_CACHE: 'off' }), 'true true');
      assert.equal(await count(), 3, 'UPSCALE_FFMPEG_CACHE=off still used the cache');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a cache folder that cannot be written is no cache, not an error', async () => {
    const env = { UPSCALE_FFMPEG_CACHE: join(new URL(import.meta.url).pathname, 'cache') /* under a file: ENOTDIR */ };
    assert.equal(await tableInChild(env), 'true true');
    assert.equal(await tableInChild(env), 'true true');
  });
});
