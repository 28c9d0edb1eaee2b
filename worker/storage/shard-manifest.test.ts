// Resume checks on real storage: a local directory and the S3 test server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { useS3 } from '../../test/s3/harness.ts';
import { jobLayout } from './job-layout.ts';
import type { JobLayout } from './job-layout.ts';
import { checkShard, writeShardManifest } from './shard-manifest.ts';
import { Storage } from './storage.ts';

const s3 = await useS3();
const range = { shard: 3, start: 30, end: 40 };

/** Uploads shard media and its manifest the way the shard step does. */
async function finishShard(storage: Storage, layout: JobLayout, media: Buffer): Promise<void> {
  const uploaded = await storage.upload(layout.shardMedia(range.shard), Readable.from([media]), { overwrite: true });
  await writeShardManifest(storage, layout, { version: 1, ...range, frames: 10, bytes: uploaded.size, sha256: uploaded.sha256 });
}

async function localLayout(t: TestContext): Promise<JobLayout> {
  const dir = await mkdtemp(path.join(tmpdir(), 'manifest-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return jobLayout(path.join(dir, 'out.mp4'), 'job-1');
}

test('a shard with matching media and manifest is done; anything else is redone', async (t) => {
  const storage = new Storage();
  const layout = await localLayout(t);
  const media = randomBytes(5000);
  assert.deepEqual(await checkShard(storage, layout, range), { done: false, reason: `no manifest at ${layout.shardManifest(3)}` });

  await finishShard(storage, layout, media);
  const done = await checkShard(storage, layout, range);
  assert.equal(done.done, true);
  assert.equal(done.done && done.manifest.sha256, createHash('sha256').update(media).digest('hex'));

  const other = { shard: 3, start: 30, end: 41 };
  assert.match(JSON.stringify(await checkShard(storage, layout, other)), /the plan wants shard 3 \[30, 41\)/);

  const flipped = Buffer.from(media);
  flipped[100] = (flipped[100] ?? 0) ^ 0xff; // same size, different bytes
  await writeFile(layout.shardMedia(3), flipped);
  assert.equal((await checkShard(storage, layout, range, { verifyChecksum: false })).done, true, 'size-only check');
  assert.match(JSON.stringify(await checkShard(storage, layout, range)), /has sha256 [0-9a-f]{64}, the manifest records/);

  await writeFile(layout.shardMedia(3), media.subarray(0, 100));
  assert.match(JSON.stringify(await checkShard(storage, layout, range)), /has 100 bytes, the manifest records 5000/);

  await storage.delete(layout.shardMedia(3));
  assert.match(JSON.stringify(await checkShard(storage, layout, range)), /no shard media at/);

  await writeFile(layout.shardManifest(3), '{"version":1,');
  assert.match(JSON.stringify(await checkShard(storage, layout, range)), /not valid JSON/);
  await writeFile(layout.shardManifest(3), JSON.stringify({ version: 1, ...range, frames: 10, bytes: 1, sha256: 'x' }));
  assert.match(JSON.stringify(await checkShard(storage, layout, range)), /sha256: must be 64 lowercase hex digits/);
});

test('resume checks work the same on S3', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const layout = jobLayout(`s3://${bucket}/out/film.mp4`, 'job-1');
  await finishShard(storage, layout, randomBytes(7000));
  assert.equal((await checkShard(storage, layout, range)).done, true);
  await storage.write(layout.shardMedia(3), randomBytes(7000), { overwrite: true });
  assert.equal((await checkShard(storage, layout, range)).done, false);
  await storage.deletePrefix(layout.prefix);
  assert.equal((await checkShard(storage, layout, range)).done, false);
});
