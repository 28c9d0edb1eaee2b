/**
 * A job's identity: what its intermediates were made from. The probe step records it in
 * `identity.json` under the job prefix before anything else; every later step compares it with the
 * source and model it is about to use, so work made from another source (replaced under the same
 * name) or another model is never mixed into an output.
 *
 * - Source: S3 ETag + size; a local file's size, modification time and a SHA-256 of its first and
 *   last MiB; an http(s) input's ETag (else Last-Modified) and size.
 * - Model: the SHA-256 of the model file (a user's `.onnx`), or of the catalogue model's built ONNX
 *   files: taken from the build stamp while a file is the one it describes (models/stamp.ts: 0.26 s
 *   of hashing for general-x4v3 and 2.6 s for x4plus on every probe before), else hashed. Hashes are
 *   cached per process, keyed by the file's size and mtime (or ETag).
 *
 * Gather (`currentIdentity`), decide (`identityChange`, pure), act (the steps: restart or fail).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PRECISIONS, SAMPLE_TYPES, findModel, modelPath } from '../../models/catalogue.ts';
import { stampedSha256 } from '../../models/stamp.ts';
import { UpscaleError } from '../errors.ts';
import type { JobLayout } from '../storage/job-layout.ts';
import { parseLocation } from '../storage/location.ts';
import type { Storage } from '../storage/storage.ts';

/** Bytes hashed at each end of a local source. */
export const EDGE_BYTES = 1 << 20;

const sourceIdentitySchema = z.object({
  /** The source's URI as recorded (safe to log); informative, not compared. */
  uri: z.string(),
  size: z.int(),
  etag: z.string().optional(),
  /** Local files, and http(s) inputs without an ETag. */
  mtimeMs: z.number().optional(),
  /** Local files: SHA-256 of the first and last {@link EDGE_BYTES}. */
  edgesSha256: z.string().optional(),
});

const modelIdentitySchema = z.object({
  /** Catalogue id, or the model file's path or URI. */
  name: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export const jobIdentitySchema = z.object({
  version: z.literal(1),
  source: sourceIdentitySchema,
  /** Absent when the probe task named no model (then only the source is checked). */
  model: modelIdentitySchema.optional(),
});

export type SourceIdentity = z.infer<typeof sourceIdentitySchema>;
export type ModelIdentity = z.infer<typeof modelIdentitySchema>;
export type JobIdentity = z.infer<typeof jobIdentitySchema>;

export interface IdentityChange {
  /** What changed: the job's intermediates belong to another source or another model. */
  what: 'source' | 'model';
  /** Plain English, e.g. `the source /v/in.mp4 changed (size 1200 -> 1300)`. */
  reason: string;
}

/** The identity of `input` and (when given) `model` as they are now. */
export async function currentIdentity(storage: Storage, input: string, model: string | undefined): Promise<JobIdentity> {
  const source = await sourceIdentity(storage, input);
  return model === undefined ? { version: 1, source } : { version: 1, source, model: await modelIdentity(storage, model) };
}

/** What identifies the source now (see the module comment). */
export async function sourceIdentity(storage: Storage, input: string): Promise<SourceIdentity> {
  const info = await storage.stat(input);
  if (info === undefined) {
    // The storage room's own error for the missing object (its URI redacted, its HTTP status named).
    (await storage.mediaSource(input)).release();
    const uri = parseLocation(input).uri;
    throw new UpscaleError('NotFound', `opening ${uri}: no such object`, { subject: uri });
  }
  const identity: SourceIdentity = { uri: info.uri, size: info.size };
  if (info.etag !== undefined) identity.etag = info.etag;
  const kind = parseLocation(input).kind;
  if (info.lastModified !== undefined && (kind === 'file' || info.etag === undefined)) identity.mtimeMs = info.lastModified.getTime();
  if (kind === 'file') identity.edgesSha256 = await edgesSha256(storage, input, info.size);
  return identity;
}

/** SHA-256 of the size and the first and last {@link EDGE_BYTES} (the whole file when small). */
async function edgesSha256(storage: Storage, uri: string, size: number): Promise<string> {
  const hash = createHash('sha256').update(`${size}\n`);
  hash.update(await storage.read(uri, { start: 0, end: Math.min(size, EDGE_BYTES) }));
  if (size > EDGE_BYTES) hash.update(await storage.read(uri, { start: Math.max(EDGE_BYTES, size - EDGE_BYTES), end: size }));
  return hash.digest('hex');
}

const hashCache = new Map<string, string>();

/** The model's identity: a catalogue model's built files, else the file or object itself. */
export async function modelIdentity(storage: Storage, model: string): Promise<ModelIdentity> {
  const catalogued = findModel(model);
  if (catalogued === undefined) return { name: model, sha256: await cachedSha256(storage, model) };
  // Either precision may run (the engine chooses per device), and a deep source runs the uint16
  // variant: every built file makes the identity.
  const hash = createHash('sha256');
  for (const precision of PRECISIONS) {
    for (const samples of SAMPLE_TYPES) {
      const path = modelPath(catalogued.id, precision, samples);
      const label = samples === 'uint8' ? precision : `${precision}.${samples}`;
      if (await storage.exists(path)) hash.update(`${label} ${(await stampedSha256(catalogued.id, precision, samples)) ?? (await cachedSha256(storage, path))}\n`);
    }
  }
  return { name: catalogued.id, sha256: hash.digest('hex') };
}

async function cachedSha256(storage: Storage, uri: string): Promise<string> {
  const info = await storage.stat(uri);
  if (info === undefined) throw new UpscaleError('NotFound', `model ${uri} does not exist (expected an .onnx file or object)`, { subject: uri });
  const key = JSON.stringify([uri, info.size, info.etag ?? info.lastModified?.getTime() ?? null]);
  const cached = hashCache.get(key);
  if (cached !== undefined) return cached;
  const hash = createHash('sha256');
  const stream = await storage.openRead(uri);
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new UpscaleError('Unavailable', `reading model ${uri}: the stream failed while hashing`, { subject: uri, cause });
  }
  const hex = hash.digest('hex');
  hashCache.set(key, hex);
  return hex;
}

/**
 * What differs between the identity recorded for a job and the current one, or undefined when the
 * intermediates may be used. A model is compared only when both sides name one.
 */
export function identityChange(recorded: JobIdentity, current: JobIdentity): IdentityChange | undefined {
  const was = recorded.source;
  const now = current.source;
  const diffs: string[] = [];
  if (was.size !== now.size) diffs.push(`size ${was.size} -> ${now.size}`);
  if (was.etag !== now.etag) diffs.push(`ETag ${was.etag ?? 'none'} -> ${now.etag ?? 'none'}`);
  if (was.mtimeMs !== now.mtimeMs) diffs.push(`modified ${isoTime(was.mtimeMs)} -> ${isoTime(now.mtimeMs)}`);
  if (was.edgesSha256 !== now.edgesSha256) diffs.push('content differs');
  if (diffs.length > 0) return { what: 'source', reason: `the source ${now.uri} changed since the job was probed (${diffs.join(', ')})` };
  if (recorded.model !== undefined && current.model !== undefined && recorded.model.sha256 !== current.model.sha256) {
    const names = recorded.model.name === current.model.name ? current.model.name : `${recorded.model.name} -> ${current.model.name}`;
    return {
      what: 'model',
      reason: `the model changed since the job was probed (${names}: sha256 ${recorded.model.sha256.slice(0, 12)} -> ${current.model.sha256.slice(0, 12)})`,
    };
  }
  return undefined;
}

function isoTime(ms: number | undefined): string {
  return ms === undefined ? 'unknown' : new Date(ms).toISOString();
}

/** The recorded identity, or undefined when the probe has not written one. */
export async function readJobIdentity(storage: Storage, layout: JobLayout): Promise<JobIdentity | undefined> {
  if (!(await storage.exists(layout.identity))) return undefined;
  return storage.readJson(layout.identity, jobIdentitySchema);
}

/**
 * For the steps after the probe (shard, assemble): fails permanently unless the job's recorded
 * identity matches `input` and `model` now, so a pod never mixes work made from another source or
 * model. `model` is the shard's model; assembly passes none (its shards already checked theirs).
 * @throws UpscaleError `VerificationFailed` (permanent) naming what changed, or when no identity
 *   was recorded (a prefix written by an older worker)
 */
export async function checkJobIdentity(storage: Storage, layout: JobLayout, input: string, model?: string): Promise<void> {
  const recorded = await readJobIdentity(storage, layout);
  if (recorded === undefined) {
    throw new UpscaleError(
      'VerificationFailed',
      `job ${layout.prefix} has no ${layout.identity}: its source and model cannot be checked (rerun the probe step on an empty prefix)`,
      { subject: layout.identity },
    );
  }
  const current = await currentIdentity(storage, input, recorded.model === undefined ? undefined : model);
  const change = identityChange(recorded, current);
  if (change !== undefined) {
    throw new UpscaleError('VerificationFailed', `${change.reason}: the intermediates under ${layout.prefix} belong to the old ${change.what}; start a new job`, {
      subject: change.what === 'source' ? current.source.uri : (current.model?.name ?? layout.identity),
    });
  }
}
