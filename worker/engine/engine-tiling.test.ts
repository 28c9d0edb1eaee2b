/**
 * Tiling and output-scale behaviour of the engine with the real models on real images (CPU).
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ort from 'onnxruntime-node';
import pino from 'pino';
import { modelPath } from '../../models/catalogue.ts';
import { createEngine } from './engine.ts';
import type { EngineOptionsInput, InputFrame } from './engine.ts';
import { imageFrame, maxAbsDiff, TESTDATA_DIR } from './test-frames.ts';
import { interiorEdgeDistance, planTiles } from './tile-plan.ts';

const log = pino({ level: 'warn' });
const GENERAL = { id: 'realesr-general-x4v3' } as const;
/** realesr-general-x4v3: 34 3x3 convolutions, so an input pixel sees 34 pixels around it. */
const RECEPTIVE_RADIUS = 34;

async function upscaleOnce(options: EngineOptionsInput, frame: InputFrame): Promise<Uint8Array> {
  const engine = await createEngine({ provider: 'cpu', ...options }, { logger: log });
  try {
    return (await engine.upscale(frame)).data;
  } finally {
    await engine.close();
  }
}

describe('tiling with realesr-general-x4v3 on an odd-sized (150x98) photo', () => {
  let frame: InputFrame;
  let untiled: Uint8Array;
  before(async () => {
    frame = await imageFrame('0014.jpg', 150, 98);
    untiled = await upscaleOnce({ model: GENERAL, tileSize: 0 }, frame);
  });

  it('equals the untiled result within 1 grey level everywhere when the pad covers the receptive field', async () => {
    const tiled = await upscaleOnce({ model: GENERAL, tileSize: 48, tilePad: RECEPTIVE_RADIUS }, frame);
    assert.ok(maxAbsDiff(tiled, untiled) <= 1, `max difference ${maxAbsDiff(tiled, untiled)}`);
  });

  it('with a smaller pad, equals it within 1 grey level outside the pad-wide band along tile borders, and differs inside it', async (t) => {
    const pad = 16;
    const tiled = await upscaleOnce({ model: GENERAL, tileSize: 48, tilePad: pad }, frame);
    const plan = planTiles({ width: 150, height: 98, tileSize: 48, tilePad: pad });
    let outside = 0;
    let inside = 0;
    for (let y = 0; y < 98 * 4; y++) {
      for (let x = 0; x < 150 * 4; x++) {
        // A core pixel at window-edge distance >= 2*pad is at least `pad` away from its core's border.
        const band = interiorEdgeDistance(plan, x >> 2, y >> 2) < 2 * pad;
        for (let c = 0; c < 3; c++) {
          const i = (y * 600 + x) * 3 + c;
          const d = Math.abs((tiled[i] ?? 0) - (untiled[i] ?? 0));
          if (band) inside = Math.max(inside, d);
          else outside = Math.max(outside, d);
        }
      }
    }
    t.diagnostic(`max difference outside the band ${outside}, inside ${inside}`);
    assert.ok(outside <= 1, `max difference outside the seam band: ${outside}`);
    // Shows the comparison can see seams: with 16 < 34 the receptive field is cut near borders.
    assert.ok(inside > 1, `max difference inside the seam band: ${inside}`);
  });

  it('gives outscale 2 (300x196) equal tiled and untiled, close to a 2x2 average of the x4 result', async (t) => {
    const options = { model: GENERAL, output: { scale: 2 } } as const;
    const engine = await createEngine({ provider: 'cpu', ...options, tileSize: 0 }, { logger: log });
    const half = await engine.upscale(frame);
    await engine.close();
    assert.deepEqual([half.width, half.height, half.data.length], [300, 196, 300 * 196 * 3]);
    const tiled = await upscaleOnce({ ...options, tileSize: 48, tilePad: RECEPTIVE_RADIUS }, frame);
    assert.ok(maxAbsDiff(tiled, half.data) <= 1, `tiled vs untiled outscale 2: ${maxAbsDiff(tiled, half.data)}`);
    // The antialiased cubic is a low-pass close to the box average; a plain decimation would not be.
    const box = new Uint8Array(300 * 196 * 3);
    let sq = 0;
    for (let y = 0; y < 196; y++) {
      for (let x = 0; x < 300; x++) {
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number): number => untiled[(yy * 600 + xx) * 3 + c] ?? 0;
          const v = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
          box[(y * 300 + x) * 3 + c] = Math.round(v);
          sq += (v - (half.data[(y * 300 + x) * 3 + c] ?? 0)) ** 2;
        }
      }
    }
    const psnr = 10 * Math.log10((255 * 255) / (sq / box.length));
    t.diagnostic(`PSNR against the 2x2 average: ${psnr.toFixed(1)} dB`);
    assert.ok(psnr > 30, `PSNR against the 2x2 average: ${psnr.toFixed(1)} dB`);
  });

  it('gives a target size (225x147, ratio 3/2) equal tiled and untiled', async () => {
    const output = { width: 225, height: 147 };
    const whole = await upscaleOnce({ model: GENERAL, output, tileSize: 0 }, frame);
    const tiled = await upscaleOnce({ model: GENERAL, output, tileSize: 40, tilePad: RECEPTIVE_RADIUS }, frame);
    assert.equal(whole.length, 225 * 147 * 3);
    assert.ok(maxAbsDiff(tiled, whole) <= 1, `max difference ${maxAbsDiff(tiled, whole)}`);
  });
});

describe('RealESRGAN_x4plus', () => {
  let gt: Uint8Array;
  before(async () => {
    const { stdout } = await promisify(execFile)('ffmpeg', ['-v', 'error', '-i', join(TESTDATA_DIR, 'images', 'gt', 'comic.png'), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer', maxBuffer: 2 ** 24 });
    gt = new Uint8Array(stdout);
  });

  it('gives exactly what a plain ONNX Runtime session gives on the 60x90 comic, close to its ground truth', async (t) => {
    const frame = await imageFrame('comic-lq.png', 60, 90);
    const out = await upscaleOnce({ model: { id: 'RealESRGAN_x4plus' }, tileSize: 0 }, frame);
    const session = await ort.InferenceSession.create(modelPath('RealESRGAN_x4plus', 'fp32'), { intraOpNumThreads: 2 });
    const plain = (await session.run({ input: new ort.Tensor('uint8', frame.data, [1, 90, 60, 3]) })).output?.data as Uint8Array;
    await session.release();
    assert.ok(maxAbsDiff(out, plain) <= 1, `engine vs plain session: ${maxAbsDiff(out, plain)}`);
    let sq = 0;
    for (let i = 0; i < out.length; i++) sq += ((out[i] ?? 0) - (gt[i] ?? 0)) ** 2;
    const psnr = 10 * Math.log10((255 * 255) / (sq / out.length));
    t.diagnostic(`PSNR against the ground truth: ${psnr.toFixed(2)} dB`);
    // A sanity bound (19.2 dB measured): GAN restorations are not PSNR-optimal, so it stays loose.
    assert.ok(psnr > 17, `PSNR ${psnr.toFixed(2)} dB`);
  });
});
