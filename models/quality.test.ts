/**
 * Quality sanity of the built models on Real-ESRGAN's own test pairs (low-quality input and x4
 * ground truth), next to ffmpeg's bicubic x4. PSNR figures are reported as diagnostics.
 *
 * Real-ESRGAN models are GAN-trained for perceptual quality: they restore edges and texture and
 * denoise, and on these clean pairs their PSNR is about 1 dB *below* bicubic's. So the tests
 * assert what the models are for, sharpness: the output's mean gradient is closer to the ground
 * truth's than bicubic's is. They also bound the PSNR loss, which catches gross errors (swapped
 * channels, shifted or mis-scaled output) that sharpness alone would not.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { buildModels } from './build.ts';
import { MODEL_IDS, modelPath } from './catalogue.ts';
import { TEST_IMAGES_DIR, decodeRgb, meanGradient, openCpuSession, psnr, runOnnx } from './test-support/images.ts';

/** How far below bicubic a model's PSNR may fall (measured: 0.6 to 1.5 dB). */
const MAX_PSNR_LOSS_DB = 3;

describe('model quality vs ground truth and bicubic x4', () => {
  before(async () => {
    await buildModels();
  });

  for (const name of ['baboon', 'comic']) {
    it(`${name}-lq.png: every model is sharper than bicubic and close to it in PSNR`, async (t) => {
      const lqPath = join(TEST_IMAGES_DIR, `${name}-lq.png`);
      const lq = await decodeRgb(lqPath);
      const gt = await decodeRgb(join(TEST_IMAGES_DIR, 'gt', `${name}.png`));
      const bicubic = await decodeRgb(lqPath, { scale: 4, flags: 'bicubic' });
      const bicubicPsnr = psnr(bicubic, gt);
      const gtSharpness = meanGradient(gt);
      const bicubicSharpness = meanGradient(bicubic);
      t.diagnostic(`${name}: bicubic x4 PSNR ${bicubicPsnr.toFixed(2)} dB, mean gradient ${bicubicSharpness.toFixed(1)} (ground truth ${gtSharpness.toFixed(1)})`);
      for (const id of MODEL_IDS) {
        const out = await runOnnx(await openCpuSession(modelPath(id, 'fp32')), lq);
        const outPsnr = psnr(out, gt);
        const sharpness = meanGradient(out);
        t.diagnostic(`${name}: ${id} PSNR ${outPsnr.toFixed(2)} dB, mean gradient ${sharpness.toFixed(1)}`);
        assert.ok(
          Math.abs(sharpness - gtSharpness) < Math.abs(bicubicSharpness - gtSharpness),
          `${id} mean gradient ${sharpness.toFixed(1)} is not closer to the ground truth's ${gtSharpness.toFixed(1)} than bicubic's ${bicubicSharpness.toFixed(1)}`,
        );
        assert.ok(outPsnr >= bicubicPsnr - MAX_PSNR_LOSS_DB, `${id} PSNR ${outPsnr.toFixed(2)} dB is more than ${MAX_PSNR_LOSS_DB} dB below bicubic's ${bicubicPsnr.toFixed(2)}`);
      }
    });
  }
});
