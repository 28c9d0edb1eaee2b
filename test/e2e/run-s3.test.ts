/**
 * `upscale run` with input and output on a real S3 server (versitygw, started by the harness), the
 * settings passed the standard way (`AWS_*` environment variables). The run is SIGKILLed (its whole
 * process group: driver, worker processes, ffmpeg) once some shards are done; the final object must
 * not exist, and the rerun must skip the finished shards (their manifests untouched) and produce a
 * correct output.
 */
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { CLIP_FRAMES, clip } from '../fixtures/clips.ts';
import { useS3, type TestS3 } from '../s3/harness.ts';
import { explain, finished, startUpscale, upscale } from './cli.ts';
import { assertFramesMatchSource, decodedFrames, streamKinds, videoStream } from './media-checks.ts';

const SHARD_FRAMES = 2;
const FRAMES = CLIP_FRAMES['tiny-basic'];
const SHARDS = FRAMES / SHARD_FRAMES;

interface Listed {
  key: string;
  etag: string | undefined;
  modified: number | undefined;
}

async function list(s3: TestS3, bucket: string, prefix: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for await (const page of paginateListObjectsV2({ client: s3.client }, { Bucket: bucket, Prefix: prefix })) {
    for (const o of page.Contents ?? []) out.push({ key: o.Key ?? '', etag: o.ETag, modified: o.LastModified?.getTime() });
  }
  return out;
}

async function exists(s3: TestS3, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}

describe('upscale run on S3', () => {
  let s3: TestS3;
  let dir: string;
  before(async () => {
    s3 = await useS3();
    dir = await mkdtemp(join(tmpdir(), 'e2e-s3-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads and writes s3:// URIs; a killed run leaves no output and the rerun redoes no finished shard', async (t) => {
    const bucket = await s3.bucket(t);
    const env = {
      AWS_ENDPOINT_URL: s3.info.endpoint,
      AWS_REGION: s3.info.region,
      AWS_ACCESS_KEY_ID: s3.info.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.info.secretAccessKey,
    };
    const source = await clip('tiny-basic');
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/source.mp4', Body: await readFile(source) }));
    const outputKey = 'out/result.mp4';
    const args = ['run', '-i', `s3://${bucket}/in/source.mp4`, '-o', `s3://${bucket}/${outputKey}`, '--shard-frames', String(SHARD_FRAMES), '--workers', '2', '--ep', 'cpu', '--no-progress', '--keep-intermediates'];
    const manifests = async (): Promise<Listed[]> => (await list(s3, bucket, `${outputKey}.upscale/`)).filter((o) => /\/shards\/\d{6}\.json$/.test(o.key));

    // First run: killed (SIGKILL, whole process group) once at least one shard manifest exists.
    const child = startUpscale(args, { env });
    const first = finished(child);
    let seen: Listed[] = [];
    const deadline = Date.now() + 180_000;
    while (seen.length === 0 && child.exitCode === null && Date.now() < deadline) {
      await sleep(100);
      seen = await manifests();
    }
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch (error) {
      assert.fail(`the run ended before it could be killed (${(error as Error).message}): ${explain(await first)}`);
    }
    const killed = await first;
    assert.equal(killed.signal, 'SIGKILL', explain(killed));
    const done = await manifests();
    assert.ok(done.length >= 1 && done.length < SHARDS, `killed with ${done.length} of ${SHARDS} shards done: pick a slower clip`);

    assert.equal(await exists(s3, bucket, outputKey), false, 'no final object after the kill');
    const stray = (await list(s3, bucket, 'out/')).filter((o) => !o.key.startsWith(`${outputKey}.upscale/`));
    assert.deepEqual(stray, [], 'nothing but intermediates under out/');
    const uploads = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: outputKey }));
    assert.deepEqual((uploads.Uploads ?? []).filter((u) => u.Key === outputKey), [], 'no multipart upload of the final object');

    // Rerun: the finished shards are skipped and their manifests are not rewritten.
    const rerun = await upscale(args, { env });
    assert.equal(rerun.code, 0, explain(rerun));
    assert.equal(rerun.result?.['shards'], SHARDS);
    assert.ok(Number(rerun.result?.['skippedShards']) >= done.length, `skipped ${String(rerun.result?.['skippedShards'])} shards, ${done.length} were done before the kill`);
    const jobId = String(rerun.result?.['jobId']);
    assert.ok(done.every((m) => m.key.startsWith(`${outputKey}.upscale/${jobId}/shards/`)), 'the rerun resumed the same job');
    const now = new Map((await manifests()).map((m) => [m.key, m]));
    assert.equal(now.size, SHARDS);
    for (const before of done) {
      const after = now.get(before.key);
      assert.deepEqual([after?.etag, after?.modified], [before.etag, before.modified], `${before.key} was rewritten`);
    }

    // The output: every frame, 4x, with the source's audio, showing the source's pictures.
    assert.equal(await exists(s3, bucket, outputKey), true);
    const local = join(dir, 'result.mp4');
    const body = (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: outputKey }))).Body as Readable;
    await pipeline(body, createWriteStream(local));
    assert.equal(await decodedFrames(local), FRAMES);
    const video = await videoStream(local);
    assert.deepEqual([video.width, video.height], [256, 192]);
    assert.deepEqual(await streamKinds(local), ['video', 'audio']);
    // Each frame shows its own source frame, not a neighbour's (a shift), a flipped or blank one.
    await assertFramesMatchSource(local, source, { width: 64, height: 48 });
  });
});
