// The local backend (paths and file:// URIs) on a real temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { TestContext } from 'node:test';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { Storage } from './storage.ts';

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'file-store-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<UpscaleError> {
  const error: unknown = await promise.then(
    () => assert.fail('expected the promise to reject'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, `expected an UpscaleError, got ${String(error)}`);
  return error;
}

const storage = new Storage();

test('writes, stats and reads paths and file:// URIs alike', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'a', 'b', 'probe.json');
  const uri = pathToFileURL(file).href;
  assert.equal(await storage.stat(uri), undefined);
  await storage.writeJson(uri, { frames: 3 });
  assert.deepEqual(JSON.parse((await storage.read(file)).toString()), { frames: 3 });
  assert.equal((await storage.stat(file))?.uri, file);
  assert.equal(await storage.exists(uri), true);

  const body = randomBytes(10_000);
  await storage.write(path.join(dir, 'data.bin'), body);
  assert.deepEqual(await storage.read(path.join(dir, 'data.bin'), { start: 100, end: 200 }), body.subarray(100, 200));
  assert.deepEqual(await storage.read(path.join(dir, 'data.bin'), { start: 9_990 }), body.subarray(9_990));
  const source = await storage.mediaSource(path.join(dir, 'data.bin'));
  assert.deepEqual([source.kind, source.url, source.display], ['file', path.join(dir, 'data.bin'), path.join(dir, 'data.bin')]);
});

test('never overwrites an existing file unless asked', async (t) => {
  const file = path.join(await scratch(t), 'out.mp4');
  await writeFile(file, 'first');
  const refused = await rejection(storage.write(file, 'second'));
  assert.equal(refused.code, 'AlreadyExists');
  assert.equal(exitCodeFor(refused), 2);
  assert.match(refused.message, new RegExp(`${file}: the file already exists`));
  const unread = new PassThrough();
  assert.equal((await rejection(storage.upload(file, unread))).code, 'AlreadyExists');
  assert.equal((await storage.read(file)).toString(), 'first');

  await storage.write(file, 'second', { overwrite: true });
  assert.equal((await storage.read(file)).toString(), 'second');
});

test('an upload appears under its name only when complete; an abort leaves nothing', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'out.mkv');
  const body = randomBytes(3 * 1024 * 1024);
  const source = new PassThrough();
  const done = storage.upload(file, source);
  source.write(body.subarray(0, 1024 * 1024));
  await sleep(50);
  assert.equal(await storage.stat(file), undefined, 'not visible while writing');
  assert.deepEqual(await storage.list(`${dir}/`), [], 'the temporary file is not listed');
  source.end(body.subarray(1024 * 1024));
  const result = await done;
  assert.equal(result.sha256, createHash('sha256').update(body).digest('hex'));
  assert.ok((await storage.read(file)).equals(body));

  const aborter = new AbortController();
  const aborted = new PassThrough();
  const abortedDone = storage.upload(path.join(dir, 'aborted.mkv'), aborted, { signal: aborter.signal });
  aborted.write(randomBytes(1024));
  await sleep(20);
  aborter.abort();
  assert.equal((await rejection(abortedDone)).code, 'Cancelled');
  assert.deepEqual((await readdir(dir)).sort(), ['out.mkv'], 'no partial or temporary file left');
});

test('a concurrent writer that wins keeps its file; the loser gets AlreadyExists', async (t) => {
  const file = path.join(await scratch(t), 'final.mp4');
  const slow = new PassThrough();
  const slowDone = storage.upload(file, slow);
  slow.write('loser');
  await sleep(20);
  await storage.write(file, 'winner');
  slow.end();
  assert.equal((await rejection(slowDone)).code, 'AlreadyExists');
  assert.equal((await storage.read(file)).toString(), 'winner');
});

test('missing files are permanent errors naming the path', async (t) => {
  const file = path.join(await scratch(t), 'none.mp4');
  // One at a time: a rejection nobody awaits yet counts as unhandled and fails the test.
  for (const attempt of [() => storage.read(file), () => storage.openRead(file), () => storage.mediaSource(file)]) {
    const error = await rejection(attempt());
    assert.equal(error.code, 'NotFound');
    assert.equal(exitCodeFor(error), 2);
    assert.match(error.message, new RegExp(file));
  }
  const notObject = await rejection(storage.read(`${path.dirname(file)}/`));
  assert.equal(notObject.code, 'InvalidArgument');
});

test('lists and deletes a prefix', async (t) => {
  const dir = await scratch(t);
  const prefix = `${dir}/out.mp4.upscale/job-1/`;
  for (const name of ['probe.json', 'shards/000000.json', 'shards/000000.mkv']) await storage.write(prefix + name, 'x');
  await storage.write(`${dir}/out.mp4`, 'keep');
  assert.deepEqual(
    (await storage.list(prefix)).map((o) => o.uri),
    ['probe.json', 'shards/000000.json', 'shards/000000.mkv'].map((name) => prefix + name),
  );
  assert.deepEqual((await storage.list(`${dir}/out.mp4.upscale/job-1/shards/000000.`)).length, 2);
  assert.equal(await storage.deletePrefix(prefix), 3);
  assert.deepEqual(await storage.list(prefix), []);
  assert.equal((await storage.read(`${dir}/out.mp4`)).toString(), 'keep');
  await storage.delete(`${dir}/out.mp4`);
  await storage.delete(`${dir}/out.mp4`); // deleting a missing file succeeds
  assert.equal((await rejection(storage.deletePrefix('/'))).code, 'InvalidArgument');
});

test('a failing source keeps its own error and leaves no file', async (t) => {
  const dir = await scratch(t);
  const source = new PassThrough();
  const done = storage.upload(path.join(dir, 'shard.mkv'), source);
  source.write(randomBytes(1000));
  await sleep(20);
  const encoderError = new UpscaleError('VerificationFailed', 'encode shard 3: 9 frames, expected 10');
  source.destroy(encoderError);
  assert.equal(await rejection(done), encoderError);
  assert.deepEqual(await readdir(dir), []);
});
