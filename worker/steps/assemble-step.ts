/**
 * The assemble step: check that every planned shard is done, join the shards with the source's
 * audio, subtitles and chapters, verify the result against the probe, and publish it atomically.
 *
 * Before anything is read the job's recorded identity is checked against the source
 * (job-identity.ts): shards made from a source since replaced are never joined with its audio.
 * With `waitForShards` the step starts before the shards are done (shard-arrivals.ts): each shard
 * is staged as it lands and streamed into the output in plan order, so the mux runs beside the
 * last shards instead of after them.
 * Each shard is read from storage once: downloaded (S3) or hard-linked (local) into a private work
 * directory while its SHA-256 is checked against its manifest, and ffmpeg joins exactly the bytes
 * that were verified. Manifests are read and shards staged a few at a time (`mapBounded`): on S3
 * each is a round trip or a download, which serially would add up per shard.
 *
 * Local outputs are written by the media room under a random temporary name, flushed to disk and
 * linked into place (atomic-file.ts); S3 outputs are assembled into a local temporary file and
 * uploaded as one multipart upload that completes only at the end, so no partial output is ever
 * visible. After success (and only once the output is durable) the job's intermediates are deleted
 * unless asked to keep them.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { mapBounded } from '../bounded-map.ts';
import { UpscaleError, inStep } from '../errors.ts';
import { assemble, type AssembleShard, type ExpectedShards } from '../media/assemble.ts';
import { probeSchema } from '../media/probe-schema.ts';
import { HashingStream } from '../storage/hashing-stream.ts';
import { jobLayout, type JobLayout } from '../storage/job-layout.ts';
import { parseLocation, requireWritable } from '../storage/location.ts';
import { checkShard, type ShardCheck, type ShardManifest } from '../storage/shard-manifest.ts';
import type { ShardRange } from '../shard-plan.ts';
import { awaitShards } from './shard-arrivals.ts';
import type { Storage } from '../storage/storage.ts';
import type { AssembleTask } from '../task.ts';
import { checkJobIdentity } from './job-identity.ts';
import { planFileSchema, planSpan, shardRanges } from './plan-file.ts';

export interface AssembleStepResult {
  step: 'assemble';
  jobId: string;
  output: string;
  frames: number;
  bytes: number;
  duration: number;
  audio: number;
  subtitles: number;
  warnings: string[];
  seconds: number;
}

/** What a caller that runs the shards itself gives an assembly that waits for them. */
export interface AssembleStepHooks {
  /** Stops the waiting assembly (the shards failed, or the run was interrupted): nothing is published. */
  signal?: AbortSignal;
  /** Hands over a function that looks for shards at once (call it when a shard has committed). */
  onWaiting?: (lookNow: () => void) => void;
  /** With `waitForShards`: the codec and height every shard will hold, so the mux starts before the first lands (media/assemble.ts `expect`). */
  expect?: ExpectedShards;
}

/** Runs the assemble step; errors are {@link UpscaleError}s in step `assemble`. */
export async function runAssembleStep(task: AssembleTask, storage: Storage, log: Logger, hooks: AssembleStepHooks = {}): Promise<AssembleStepResult> {
  try {
    return await assembleStep(task, storage, log, hooks);
  } catch (error) {
    throw inStep(error, 'assemble');
  }
}

/** Shards whose manifest and media size are read at once (small requests, latency-bound on S3). */
const METADATA_CONCURRENCY = 16;
/** Shards downloaded (or linked) and hashed at once: S3 downloads overlap; each streams, so memory stays small. */
const STAGE_CONCURRENCY = 4;
/** How often shards still being made are looked for (`waitForShards`): a stat each locally, two requests each on S3. */
const LOCAL_POLL_MS = 200;
const REMOTE_POLL_MS = 1000;

async function assembleStep(task: AssembleTask, storage: Storage, log: Logger, hooks: AssembleStepHooks): Promise<AssembleStepResult> {
  const began = performance.now();
  const layout = jobLayout(task.output, task.jobId);
  const plan = await storage.readJson(layout.plan, planFileSchema);
  const probe = await storage.readJson(layout.probe, probeSchema);
  if (!task.overwrite && (await storage.exists(task.output))) {
    throw new UpscaleError('AlreadyExists', `output ${task.output} already exists (pass overwrite to replace it)`, { subject: task.output });
  }

  await checkJobIdentity(storage, layout, task.input);

  const ranges = shardRanges(plan);
  // Sizes only here: each shard's checksum is verified while it is staged, in the one read of it.
  const check = (range: ShardRange): Promise<ShardCheck> => checkShard(storage, layout, { shard: range.index, start: range.start, end: range.end }, { verifyChecksum: false });
  const done: { manifest: ShardManifest; media: string }[] = [];
  if (!task.waitForShards) {
    const missing: string[] = [];
    const checks = await mapBounded(ranges, check, METADATA_CONCURRENCY);
    for (const [i, found] of checks.entries()) {
      if (found.done) done.push({ manifest: found.manifest, media: found.media });
      else missing.push(`${ranges[i]?.index ?? i} (${found.reason})`);
    }
    if (missing.length > 0) {
      throw new UpscaleError('VerificationFailed', `${missing.length} of ${ranges.length} shards are not done: ${missing.slice(0, 5).join(', ')}`, {
        subject: layout.shardsPrefix,
        // Shards may still be running or be retried: assembling again later can succeed.
        kind: 'transient',
      });
    }
  }

  const output = parseLocation(task.output);
  requireWritable(output, 'writing');
  // Local: inside the job prefix, on the output's file system, so shards can be hard-linked.
  const workParent = output.kind === 'file' ? join(`${output.path}.upscale`, task.jobId) : tmpdir();
  await mkdir(workParent, { recursive: true });
  const work = await mkdtemp(join(workParent, 'assemble-'));
  const staged = async (manifest: ShardManifest, media: string): Promise<AssembleShard> => ({
    path: await stageShard(storage, layout, manifest, media, work),
    start: manifest.start,
    end: manifest.end,
    // The shard step's own read-back of these bytes (their SHA-256 was just checked against the
    // same manifest): the same facts an ffprobe here would give, without starting one per shard.
    ...(manifest.video ? { inspection: { ...manifest.video, packets: manifest.frames } } : {}),
  });
  const arrivals = task.waitForShards
    ? awaitShards(ranges, { check, stage: staged }, { pollMs: parseLocation(layout.prefix).kind === 'file' ? LOCAL_POLL_MS : REMOTE_POLL_MS, checkConcurrency: METADATA_CONCURRENCY, stageConcurrency: STAGE_CONCURRENCY, log, ...(hooks.signal ? { signal: hooks.signal } : {}) })
    : undefined;
  try {
    if (arrivals !== undefined) {
      hooks.onWaiting?.(() => arrivals.lookNow());
      log.debug({ job: task.jobId, shards: ranges.length }, 'Assembling as the shards arrive');
    }
    const shards = arrivals === undefined ? await mapBounded(done, ({ manifest, media }) => staged(manifest, media), STAGE_CONCURRENCY) : [];
    const localOutput = output.kind === 'file' ? output.path : join(work, `output${extname(output.key)}`);
    const source = await storage.mediaSource(task.input);
    let result: Awaited<ReturnType<typeof assemble>>;
    try {
      result = await assemble({ source: source.url, sourceName: source.display, probe, shards, ...(arrivals ? { arriving: arrivals.arriving, ...(hooks.expect ? { expect: hooks.expect } : {}) } : {}), segment: planSpan(plan), output: localOutput, overwrite: task.overwrite, log });
    } finally {
      source.release();
      arrivals?.stop();
      await arrivals?.settled();
    }
    if (output.kind === 's3') await storage.upload(task.output, { path: localOutput }, { overwrite: task.overwrite });
    if (!task.keepIntermediates) {
      const removed = await storage.deletePrefix(layout.prefix);
      // Local: also drop `<output>.upscale/` once no other job of this output uses it.
      if (output.kind === 'file') await rmdir(`${output.path}.upscale`).catch(() => undefined);
      log.info({ job: task.jobId, prefix: layout.prefix, objects: removed }, 'Deleted job intermediates');
    }
    const seconds = Math.round((performance.now() - began) / 10) / 100;
    log.info({ job: task.jobId, output: task.output, frames: result.frames, seconds }, 'Assembled output');
    return {
      step: 'assemble',
      jobId: task.jobId,
      output: task.output,
      frames: result.frames,
      bytes: result.bytes,
      duration: result.duration,
      audio: result.audio,
      subtitles: result.subtitles,
      warnings: result.warnings,
      seconds,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A private local copy of the shard media at `uri` (as its manifest names it) whose SHA-256 and size match its manifest, read from storage
 * once: a local shard is hard-linked (published files are never written in place, so the linked
 * bytes cannot change) and hashed, anything else is downloaded through the hash.
 * @throws UpscaleError `VerificationFailed` (permanent) naming the shard when the bytes differ
 */
async function stageShard(storage: Storage, layout: JobLayout, manifest: ShardManifest, uri: string, work: string): Promise<string> {
  const staged = join(work, uri.slice(uri.lastIndexOf('/') + 1));
  const location = parseLocation(uri);
  let linked = false;
  if (location.kind === 'file') {
    linked = await link(location.path, staged).then(
      () => true,
      () => false, // another file system, or none with links: copy instead
    );
  }
  const hashing = new HashingStream();
  try {
    if (linked) await pipeline(createReadStream(staged), hashing, devNull());
    else await pipeline(await storage.openRead(uri), hashing, createWriteStream(staged, { flags: 'wx' }));
  } catch (cause) {
    if (cause instanceof UpscaleError) throw cause;
    throw new UpscaleError('Unavailable', `reading shard ${manifest.shard} from ${uri}: ${(cause as Error).message}`, { subject: uri, cause });
  }
  const sha256 = hashing.digest();
  if (sha256 !== manifest.sha256 || hashing.bytes !== manifest.bytes) {
    throw new UpscaleError(
      'VerificationFailed',
      `shard ${manifest.shard} (${uri}) has ${hashing.bytes} bytes with sha256 ${sha256}, its manifest ${layout.shardManifest(manifest.shard)} records ${manifest.bytes} bytes with sha256 ${manifest.sha256}: the shard is corrupt or was replaced; rerun shard ${manifest.shard}`,
      { subject: uri },
    );
  }
  return staged;
}

/** A sink that drops what it is given (the hash is what counts). */
function devNull(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
