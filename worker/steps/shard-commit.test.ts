/**
 * Two writers of one shard (a retried pod while the old one still runs, two local runs), on local
 * files and on the real S3 server, with the real model and ffmpeg. The attempts encode different
 * bytes (other settings, as another GPU or precision would) and are held at the worst interleaving:
 * B uploads its media after A did, and commits before A does. Exactly one manifest must remain,
 * naming media that exists with the manifest's size and sha256; the loser reports the shard as done
 * by the other attempt, and a third run skips the shard.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { clip } from '../../test/fixtures/clips.ts';
import { useS3, type TestS3 } from '../../test/s3/harness.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { Storage, type StorageOptions } from '../storage/storage.ts';
import type { UploadOptions, UploadResult, UploadSource, WriteOptions, ObjectInfo } from '../storage/types.ts';
import { parseTask, probeTaskSchema, shardTaskSchema } from '../task.ts';
import { runProbeStep } from './probe-step.ts';
import { runShardStep, type ShardStepResult } from './shard-step.ts';

const SHARD = 1;

/** A promise with its resolver. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire = (): void => undefined;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/** A Storage that holds a shard's media upload or manifest write until a signal. */
class GatedStorage extends Storage {
  beforeUpload: Promise<void> | undefined;
  afterUpload: (() => void) | undefined;
  beforeManifest: Promise<void> | undefined;
  afterManifest: (() => void) | undefined;
  readonly #manifest: string;

  constructor(options: StorageOptions, manifest: string) {
    super(options);
    this.#manifest = manifest;
  }

  override async upload(uri: string, source: UploadSource, options: UploadOptions = {}): Promise<UploadResult> {
    await this.beforeUpload;
    try {
      return await super.upload(uri, source, options);
    } finally {
      this.afterUpload?.();
    }
  }

  override async writeJson(uri: string, value: unknown, options: WriteOptions = {}): Promise<ObjectInfo> {
    if (uri !== this.#manifest) return super.writeJson(uri, value, options);
    await this.beforeManifest;
    try {
      return await super.writeJson(uri, value, options);
    } finally {
      this.afterManifest?.();
    }
  }
}

describe('two attempts at one shard', () => {
  let s3: TestS3;
  let dir: string;
  const log = pino({ level: 'silent' });
  before(async () => {
    s3 = await useS3();
    dir = await mkdtemp(join(tmpdir(), 'shard-commit-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const backend of ['local files', 'S3'] as const) {
    it(`leave one manifest naming existing media with its sha256, on ${backend}`, async (t) => {
      let output = join(dir, 'out.mkv');
      let options: StorageOptions = {};
      let input = await clip('tiny-basic');
      if (backend === 'S3') {
        const bucket = await s3.bucket(t);
        options = { s3: s3.options };
        output = `s3://${bucket}/out/out.mkv`;
        const storage = new Storage(options);
        await storage.upload(`s3://${bucket}/in/clip.mp4`, { path: input });
        storage.close();
        input = `s3://${bucket}/in/clip.mp4`;
      }
      const common = { version: 1, jobId: 'race', input, output };
      const layout = jobLayout(output, common.jobId);
      const manifestUri = layout.shardManifest(SHARD);
      const a = new GatedStorage(options, manifestUri);
      const b = new GatedStorage(options, manifestUri);
      t.after(() => {
        a.close();
        b.close();
      });
      await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 2 } }, 'test'), a, log);

      // A uploads, then B uploads; B commits, then A commits.
      const aUploaded = signal();
      const bCommitted = signal();
      b.beforeUpload = aUploaded.promise;
      a.afterUpload = aUploaded.fire;
      a.beforeManifest = bCommitted.promise;
      b.afterManifest = bCommitted.fire;
      const task = (crf: number) =>
        parseTask(shardTaskSchema, { ...common, step: 'shard', shard: SHARD, settings: { ep: 'cpu', codec: 'h264', encoder: 'cpu', crf } }, 'test');
      const results = await Promise.all([runShardStep(task(10), a, log), runShardStep(task(40), b, log)]);

      const check = new Storage(options);
      t.after(() => check.close());
      const objects = (await check.list(layout.shardsPrefix)).map((o) => o.uri.slice(layout.shardsPrefix.length));
      const manifests = objects.filter((name) => name.startsWith('000001') && name.endsWith('.json'));
      assert.deepEqual(manifests, ['000001.json'], `one manifest (objects: ${objects.join(', ')})`);
      const manifest = JSON.parse((await check.read(manifestUri)).toString('utf8')) as { media?: string; sha256: string; bytes: number };
      const media = `${layout.shardsPrefix}${manifest.media ?? '000001.nut'}`;
      const bytes = await check.read(media);
      assert.deepEqual(
        { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') },
        { bytes: manifest.bytes, sha256: manifest.sha256 },
        `the manifest's media ${media} holds what the manifest records`,
      );
      assert.deepEqual(objects.filter((name) => name.endsWith('.nut')), [manifest.media ?? '000001.nut'], 'the losing attempt removed its media');
      const made = results.filter((r: ShardStepResult) => !r.skipped);
      assert.equal(made.length, 1, `one attempt made the shard, the other reports it done by the other: ${JSON.stringify(results)}`);

      const third = await runShardStep(task(20), check, log);
      assert.equal(third.skipped, true, 'a third run skips the shard');
      if (backend === 'local files') assert.equal((await readFile(manifestUri, 'utf8')).includes(manifest.sha256), true);
    });
  }
});
