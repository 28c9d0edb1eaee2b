/**
 * The build stamp of a catalogue model, `models/dist/<id>.stamp.json`: what the built ONNX files
 * were made from and each file's size and SHA-256. `npm run models` (build.ts) writes it last, after
 * the files, and reads it to skip a model that is current; a job's identity (worker/steps/
 * job-identity.ts) takes a file's SHA-256 from it instead of hashing 10-200 MB on every probe.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { MODELS_DIST_DIR, modelPath, type ModelId, type Precision } from './catalogue.ts';
import type { SampleType } from './io-contract.ts';

export const stampSchema = z.object({
  modelId: z.string(),
  converterVersion: z.string(),
  source: z.object({ package: z.string(), version: z.string(), paramSha256: z.string(), binSha256: z.string() }),
  files: z.array(z.object({ precision: z.enum(['fp32', 'fp16']), samples: z.enum(['uint8', 'uint16']).default('uint8'), file: z.string(), bytes: z.number(), sha256: z.string() })),
});
export type Stamp = z.infer<typeof stampSchema>;

export function stampPath(id: ModelId, dir: string = MODELS_DIST_DIR): string {
  return join(dir, `${id}.stamp.json`);
}

/** The stamp, or undefined when it is missing or unreadable. */
export async function readStamp(id: ModelId, dir: string = MODELS_DIST_DIR): Promise<Stamp | undefined> {
  try {
    return stampSchema.parse(JSON.parse(await readFile(stampPath(id, dir), 'utf8')));
  } catch {
    return undefined;
  }
}

/**
 * The SHA-256 the stamp records for a built file, when the file on disk is still the one it
 * describes: the same size, and not modified after the stamp was written (the build writes the
 * stamp last; a file replaced or touched by hand since is newer). Undefined means: hash the file.
 */
export async function stampedSha256(id: ModelId, precision: Precision, samples: SampleType, dir: string = MODELS_DIST_DIR): Promise<string | undefined> {
  const path = join(dir, basename(modelPath(id, precision, samples)));
  const [stamp, stampInfo, fileInfo] = await Promise.all([readStamp(id, dir), stat(stampPath(id, dir)).catch(() => undefined), stat(path).catch(() => undefined)]);
  const recorded = stamp?.files.find((f) => f.precision === precision && f.samples === samples && f.file === basename(path));
  if (recorded === undefined || stamp?.modelId !== id || stampInfo === undefined || fileInfo === undefined) return undefined;
  return fileInfo.size === recorded.bytes && fileInfo.mtimeMs <= stampInfo.mtimeMs ? recorded.sha256 : undefined;
}
