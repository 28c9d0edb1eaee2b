/**
 * An S3 source through the real steps, the real ffmpeg and real versitygw: ffmpeg never holds a
 * credential, and a shard survives its credentials changing under it.
 *
 * - ffmpeg and ffprobe run through wrappers that record their argv (what `ps` shows other local
 *   users); the argv, every log line, the results, probe.json and the errors of failing runs (causes
 *   included) must hold no `X-Amz-Signature`, no `X-Amz-Credential` and no secret key.
 * - A private versitygw whose root key is replaced right after the shard step has opened its source
 *   (what an expiring IRSA/STS session does to a long shard): the shard still completes, because
 *   every read is signed with the credentials of the moment. Credentials that stay rejected give
 *   AccessDenied (exit 2) with the S3 server's reason; a server that stays down gives exit 3.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import pino from 'pino';
import { clip } from '../../test/fixtures/clips.ts';
import { useS3, type TestS3 } from '../../test/s3/harness.ts';
import { buildVersitygw } from '../../test/s3/server.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { jobLayout } from '../storage/job-layout.ts';
import type { S3Credentials } from '../storage/s3-client.ts';
import { Storage } from '../storage/storage.ts';
import { parseTask, probeTaskSchema, shardTaskSchema } from '../task.ts';
import { runProbeStep } from './probe-step.ts';
import { runShardStep } from './shard-step.ts';

// fluent-ffmpeg and runFfprobe read these once, at their first run in this process.
const wrappers = await mkdtemp(join(tmpdir(), 's3-source-argv-'));
const argvLog = join(wrappers, 'argv.log');
for (const tool of ['ffmpeg', 'ffprobe']) {
  const path = join(wrappers, tool);
  await writeFile(path, `#!/bin/sh\nprintf '%s ' "$0" "$@" >> '${argvLog}'\nprintf '\\n' >> '${argvLog}'\nexec ${tool} "$@"\n`);
  await chmod(path, 0o755);
}
process.env['FFMPEG_PATH'] = join(wrappers, 'ffmpeg');
process.env['FFPROBE_PATH'] = join(wrappers, 'ffprobe');
after(() => rm(wrappers, { recursive: true, force: true }));

const SHARD_SETTINGS = { ep: 'cpu', codec: 'ffv1', encoder: 'cpu' };

/** Everything a step error would show in a log: message, causes, all properties (util.inspect). */
function everything(error: unknown): string {
  return `${inspect(error, { depth: 20 })}\n${JSON.stringify(pino.stdSerializers.err(error as Error))}`;
}

/** What in `text` looks like a credential: a SigV4 query parameter, or the secret key itself. */
function credentialsIn(text: string, secret: string): string[] {
  const found = [...new Set(text.match(/X-Amz-(Signature|Credential|Security-Token)/gi) ?? [])];
  return text.includes(secret) ? [...found, 'the secret key'] : found;
}

function assertNoCredentials(text: string, secret: string, what: string): void {
  assert.deepEqual(credentialsIn(text, secret), [], `${what}: ${text.slice(0, 2000)}`);
}

/** A Storage that runs `afterOpen` once the step has its media source, before ffmpeg reads it. */
class HookedStorage extends Storage {
  afterOpen: (() => Promise<void>) | undefined;
  override async mediaSource(uri: string): ReturnType<Storage['mediaSource']> {
    const source = await super.mediaSource(uri);
    await this.afterOpen?.();
    return source;
  }
}

async function rejection(promise: Promise<unknown>): Promise<UpscaleError> {
  const error = await promise.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, inspect(error));
  return error;
}

describe('an S3 source reaches ffmpeg without credentials', () => {
  let s3: TestS3;
  let dir: string;
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  before(async () => {
    s3 = await useS3();
    dir = await mkdtemp(join(tmpdir(), 's3-source-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('keeps signatures and keys out of argv, logs, results and error causes', async (t) => {
    const bucket = await s3.bucket(t);
    const storage = new HookedStorage({ s3: s3.options });
    t.after(() => storage.close());
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/clip.mp4', Body: await readFile(await clip('tiny-basic')) }));
    const common = { version: 1, jobId: 's3-argv', input: `s3://${bucket}/in/clip.mp4`, output: join(dir, 'argv', 'out.mkv') };
    await writeFile(argvLog, '');

    const probe = await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 2 } }, 'test'), storage, log);
    const shardTask = parseTask(shardTaskSchema, { ...common, step: 'shard', settings: SHARD_SETTINGS }, 'test');
    const shard = await runShardStep({ ...shardTask, shard: 1 }, storage, log);
    assert.equal(shard.frames, 6);

    // Error paths: the object disappears once the shard has opened it; the object turns to garbage.
    storage.afterOpen = () => s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'in/clip.mp4' })).then(() => undefined);
    const vanished = await rejection(runShardStep({ ...shardTask, shard: 0 }, storage, log));
    assert.equal(vanished.code, 'NotFound', vanished.message);
    assert.equal(exitCodeFor(vanished), 2);
    storage.afterOpen = undefined;
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/clip.mp4', Body: randomBytes(40_000) }));
    const garbage = await rejection(runShardStep({ ...shardTask, shard: 0 }, storage, log));

    const argv = await readFile(argvLog, 'utf8');
    assert.ok(argv.split('\n').filter((line) => line.includes('/ffmpeg ')).length >= 2, `ffmpeg ran (argv log:\n${argv})`);
    const probeJson = await readFile(jobLayout(common.output, common.jobId).probe, 'utf8');
    const secret = s3.info.secretAccessKey;
    const leaks = Object.entries({
      'ffmpeg/ffprobe argv': argv,
      logs: logs.join(''),
      'results and probe.json': JSON.stringify([probe.result, shard]) + probeJson,
      'the error of a source deleted mid-step': everything(vanished),
      'the error of a corrupt source': everything(garbage),
    })
      .map(([what, text]) => [what, credentialsIn(text, secret)] as const)
      .filter(([, found]) => found.length > 0);
    assert.deepEqual(leaks, [], 'credentials leaked');
  });
});

/** A versitygw of this test's own, so its root key can change without disturbing other tests. */
class Gateway {
  readonly endpoint: string;
  readonly #data: string;
  readonly #meta: string;
  readonly #binary: string;
  #child: ChildProcess | undefined;
  credentials: S3Credentials = newCredentials();

  constructor(binary: string, dir: string, port: number) {
    this.#binary = binary;
    this.#data = join(dir, 'data');
    this.#meta = join(dir, 'meta');
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const port = new URL(this.endpoint).port;
    this.#child = spawn(this.#binary, ['--quiet', '--port', `127.0.0.1:${port}`, '--region', 'us-east-1', 'posix', '--sidecar', this.#meta, this.#data], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ROOT_ACCESS_KEY_ID: this.credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: this.credentials.secretAccessKey },
      stdio: 'ignore',
    });
    const client = new S3Client({ endpoint: this.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: this.credentials });
    try {
      for (let tries = 0; ; tries++) {
        try {
          await client.send(new ListBucketsCommand({}));
          return;
        } catch (error) {
          if (tries > 100 || this.#child?.exitCode !== null) throw error;
          await sleep(100);
        }
      }
    } finally {
      client.destroy();
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Restarts the server with a new root key (the old one stops working at once). */
  async rotate(): Promise<void> {
    await this.stop();
    this.credentials = newCredentials();
    await this.start();
  }
}

function newCredentials(): S3Credentials {
  return { accessKeyId: `ROT${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(24).toString('base64url') };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('a shard whose S3 credentials change under it', () => {
  let gateway: Gateway;
  let dir: string;
  const log = pino({ level: 'silent' });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-rotate-'));
    await mkdir(join(dir, 'data'));
    await mkdir(join(dir, 'meta'));
    gateway = new Gateway(await buildVersitygw(), dir, await freePort());
    await gateway.start();
  });
  after(async () => {
    await gateway.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('completes when the key is replaced once the shard has opened its source, and classifies what cannot work', async () => {
    // The worker's credentials come from a provider, as with IRSA or container credentials; the
    // SDK asks it again as the expiry nears (always, here). `current` is what the provider knows.
    let current = gateway.credentials;
    const storage = new HookedStorage({
      s3: {
        endpoint: gateway.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        maxAttempts: 2,
        credentials: async () => ({ ...current, expiration: new Date(Date.now() + 60_000) }),
      },
    });
    const admin = new S3Client({ endpoint: gateway.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: gateway.credentials });
    await admin.send(new CreateBucketCommand({ Bucket: 'media' }));
    await admin.send(new PutObjectCommand({ Bucket: 'media', Key: 'in/clip.mp4', Body: await readFile(await clip('tiny-basic')) }));
    admin.destroy();
    const common = { version: 1, jobId: 's3-rotate', input: 's3://media/in/clip.mp4', output: join(dir, 'out', 'out.mkv') };
    await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 2 } }, 'test'), storage, log);
    const shardTask = parseTask(shardTaskSchema, { ...common, step: 'shard', settings: SHARD_SETTINGS }, 'test');

    // Rotated and the provider learns the new key (a refreshed session): the shard completes.
    storage.afterOpen = async () => {
      await gateway.rotate();
      current = gateway.credentials;
    };
    const rotated = await runShardStep({ ...shardTask, shard: 0 }, storage, log);
    assert.equal(rotated.frames, 6);
    assert.equal(rotated.skipped, false);

    // Rotated and the provider keeps the old key: permanent AccessDenied, naming the S3 reason.
    storage.afterOpen = () => gateway.rotate();
    const denied = await rejection(runShardStep({ ...shardTask, shard: 1 }, storage, log));
    assert.equal(denied.code, 'AccessDenied', denied.message);
    assert.equal(exitCodeFor(denied), 2);
    assert.match(denied.message, /s3:\/\/media\/in\/clip\.mp4/);
    assertNoCredentials(everything(denied), gateway.credentials.secretAccessKey, 'the AccessDenied error');
    current = gateway.credentials;

    // The server goes away once the shard has opened its source: transient, exit 3.
    storage.afterOpen = () => gateway.stop();
    const down = await rejection(runShardStep({ ...shardTask, shard: 1 }, storage, log));
    assert.equal(exitCodeFor(down), 3, down.message);
    assert.equal(down.code, 'Unavailable', down.message);
    storage.close();
  });
});
