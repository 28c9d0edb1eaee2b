/**
 * The engine end to end on the CPU provider with the real realesr-general-x4v3 and real video
 * frames: batching, crop, 16-bit input, ordered multi-session streaming, and error reporting
 * (with small purpose-built models where a failure must be provoked).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { modelPath } from '../../models/catalogue.ts';
import { UpscaleError } from '../errors.ts';
import { createEngine } from './engine.ts';
import type { EngineOptionsInput, InputFrame, OutputFrame } from './engine.ts';
import { evenSizesOnlyModel, memoryHungryModel, writeModel } from './test-models.ts';
import { maxAbsDiff, videoFrames } from './test-frames.ts';

const log = pino({ level: 'silent' });
const GENERAL = { id: 'realesr-general-x4v3' } as const;

async function withEngine<T>(options: EngineOptionsInput, fn: (engine: Awaited<ReturnType<typeof createEngine>>) => Promise<T>): Promise<T> {
  const engine = await createEngine({ provider: 'cpu', ...options }, { logger: log });
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

async function collect(stream: AsyncIterable<OutputFrame>): Promise<OutputFrame[]> {
  const out: OutputFrame[] = [];
  for await (const frame of stream) out.push(frame);
  return out;
}

describe('engine on realesr-general-x4v3 (CPU)', () => {
  let frames: InputFrame[];
  let reference: OutputFrame[];
  before(async () => {
    // Frames 40..51 of the demo clip, 48x32: real, all different, cheap.
    frames = await videoFrames(40, 12, 48, 32);
    reference = await withEngine({ model: GENERAL, cpuThreads: 1, batchSize: 1 }, async (engine) => {
      const out: OutputFrame[] = [];
      for (const frame of frames.slice(0, 4)) out.push(await engine.upscale(frame));
      return out;
    });
  });

  it('gives the same frames for batch sizes 1 to 4, in fewer runs when batching', async () => {
    for (const batchSize of [1, 2, 3, 4]) {
      await withEngine({ model: GENERAL, cpuThreads: 1, batchSize, maxFramesInFlight: 4, prefetch: 1 }, async (engine) => {
        const out = await collect(engine.upscaleStream(frames.slice(0, 4)));
        assert.deepEqual(out.map((f) => f.index), [40, 41, 42, 43]);
        out.forEach((f, k) => assert.ok(maxAbsDiff(f.data, reference[k]?.data ?? new Uint8Array()) <= 1, `batch ${batchSize}, frame ${f.index}`));
        const [stats] = engine.stats;
        assert.equal(stats?.images, 4);
        if (batchSize === 1) assert.equal(stats?.batches, 4);
        else assert.ok((stats?.batches ?? 4) < 4, `batch ${batchSize}: ${stats?.batches} runs`);
      });
    }
  });

  it('runs all tiles of a frame in one batch when the batch size allows', async () => {
    const [frame] = await videoFrames(60, 1, 96, 64);
    assert.ok(frame !== undefined);
    await withEngine({ model: GENERAL, tileSize: 48, tilePad: 8, batchSize: 4 }, async (engine) => {
      const out = await engine.upscale(frame);
      assert.deepEqual([out.width, out.height], [384, 256]);
      assert.deepEqual([engine.stats[0]?.batches, engine.stats[0]?.images], [1, 4]);
    });
  });

  it('crops before inference: the output equals upscaling the cropped frame', async () => {
    const [big] = await videoFrames(80, 1, 96, 64);
    assert.ok(big !== undefined);
    const crop = { x: 21, y: 10, width: 48, height: 30 };
    const cropped = await withEngine({ model: GENERAL, crop }, (engine) => engine.upscale(big));
    assert.deepEqual([cropped.width, cropped.height], [192, 120]);
    const manual = new Uint8Array(48 * 30 * 3);
    for (let row = 0; row < 30; row++) manual.set(big.data.subarray(((10 + row) * 96 + 21) * 3, ((10 + row) * 96 + 21 + 48) * 3), row * 48 * 3);
    const direct = await withEngine({ model: GENERAL }, (engine) => engine.upscale({ data: manual, width: 48, height: 30, index: 0 }));
    assert.ok(maxAbsDiff(cropped.data, direct.data) <= 1);
  });

  it('runs 16-bit (rgb48le) frames through the uint16 model and returns 16 bits, matching their 8-bit source', async () => {
    const [frame] = frames;
    assert.ok(frame !== undefined);
    const wide = new Uint16Array(frame.data.length);
    frame.data.forEach((v, i) => (wide[i] = v * 257)); // what ffmpeg's rgb24 -> rgb48le does
    const out = await withEngine({ model: GENERAL, cpuThreads: 1 }, (engine) => engine.upscale({ ...frame, data: new Uint8Array(wide.buffer), bitDepth: 16 }));
    assert.equal(out.bitDepth, 16);
    const words = new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.byteLength / 2);
    // Not a multiple of 257 everywhere: the samples between 8-bit levels came from the uint16 model.
    assert.ok(words.some((w) => w % 257 !== 0), 'the output holds only 8-bit values widened');
    assert.ok(maxAbsDiff(Uint8Array.from(words, (w) => Math.round(w / 257)), reference[0]?.data ?? new Uint8Array()) <= 1);
  });

  it('prepare(16) starts the uint16 sessions before the first 16-bit frame, which then runs on them', async () => {
    const [frame] = frames;
    assert.ok(frame !== undefined);
    await withEngine({ model: GENERAL, cpuThreads: 1 }, async (engine) => {
      assert.equal(engine.stats.length, 1, 'the uint8 session only, at start');
      engine.prepare(8); // the uint8 sessions run already: nothing more
      engine.prepare(16);
      // Without a frame sent, the uint16 session comes up (its stats join the engine's).
      const began = Date.now();
      while (engine.stats.length < 2 && Date.now() - began < 120_000) await new Promise((r) => setTimeout(r, 20));
      assert.equal(engine.stats.length, 2, 'a uint16 session started without a 16-bit frame');
      engine.prepare(16); // once
      const wide = new Uint16Array(frame.data.length);
      frame.data.forEach((v, i) => (wide[i] = v * 257));
      const out = await engine.upscale({ ...frame, data: new Uint8Array(wide.buffer), bitDepth: 16 });
      assert.equal(out.bitDepth, 16);
      assert.deepEqual(engine.stats.map((s) => s.images), [0, 1], 'the 16-bit frame ran on the prepared uint16 session, no third one');
    });
  });

  it('prepare(16) starts nothing for a model file with uint8 I/O (its 16-bit frames are dithered)', async () => {
    await withEngine({ model: { path: modelPath('realesr-general-x4v3', 'fp32') }, cpuThreads: 1 }, async (engine) => {
      engine.prepare(16);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(engine.stats.length, 1);
    });
  });

  it('dithers 16-bit frames for a model file with uint8 I/O and widens its output back to 16 bits', async () => {
    const [frame] = frames;
    assert.ok(frame !== undefined);
    const wide = new Uint16Array(frame.data.length);
    frame.data.forEach((v, i) => (wide[i] = v * 257));
    const out = await withEngine({ model: { path: modelPath('realesr-general-x4v3', 'fp32') }, cpuThreads: 1 }, (engine) => engine.upscale({ ...frame, data: new Uint8Array(wide.buffer), bitDepth: 16 }));
    assert.equal(out.bitDepth, 16);
    const words = new Uint16Array(out.data.buffer, out.data.byteOffset, out.data.byteLength / 2);
    assert.ok(words.every((w) => w % 257 === 0), 'an 8-bit model result widened by 257');
    // 8-bit values widened by 257 pass the dither unchanged, so the result is the 8-bit one.
    assert.ok(maxAbsDiff(Uint8Array.from(words, (w) => w / 257), reference[0]?.data ?? new Uint8Array()) <= 1);
  });

  it('streams through two sessions in order, without losing or duplicating a frame, both sessions working', async () => {
    const expected = await withEngine({ model: GENERAL, cpuThreads: 1 }, (engine) => collect(engine.upscaleStream(frames)));
    await withEngine({ model: GENERAL, cpuSessions: 2, cpuThreads: 1, maxFramesInFlight: 6 }, async (engine) => {
      assert.equal(engine.info.devices.length, 2);
      const out = await collect(engine.upscaleStream(frames));
      assert.deepEqual(out.map((f) => f.index), frames.map((f) => f.index));
      out.forEach((f, k) => assert.ok(maxAbsDiff(f.data, expected[k]?.data ?? new Uint8Array()) <= 1, `frame ${f.index} matches its single-session result`));
      // Distinct content per frame, so a duplicated or swapped frame cannot pass the comparison above.
      assert.ok(maxAbsDiff(out[0]?.data ?? new Uint8Array(), out[11]?.data ?? new Uint8Array()) > 10);
      const images = engine.stats.map((s) => s.images);
      assert.equal(images.reduce((a, b) => a + b, 0), 12);
      assert.ok(images.every((n) => n > 0), `images per session: ${images.join(', ')}`);
    });
  });

  it('rejects a malformed frame naming its index, and a closed engine', async () => {
    const engine = await createEngine({ provider: 'cpu', model: GENERAL }, { logger: log });
    await assert.rejects(engine.upscale({ data: new Uint8Array(10), width: 4, height: 4, index: 17 }), (error: unknown) => {
      assert.ok(error instanceof UpscaleError);
      assert.equal(error.code, 'InvalidInput');
      assert.match(error.message, /frame 17: the frame holds 10 bytes, but 4x4 packed RGB at 8 bits needs 48/);
      return true;
    });
    await engine.close();
    await assert.rejects(engine.upscale({ data: new Uint8Array(48), width: 4, height: 4, index: 18 }), /frame 18: the engine is closed/);
  });
});

describe('engine failures with purpose-built models (CPU)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engine-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a frame that fails in the model with its index and device, and keeps serving others', async () => {
    const path = await writeModel(join(dir, 'even.onnx'), evenSizesOnlyModel());
    await withEngine({ model: { path } }, async (engine) => {
      const ok = await engine.upscale({ data: new Uint8Array(8 * 6 * 3), width: 8, height: 6, index: 1 });
      assert.deepEqual([ok.width, ok.height], [32, 24]);
      await assert.rejects(engine.upscale({ data: new Uint8Array(9 * 6 * 3), width: 9, height: 6, index: 2 }), (error: unknown) => {
        assert.ok(error instanceof UpscaleError);
        assert.equal(error.subject, 'frame 2');
        assert.match(error.message, /upscaling frame 2 on cpu:0 with .*even\.onnx \(as-built\): .*SpaceToDepth/);
        return true;
      });
      // A stream stops at the failed frame instead of skipping it.
      const seen: number[] = [];
      const bad = { data: new Uint8Array(9 * 6 * 3), width: 9, height: 6, index: 5 };
      const good = (index: number): InputFrame => ({ data: new Uint8Array(8 * 6 * 3), width: 8, height: 6, index });
      await assert.rejects(async () => {
        for await (const f of engine.upscaleStream([good(3), good(4), bad, good(6)])) seen.push(f.index);
      }, /frame 5 on cpu:0/);
      assert.deepEqual(seen, [3, 4]);
    });
  });

  it('retries with a smaller batch, then smaller tiles, after a real out-of-memory error', async () => {
    const path = await writeModel(join(dir, 'hungry.onnx'), memoryHungryModel());
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const engine = await createEngine({ provider: 'cpu', model: { path }, tileSize: 128, tilePad: 0, batchSize: 2 }, { logger });
    try {
      // Two 128x128 tiles in one run need terabytes; alone each needs 64 MiB.
      const wide = await engine.upscale({ data: new Uint8Array(256 * 128 * 3).fill(9), width: 256, height: 128, index: 0 });
      assert.deepEqual([wide.width, wide.height], [1024, 512]);
      assert.ok(wide.data.every((v) => v === 9));
      assert.equal(engine.info.batchSize, 1);
      // Untiled, a 256x256 frame needs terabytes: it is retried with 128-pixel tiles.
      const tileSizeBefore = engine.info.tileSize;
      const engine2 = await createEngine({ provider: 'cpu', model: { path }, tileSize: 0, tilePad: 0, batchSize: 1 }, { logger });
      try {
        const square = await engine2.upscale({ data: new Uint8Array(256 * 256 * 3).fill(3), width: 256, height: 256, index: 4 });
        assert.deepEqual([square.width, square.height], [1024, 1024]);
        assert.equal(engine2.info.tileSize, 128);
      } finally {
        await engine2.close();
      }
      assert.equal(tileSizeBefore, 128);
      assert.deepEqual(warnings, ['Reduced batch size after running out of device memory', 'Retrying frame with smaller tiles after running out of device memory']);
    } finally {
      await engine.close();
    }
  });
});
