/**
 * The uint16-I/O variants (`<id>[.fp16].u16.onnx`): the same network as the uint8 files, so on an
 * 8-bit image (samples x257) they agree with them to within a level; and on a shallow 16-bit ramp
 * their output keeps the steps between 8-bit levels that the uint8 files cannot hold.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { buildModels } from './build.ts';
import { getModel, modelPath, PRECISIONS } from './catalogue.ts';
import type { ModelId } from './catalogue.ts';
import { METADATA_KEYS, MODEL_IO_CONTRACT_UINT16 } from './io-contract.ts';
import { decodeOnnxModel } from './onnx/schema.ts';
import { TEST_IMAGES_DIR, decodeRgb, openCpuSession, runOnnx } from './test-support/images.ts';

const FAST: readonly ModelId[] = ['realesr-general-x4v3', 'realesr-animevideov3'];

async function run16(session: ort.InferenceSession, data: Uint16Array, width: number, height: number): Promise<Uint16Array> {
  const results = await session.run({ input: new ort.Tensor('uint16', data, [1, height, width, 3]) });
  const output = results['output'];
  assert.ok(output !== undefined);
  assert.equal(output.type, 'uint16');
  return output.data as Uint16Array;
}

/** A 64x32 grey ramp from `low` to `high` (16-bit values) across the width. */
function ramp16(width: number, height: number, low: number, high: number): Uint16Array {
  const out = new Uint16Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) out.fill(Math.round(low + ((high - low) * x) / (width - 1)), (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  return out;
}

/** Distinct green values along the middle row of an RGB frame. */
function distinctAlongRow(data: ArrayLike<number>, width: number, height: number): number {
  const row = Math.floor(height / 2);
  const seen = new Set<number>();
  for (let x = 0; x < width; x++) seen.add(data[(row * width + x) * 3 + 1] ?? 0);
  return seen.size;
}

for (const id of FAST) {
  describe(`${id} with uint16 I/O`, () => {
    before(async () => {
      await buildModels({ ids: [id] });
    });

    it('records the uint16 contract in its metadata and declares uint16 input and output', async () => {
      for (const precision of PRECISIONS) {
        const session = await openCpuSession(modelPath(id, precision, 'uint16'));
        assert.equal(session.inputMetadata[0]?.isTensor === true ? session.inputMetadata[0].type : undefined, 'uint16');
        assert.equal(session.outputMetadata[0]?.isTensor === true ? session.outputMetadata[0].type : undefined, 'uint16');
        await session.release();
        const model = decodeOnnxModel(await readFile(modelPath(id, precision, 'uint16'))) as { metadataProps: { key: string; value: string }[] };
        const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
        assert.equal(meta[METADATA_KEYS.ioContract], MODEL_IO_CONTRACT_UINT16);
      }
    });

    it('matches the uint8 model to within one 8-bit level on a real 8-bit image', async (t) => {
      const image = await decodeRgb(join(TEST_IMAGES_DIR, 'comic-lq.png'));
      const u8 = await runOnnx(await openCpuSession(modelPath(id, 'fp32')), image);
      const deep = await run16(await openCpuSession(modelPath(id, 'fp32', 'uint16')), Uint16Array.from(image.data, (v) => v * 257), image.width, image.height);
      assert.equal(deep.length, u8.data.length);
      let worst = 0;
      for (let i = 0; i < deep.length; i++) worst = Math.max(worst, Math.abs((deep[i] ?? 0) / 257 - (u8.data[i] ?? 0)));
      t.diagnostic(`${id} comic-lq.png: largest difference uint16/257 vs uint8 ${worst.toFixed(3)} levels`);
      assert.ok(worst <= 0.5 + 1e-6, `uint16 output differs from the uint8 output by ${worst} levels`);
    });

    it('keeps a shallow 16-bit ramp finer than 8-bit steps', async (t) => {
      const width = 64;
      const height = 32;
      // 40 10-bit levels (400..440) = 10 8-bit levels across 64 pixels.
      const input = ramp16(width, height, 400 * 64, 440 * 64);
      const deep = await run16(await openCpuSession(modelPath(id, 'fp32', 'uint16')), input, width, height);
      const scale = getModel(id).scale;
      const deepLevels = distinctAlongRow(Uint16Array.from(deep, (v) => Math.round(v / 64)), width * scale, height * scale);
      t.diagnostic(`${id}: ${deepLevels} distinct 10-bit levels along the upscaled ramp (the input has 41)`);
      assert.ok(deepLevels >= 30, `the upscaled ramp has only ${deepLevels} distinct 10-bit levels`);
    });
  });
}
