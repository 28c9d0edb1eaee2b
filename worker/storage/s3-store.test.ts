// The S3 backend against a real S3-compatible server (versitygw, started by test/s3/harness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect, promisify } from 'node:util';
import { ListMultipartUploadsCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { useS3 } from '../../test/s3/harness.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { Storage } from './storage.ts';

const s3 = await useS3();
const run = promisify(execFile);
const MiB = 1024 * 1024;
const demo = path.resolve(import.meta.dirname, '../../../shared/testdata/onepiece_demo.mp4');

/** Asserts that `promise` rejects with an UpscaleError and returns it. */
async function rejection(promise: Promise<unknown>): Promise<UpscaleError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpscaleError, `expected an UpscaleError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

/** The parts uploaded so far by the unfinished multipart uploads of `key`. */
async function pendingParts(bucket: string, key: string): Promise<number[]> {
  const uploads = await s3.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
  const parts: number[] = [];
  for (const upload of uploads.Uploads ?? []) {
    const listed = await s3.client
      .send(new ListPartsCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }))
      .catch((error: unknown) => {
        if ((error as Error).name === 'NoSuchUpload') return { Parts: [] }; // aborted meanwhile
        throw error;
      });
    parts.push(...(listed.Parts ?? []).map((part) => part.Size ?? 0));
  }
  return parts;
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

test('writes, stats and reads small objects; refuses to overwrite unless asked', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const uri = `s3://${bucket}/job/probe.json`;

  assert.equal(await storage.stat(uri), undefined);
  await storage.writeJson(uri, { frames: 48 });
  const info = await storage.stat(uri);
  assert.equal(info?.size, (await storage.read(uri)).length);
  assert.match(info?.etag ?? '', /^[0-9a-f-]+$/);
  assert.deepEqual(JSON.parse((await storage.read(uri)).toString()), { frames: 48 });

  const refused = await rejection(storage.write(uri, 'other'));
  assert.equal(refused.code, 'AlreadyExists');
  assert.equal(exitCodeFor(refused), 2);
  assert.match(refused.message, new RegExp(uri));
  assert.deepEqual(JSON.parse((await storage.read(uri)).toString()), { frames: 48 }, 'unchanged');

  await storage.write(uri, 'replaced', { overwrite: true });
  assert.equal((await storage.read(uri)).toString(), 'replaced');
});

test('reads byte ranges and streams them', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const uri = `s3://${bucket}/data.bin`;
  const body = randomBytes(100_000);
  await storage.write(uri, body);

  assert.deepEqual(await storage.read(uri, { start: 10, end: 20 }), body.subarray(10, 20));
  assert.deepEqual(await storage.read(uri, { start: 99_990 }), body.subarray(99_990));
  assert.equal((await storage.read(uri, { start: 5, end: 5 })).length, 0);
  const chunks: Buffer[] = [];
  for await (const chunk of await storage.openRead(uri, { start: 1000, end: 61_000 })) chunks.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(chunks), body.subarray(1000, 61_000));
  assert.equal((await rejection(storage.read(uri, { start: 200_000 }))).code, 'InvalidArgument');
});

test('serves an object to ffprobe on loopback instead of a download or a presigned URL', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const dir = await mkdtemp(path.join(tmpdir(), 'storage-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const clip = path.join(dir, 'clip.mp4');
  await run('nice', ['ffmpeg', '-v', 'error', '-i', demo, '-t', '1', '-vf', 'scale=160:120',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-y', clip]);
  const uri = `s3://${bucket}/in/clip.mp4`;
  await storage.upload(uri, { path: clip });

  const source = await storage.mediaSource(uri);
  assert.equal(source.kind, 'http');
  assert.equal(source.display, uri);
  assert.match(source.url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/clip\.mp4$/, 'served on loopback');
  assert.doesNotMatch(source.url, /X-Amz|Signature|Credential/i, 'no signature for ffmpeg');
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,width,height',
    '-of', 'json', source.url]);
  const streams = (JSON.parse(stdout) as { streams: { codec_type: string; width?: number }[] }).streams;
  assert.deepEqual(streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
  assert.equal(streams.find((s) => s.codec_type === 'video')?.width, 160);

  source.release();
  await assert.rejects(run('ffprobe', ['-v', 'error', source.url]), /404/, 'a released source is no longer served');

  const missing = await rejection(storage.mediaSource(`s3://${bucket}/in/none.mp4`));
  assert.equal(missing.code, 'NotFound');
});

test('a multipart upload appears only when complete, with the checksum of what was sent', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const uri = `s3://${bucket}/out/video.mkv`;
  const body = randomBytes(11 * MiB + 12_345);
  const source = new PassThrough();
  const done = storage.upload(uri, source, { partSize: 5 * MiB, queueSize: 1 });
  source.write(body.subarray(0, 6 * MiB));
  await waitFor('a first uploaded part', async () => (await pendingParts(bucket, 'out/video.mkv')).length > 0);

  assert.equal(await storage.stat(uri), undefined, 'nothing visible while parts upload');
  assert.deepEqual(await storage.list(`s3://${bucket}/out/`), []);
  source.end(body.subarray(6 * MiB));
  const result = await done;

  assert.equal(result.size, body.length);
  assert.equal(result.sha256, createHash('sha256').update(body).digest('hex'));
  assert.equal((await storage.stat(uri))?.size, body.length);
  assert.ok((await storage.read(uri)).equals(body));
  assert.deepEqual(await pendingParts(bucket, 'out/video.mkv'), []);
});

test('an aborted or failed upload leaves neither an object nor parts', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());

  const aborter = new AbortController();
  const aborted = new PassThrough();
  const abortedDone = storage.upload(`s3://${bucket}/a.mkv`, aborted, { partSize: 5 * MiB, signal: aborter.signal });
  aborted.write(randomBytes(6 * MiB));
  await waitFor('a first part of a.mkv', async () => (await pendingParts(bucket, 'a.mkv')).length > 0);
  aborter.abort();
  const cancelled = await rejection(abortedDone);
  assert.equal(cancelled.code, 'Cancelled');
  assert.equal(exitCodeFor(cancelled), 3);

  const failing = new PassThrough();
  const failedDone = storage.upload(`s3://${bucket}/b.mkv`, failing, { partSize: 5 * MiB });
  failing.write(randomBytes(6 * MiB));
  await waitFor('a first part of b.mkv', async () => (await pendingParts(bucket, 'b.mkv')).length > 0);
  failing.destroy(new Error('encoder exited with code 1'));
  const failed = await rejection(failedDone);
  assert.match(failed.message, /encoder exited with code 1/);

  assert.equal(await storage.stat(`s3://${bucket}/a.mkv`), undefined);
  assert.equal(await storage.stat(`s3://${bucket}/b.mkv`), undefined);
  assert.deepEqual(await pendingParts(bucket, ''), []);
});

test('an upload never replaces an existing final object unless asked', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const uri = `s3://${bucket}/final.mp4`;
  await storage.write(uri, 'first');

  const unread = new PassThrough();
  const early = await rejection(storage.upload(uri, unread));
  assert.equal(early.code, 'AlreadyExists');
  assert.equal(unread.readableLength, 0, 'failed before reading the source');

  // Another writer wins while our multipart upload is under way: If-None-Match on completion refuses.
  const racing = new PassThrough();
  const racingDone = storage.upload(`s3://${bucket}/raced.mp4`, racing, { partSize: 5 * MiB });
  racing.write(randomBytes(6 * MiB));
  await waitFor('a first part of raced.mp4', async () => (await pendingParts(bucket, 'raced.mp4')).length > 0);
  await storage.write(`s3://${bucket}/raced.mp4`, 'winner');
  racing.end(randomBytes(1000));
  assert.equal((await rejection(racingDone)).code, 'AlreadyExists');
  assert.equal((await storage.read(`s3://${bucket}/raced.mp4`)).toString(), 'winner');
  assert.deepEqual(await pendingParts(bucket, ''), []);

  const replaced = await storage.upload(uri, { path: demo }, { overwrite: true });
  assert.equal((await storage.stat(uri))?.size, replaced.size);
});

test('lists and deletes a prefix, including unfinished uploads', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const prefix = `s3://${bucket}/out.mp4.upscale/job-1/`;
  for (const name of ['probe.json', 'shards/000000.json', 'shards/000001.json']) await storage.write(prefix + name, '{}');
  await storage.write(`s3://${bucket}/out.mp4`, 'keep');
  assert.deepEqual(
    (await storage.list(prefix)).map((o) => o.uri),
    ['probe.json', 'shards/000000.json', 'shards/000001.json'].map((name) => prefix + name),
  );
  const dangling = new PassThrough();
  const danglingDone = storage.upload(`${prefix}shards/000002.mkv`, dangling, { partSize: 5 * MiB });
  dangling.write(randomBytes(6 * MiB));
  await waitFor('a dangling part', async () => (await pendingParts(bucket, 'out.mp4.upscale/')).length > 0);

  assert.equal(await storage.deletePrefix(prefix), 3);
  dangling.end();
  await rejection(danglingDone); // its upload id was aborted under it
  assert.deepEqual(await storage.list(prefix), []);
  assert.deepEqual(await pendingParts(bucket, 'out.mp4.upscale/'), []);
  assert.equal((await storage.read(`s3://${bucket}/out.mp4`)).toString(), 'keep');
  assert.equal((await rejection(storage.deletePrefix(`s3://${bucket}/`))).code, 'InvalidArgument');
});

test('a missing object or bucket is a permanent error naming the URI', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const uri = `s3://${bucket}/no/such.mp4`;
  const missing = await rejection(storage.read(uri));
  assert.equal(missing.code, 'NotFound');
  assert.equal(missing.kind, 'permanent');
  assert.equal(exitCodeFor(missing), 2);
  assert.equal(missing.subject, uri);
  assert.match(missing.message, new RegExp(`reading ${uri}: object not found`));

  const noBucket = await rejection(storage.read('s3://no-such-bucket-here/in.mp4'));
  assert.equal(noBucket.code, 'NotFound');
  assert.match(noBucket.message, /bucket "no-such-bucket-here" does not exist/);
  assert.equal((await rejection(storage.stat('s3://no-such-bucket-here/in.mp4'))).code, 'NotFound');
});

test('rejected credentials are a permanent error that names the bucket and leaks no secret', async (t) => {
  const bucket = await s3.bucket(t);
  const uri = `s3://${bucket}/in.mp4`;
  await new Storage({ s3: s3.options }).write(uri, 'data');
  const secret = `wrong-${randomBytes(12).toString('hex')}`;
  const cases = {
    'wrong secret': { accessKeyId: s3.info.accessKeyId, secretAccessKey: secret },
    'unknown access key': { accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: secret },
  };
  for (const [name, credentials] of Object.entries(cases)) {
    const storage = new Storage({ s3: { ...s3.options, credentials } });
    t.after(() => storage.close());
    for (const error of [await rejection(storage.read(uri)), await rejection(storage.stat(uri))]) {
      assert.equal(error.code, 'AccessDenied', name);
      assert.equal(error.kind, 'permanent', name);
      assert.match(error.message, new RegExp(`credentials were rejected.*bucket "${bucket}"`), name);
      const everything = `${error.message} ${inspect(error, { depth: 10 })} ${JSON.stringify(error)}`;
      assert.equal(everything.includes(secret), false, `${name}: the secret leaked`);
      assert.equal(everything.includes(credentials.accessKeyId), false, `${name}: the key id leaked`);
    }
  }
});

test('an unreachable endpoint is a transient error', async () => {
  // A port that was free a moment ago and has nothing listening.
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((ok) => server.once('listening', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  const storage = new Storage({ s3: { ...s3.options, endpoint: `http://127.0.0.1:${port}`, maxAttempts: 2 } });
  try {
    const error = await rejection(storage.read('s3://bucket/in.mp4'));
    assert.equal(error.code, 'Unavailable');
    assert.equal(error.kind, 'transient');
    assert.equal(exitCodeFor(error), 3);
    assert.match(error.message, /s3:\/\/bucket\/in\.mp4: S3 server unavailable.*ECONNREFUSED/);
  } finally {
    storage.close();
  }
});
