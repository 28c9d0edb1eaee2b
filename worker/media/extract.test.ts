import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { clip, decodeAllRgb, ffprobeJson } from '../../test/fixtures/clips.ts';
import { MediaError } from './errors.ts';
import { decoderComplaint, extractFrames, seekPlan, type ExtractStats, type Frame } from './extract.ts';
import { buildFrameIndex, ptsList } from './frame-index.ts';
import { probe } from './probe.ts';
import type { Probe } from './probe-schema.ts';

async function collect(it: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

/** The same colour conversion extraction uses, run by ffmpeg alone over the whole file. */
function reference(p: Probe, format: string): string {
  const m = p.video.colorSpace === 'bt709' ? 'bt709' : 'bt601';
  return `scale=in_color_matrix=${m}:in_range=tv:flags=bicubic+accurate_rnd+full_chroma_int,format=${format}`;
}

describe('extractFrames', () => {
  it('decodes ranges off keyframes in an open-GOP B-frame stream exactly as a whole-file decode', async () => {
    const path = await clip('bframes');
    const p = await probe(path);
    const whole = await decodeAllRgb(path, reference(p, 'rgb24'));
    const size = 160 * 120 * 3;
    assert.equal(whole.length, 48 * size);
    // Keyframes are 0, 12, 24, 36; 9-11 are open-GOP leading B-frames of keyframe 12.
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    for (const [start, end] of [[17, 31], [0, 17], [31, 48], [11, 12], [9, 13], [12, 13], [47, 48]] as const) {
      let stats: ExtractStats | undefined;
      const frames = await collect(extractFrames({ input: path, probe: p, start, end, log, onStats: (s) => (stats = s) }));
      assert.equal(frames.length, end - start, `[${start},${end})`);
      assert.deepEqual(frames.map((f) => f.index), Array.from({ length: end - start }, (_, i) => start + i));
      assert.deepEqual(frames.map((f) => f.pts), ptsList(p.frames, start, end));
      frames.forEach((f) => assert.ok(f.data.equals(whole.subarray(f.index * size, (f.index + 1) * size)), `frame ${f.index} of [${start},${end}) differs`));
      assert.equal(stats?.frames, end - start);
      assert.equal(stats?.attempts, 1);
      assert.ok(stats.seekFrame <= start && p.frames.keyframes.includes(stats.seekFrame));
    }
    // Leading pictures decoded from a recovery point are not damage.
    assert.deepEqual(warnings, []);
  });

  describe('a damaged source', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'extract-damage-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });
    /** 'noaudio' (no B-frames) with `n` bytes of noise at `offset` into video packet `packet`. */
    async function damaged(name: string, packet: number, at: (size: number) => number, n: number): Promise<{ path: string; p: Probe }> {
      const src = await clip('noaudio');
      const { packets } = (await ffprobeJson(src, ['-select_streams', 'v:0', '-show_entries', 'packet=pos,size'])) as { packets: { pos: string; size: string }[] };
      const k = packets[packet];
      assert.ok(k, `packet ${packet} of ${src}`);
      const bytes = await readFile(src);
      let x = 12345;
      for (let i = 0, pos = Number(k.pos) + at(Number(k.size)); i < n; i++) {
        x = (x * 1103515245 + 12345) >>> 0;
        bytes[pos + i] = x >>> 24;
      }
      const path = join(dir, name);
      await writeFile(path, bytes);
      return { path, p: await probe(path) };
    }
    type Warning = { nearFrame: number; lines: number; decoder: string; msg: string };
    const capture = (into: Warning[]) => pino({ level: 'warn' }, { write: (line: string) => void into.push(JSON.parse(line) as Warning) });

    it('says where the decoder concealed damage, and delivers every frame', async () => {
      // Noise in the middle of the keyframe's slice data: its macroblocks are concealed.
      const { path, p } = await damaged('concealed.mp4', 0, (size) => size >> 1, 64);
      const warnings: Warning[] = [];
      const frames = await collect(extractFrames({ input: path, probe: p, start: 0, end: 48, log: capture(warnings) }));
      assert.equal(frames.length, 48);
      assert.equal(warnings.length, 1, JSON.stringify(warnings));
      const w = warnings[0]!;
      assert.ok(w.nearFrame <= 1 && w.lines >= 1, JSON.stringify(w));
      assert.match(w.msg, /damaged data at or after frame \d+ and concealed it/);
      assert.ok(w.decoder.length > 0);
      const clean: Warning[] = [];
      assert.equal((await collect(extractFrames({ input: await clip('noaudio'), probe: await probe(await clip('noaudio')), start: 0, end: 48, log: capture(clean) }))).length, 48);
      assert.deepEqual(clean, [], 'the undamaged file decodes without a warning');
    });

    it('names the damage when the decoder loses a frame to it', async () => {
      // Noise over frame 5's slice header: the decoder outputs no picture for it.
      const { path, p } = await damaged('lost.mp4', 5, () => 4, 32);
      await assert.rejects(collect(extractFrames({ input: path, probe: p, start: 0, end: 48 })), (e: unknown) => {
        assert.ok(e instanceof MediaError && e.permanent, String(e));
        assert.match(e.message, /frame 5 decoded with pts \d+, expected \d+: the decoder met damaged data at or after frame [0-5] \(.+\) and could not decode every frame; repair or re-encode the source/);
        return true;
      });
    });
  });

  it("takes only the video decoder's own lines as its complaints", () => {
    assert.equal(decoderComplaint('[h264 @ 0x55bea267de00] error while decoding MB 0 4, bytestream 3282', 'h264'), 'error while decoding MB 0 4, bytestream 3282');
    assert.equal(decoderComplaint('[libdav1d @ 0x1] Error parsing OBU data', 'av1'), 'Error parsing OBU data');
    assert.equal(decoderComplaint('[Parsed_showinfo_1 @ 0x2] n: 0 pts: 0', 'h264'), undefined);
    assert.equal(decoderComplaint('[aac @ 0x3] Input buffer exhausted', 'h264'), undefined);
    assert.equal(decoderComplaint('frame=   10 fps=0.0', 'h264'), undefined);
  });

  it('delivers the last frames of a short final open GOP, which the decoder withholds when started on its I-frame', async () => {
    // 12 frames, keyframes 0, 4, 8 (open-GOP I-frames after 0); the final GOP is I8 P11 B9 B10 in
    // decode order. Decoding from I8, ffmpeg 5.1's H.264 decoder drops P11 at the end-of-file drain
    // (7.1's does not).
    const path = await clip('tiny-bframes');
    const p = await probe(path);
    assert.deepEqual(p.frames.keyframes, [0, 4, 8]);
    const whole = await decodeAllRgb(path, reference(p, 'rgb24'));
    const size = 64 * 48 * 3;
    for (const [start, end] of [[10, 12], [8, 12], [11, 12], [5, 12]] as const) {
      let stats: ExtractStats | undefined;
      const frames = await collect(extractFrames({ input: path, probe: p, start, end, onStats: (s) => (stats = s) }));
      assert.deepEqual(frames.map((f) => f.index), Array.from({ length: end - start }, (_, i) => start + i), `[${start},${end})`);
      assert.deepEqual(frames.map((f) => f.pts), ptsList(p.frames, start, end));
      frames.forEach((f) => assert.ok(f.data.equals(whole.subarray(f.index * size, (f.index + 1) * size)), `frame ${f.index} of [${start},${end}) differs`));
      assert.equal(stats?.frames, end - start);
      // From keyframe 8, ffmpeg 5.1's decoder loses frame 11, so extraction resumes once from keyframe 4
      // (7.1's keeps it: one attempt from 8); from keyframe 4 ([5,12)) it has output I4 before the
      // drain and one attempt gives every frame.
      const expected = start >= 8 ? [[2, 4], [1, 8]] : [[1, 4]];
      assert.ok(expected.some(([a, k]) => stats?.attempts === a && stats?.seekFrame === k), `[${start},${end}): ${stats?.attempts} attempts from frame ${stats?.seekFrame}`);
    }
  });

  it('plans seeks from the keyframe at or before the start back to frame 0, each earlier than the last', () => {
    const index = buildFrameIndex(Array.from({ length: 120 }, (_, i) => i * 10), new Set([0, 120, 240, 360, 480, 600, 720, 840, 960, 1080]), 10);
    assert.deepEqual(seekPlan(index, 100), [96, 84, 60, 0]);
    assert.deepEqual(seekPlan(index, 40), [36, 24, 0]);
    assert.deepEqual(seekPlan(index, 13), [12, 0]);
    assert.deepEqual(seekPlan(index, 5), [0]);
  });

  it('keeps 10 bits: 10-bit HEVC comes out as rgb48le equal to a whole-file decode', async () => {
    const path = await clip('hevc10');
    const p = await probe(path);
    const whole = await decodeAllRgb(path, reference(p, 'rgb48le'));
    const size = 160 * 120 * 6;
    const frames = await collect(extractFrames({ input: path, probe: p, start: 13, end: 27 }));
    assert.equal(frames.length, 14);
    frames.forEach((f) => assert.ok(f.data.equals(whole.subarray(f.index * size, (f.index + 1) * size)), `frame ${f.index}`));
    // Samples from an 8-bit source would all be multiples of 257 after widening to 16 bits.
    const first = frames[0]?.data ?? Buffer.alloc(0);
    let finer = 0;
    for (let i = 0; i < first.length; i += 2) if (first.readUInt16LE(i) % 257 !== 0) finer++;
    assert.ok(finer > first.length / 8, `only ${finer} samples use more than 8 bits`);
  });

  it('delivers upright frames for a rotated source', async () => {
    // 'rotated' is 'basic' (160x120) with a display matrix of 90 degrees counter-clockwise: upright is
    // 120x160, each frame basic's frame turned counter-clockwise.
    const path = await clip('rotated');
    const p = await probe(path);
    assert.deepEqual([p.video.rotation, p.video.displayWidth, p.video.displayHeight], [90, 120, 160]);
    const frames = await collect(extractFrames({ input: path, probe: p, start: 5, end: 7 }));
    const stored = await decodeAllRgb(await clip('basic'), reference(p, 'rgb24'));
    const size = 160 * 120 * 3;
    for (const f of frames) {
      assert.equal(f.data.length, size);
      const source = stored.subarray(f.index * size, (f.index + 1) * size);
      const turned = (clockwise: boolean): number => meanAbsDiff(f.data, rotate90(source, 160, 120, clockwise));
      const [ccw, cw] = [turned(false), turned(true)];
      // Turning before colour conversion (as ffmpeg does) differs from turning after it in a few
      // rounded samples (0.005 levels on average); the wrong way round is some 58 levels off.
      assert.ok(ccw < 0.1, `frame ${f.index}: ${ccw.toFixed(2)} levels from basic turned counter-clockwise`);
      assert.ok(cw > 10 * ccw + 5, `frame ${f.index}: counter-clockwise ${ccw.toFixed(2)}, clockwise ${cw.toFixed(2)} levels off`);
    }
  });

  it('returns each frame of a variable-rate source with its own timestamp', async () => {
    const path = await clip('vfr');
    const p = await probe(path);
    const frames = await collect(extractFrames({ input: path, probe: p, start: 3, end: 12 }));
    const deltas = frames.slice(1).map((f, i) => f.pts - (frames[i]?.pts ?? 0));
    assert.deepEqual(deltas, [3003, 4503, 3003, 3003, 3003, 3003, 4503, 3003]);
  });

  it('stops ffmpeg when the consumer stops early', async () => {
    const path = await clip('basic');
    const p = await probe(path);
    let stats: ExtractStats | undefined;
    let n = 0;
    let running: number[] = [];
    for await (const _ of extractFrames({ input: path, probe: p, start: 0, end: 48, onStats: (s) => (stats = s) })) {
      running = await childPids();
      if (++n === 2) break;
    }
    assert.equal(stats?.frames, 2);
    assert.equal(stats.attempts, 1);
    // ffmpeg (46 frames still to decode, blocked on the full pipe) ran while frames came, and has
    // exited once the loop is left: extraction awaits its exit before returning.
    assert.equal(running.length, 1, `children while extracting: ${running.join(', ')}`);
    assert.deepEqual(await childPids(), [], 'ffmpeg still runs after the consumer stopped');
  });

  it('rejects a range outside the video', async () => {
    const path = await clip('basic');
    const p = await probe(path);
    for (const [start, end] of [[-1, 3], [10, 10], [40, 49], [1.5, 3]]) {
      await assert.rejects(collect(extractFrames({ input: path, probe: p, start: start as number, end: end as number })), (e: unknown) => e instanceof MediaError && e.reason === 'InvalidOptions' && /not within the 48 frames/.test(e.message));
    }
  });

  it('fails loudly when a decoded timestamp differs from the index', async () => {
    const path = await clip('bframes');
    const p = await probe(path);
    // An index that is wrong about frame 20's timestamp (as a bad probe or a changed file would be).
    const pts = ptsList(p.frames, 0, 48);
    const doctored: Probe = { ...p, frames: { ...p.frames, ptsRuns: pts.map((t, i) => [i === 20 ? t + 1 : t, 0, 1] as [number, number, number]) } };
    await assert.rejects(collect(extractFrames({ input: path, probe: doctored, start: 17, end: 31 })), (e: unknown) => {
      assert.ok(e instanceof MediaError);
      assert.equal(e.reason, 'FrameMismatch');
      assert.equal(e.permanent, true);
      assert.match(e.message, /^extract .*bframes.*: frames \[17,31\): frame 20 decoded with pts \d+, expected \d+/);
      return true;
    });
  });

  it('fails loudly when the source has fewer frames than the index claims', async () => {
    const path = await clip('basic');
    const p = await probe(path);
    const [first, delta, count] = p.frames.ptsRuns[0] ?? [0, 0, 0];
    const longer: Probe = { ...p, frames: { ...p.frames, ptsRuns: [[first, delta, count + 2]], endPts: p.frames.endPts + 2 * delta } };
    await assert.rejects(collect(extractFrames({ input: path, probe: longer, start: 40, end: 50 })), (e: unknown) => {
      assert.ok(e instanceof MediaError);
      assert.equal(e.reason, 'FrameMismatch');
      assert.match(e.message, /frames \[40,50\): decoded 8 frames .* expected 10/);
      return true;
    });
  });
});

/** rgb24 frame `w`x`h` turned 90 degrees (clockwise or not) into an `h`x`w` frame. */
function rotate90(src: Buffer, w: number, h: number, clockwise: boolean): Buffer {
  const out = Buffer.alloc(src.length);
  for (let y = 0; y < w; y++) {
    for (let x = 0; x < h; x++) {
      const [sx, sy] = clockwise ? [y, h - 1 - x] : [w - 1 - y, x];
      src.copy(out, (y * h + x) * 3, (sy * w + sx) * 3, (sy * w + sx) * 3 + 3);
    }
  }
  return out;
}

function meanAbsDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
  return sum / a.length;
}

/** Pids of this process's live children (Linux /proc), i.e. the ffmpeg runs a test started. */
async function childPids(): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === process.pid && fields[0] !== 'Z') pids.push(Number(entry));
  }
  return pids;
}
