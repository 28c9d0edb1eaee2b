/**
 * The assemble step: check that every planned shard is done, join the shards with the source's
 * audio, subtitles and chapters, verify the result against the probe, and publish it atomically.
 *
 * Local outputs are written by the media room under a temporary name and renamed; S3 outputs are
 * assembled into a local temporary file and uploaded as one multipart upload that completes only at
 * the end, so no partial output is ever visible. After success the job's intermediates are deleted
 * unless asked to keep them.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { UpscaleError, inStep } from '../errors.ts';
import { assemble, type ShardFile } from '../media/assemble.ts';
import { probeSchema } from '../media/probe-schema.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { parseLocation, requireWritable } from '../storage/location.ts';
import { checkShard } from '../storage/shard-manifest.ts';
import type { Storage } from '../storage/storage.ts';
import type { AssembleTask } from '../task.ts';
import { planFileSchema, shardRanges } from './plan-file.ts';

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

/** Runs the assemble step; errors are {@link UpscaleError}s in step `assemble`. */
export async function runAssembleStep(task: AssembleTask, storage: Storage, log: Logger): Promise<AssembleStepResult> {
  try {
    return await assembleStep(task, storage, log);
  } catch (error) {
    throw inStep(error, 'assemble');
  }
}

async function assembleStep(task: AssembleTask, storage: Storage, log: Logger): Promise<AssembleStepResult> {
  const began = performance.now();
  const layout = jobLayout(task.output, task.jobId);
  const plan = await storage.readJson(layout.plan, planFileSchema);
  const probe = await storage.readJson(layout.probe, probeSchema);
  if (!task.overwrite && (await storage.exists(task.output))) {
    throw new UpscaleError('AlreadyExists', `output ${task.output} already exists (pass overwrite to replace it)`, { subject: task.output });
  }

  const ranges = shardRanges(plan);
  const missing: string[] = [];
  for (const range of ranges) {
    const check = await checkShard(storage, layout, { shard: range.index, start: range.start, end: range.end });
    if (!check.done) missing.push(`${range.index} (${check.reason})`);
  }
  if (missing.length > 0) {
    throw new UpscaleError('VerificationFailed', `${missing.length} of ${ranges.length} shards are not done: ${missing.slice(0, 5).join(', ')}`, {
      subject: layout.shardsPrefix,
      // Shards may still be running or be retried: assembling again later can succeed.
      kind: 'transient',
    });
  }

  const work = await mkdtemp(join(tmpdir(), 'upscale-assemble-'));
  try {
    const shards: ShardFile[] = [];
    for (const range of ranges) {
      shards.push({ path: await localCopy(storage, layout.shardMedia(range.index), work), start: range.start, end: range.end });
    }
    const source = await storage.mediaSource(task.input);
    const output = parseLocation(task.output);
    requireWritable(output, 'writing');
    const localOutput = output.kind === 'file' ? output.path : join(work, `output${extname(output.key)}`);
    const result = await assemble({ source: source.url, sourceName: source.display, probe, shards, output: localOutput, overwrite: task.overwrite, log });
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

/** A local path of the object: the file itself when local, else a download into `work`. */
async function localCopy(storage: Storage, uri: string, work: string): Promise<string> {
  const source = await storage.mediaSource(uri);
  if (source.kind === 'file') return source.url;
  const path = join(work, uri.slice(uri.lastIndexOf('/') + 1));
  await pipeline(await storage.openRead(uri), createWriteStream(path));
  return path;
}
