/**
 * Where the engine's model comes from: a catalogue id (the files `npm run models` builds), a local
 * ONNX file, or a URI read through a fetch function the caller passes (the storage layer). Files
 * that are not from the catalogue are validated against the I/O contract before use.
 */
import { readFile } from 'node:fs/promises';
import { getModel, modelPath } from '../../models/catalogue.ts';
import type { ModelId, Precision } from '../../models/catalogue.ts';
import type { SampleType } from '../../models/io-contract.ts';
import { UpscaleError } from '../errors.ts';

/** Which model to run. */
export type ModelSpec = { readonly id: ModelId } | { readonly path: string } | { readonly uri: string };

/** Reads the bytes behind a URI (e.g. `s3://bucket/model.onnx`); supplied by the caller. */
export type FetchModel = (uri: string) => Promise<Uint8Array>;

export interface LoadedModel {
  /** Catalogue id, or the file's path or URI. */
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly scale: number;
  /** The precision of the weights; `as-built` for a user's file, which has whatever it has. */
  readonly precision: Precision | 'as-built';
  /** I/O element type: catalogue models come in both; users' files are uint8 (validate-model.ts). */
  readonly samples: SampleType;
  readonly architecture: string | undefined;
  readonly flopsPerInputPixel: number | undefined;
  readonly fromCatalogue: boolean;
}

/** True when the spec names a catalogue model (the engine may then choose its precision). */
export function isCatalogueSpec(spec: ModelSpec): spec is { readonly id: ModelId } {
  return 'id' in spec;
}

async function readLocal(path: string, subject: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UpscaleError('NotFound', `reading model ${subject}: the file does not exist`, { subject, cause: error });
    throw new UpscaleError('InvalidInput', `reading model ${subject}: ${(error as Error).message}`, { subject, cause: error });
  }
}

/**
 * Loads (and for users' files validates) the model.
 * @throws UpscaleError `NotFound`, `InvalidInput` or `InvalidArgument` naming the model
 */
export async function loadModel(spec: ModelSpec, precision: Precision, fetchModel?: FetchModel, samples: SampleType = 'uint8'): Promise<LoadedModel> {
  if (isCatalogueSpec(spec)) {
    const entry = getModel(spec.id);
    const path = modelPath(entry.id, precision, samples);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new UpscaleError('NotFound', `reading model ${entry.id} (${precision}, ${samples} I/O): ${path} is missing; build it with \`npm run models\``, { subject: entry.id, cause: error });
    }
    return { id: entry.id, bytes, scale: entry.scale, precision, samples, architecture: entry.architecture, flopsPerInputPixel: entry.flopsPerInputPixel, fromCatalogue: true };
  }
  let bytes: Uint8Array;
  let subject: string;
  if ('path' in spec) {
    subject = spec.path;
    bytes = await readLocal(spec.path, subject);
  } else {
    subject = spec.uri;
    if (fetchModel === undefined) throw new UpscaleError('InvalidArgument', `reading model ${subject}: a model URI needs a fetch function (fetchModel option)`, { subject });
    try {
      bytes = await fetchModel(spec.uri);
    } catch (error) {
      if (error instanceof UpscaleError) throw error;
      throw new UpscaleError('Unavailable', `reading model ${subject}: ${(error as Error).message}`, { subject, cause: error });
    }
  }
  // Loaded here, not at the top: it loads ONNX Runtime, which a catalogue model never needs in this
  // thread (the sessions run in their own).
  const { validateModel } = await import('./validate-model.ts');
  const { scale } = await validateModel(bytes, subject);
  return { id: subject, bytes, scale, precision: 'as-built', samples: 'uint8', architecture: undefined, flopsPerInputPixel: undefined, fromCatalogue: false };
}
