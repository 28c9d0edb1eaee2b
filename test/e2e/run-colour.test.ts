/**
 * `upscale run` end to end on colour and field structure, with the real model on CPU and sources
 * made here with ffmpeg's lavfi sources (tiny, one to six frames):
 * - an untagged SD colour chart upscaled to HD reads back, as a player reads it (with the tags the
 *   file carries; untagged: BT.601 below 720 lines, BT.709 from 720), within 3 levels per patch of
 *   what the model makes of the chart as a player shows it (the model itself lifts flat patches by
 *   up to 6 levels, so the reference is the engine's output for the same RGB frame);
 * - an interlaced clip comes out progressive with the same frames and timestamps, and the log says
 *   it was deinterlaced (or, with `--deinterlace off`, that its fields were kept);
 * - RGB-coded (gbrp, bgr0), gray, alpha and 4:2:2/4:4:4 sources come out playable and tagged.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createEngine } from '../../worker/engine/engine.ts';
import { videoFramemd5, videoPtsSeconds } from '../fixtures/clips.ts';
import { explain, upscale } from './cli.ts';
import { decodedFrames, videoStream } from './media-checks.ts';

const run = promisify(execFile);

async function ffmpeg(args: string[]): Promise<void> {
  await run('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args]);
}

/** swscale's matrix name for a `color_space` tag, or the player's default for the height when untagged. */
function playerMatrix(colorSpace: string | undefined, height: number): string {
  if (colorSpace === undefined || colorSpace === 'unknown') return height >= 720 ? 'bt709' : 'bt601';
  return ({ bt470bg: 'bt470', bt2020nc: 'bt2020', smpte170m: 'smpte170m', bt709: 'bt709' } as Record<string, string>)[colorSpace] ?? 'bt601';
}

/** The first frame as a player shows it: RGB decoded with the file's tags (or the player's defaults). */
async function asPlayerShows(path: string): Promise<{ rgb: Buffer; width: number; height: number }> {
  const v = await videoStream(path);
  const width = Number(v['width']);
  const height = Number(v['height']);
  const range = v['color_range'] === 'pc' ? 'pc' : 'tv';
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', path, '-frames:v', '1', '-vf', `scale=in_color_matrix=${playerMatrix(v.color_space, height)}:in_range=${range}:flags=accurate_rnd+full_chroma_int,format=rgb24`, '-f', 'rawvideo', '-'],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  return { rgb: stdout, width, height };
}

/** Mean RGB of the middle half of the patch at column `c`, row `r` of a `cols` x `rows` grid. */
function patchMean(f: { rgb: Buffer; width: number; height: number }, cols: number, rows: number, c: number, r: number): number[] {
  const pw = f.width / cols;
  const ph = f.height / rows;
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = Math.round(r * ph + ph / 4); y < Math.round(r * ph + (3 * ph) / 4); y++) {
    for (let x = Math.round(c * pw + pw / 4); x < Math.round(c * pw + (3 * pw) / 4); x++) {
      for (let k = 0; k < 3; k++) sum[k] = (sum[k] as number) + (f.rgb[(y * f.width + x) * 3 + k] as number);
      n++;
    }
  }
  return sum.map((s) => s / n);
}

/** The HDR10 side data of a file's first frame, as ffprobe prints it. */
async function firstFrameSideData(path: string): Promise<unknown[]> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#1', '-show_frames', '-show_entries', 'frame=side_data_list', '-of', 'json', path]);
  const list = ((JSON.parse(stdout) as { frames: { side_data_list?: { side_data_type: string }[] }[] }).frames[0]?.side_data_list ?? []).filter((d) => /Mastering|Content light/.test(d.side_data_type));
  assert.equal(list.length, 2, `${path}: mastering display and content light metadata`);
  return list;
}

const PATCHES = ['0xC81E1E', '0x1EC81E', '0x1E1EC8', '0xE6D21E', '0x1ED2E6', '0xD21ED2', '0xE68C28', '0x8C8C8C'];

describe('upscale run: colour and field structure', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-colour-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('an untagged SD colour chart upscaled to HD shows its patches within 3 levels', async () => {
    // 4 x 2 saturated patches, 192x180 (x4: 768x720, HD), lossless and untagged.
    const boxes = PATCHES.map((c, i) => `drawbox=x=${(i % 4) * 48}:y=${Math.floor(i / 4) * 90}:w=48:h=90:color=${c}:t=fill`).join(',');
    const source = join(dir, 'chart.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', `color=c=black:s=192x180:r=25,format=yuv444p,${boxes}`, '-frames:v', '1', '-c:v', 'libx264', '-qp', '0', '-pix_fmt', 'yuv444p', source]);
    assert.equal((await videoStream(source)).color_space, undefined, 'the chart is untagged');
    const output = join(dir, 'chart-hd.mp4');
    const res = await upscale(['run', '-i', source, '-o', output, '--ep', 'cpu', '--no-progress']);
    assert.equal(res.code, 0, explain(res));
    const v = await videoStream(output);
    assert.deepEqual([v.color_space, v.color_primaries, v.color_transfer, v['color_range']], ['bt709', 'smpte170m', 'smpte170m', 'tv'], 'explicit tags');
    const [src, out] = [await asPlayerShows(source), await asPlayerShows(output)];
    assert.equal(out.height, 720);
    const engine = await createEngine({ provider: 'cpu', model: { id: 'realesr-general-x4v3' } }, { logger: pino({ level: 'warn' }) });
    const modelled = await engine.upscale({ data: src.rgb, width: src.width, height: src.height, index: 0 }).finally(() => engine.close());
    const want = { rgb: Buffer.from(modelled.data.buffer, modelled.data.byteOffset, modelled.data.byteLength), width: modelled.width, height: modelled.height };
    PATCHES.forEach((colour, i) => {
      const [a, b] = [patchMean(want, 4, 2, i % 4, Math.floor(i / 4)), patchMean(out, 4, 2, i % 4, Math.floor(i / 4))];
      const off = Math.max(...a.map((x, k) => Math.abs(x - (b[k] as number))));
      assert.ok(off <= 3, `patch ${colour}: the model makes ${a.map(Math.round).join(',')}, the output shows ${b.map(Math.round).join(',')} (${off.toFixed(1)} levels off)`);
    });
  });

  it('an interlaced clip comes out progressive with the same frames and timestamps, and the log says so', async () => {
    const source = join(dir, 'interlaced.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25', '-frames:v', '6', '-vf', 'setfield=tff', '-c:v', 'libx264', '-flags', '+ildct+ilme', '-x264-params', 'tff=1', '-pix_fmt', 'yuv420p', source]);
    assert.match(String((await videoStream(source))['field_order']), /^(tt|tb)$/, 'the source is interlaced, top field first');
    const output = join(dir, 'interlaced-out.mkv');
    // Two shards: the second starts mid-stream, after the deinterlacer's first frame.
    const res = await upscale(['run', '-i', source, '-o', output, '--shard-frames', '3', '--ep', 'cpu', '--no-progress']);
    assert.equal(res.code, 0, explain(res));
    assert.match(res.stderr, /Deinterlaced interlaced source before upscaling/);
    assert.equal((await videoStream(output))['field_order'], 'progressive');
    assert.equal(await decodedFrames(output), 6);
    assert.deepEqual(await videoPtsSeconds(output), await videoPtsSeconds(source));

    const kept = join(dir, 'interlaced-kept.mkv');
    const off = await upscale(['run', '-i', source, '-o', kept, '--deinterlace', 'off', '--ep', 'cpu', '--no-progress']);
    assert.equal(off.code, 0, explain(off));
    assert.match(off.stderr, /Kept the fields of interlaced source/);
    assert.doesNotMatch(off.stderr, /Deinterlaced/);
    const [deinterlaced, fields] = [await videoFramemd5(output), await videoFramemd5(kept)];
    assert.equal(deinterlaced.length, 6);
    assert.ok(deinterlaced.every((h, i) => h !== fields[i]), 'deinterlacing changed every picture');
  });

  it('an HDR10 source keeps its BT.2020 / PQ tags, 10 bits and mastering metadata (HEVC)', async () => {
    const source = join(dir, 'hdr10.mkv');
    const mastering = 'master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50):max-cll=1000,400';
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25', '-frames:v', '2', '-c:v', 'libx265', '-x265-params', `log-level=error:hdr10=1:${mastering}`, '-pix_fmt', 'yuv420p10le',
      // On the frames too: ffmpeg 7.x opens the encoder with the first frame's colour properties.
      '-vf', 'setparams=range=tv:colorspace=bt2020nc:color_primaries=bt2020:color_trc=smpte2084',
      '-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', '-color_range', 'tv', source]);
    const s = await videoStream(source);
    assert.deepEqual([s.color_space, s.color_primaries, s.color_transfer], ['bt2020nc', 'bt2020', 'smpte2084'], 'the source is tagged HDR10');
    const output = join(dir, 'hdr10-out.mkv');
    const res = await upscale(['run', '-i', source, '-o', output, '--codec', 'hevc', '--ep', 'cpu', '--no-progress']);
    assert.equal(res.code, 0, explain(res));
    const v = await videoStream(output);
    assert.deepEqual([v.pix_fmt, v.color_space, v.color_primaries, v.color_transfer, v['color_range']], ['yuv420p10le', 'bt2020nc', 'bt2020', 'smpte2084', 'tv']);
    assert.deepEqual(await firstFrameSideData(output), await firstFrameSideData(source));
  });

  const FORMATS: { pixFmt: string; encode: string[]; warns?: RegExp }[] = [
    { pixFmt: 'gbrp', encode: ['-c:v', 'libx264rgb', '-qp', '0', '-pix_fmt', 'gbrp'] },
    { pixFmt: 'bgr0', encode: ['-c:v', 'ffv1', '-pix_fmt', 'bgr0'] },
    { pixFmt: 'gray', encode: ['-c:v', 'ffv1', '-pix_fmt', 'gray'] },
    { pixFmt: 'yuva420p', encode: ['-c:v', 'ffv1', '-pix_fmt', 'yuva420p'], warns: /Dropped the alpha channel/ },
    { pixFmt: 'yuv422p', encode: ['-c:v', 'libx264', '-pix_fmt', 'yuv422p'] },
    { pixFmt: 'yuv444p', encode: ['-c:v', 'libx264', '-pix_fmt', 'yuv444p'] },
  ];
  for (const f of FORMATS) {
    it(`a ${f.pixFmt} source comes out playable H.264 with explicit tags`, async () => {
      const source = join(dir, `${f.pixFmt}.mkv`);
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=64x48:r=25', '-frames:v', '2', ...f.encode, source]);
      assert.equal((await videoStream(source)).pix_fmt, f.pixFmt);
      const output = join(dir, `${f.pixFmt}-out.mp4`);
      const res = await upscale(['run', '-i', source, '-o', output, '--ep', 'cpu', '--no-progress']);
      assert.equal(res.code, 0, explain(res));
      if (f.warns) assert.match(res.stderr, f.warns);
      const v = await videoStream(output);
      assert.deepEqual([v.codec_name, v.pix_fmt, v.color_space, v['color_range'], Number(v['height'])], ['h264', 'yuv420p', 'smpte170m', 'tv', 192]);
      assert.ok(v.color_primaries !== undefined && v.color_transfer !== undefined, 'primaries and transfer tagged');
      assert.equal(await decodedFrames(output), 2);
      // The pictures are the source's: the middle of the output, scaled back, matches the source.
      const [src, out] = [await asPlayerShows(source), await asPlayerShows(output)];
      const a = patchMean(src, 4, 4, 1, 1);
      const b = patchMean(out, 4, 4, 1, 1);
      const offBy = Math.max(...a.map((x, k) => Math.abs(x - (b[k] as number))));
      assert.ok(offBy <= 12, `${f.pixFmt}: source ${a.map(Math.round).join(',')}, output ${b.map(Math.round).join(',')}`);
    });
  }
});
