import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { encoderTableRun, parseEncoderTable, pixelFormatTableRun, TableRunError } from './ffmpeg-tables.ts';
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

  it('refuse a binary that fails, naming it and how it ended, and do not remember the failure', async () => {
    process.env['FFMPEG_PATH'] = '/bin/false';
    await assert.rejects(encoderTableRun(), (e: unknown) => e instanceof TableRunError && e.errno === undefined && e.message === '/bin/false -encoders exited 1');
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
