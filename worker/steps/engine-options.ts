/**
 * Maps a task's upscale settings to the engine's options and hooks: the one place where the
 * task vocabulary (`ep`, `tile`, `scale`) meets the engine's (`provider`, `tileSize`, `output`).
 */
import type { Logger } from 'pino';
import { MODEL_IDS, findModel } from '../../models/catalogue.ts';
import { UpscaleError } from '../errors.ts';
import type { EngineHooks, EngineOptionsInput } from '../engine/engine.ts';
import { parseLocation, type FileLocation, type S3Location } from '../storage/location.ts';
import type { Storage } from '../storage/storage.ts';
import type { UpscaleSettings } from '../task.ts';

/** The engine options for `settings`; `cpuSessions` splits the CPU among local worker processes. */
export function engineOptionsFor(settings: UpscaleSettings, extra: { cpuThreads?: number } = {}): EngineOptionsInput {
  const catalogued = findModel(settings.model);
  let model: EngineOptionsInput['model'];
  if (catalogued !== undefined) model = { id: catalogued.id };
  else {
    if (!looksLikeModelFile(settings.model)) throw unknownModel(settings.model);
    const location = modelLocation(settings.model);
    model = location.kind === 's3' ? { uri: location.uri } : { path: location.path };
  }
  const options: EngineOptionsInput = {
    model,
    provider: settings.ep,
    precision: settings.precision,
    tileSize: settings.tile,
    enableMultiGpu: settings.enableMultiGpu,
    ...(settings.width !== undefined && settings.height !== undefined
      ? { output: { width: settings.width, height: settings.height } }
      : settings.scale !== undefined
        ? { output: { scale: settings.scale } }
        : {}),
    ...(extra.cpuThreads !== undefined ? { cpuThreads: extra.cpuThreads } : {}),
  };
  return options;
}

/**
 * Fails fast on a model that cannot load: neither a catalogue id nor an existing `.onnx` file or
 * object. `upscale run` calls it before probing, so a typo costs no work and leaves nothing behind.
 * @throws UpscaleError `InvalidArgument` (unknown id) or `NotFound` (no such file or object)
 */
export async function checkModel(model: string, storage: Storage): Promise<void> {
  if (findModel(model) !== undefined) return;
  if (!looksLikeModelFile(model)) throw unknownModel(model);
  modelLocation(model);
  if (!(await storage.exists(model))) {
    throw new UpscaleError('NotFound', `model ${model} does not exist (expected an .onnx file or object)`, { subject: model });
  }
}

/**
 * Checks a bring-your-own model against the I/O contract (uint8 NHWC, 3 channels, free height and
 * width, an integer scale) by running a tiny image through it on the CPU. The probe step runs it, so
 * a model with the wrong rank, dtype or layout fails the job before any shard pod is scheduled.
 * Catalogue models pass at once.
 * @throws UpscaleError `InvalidInput`, `NotFound` or `InvalidArgument` naming the model
 */
export async function validateCustomModel(model: string, storage: Storage): Promise<void> {
  await checkModel(model, storage);
  if (findModel(model) !== undefined) return;
  const bytes = await storage.read(modelLocation(model).uri);
  // Loaded only here: a probe with a catalogue model never loads ONNX Runtime.
  const { validateModel } = await import('../engine/validate-model.ts');
  await validateModel(bytes, model);
}

// A bare word like `realesr-general-x4` is a mistyped id, not a file in the current directory.
function looksLikeModelFile(model: string): boolean {
  return model.includes('/') || model.toLowerCase().endsWith('.onnx');
}

/** Where a model file is; models are read from local paths, `file://` and `s3://`, not from http(s). */
function modelLocation(model: string): FileLocation | S3Location {
  const location = parseLocation(model);
  if (location.kind === 'http') {
    throw new UpscaleError('Unsupported', `model ${location.uri}: models are read from a local path, file:// or s3://, not http(s): copy the file to object storage`, {
      subject: location.uri,
    });
  }
  return location;
}

function unknownModel(model: string): UpscaleError {
  return new UpscaleError('InvalidArgument', `unknown model "${model}": use ${MODEL_IDS.join(' or ')}, or the path or URI of an .onnx file`, { subject: model });
}

/** Engine hooks: the logger, and model fetching through the storage room for `s3://` models. */
export function engineHooksFor(storage: Storage, logger: Logger): EngineHooks {
  return { logger, fetchModel: async (uri) => storage.read(uri) };
}
