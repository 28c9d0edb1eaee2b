/**
 * Where a job keeps its intermediates: one prefix beside the output, so both drivers (local `upscale
 * run` and the operator) find the same files and a rerun resumes from them.
 *
 *   <output>.upscale/<job-id>/identity.json         what the job is made from (source, model), written first
 *   <output>.upscale/<job-id>/probe.json            the full probe of the input
 *   <output>.upscale/<job-id>/plan.json             the shard plan (frame ranges), fixed once written
 *   <output>.upscale/<job-id>/shards/000042.<attempt>.nut   shard 42, encoded by one attempt
 *   <output>.upscale/<job-id>/shards/000042.json    its manifest (media key, frames, bytes, sha256),
 *                                                   written last and only once: the commit
 *   <output>                                        the final object, written last and atomically
 *
 * Pure string functions: they work the same for local paths, `file://` and `s3://` URIs.
 */
import { UpscaleError } from '../errors.ts';
import { isValidJobId, JOB_ID_RULE } from '../job-id.ts';

/** Shard numbers are zero-padded to this width so keys sort in shard order. */
export const SHARD_DIGITS = 6;
export const MAX_SHARDS = 10 ** SHARD_DIGITS;

export interface JobLayout {
  /** `<output>.upscale/<job-id>/`, ending in `/`. */
  prefix: string;
  /** `<prefix>identity.json`: the source's and the model's identity (worker/steps/job-identity.ts) */
  identity: string;
  /** `<prefix>probe.json` */
  probe: string;
  /** `<prefix>plan.json` */
  plan: string;
  /** `<prefix>shards/` */
  shardsPrefix: string;
  /** `<prefix>shards/000042.nut`: where version-1 manifests' media lives (before per-attempt keys). */
  shardMedia(index: number): string;
  /** `<prefix>shards/000042.<attempt>.nut`: the media of one attempt at shard 42 (see shard-manifest.ts). */
  shardAttemptMedia(index: number, attempt: string): string;
  /** `<prefix>shards/000042.json` */
  shardManifest(index: number): string;
}

/** `000042` for 42; throws a permanent error outside `[0, MAX_SHARDS)`. */
export function shardName(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0 || index >= MAX_SHARDS) {
    throw new UpscaleError('InvalidArgument', `invalid shard index ${index}: want an integer in [0, ${MAX_SHARDS})`, {
      subject: 'shard',
    });
  }
  return String(index).padStart(SHARD_DIGITS, '0');
}

const ATTEMPT = /^[0-9a-f]{8,32}$/;

/** `000042.<attempt>.nut`; an attempt id is 8-32 lowercase hex digits (random per attempt). */
export function shardAttemptMediaName(index: number, attempt: string): string {
  if (!ATTEMPT.test(attempt)) {
    throw new UpscaleError('Internal', `invalid shard attempt id "${attempt}": want 8-32 lowercase hex digits`, { subject: 'attempt' });
  }
  return `${shardName(index)}.${attempt}.nut`;
}

/** The job's intermediate locations for `outputUri` (a local path or URI) and `jobId`. */
export function jobLayout(outputUri: string, jobId: string): JobLayout {
  if (!isValidJobId(jobId)) {
    throw new UpscaleError('InvalidArgument', `invalid job id "${jobId}": use ${JOB_ID_RULE}`, { subject: 'jobId' });
  }
  if (outputUri.length === 0 || outputUri.endsWith('/')) {
    throw new UpscaleError('InvalidArgument', `invalid output "${outputUri}": expected a file or object, not a prefix`, {
      subject: outputUri,
    });
  }
  const prefix = `${outputUri}.upscale/${jobId}/`;
  const shardsPrefix = `${prefix}shards/`;
  return {
    prefix,
    identity: `${prefix}identity.json`,
    probe: `${prefix}probe.json`,
    plan: `${prefix}plan.json`,
    shardsPrefix,
    shardMedia: (index) => `${shardsPrefix}${shardName(index)}.nut`,
    shardAttemptMedia: (index, attempt) => `${shardsPrefix}${shardAttemptMediaName(index, attempt)}`,
    shardManifest: (index) => `${shardsPrefix}${shardName(index)}.json`,
  };
}
