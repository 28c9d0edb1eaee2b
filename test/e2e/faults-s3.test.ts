/**
 * Fault injection (issue 11): `upscale run` on the real S3 server (versitygw) through a
 * fault-injecting proxy (faults-s3-proxy.ts). Throttling (503 SlowDown on a seeded third of the
 * requests), slow answers, and the storage service going away mid-run and coming back must all be
 * retried with backoff until the run finishes with every frame; a missing bucket or wrong keys must
 * fail fast (exit 2) with a message naming the bucket or the denial.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { clip } from '../fixtures/clips.ts';
import { useS3, type TestS3 } from '../s3/harness.ts';
import { explain, finished, startUpscale, upscale } from './cli.ts';
import { faultProxy } from './faults-s3-proxy.ts';
import { frameHashes, seededRandom } from './faults-support.ts';

const ARGS = ['--codec', 'ffv1', '--ep', 'cpu', '--no-progress', '--workers', '1', '--shard-frames', '2'];

describe('faults: object storage', () => {
  let s3: TestS3;
  let dir: string;
  let source: string;
  let reference: string[];
  before(async () => {
    s3 = await useS3();
    dir = await mkdtemp(join(tmpdir(), 'e2e-faults-s3-'));
    source = await clip('tiny-basic');
    const ref = join(dir, 'reference.mkv');
    const done = await upscale(['run', '-i', source, '-o', ref, ...ARGS]);
    assert.equal(done.code, 0, explain(done));
    reference = await frameHashes(ref);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const envFor = (endpoint: string, secret = s3.info.secretAccessKey): Record<string, string> => ({
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: s3.info.region,
    AWS_ACCESS_KEY_ID: s3.info.accessKeyId,
    AWS_SECRET_ACCESS_KEY: secret,
  });

  async function output(bucket: string, key: string): Promise<string[]> {
    const local = join(dir, `${bucket}.mkv`);
    const body = await (await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body?.transformToByteArray();
    await writeFile(local, body ?? new Uint8Array());
    return frameHashes(local);
  }

  it('finishes through throttling (a seeded 20% of requests answered 503 SlowDown 3 times in a row) and slow answers', async (t) => {
    const bucket = await s3.bucket(t);
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in.mp4', Body: await readFile(source) }));
    const proxy = await faultProxy(t, s3.info.endpoint);
    const random = seededRandom(1103);
    // Per distinct request (method, path, range): throttled 3 times before it passes (the SDK's default
    // 3 attempts would give up), or delayed, or not. Far more throttling exhausts the SDK's client-side
    // retry quota (500 tokens, 5 per retry), which then fails fast by design.
    const plan = new Map<string, { throttles: number; delay: boolean }>();
    proxy.policy = ({ method, path, range }) => {
      const key = `${method} ${path} ${range}`;
      let entry = plan.get(key);
      if (entry === undefined) {
        const r = random.next();
        entry = { throttles: r < 0.2 ? 3 : 0, delay: r >= 0.2 && r < 0.35 };
        plan.set(key, entry);
      }
      if (entry.throttles > 0) {
        entry.throttles--;
        return 'slowdown';
      }
      return entry.delay ? { delayMs: 300 } : 'pass';
    };
    const done = await upscale(['run', '-i', `s3://${bucket}/in.mp4`, '-o', `s3://${bucket}/out.mkv`, ...ARGS], { env: envFor(proxy.endpoint) });
    console.log(`seed ${random.seed}: throttling ${JSON.stringify(proxy.counts)}`);
    assert.equal(done.code, 0, explain(done));
    assert.ok(proxy.counts.slowdowns >= 15, `throttled ${proxy.counts.slowdowns} requests`);
    assert.deepEqual(await output(bucket, 'out.mkv'), reference);
  });

  it('storage gone mid-run and back (connections cut and refused): the run finishes, or exits 3 and its rerun finishes', async (t) => {
    const bucket = await s3.bucket(t);
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in.mp4', Body: await readFile(source) }));
    const proxy = await faultProxy(t, s3.info.endpoint);
    const random = seededRandom(1104);
    const child = startUpscale(['run', '-i', `s3://${bucket}/in.mp4`, '-o', `s3://${bucket}/out.mkv`, ...ARGS], { env: envFor(proxy.endpoint) });
    const run = finished(child);
    // Two outages at seeded moments; each lasts at least 0.8 s and until 3 connection attempts were refused.
    let outages = 0;
    for (const at of [random.between(20, 40), random.between(60, 90)]) {
      while (proxy.counts.requests < at && child.exitCode === null) await sleep(20);
      if (child.exitCode !== null) break;
      const resetBefore = proxy.counts.reset;
      proxy.down();
      outages++;
      const began = Date.now();
      while ((Date.now() - began < 800 || proxy.counts.reset - resetBefore < 3) && child.exitCode === null && Date.now() - began < 20_000) await sleep(20);
      proxy.up();
    }
    let done = await run;
    console.log(`seed ${random.seed}: ${outages} outages ${JSON.stringify(proxy.counts)}, first run exit ${done.code}`);
    assert.ok(outages >= 1 && proxy.counts.reset >= 3, `storage went away: ${JSON.stringify(proxy.counts)}`);
    // An outage longer than the SDK's attempts (6, with backoff) ends the run as transient (exit 3,
    // naming the storage), as a pod's would end for Kubernetes to retry; the rerun then finishes.
    if (done.code !== 0) {
      assert.equal(done.code, 3, explain(done));
      assert.match(done.message, /S3 server unavailable or overloaded/);
      done = await upscale(['run', '-i', `s3://${bucket}/in.mp4`, '-o', `s3://${bucket}/out.mkv`, ...ARGS], { env: envFor(proxy.endpoint) });
    }
    assert.equal(done.code, 0, explain(done));
    assert.deepEqual(await output(bucket, 'out.mkv'), reference);
  });

  it('fails fast (exit 2) on a missing bucket and on wrong keys, naming them', async (t) => {
    const bucket = await s3.bucket(t);
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in.mp4', Body: await readFile(source) }));
    let began = Date.now();
    const missing = await upscale(['run', '-i', `s3://${bucket}/in.mp4`, '-o', 's3://no-such-bucket-upscale/out.mkv', ...ARGS], { env: envFor(s3.info.endpoint) });
    const missingMs = Date.now() - began;
    assert.equal(missing.code, 2, explain(missing));
    assert.match(missing.message, /no-such-bucket-upscale/);
    assert.match(missing.message, /bucket|NoSuchBucket/i);
    began = Date.now();
    const denied = await upscale(['run', '-i', `s3://${bucket}/in.mp4`, '-o', `s3://${bucket}/out.mkv`, ...ARGS], { env: envFor(s3.info.endpoint, 'wrong-secret') });
    const deniedMs = Date.now() - began;
    assert.equal(denied.code, 2, explain(denied));
    assert.match(denied.message, /access denied|AccessDenied|SignatureDoesNotMatch/i);
    console.log(`missing bucket failed in ${missingMs} ms, wrong keys in ${deniedMs} ms`);
    assert.ok(missingMs < 15_000 && deniedMs < 15_000, 'no retries of a permanent error');
  });
});
