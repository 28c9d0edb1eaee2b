/**
 * Shard manifests: the small JSON written after a shard's media, recording what the shard holds and
 * where. A shard counts as done when its manifest exists, describes the planned frame range, and the
 * media object it names exists with the manifest's size (and, unless skipped, its SHA-256). This is
 * how both drivers resume: a crashed run redoes only the shards that fail this check.
 *
 * Two writers of one shard (a retried pod while the old one still runs, two local runs) must not
 * leave media and manifest from different attempts. So each attempt uploads its media under its own
 * key (`000042.<attempt>.nut`, attempt id random), and the manifest naming that key is the commit:
 * written last, and only if no manifest exists ({@link commitShardManifest}: S3 `If-None-Match: *`,
 * local link(2)). The losing attempt deletes its own media and reports the shard done by the other.
 * A crash before the commit leaves only unreferenced media, which the check never looks at and the
 * assemble step's prefix deletion removes. Readers take the media's location from the manifest
 * ({@link shardMediaUri}, or `media` of a done {@link checkShard}), never from the shard number.
 *
 * Version-1 manifests (no `media`) name `000042.nut` and are still accepted, so a job begun before
 * per-attempt keys resumes.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { UpscaleError } from '../errors.ts';
import type { JobLayout } from './job-layout.ts';
import type { Storage } from './storage.ts';

/** A media key within the shards prefix: the shard's number, an optional attempt id, `.nut`. */
const MEDIA_NAME = /^(\d{6})(\.[0-9a-f]{8,32})?\.nut$/;

export const ShardManifestSchema = z
  .object({
    /** 1: media at `000042.nut`; 2: media at `media`. */
    version: z.union([z.literal(1), z.literal(2)]),
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
    /** The media object's name within the job's `shards/` prefix, e.g. `000042.9f1c2b7d4e3a.nut` (version 2). */
    media: z.string().regex(MEDIA_NAME, 'must be a shard media name like 000042.<attempt>.nut').optional(),
    /**
     * The media's video stream as the shard step read it back (media/inspect.ts), which the SHA-256
     * binds to these bytes: assembly checks that shards can be joined by it instead of starting an
     * ffprobe per shard. Absent in manifests of older workers; assembly then reads the media itself.
     */
    video: z
      .object({
        codec: z.string().min(1),
        width: z.int().min(1),
        height: z.int().min(1),
        pixFmt: z.string().min(1),
        timeBase: z.object({ num: z.int().min(1), den: z.int().min(1) }),
        extradataHash: z.string(),
      })
      .optional(),
  })
  .refine((manifest) => manifest.end > manifest.start, { message: 'end must be greater than start', path: ['end'] })
  .refine((manifest) => manifest.version === 1 || manifest.media !== undefined, { message: 'version 2 needs a media name', path: ['media'] })
  .refine((manifest) => manifest.media === undefined || Number(MEDIA_NAME.exec(manifest.media)?.[1]) === manifest.shard, {
    message: "must name this shard's own media",
    path: ['media'],
  });

export type ShardManifest = z.infer<typeof ShardManifestSchema>;

/** What the plan expects of a shard. */
export interface ShardExpectation {
  shard: number;
  start: number;
  end: number;
}

/** A done shard comes with the URI of its media (from the manifest); assembly reads that. */
export type ShardCheck = { done: true; manifest: ShardManifest; media: string } | { done: false; reason: string };

/** Where a manifest's media is: `shards/<media>` for version 2, `shards/000042.nut` for version 1. */
export function shardMediaUri(layout: JobLayout, manifest: ShardManifest): string {
  return manifest.media === undefined ? layout.shardMedia(manifest.shard) : `${layout.shardsPrefix}${manifest.media}`;
}

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
  const mediaUri = shardMediaUri(layout, manifest);
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
  return { done: true, manifest, media: mediaUri };
}

function validated(layout: JobLayout, manifest: ShardManifest): ShardManifest {
  const parsed = ShardManifestSchema.safeParse(manifest);
  if (!parsed.success) {
    throw new UpscaleError('Internal', `writing shard ${manifest.shard} manifest: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
      subject: layout.shardManifest(manifest.shard),
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Validates and writes a shard's manifest, replacing any (tests and tools; the shard step commits). */
export async function writeShardManifest(storage: Storage, layout: JobLayout, manifest: ShardManifest): Promise<void> {
  await storage.writeJson(layout.shardManifest(manifest.shard), validated(layout, manifest), { overwrite: true });
}

/** The outcome of {@link commitShardManifest}. */
export type ShardCommit =
  | { committed: true; replaced?: string }
  | { committed: false; winner: ShardManifest; media: string };

/**
 * Commits a finished attempt: writes `manifest` (naming the attempt's own media) only if the shard
 * has no manifest yet. When another attempt committed first and its shard checks out, nothing is
 * written and the winner is returned: the caller deletes its own media. A manifest that does not
 * check out (stale, corrupt, its media gone) is replaced, and `replaced` says why; two attempts
 * replacing it at once both leave a manifest that names its own existing media, so either outcome
 * is consistent. Storage failures throw (a concurrent conditional write on S3 may answer 409,
 * which is transient: the retry sees the winner).
 */
export async function commitShardManifest(
  storage: Storage,
  layout: JobLayout,
  manifest: ShardManifest,
  options: CheckShardOptions = {},
): Promise<ShardCommit> {
  const uri = layout.shardManifest(manifest.shard);
  const value = validated(layout, manifest);
  try {
    await storage.writeJson(uri, value, { overwrite: false });
    return { committed: true };
  } catch (error) {
    if (!(error instanceof UpscaleError && error.code === 'AlreadyExists')) throw error;
  }
  const existing = await checkShard(storage, layout, manifest, options);
  if (existing.done) return { committed: false, winner: existing.manifest, media: existing.media };
  await storage.writeJson(uri, value, { overwrite: true });
  return { committed: true, replaced: existing.reason };
}
