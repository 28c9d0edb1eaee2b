/**
 * `upscale run` checks the whole job before it upscales a frame: a bad output, codec, preset, CRF,
 * or the input as the output is refused before the engine starts (exit 2, a message naming the
 * option and the cause, nothing left in the output folder), and what it decides on the user's
 * behalf (codec, even size, dropped streams) is logged and shows in the output. Real ffmpeg, the
 * real model on the CPU, tiny clips.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { clip, ffprobeJson } from '../fixtures/clips.ts';
import { explain, upscale, type CliResult } from './cli.ts';

const EXIT_PERMANENT = 2;
const run = promisify(execFile);
const MODEL = ['-m', 'realesr-general-x4v3', '--ep', 'cpu', '--no-progress'];

interface StreamInfo {
  codec_name: string;
  codec_type: string;
  codec_tag_string?: string;
  profile?: string;
  width?: number;
  height?: number;
}
async function videoStream(path: string): Promise<StreamInfo> {
  const doc = (await ffprobeJson(path, ['-show_streams'])) as { streams: StreamInfo[] };
  const v = doc.streams.find((s) => s.codec_type === 'video');
  assert.ok(v, `${path} has a video stream`);
  return v;
}

describe('upscale run checks the job before upscaling', () => {
  let dir: string;
  let input: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-preflight-'));
    input = join(dir, 'in.mp4');
    await copyFile(await clip('tiny-basic'), input);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** Runs in a fresh output folder; the input lives outside it unless the case puts it there. */
  async function refused(name: string, output: (out: string) => Promise<string> | string, extra: string[], mentions: RegExp[], from = (): string => input): Promise<void> {
    const out = join(dir, name);
    await mkdir(out);
    const target = await output(out);
    const before = (await readdir(out)).sort();
    const result: CliResult = await upscale(['run', '-i', from(), '-o', target, ...MODEL, ...extra], { timeoutMs: 60_000 });
    assert.equal(result.code, EXIT_PERMANENT, explain(result));
    for (const m of mentions) assert.match(result.message, m, explain(result));
    assert.doesNotMatch(result.stderr, /Planned shards|Started run|Upscaled frames/, 'refused before the engine and the plan');
    assert.deepEqual((await readdir(out)).sort(), before, 'nothing new in the output folder (no shards, no job prefix, no lock)');
  }

  const outputs: { name: string; output: string; extra?: string[]; mentions: RegExp[] }[] = [
    { name: 'webm-h264', output: 'x.webm', extra: ['--codec', 'h264'], mentions: [/--codec h264 cannot be stored in .*x\.webm \(\.webm takes av1\)/] },
    { name: 'avi', output: 'x.avi', mentions: [/-o\/--output .*x\.avi: unsupported output extension \(use one of \.mp4/] },
    { name: 'gif', output: 'x.gif', mentions: [/x\.gif: unsupported output extension/] },
    { name: 'png', output: 'x.png', mentions: [/x\.png: unsupported output extension for a video input: it names a still image format/] },
    { name: 'noext', output: 'x', mentions: [/-o\/--output .*\/x: unsupported output extension/] },
    { name: 'ffv1-mp4', output: 'x.mp4', extra: ['--codec', 'ffv1'], mentions: [/--codec ffv1 cannot be stored in .*x\.mp4 \(\.mp4 takes h264, hevc, av1\)/] },
    { name: 'hevc-webm', output: 'x.webm', extra: ['--codec', 'hevc'], mentions: [/--codec hevc cannot be stored in .*x\.webm/] },
    { name: 'preset-bogus', output: 'x.mp4', extra: ['--preset', 'bogus'], mentions: [/--preset bogus is not a preset of libx264 \(--codec h264\): use ultrafast/] },
    { name: 'preset-av1-medium', output: 'x.mkv', extra: ['--codec', 'av1', '--preset', 'medium'], mentions: [/--preset medium is not a preset of libsvtav1 \(--codec av1\): use 0-13/] },
    { name: 'crf-60-h264', output: 'x.mp4', extra: ['--crf', '60', '--codec', 'h264'], mentions: [/--crf 60 is outside the CRF range of libx264 \(--codec h264\): use 0-51/] },
    { name: 'scale-and-width', output: 'x.mp4', extra: ['--scale', '2', '--width', '200'], mentions: [/--scale and --width\/--height/] },
  ];
  for (const c of outputs) {
    it(`refuses ${c.name} before the engine starts`, () => refused(c.name, (out) => join(out, c.output), c.extra ?? [], c.mentions));
  }

  it('refuses a directory as output', () => refused('dir-out', async (out) => {
    await mkdir(join(out, 'videos'));
    return join(out, 'videos');
  }, [], [/-o\/--output .*videos is a directory: name the output file/]));

  it('refuses the input as output, even with --overwrite', () =>
    refused(
      'same',
      async (out) => {
        await copyFile(input, join(out, 'a.mp4'));
        return join(out, 'a.mp4');
      },
      ['--overwrite'],
      [/is the input .*a\.mp4.*even with --overwrite/],
      () => join(dir, 'same', 'a.mp4'),
    ));

  it('refuses a symlink to the input and ./a.mp4 against a.mp4 as output', async () => {
    const out = join(dir, 'links');
    await mkdir(out);
    const a = join(out, 'a.mp4');
    await copyFile(input, a);
    await symlink(a, join(out, 'link.mp4'));
    for (const [i, o] of [[a, join(out, 'link.mp4')], ['./a.mp4', 'a.mp4']] as const) {
      const result = await upscale(['run', '-i', i, '-o', o, ...MODEL, '--overwrite'], { cwd: out, timeoutMs: 60_000 });
      assert.equal(result.code, EXIT_PERMANENT, explain(result));
      assert.match(result.message, /is the input .*: the output is written while the input is still read/);
    }
    assert.deepEqual((await readdir(out)).sort(), ['a.mp4', 'link.mp4'], 'source kept, nothing added');
  });

  it('says a directory input is a directory and what is read', async () => {
    const result = await upscale(['run', '-i', dir, '-o', join(dir, 'never.mp4'), ...MODEL], { timeoutMs: 60_000 });
    assert.equal(result.code, EXIT_PERMANENT, explain(result));
    assert.match(result.message, /-i\/--input .* is a directory, not a video file: upscale reads one video file \(MP4, MOV, MKV/);
  });

  it('says a PNG input is a still image that needs a still output, not that ffmpeg would follow references', async () => {
    const png = join(dir, 'still.png');
    await run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=s=64x48', '-frames:v', '1', png]);
    const result = await upscale(['run', '-i', png, '-o', join(dir, 'still-out.mp4'), ...MODEL], { timeoutMs: 60_000 });
    assert.equal(result.code, EXIT_PERMANENT, explain(result));
    assert.match(result.message, /still-out\.mp4: the input .*still\.png is a still image \(png\) and .*still-out\.mp4 has a video extension: write a still image/);
    assert.doesNotMatch(result.message, /follow references/);
  });

  it('picks AV1 for .webm when no codec is named, and logs the choice', async () => {
    const output = join(dir, 'auto.webm');
    const result = await upscale(['run', '-i', input, '-o', output, ...MODEL, '--scale', '2']);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /Decided output: chose av1 \(libsvtav1\)/);
    assert.equal((await videoStream(output)).codec_name, 'av1');
  });

  it('picks HEVC Main 10 tagged hvc1 for a 10-bit source into .mp4, and logs it', async () => {
    const output = join(dir, 'deep.mp4');
    const result = await upscale(['run', '-i', await clip('tiny-hevc10'), '-o', output, ...MODEL, '--scale', '2']);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /chose hevc \(libx265, Main 10, tagged hvc1\).*10-bit/);
    const v = await videoStream(output);
    assert.equal(v.codec_name, 'hevc');
    assert.equal(v.profile, 'Main 10');
    assert.equal(v.codec_tag_string, 'hvc1');
  });

  it('makes an odd size even for 4:2:0 (--scale 3 on 41x31) and says so', async () => {
    const odd = join(dir, 'odd.mkv');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', input, '-vf', 'scale=41:31', '-c:v', 'ffv1', '-an', odd]);
    const output = join(dir, 'odd-out.mp4');
    const result = await upscale(['run', '-i', odd, '-o', output, ...MODEL, '--scale', '3']);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /output size 123x93 made even: 122x92 \(libx264 encodes 4:2:0/);
    const v = await videoStream(output);
    assert.deepEqual([v.width, v.height], [122, 92]);
  });

  it('upscales to --width/--height (one keeps the aspect), even for 4:2:0', async () => {
    const both = join(dir, 'wh.mp4');
    let result = await upscale(['run', '-i', input, '-o', both, ...MODEL, '--width', '129', '--height', '97']);
    assert.equal(result.code, 0, explain(result));
    let v = await videoStream(both);
    assert.deepEqual([v.width, v.height], [128, 96]);
    const one = join(dir, 'w.mkv');
    result = await upscale(['run', '-i', input, '-o', one, ...MODEL, '--width', '100']);
    assert.equal(result.code, 0, explain(result));
    v = await videoStream(one);
    assert.deepEqual([v.width, v.height], [100, 74], '64x48 at width 100 is 100x75, made even');
  });

  it('logs a second video stream it drops', async () => {
    const two = join(dir, 'two-video.mkv');
    await run('ffmpeg', ['-v', 'error', '-y', '-i', input, '-i', input, '-map', '0:v', '-map', '1:v', '-map', '0:a', '-c', 'copy', two]);
    const output = join(dir, 'two-out.mkv');
    const result = await upscale(['run', '-i', two, '-o', output, ...MODEL, '--scale', '2']);
    assert.equal(result.code, 0, explain(result));
    assert.match(result.stderr, /video stream 1 \(h264\) dropped: only the first video stream is upscaled/);
  });
});
