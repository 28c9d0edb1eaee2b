/**
 * The assemble step with `waitForShards` (the operator starts it while the last shards run), with
 * real ffmpeg, the real model on the CPU and the real S3 server: it starts before any shard is done,
 * streams each shard into the output as it lands (one is streamed before the next even exists), and
 * gives the output a plain assembly of the same shards gives; a shard that lands corrupt (while the
 * mux runs, or before the assembly started) stops it at once, naming the shard, with nothing published.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import pino from 'pino';
import { clip } from '../../test/fixtures/clips.ts';
import { useS3 } from '../../test/s3/harness.ts';
import { UpscaleError } from '../errors.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { probeSchema } from '../media/probe-schema.ts';
import { Storage } from '../storage/storage.ts';
import { assembleTaskSchema, parseTask, probeTaskSchema, shardTaskSchema } from '../task.ts';
import { runAssembleStep } from './assemble-step.ts';
import { runProbeStep } from './probe-step.ts';
import { runShardStep } from './shard-step.ts';

const s3 = await useS3();
const quiet = pino({ level: 'silent' });
const run = promisify(execFile);

/** A debug logger that keeps its lines, and resolves `when(msg, pred)` once such a line is logged. */
function recordingLog(): { log: pino.Logger; lines: Record<string, unknown>[]; when(msg: string, pred?: (l: Record<string, unknown>) => boolean): Promise<void> } {
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; pred: (l: Record<string, unknown>) => boolean; resolve(): void }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString('utf8').split('\n').filter(Boolean)) {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of [...waiters]) {
          if (line['msg'] !== w.msg || !w.pred(line)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      done();
    },
  });
  return {
    log: pino({ level: 'debug' }, sink),
    lines,
    when: (msg, pred = () => true) => (lines.some((l) => l['msg'] === msg && pred(l)) ? Promise.resolve() : new Promise((resolve) => waiters.push({ msg, pred, resolve }))),
  };
}

/** MD5 of the output's video packets (stream copy): the same for two outputs holding the same frames. */
async function videoPacketsMd5(path: string): Promise<string> {
  const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-']);
  return stdout.trim();
}

async function probedJob(t: TestContext, storage: Storage, output: (bucket: string) => string, jobId: string): Promise<{ version: 1; jobId: string; input: string; output: string }> {
  const bucket = await s3.bucket(t);
  const common = { version: 1 as const, jobId, input: `s3://${bucket}/in.mp4`, output: output(bucket) };
  await storage.write(common.input, await readFile(await clip('tiny-basic')));
  await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 3, model: 'realesr-general-x4v3' } }, 'test'), storage, quiet);
  return common;
}

const shardTask = (common: object, shard: number) => parseTask(shardTaskSchema, { ...common, step: 'shard', shard, settings: { ep: 'cpu', codec: 'ffv1', encoder: 'cpu' } }, 'test');

test('waitForShards: starts before the shards, streams each into the output as it lands, same video as a plain assembly (S3)', { timeout: 180_000 }, async (t) => {
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const job = await probedJob(t, storage, (bucket) => `s3://${bucket}/out.mkv`, 'assemble-wait');
  const recorded = recordingLog();
  const assembling = runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble', waitForShards: true, keepIntermediates: true }, 'test'), storage, recorded.log);
  let settled = false;
  void assembling.then(() => (settled = true), () => (settled = true));

  // Shard 1 first: the assembly needs shard 0 to start, and takes nothing out of order.
  await runShardStep(shardTask(job, 1), storage, quiet);
  await recorded.when('Staged shard', (l) => l['shard'] === 1);
  await runShardStep(shardTask(job, 0), storage, quiet);
  // Shard 1 goes into the output while shard 2 does not exist yet.
  await recorded.when('Streamed shard into the output', (l) => JSON.stringify(l['shard']) === '[4,8]');
  assert.equal(await storage.exists(jobLayout(job.output, job.jobId).shardManifest(2)), false);
  assert.equal(settled, false, 'the assembly waits for shard 2');
  await runShardStep(shardTask(job, 2), storage, quiet);
  const result = await assembling;
  assert.equal(result.frames, 12);

  // The same shards assembled the plain way, after they are all done.
  const plain = { ...job, output: job.output.replace('out.mkv', 'plain.mkv') };
  const dir = await mkdtemp(join(tmpdir(), 'assemble-wait-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const layout = jobLayout(job.output, job.jobId);
  const plainLayout = jobLayout(plain.output, plain.jobId);
  for (const o of await storage.list(layout.prefix)) await storage.write(plainLayout.prefix + o.uri.slice(layout.prefix.length), await storage.read(o.uri));
  await runAssembleStep(parseTask(assembleTaskSchema, { ...plain, step: 'assemble' }, 'test'), storage, quiet);
  await writeFile(join(dir, 'waited.mkv'), await storage.read(job.output));
  await writeFile(join(dir, 'plain.mkv'), await storage.read(plain.output));
  assert.equal(await videoPacketsMd5(join(dir, 'waited.mkv')), await videoPacketsMd5(join(dir, 'plain.mkv')));
});

/** Shard 1's manifest and media, its media damaged (same size, other bytes): what a bad disk or a bad upload leaves. */
async function corruptShard1(storage: Storage, job: { output: string; jobId: string }): Promise<{ manifest: string; manifestBytes: Buffer; media: string; mediaBytes: Buffer }> {
  const layout = jobLayout(job.output, job.jobId);
  const found = (await storage.list(layout.shardsPrefix)).map((o) => o.uri).filter((u) => u.includes('000001') && u.endsWith('.nut'));
  assert.equal(found.length, 1);
  const media = found[0] as string;
  const mediaBytes = await storage.read(media);
  mediaBytes[mediaBytes.length - 10] = (mediaBytes[mediaBytes.length - 10] ?? 0) ^ 0xff;
  const manifest = layout.shardManifest(1);
  return { manifest, manifestBytes: await storage.read(manifest), media, mediaBytes };
}

/**
 * The failure a stopped assembly must give: VerificationFailed matching `message`, soon (shard 2 is
 * never made: the failure did not wait for it), and nothing published. Returns the error.
 */
async function assertStoppedSoon(storage: Storage, assembling: Promise<unknown>, output: string, message: RegExp): Promise<UpscaleError> {
  const began = Date.now();
  const error = await assembling.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, String(error));
  assert.equal(error.code, 'VerificationFailed');
  assert.match(error.message, message);
  assert.ok(Date.now() - began < 20_000, `failed after ${Date.now() - began} ms`);
  assert.equal(await storage.exists(output), false);
  return error;
}

/** The failure a corrupt shard 1 must give: named, permanent, soon, and nothing published. */
async function assertStoppedByShard1(storage: Storage, assembling: Promise<unknown>, output: string): Promise<void> {
  const error = await assertStoppedSoon(storage, assembling, output, /shard 1 /);
  assert.ok(error.permanent);
}

/** A storage client and a probed 3-shard job whose output is a local file in a folder of its own. */
async function localJob(t: TestContext, jobId: string): Promise<{ storage: Storage; job: Awaited<ReturnType<typeof probedJob>> }> {
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const dir = await mkdtemp(join(tmpdir(), 'assemble-wait-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { storage, job: await probedJob(t, storage, () => join(dir, 'out.mkv'), jobId) };
}

test('waitForShards: a shard that lands corrupt while the mux runs stops the assembly at once, naming it, and nothing is published (local)', { timeout: 120_000 }, async (t) => {
  const { storage, job } = await localJob(t, 'assemble-wait-corrupt');
  // Shard 1 is made first and taken away, to land later already damaged: media first, then its manifest, as the shard step commits.
  await runShardStep(shardTask(job, 1), storage, quiet);
  const bad = await corruptShard1(storage, job);
  await storage.delete(bad.manifest);
  await storage.delete(bad.media);

  const recorded = recordingLog();
  const assembling = runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble', waitForShards: true }, 'test'), storage, recorded.log);
  void assembling.catch(() => undefined);
  await runShardStep(shardTask(job, 0), storage, quiet);
  // ffmpeg has taken shard 0 and opened shard 1's pipe: the mux is running and waits for it.
  await recorded.when('Mux reached shard', (l) => JSON.stringify(l['shard']) === '[4,8]');
  await storage.write(bad.media, bad.mediaBytes);
  await storage.write(bad.manifest, bad.manifestBytes);
  await assertStoppedByShard1(storage, assembling, job.output);
});

test('waitForShards: a shard already corrupt when the assembly starts stops it at once (before its ffmpeg has started), and nothing is published (local)', { timeout: 120_000 }, async (t) => {
  const { storage, job } = await localJob(t, 'assemble-wait-corrupt-early');
  await runShardStep(shardTask(job, 0), storage, quiet);
  await runShardStep(shardTask(job, 1), storage, quiet);
  const bad = await corruptShard1(storage, job);
  await storage.write(bad.media, bad.mediaBytes, { overwrite: true });
  const assembling = runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble', waitForShards: true }, 'test'), storage, quiet);
  await assertStoppedByShard1(storage, assembling, job.output);
});

/** The codec and height the test's shards have (ffv1, the model's 4x of the source). */
async function shardVideo(storage: Storage, job: { output: string; jobId: string }): Promise<{ codec: 'ffv1'; height: number }> {
  const probe = await storage.readJson(jobLayout(job.output, job.jobId).probe, probeSchema);
  return { codec: 'ffv1', height: probe.video.displayHeight * 4 };
}

test('waitForShards with the shards\' video known: the mux starts before any shard exists and takes every one through a pipe (local)', { timeout: 180_000 }, async (t) => {
  const { storage, job } = await localJob(t, 'assemble-wait-early');
  const recorded = recordingLog();
  const assembling = runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble', waitForShards: true }, 'test'), storage, recorded.log, { expect: await shardVideo(storage, job) });
  void assembling.catch(() => undefined);
  // ffmpeg is running and has opened shard 0's pipe before shard 0 is made.
  await recorded.when('Mux reached shard', (l) => JSON.stringify(l['shard']) === '[0,4]');
  assert.equal(await storage.exists(jobLayout(job.output, job.jobId).shardManifest(0)), false);
  for (const shard of [0, 1, 2]) await runShardStep(shardTask(job, shard), storage, quiet);
  const result = await assembling;
  assert.equal(result.frames, 12);
  assert.deepEqual(recorded.lines.filter((l) => l['msg'] === 'Streamed shard into the output').map((l) => JSON.stringify(l['shard'])), ['[0,4]', '[4,8]', '[8,12]']);
});

test('waitForShards with the shards\' video known: a first shard unlike it stops the assembly at once, naming both, and nothing is published (local)', { timeout: 120_000 }, async (t) => {
  const { storage, job } = await localJob(t, 'assemble-wait-unexpected');
  const video = await shardVideo(storage, job);
  const assembling = runAssembleStep(parseTask(assembleTaskSchema, { ...job, step: 'assemble', waitForShards: true }, 'test'), storage, quiet, { expect: { ...video, height: video.height + 2 } });
  void assembling.catch(() => undefined);
  await runShardStep(shardTask(job, 0), storage, quiet);
  await assertStoppedSoon(storage, assembling, job.output, new RegExp(`shard holds ffv1 video \\d+x${video.height}, .* was set up for ffv1 video ${video.height + 2} lines high`));
});
