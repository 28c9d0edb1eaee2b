/**
 * Fidelity of the converted models: the ONNX files, run by onnxruntime-node on the CPU, against
 * Tencent's ncnn (PyPI `ncnn`, models/reference/ncnn_ref.py) running the original .param/.bin, on
 * the real test images. RealESRGAN_x4plus is slow on a CPU, so it gets small inputs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { buildModels } from './build.ts';
import { getModel, modelPath } from './catalogue.ts';
import type { ModelId } from './catalogue.ts';
import { SAMPLE_CLIP, TEST_IMAGES_DIR, crop, decodeRgb, decodeVideoFrame, maxAbsDiff, openCpuSession, psnr, runNcnnReference, runOnnx } from './test-support/images.ts';
import type { RgbImage } from './test-support/images.ts';
import { ensureWeights } from './weights/fetch-weights.ts';
import type { LocalWeights } from './weights/fetch-weights.ts';

const MIN_PSNR_FP32 = 45;
const MIN_PSNR_FP16 = 35;

interface Input {
  readonly label: string;
  load(): Promise<RgbImage>;
}

const whole = (file: string): Input => ({ label: file, load: () => decodeRgb(join(TEST_IMAGES_DIR, file)) });
const centre64 = (file: string): Input => ({
  label: `${file} (64x64 centre crop)`,
  load: async () => {
    const image = await decodeRgb(join(TEST_IMAGES_DIR, file));
    return crop(image, Math.floor((image.width - 64) / 2), Math.floor((image.height - 64) / 2), 64, 64);
  },
});

/** A centre crop of frame `index` of the sample clip (anime footage, 640x480). */
const clipFrame = (index: number, width: number, height: number): Input => ({
  label: `onepiece_demo.mp4 frame ${index} (${width}x${height} centre crop)`,
  load: async () => {
    const frame = await decodeVideoFrame(SAMPLE_CLIP, index);
    return crop(frame, Math.floor((frame.width - width) / 2), Math.floor((frame.height - height) / 2), width, height);
  },
});

const CASES: readonly { id: ModelId; inputs: readonly Input[] }[] = [
  { id: 'realesr-general-x4v3', inputs: ['0014.jpg', 'ADE_val_00000114.jpg', 'baboon-lq.png', 'comic-lq.png'].map(whole) },
  { id: 'RealESRGAN_x4plus', inputs: [whole('comic-lq.png'), centre64('0014.jpg')] },
  { id: 'realesr-animevideov3', inputs: [clipFrame(90, 320, 240), whole('comic-lq.png'), whole('0014.jpg')] },
  { id: 'RealESRGAN_x4plus_anime_6B', inputs: [clipFrame(90, 96, 96), whole('comic-lq.png')] },
];

for (const { id, inputs } of CASES) {
  describe(`${id} converted to ONNX vs ncnn`, () => {
    const model = getModel(id);
    let weights: LocalWeights;
    let fp32: InferenceSession;
    let fp16: InferenceSession;

    before(async () => {
      await buildModels({ ids: [id] });
      weights = await ensureWeights(model);
      fp32 = await openCpuSession(modelPath(id, 'fp32'));
      fp16 = await openCpuSession(modelPath(id, 'fp16'));
    });

    for (const input of inputs) {
      it(`${input.label}: fp32 >= ${MIN_PSNR_FP32} dB, fp16 >= ${MIN_PSNR_FP16} dB`, async (t) => {
        const image = await input.load();
        const reference = await runNcnnReference(weights.paramPath, weights.binPath, image, model.scale);
        const fp32Out = await runOnnx(fp32, image);
        const fp16Out = await runOnnx(fp16, image);
        const fp32Psnr = psnr(fp32Out, reference);
        const fp16Psnr = psnr(fp16Out, reference);
        t.diagnostic(
          `${id} ${input.label} ${image.width}x${image.height}: PSNR vs ncnn fp32 ${fp32Psnr.toFixed(2)} dB (max diff ${maxAbsDiff(fp32Out, reference)}), ` +
            `fp16 ${fp16Psnr.toFixed(2)} dB (max diff ${maxAbsDiff(fp16Out, reference)})`,
        );
        assert.ok(fp32Psnr >= MIN_PSNR_FP32, `fp32 PSNR ${fp32Psnr.toFixed(2)} dB < ${MIN_PSNR_FP32}`);
        assert.ok(fp16Psnr >= MIN_PSNR_FP16, `fp16 PSNR ${fp16Psnr.toFixed(2)} dB < ${MIN_PSNR_FP16}`);
      });
    }
  });
}
