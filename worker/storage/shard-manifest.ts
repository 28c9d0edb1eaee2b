/**
 * Shard manifests: the small JSON written after a shard's media, recording what the shard holds.
 * A shard counts as done when its manifest exists, describes the planned frame range, and matches the
 * media object's size (and, unless skipped, its SHA-256). This is how both drivers resume: a crashed
 * run redoes only the shards that fail this check.
 *
 * Write order for a shard step: upload the media (overwrite), then {@link writeShardManifest}. A crash
 * between the two leaves media without a matching manifest, which the check treats as not done.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UpscaleError } from '../errors.ts';
import type { JobLayout } from './job-layout.ts';
import type { Storage } from './storage.ts';

export const ShardManifestSchema = z
  .object({
    version: z.literal(1),
    /** Shard index in the plan. */
    shard: z.number().int().min(0),
    /** First source frame (inclusive). */
    start: z.number().int().min(0),
    /** End source frame (exclusive). */
    end: z.number().int().min(1),
    /** Frames the shard's media holds, as verified when it was encoded. */
    frames: z.number().int().min(1),
    /** Size of the media object in bytes. */
    bytes: z.number().int().min(0),
    /** Hex SHA-256 of the media object. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  })
  .refine((manifest) => manifest.end > manifest.start, { message: 'end must be greater than start', path: ['end'] });

export type ShardManifest = z.infer<typeof ShardManifestSchema>;

/** What the plan expects of a shard. */
export interface ShardExpectation {
  shard: number;
  start: number;
  end: number;
}

export type ShardCheck = { done: true; manifest: ShardManifest } | { done: false; reason: string };

export interface CheckShardOptions {
  /** Hash the media and compare with the manifest (reads the whole shard). Default true. */
  verifyChecksum?: boolean;
}

/** Hex SHA-256 of an object, streamed (no full copy in memory). */
export async function sha256Of(storage: Storage, uri: string): Promise<string> {
  const hash = createHash('sha256');
  const stream = await storage.openRead(uri);
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new UpscaleError('Unavailable', `reading ${uri}: the stream failed while hashing`, { subject: uri, cause });
  }
  return hash.digest('hex');
}

/**
 * Decides whether shard `expected.shard` is already done. Missing, unparsable or mismatching
 * manifests and media give `{ done: false, reason }`; storage failures (credentials, network) throw.
 */
export async function checkShard(
  storage: Storage,
  layout: JobLayout,
  expected: ShardExpectation,
  options: CheckShardOptions = {},
): Promise<ShardCheck> {
  const manifestUri = layout.shardManifest(expected.shard);
  const mediaUri = layout.shardMedia(expected.shard);
  if (!(await storage.exists(manifestUri))) return { done: false, reason: `no manifest at ${manifestUri}` };
  let manifest: ShardManifest;
  try {
    manifest = await storage.readJson(manifestUri, ShardManifestSchema);
  } catch (error) {
    // A manifest deleted meanwhile or unreadable as JSON: redo the shard rather than fail the job.
    if (error instanceof UpscaleError && (error.code === 'InvalidInput' || error.code === 'NotFound')) {
      return { done: false, reason: error.message };
    }
    throw error;
  }
  const { shard, start, end } = expected;
  if (manifest.shard !== shard || manifest.start !== start || manifest.end !== end) {
    return {
      done: false,
      reason: `${manifestUri} describes shard ${manifest.shard} [${manifest.start}, ${manifest.end}), the plan wants shard ${shard} [${start}, ${end})`,
    };
  }
  if (manifest.frames !== end - start) {
    return { done: false, reason: `${manifestUri} records ${manifest.frames} frames, the range has ${end - start}` };
  }
  const media = await storage.stat(mediaUri);
  if (media === undefined) return { done: false, reason: `no shard media at ${mediaUri}` };
  if (media.size !== manifest.bytes) {
    return { done: false, reason: `${mediaUri} has ${media.size} bytes, the manifest records ${manifest.bytes}` };
  }
  if (options.verifyChecksum ?? true) {
    const actual = await sha256Of(storage, mediaUri);
    if (actual !== manifest.sha256) {
      return { done: false, reason: `${mediaUri} has sha256 ${actual}, the manifest records ${manifest.sha256}` };
    }
  }
  return { done: true, manifest };
}

/** Validates and writes a shard's manifest (replacing a stale one); call after the media upload. */
export async function writeShardManifest(storage: Storage, layout: JobLayout, manifest: ShardManifest): Promise<void> {
  const parsed = ShardManifestSchema.safeParse(manifest);
  if (!parsed.success) {
    throw new UpscaleError('Internal', `writing shard ${manifest.shard} manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
      subject: layout.shardManifest(manifest.shard),
      cause: parsed.error,
    });
  }
  await storage.writeJson(layout.shardManifest(manifest.shard), parsed.data, { overwrite: true });
}
