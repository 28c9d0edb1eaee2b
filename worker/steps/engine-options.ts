/**
 * Maps a task's upscale settings to the engine's options and hooks: the one place where the
 * task vocabulary (`ep`, `tile`, `scale`) meets the engine's (`provider`, `tileSize`, `output`).
 */
import type { Logger } from 'pino';
import { findModel } from '../../models/catalogue.ts';
import type { EngineHooks, EngineOptionsInput } from '../engine/engine.ts';
import { parseLocation } from '../storage/location.ts';
import type { Storage } from '../storage/storage.ts';
import type { UpscaleSettings } from '../task.ts';

/** The engine options for `settings`; `cpuSessions` splits the CPU among local worker processes. */
export function engineOptionsFor(settings: UpscaleSettings, extra: { cpuThreads?: number } = {}): EngineOptionsInput {
  const catalogued = findModel(settings.model);
  let model: EngineOptionsInput['model'];
  if (catalogued !== undefined) model = { id: catalogued.id };
  else {
    const location = parseLocation(settings.model);
    model = location.kind === 's3' ? { uri: location.uri } : { path: location.path };
  }
  const options: EngineOptionsInput = {
    model,
    provider: settings.ep,
    precision: settings.precision,
    tileSize: settings.tile,
    enableMultiGpu: settings.enableMultiGpu,
    ...(settings.scale !== undefined ? { output: { scale: settings.scale } } : {}),
    ...(extra.cpuThreads !== undefined ? { cpuThreads: extra.cpuThreads } : {}),
  };
  return options;
}

/** Engine hooks: the logger, and model fetching through the storage room for `s3://` models. */
export function engineHooksFor(storage: Storage, logger: Logger): EngineHooks {
  return { logger, fetchModel: async (uri) => storage.read(uri) };
}
