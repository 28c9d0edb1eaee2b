import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpscaleError } from '../errors.ts';
import { jobLayout, shardName } from './job-layout.ts';

test('builds the job prefix beside the output, for S3 and local outputs alike', () => {
  const s3 = jobLayout('s3://videos/out/film.mp4', 'job-7f3a');
  assert.equal(s3.prefix, 's3://videos/out/film.mp4.upscale/job-7f3a/');
  assert.equal(s3.probe, 's3://videos/out/film.mp4.upscale/job-7f3a/probe.json');
  assert.equal(s3.shardsPrefix, 's3://videos/out/film.mp4.upscale/job-7f3a/shards/');
  assert.equal(s3.shardMedia(42), 's3://videos/out/film.mp4.upscale/job-7f3a/shards/000042.nut');
  assert.equal(s3.shardManifest(42), 's3://videos/out/film.mp4.upscale/job-7f3a/shards/000042.json');
  assert.equal(jobLayout('/data/out.mkv', 'j1').shardMedia(0), '/data/out.mkv.upscale/j1/shards/000000.nut');
});

test('shard names sort in shard order', () => {
  const names = [0, 9, 10, 99, 100, 999_999].map(shardName);
  assert.deepEqual([...names].sort(), names);
  assert.throws(() => shardName(1_000_000), UpscaleError);
  assert.throws(() => shardName(-1), UpscaleError);
  assert.throws(() => shardName(1.5), UpscaleError);
});

test('rejects job ids that could escape the prefix and outputs that are prefixes', () => {
  for (const id of ['..', '../x', 'a/b', '', '-x', 'x-', 'a b', 'a'.repeat(65), 'a..b']) {
    assert.throws(() => jobLayout('s3://b/out.mp4', id), (e: unknown) => e instanceof UpscaleError && e.code === 'InvalidArgument', id);
  }
  assert.throws(() => jobLayout('s3://b/out/', 'job'), /expected a file or object, not a prefix/);
});
