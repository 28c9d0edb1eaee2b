import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { z } from 'zod';
import { buildModels } from './build.ts';
import { CATALOGUE, MODELS_DIST_DIR, MODEL_IDS, PRECISIONS, findModel, getModel, modelIdSchema, modelPath } from './catalogue.ts';
import { CONVERTER_VERSION } from './convert/convert-model.ts';
import { convFlopsPerInputPixel } from './convert/flops.ts';
import { METADATA_KEYS, MODEL_IO_CONTRACT } from './io-contract.ts';
import { ModelError } from './model-error.ts';
import { decodeOnnxModel } from './onnx/schema.ts';

const metadataSchema = z.object({ metadataProps: z.array(z.object({ key: z.string(), value: z.string() })) });

describe('model catalogue', () => {
  it('finds models by id and refuses unknown ids, listing the known ones', () => {
    assert.equal(getModel('RealESRGAN_x4plus').architecture, 'RRDBNet');
    assert.equal(findModel('realesr-general-x4v3')?.architecture, 'SRVGGNetCompact');
    assert.equal(findModel('nope'), undefined);
    assert.throws(
      () => getModel('RealESRGAN_x2plus'),
      (e: unknown) => e instanceof ModelError && e.code === 'ModelUnknown' && e.message.includes('"RealESRGAN_x2plus": not in the catalogue (known: RealESRGAN_x4plus, realesr-general-x4v3, realesr-animevideov3, RealESRGAN_x4plus_anime_6B)'),
    );
    assert.equal(modelIdSchema.safeParse('realesr-general-x4v3').success, true);
    assert.equal(modelIdSchema.safeParse('x').success, false);
    assert.deepEqual(CATALOGUE.map((m) => m.id), [...MODEL_IDS]);
  });

  it('puts built files under models/dist', () => {
    assert.equal(modelPath('RealESRGAN_x4plus', 'fp32'), `${MODELS_DIST_DIR}RealESRGAN_x4plus.onnx`);
    assert.equal(modelPath('realesr-general-x4v3', 'fp16'), `${MODELS_DIST_DIR}realesr-general-x4v3.fp16.onnx`);
    assert.equal(modelPath('realesr-general-x4v3', 'fp16', 'uint16'), `${MODELS_DIST_DIR}realesr-general-x4v3.fp16.u16.onnx`);
    assert.equal(modelPath('realesr-general-x4v3', 'fp32', 'uint16'), `${MODELS_DIST_DIR}realesr-general-x4v3.u16.onnx`);
    assert.match(MODELS_DIST_DIR, /models\/dist\/$/);
  });

  describe('against the built models', () => {
    before(async () => {
      await buildModels();
    });

    for (const model of CATALOGUE) {
      for (const precision of PRECISIONS) {
        it(`${model.id} ${precision}: FLOPs per input pixel and metadata match the converted graph`, async () => {
          const decoded = decodeOnnxModel(await readFile(modelPath(model.id, precision)));
          assert.equal(convFlopsPerInputPixel(decoded), model.flopsPerInputPixel);
          const metadata = Object.fromEntries(metadataSchema.parse(decoded).metadataProps.map((p) => [p.key, p.value]));
          assert.equal(metadata[METADATA_KEYS.modelId], model.id);
          assert.equal(metadata[METADATA_KEYS.scale], String(model.scale));
          assert.equal(metadata[METADATA_KEYS.precision], precision);
          assert.equal(metadata[METADATA_KEYS.ioContract], MODEL_IO_CONTRACT);
          assert.equal(metadata[METADATA_KEYS.sourceParamSha256], model.weights.param.sha256);
          assert.equal(metadata[METADATA_KEYS.sourceBinSha256], model.weights.bin.sha256);
          assert.equal(metadata[METADATA_KEYS.converterVersion], CONVERTER_VERSION);
          assert.match(metadata[METADATA_KEYS.license] ?? '', /^BSD-3-Clause; Real-ESRGAN, Copyright \(c\) 2021, Xintao Wang/);
        });
      }
    }
  });
});
