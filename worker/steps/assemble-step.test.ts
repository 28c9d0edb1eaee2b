/**
 * The assemble step against the real S3 server, real ffmpeg and the real model on the CPU (a tiny
 * clip in two shards): each shard is read from storage once, verified while it is read; a shard
 * whose bytes differ from its manifest, or a source replaced since the probe, fails permanently and
 * publishes nothing.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { clip } from '../../test/fixtures/clips.ts';
import { useS3 } from '../../test/s3/harness.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { Storage } from '../storage/storage.ts';
import type { ByteRange } from '../storage/types.ts';
import { assembleTaskSchema, parseTask, probeTaskSchema, shardTaskSchema } from '../task.ts';
import { runAssembleStep } from './assemble-step.ts';
import { runProbeStep } from './probe-step.ts';
import { runShardStep } from './shard-step.ts';

const s3 = await useS3();
const log = pino({ level: 'silent' });

/** The real Storage, counting the reads of each object. */
class CountingStorage extends Storage {
  readonly reads = new Map<string, number>();
  override async openRead(uri: string, range?: ByteRange): Promise<Readable> {
    this.reads.set(uri, (this.reads.get(uri) ?? 0) + 1);
    return super.openRead(uri, range);
  }
  override async read(uri: string, range?: ByteRange): Promise<Buffer> {
    this.reads.set(uri, (this.reads.get(uri) ?? 0) + 1);
    return super.read(uri, range);
  }
}

/** A job on S3 with both shards done: input, output and the step tasks' common fields. */
async function shardedJob(t: TestContext, storage: Storage): Promise<{ version: 1; jobId: string; input: string; output: string }> {
  const bucket = await s3.bucket(t);
  const common = { version: 1 as const, jobId: 'assemble-once', input: `s3://${bucket}/in.mp4`, output: `s3://${bucket}/out.mkv` };
  await storage.write(common.input, await readFile(await clip('tiny-basic')));
  await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 2, model: 'realesr-general-x4v3' } }, 'test'), storage, log);
  for (const shard of [0, 1]) {
    await runShardStep(parseTask(shardTaskSchema, { ...common, step: 'shard', shard, settings: { ep: 'cpu', codec: 'ffv1', encoder: 'cpu' } }, 'test'), storage, log);
  }
  return common;
}

async function shardMediaUris(storage: Storage, output: string, jobId: string): Promise<string[]> {
  const listed = await storage.list(jobLayout(output, jobId).shardsPrefix);
  return listed.map((o) => o.uri).filter((uri) => uri.endsWith('.nut'));
}

async function failure(promise: Promise<unknown>): Promise<UpscaleError> {
  const error = await promise.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, String(error));
  return error;
}

test('reads each shard from storage once, verifying it while reading', async (t) => {
  const storage = new CountingStorage({ s3: s3.options });
  t.after(() => storage.close());
  const job = await shardedJob(t, storage);
  const media = await shardMediaUris(storage, job.output, job.jobId);
  assert.equal(media.length, 2);
  storage.reads.clear();
  const result = await runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble' }, 'test'), storage, log);
  assert.equal(result.frames, 12);
  for (const uri of media) assert.equal(storage.reads.get(uri), 1, `reads of ${uri}`);
});

test('fails permanently naming the shard whose bytes differ from its manifest, and publishes nothing', async (t) => {
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const job = await shardedJob(t, storage);
  const [, second] = await shardMediaUris(storage, job.output, job.jobId);
  assert.ok(second !== undefined);
  // Same size, one byte changed: only the checksum can tell.
  const bytes = await storage.read(second);
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
  await storage.write(second, bytes, { overwrite: true });

  const error = await failure(runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble' }, 'test'), storage, log));
  assert.equal(error.code, 'VerificationFailed');
  assert.equal(exitCodeFor(error), 2);
  assert.match(error.message, /^assemble: shard 1 \(s3:\/\/[^)]+\.nut\) has \d+ bytes with sha256 [0-9a-f]{64}, its manifest/);
  assert.equal(await storage.exists(job.output), false, 'no output is published');
});

test('a pod fails permanently when the source was replaced after the probe, naming the source', async (t) => {
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const job = await shardedJob(t, storage);
  // Another clip of the same length under the same key (a new ETag and size).
  await storage.write(job.input, await readFile(await clip('tiny-negated')), { overwrite: true });

  const assembled = await failure(runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble' }, 'test'), storage, log));
  assert.equal(assembled.code, 'VerificationFailed');
  assert.equal(exitCodeFor(assembled), 2);
  assert.match(assembled.message, new RegExp(`^assemble: the source ${job.input} changed since the job was probed \\(size \\d+ -> \\d+, ETag `));
  assert.equal(await storage.exists(job.output), false, 'no output mixing old shards with the new audio');

  // The probe pod of that job (a retried probe) refuses as well, and leaves the intermediates alone.
  const probed = await failure(runProbeStep(parseTask(probeTaskSchema, { ...job, step: 'probe', plan: { shardCount: 2, model: 'realesr-general-x4v3' } }, 'test'), storage, log));
  assert.equal(probed.code, 'VerificationFailed');
  assert.equal(exitCodeFor(probed), 2);
  assert.match(probed.message, /^probe: the source .* changed since the job was probed/);
  assert.equal(await storage.exists(jobLayout(job.output, job.jobId).plan), true);
});

test('joins shards by the video facts their manifests record, and inspects shards whose manifests have none', async (t) => {
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const job = await shardedJob(t, storage);
  const layout = jobLayout(job.output, job.jobId);
  const manifest = async (shard: number): Promise<Record<string, unknown>> => JSON.parse((await storage.read(layout.shardManifest(shard))).toString('utf8')) as Record<string, unknown>;
  const rewrite = (shard: number, m: Record<string, unknown>): Promise<unknown> => storage.write(layout.shardManifest(shard), Buffer.from(JSON.stringify(m)), { overwrite: true });
  const [first, second] = [await manifest(0), await manifest(1)];
  const video = second['video'] as Record<string, unknown> | undefined;
  assert.ok(video !== undefined, 'the shard step records the video facts it read back');
  assert.equal(video['codec'], 'ffv1');

  // Only the manifest says shard 1 has other extradata (its bytes are unchanged): the step goes by it.
  await rewrite(1, { ...second, video: { ...video, extradataHash: 'MD5:00000000000000000000000000000000' } });
  const refused = await failure(runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble' }, 'test'), storage, log));
  assert.equal(refused.code, 'VerificationFailed');
  assert.match(refused.message, /shard cannot be joined to .* different extradataHash/);
  assert.equal(await storage.exists(job.output), false);

  // Manifests of an older worker carry no video facts: the shards are inspected instead.
  const { video: _first, ...bare0 } = first;
  const { video: _second, ...bare1 } = second;
  await rewrite(0, bare0);
  await rewrite(1, bare1);
  const result = await runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble' }, 'test'), storage, log);
  assert.equal(result.frames, 12);
});
