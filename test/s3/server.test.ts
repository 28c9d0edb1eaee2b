// `npm run s3:start` / `s3:stop` behaviour, on private roots so the shared server is left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { isAlive, readPidFile } from '../cluster/processes.ts';
import { isHealthy, s3Paths, startS3Server, stopS3Server } from './server.ts';

async function root(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 's3-root-'));
  t.after(async () => {
    await stopS3Server(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

test('start writes .cluster/s3.env, reuses a running server, and stop ends exactly its own', async (t) => {
  const [a, b] = [await root(t), await root(t)];
  const first = await startS3Server(a);
  assert.equal(first.started, true);
  assert.match(first.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  const envFile = s3Paths(a).envFile;
  assert.equal((await stat(envFile)).mode & 0o777, 0o600);
  assert.deepEqual(
    (await readFile(envFile, 'utf8')).trim().split('\n'),
    [
      `AWS_ACCESS_KEY_ID=${first.accessKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${first.secretAccessKey}`,
      'AWS_REGION=us-east-1',
      `AWS_ENDPOINT_URL=${first.endpoint}`,
    ],
  );
  const pidA = readPidFile(s3Paths(a).pid);
  const cmdline = await readFile(`/proc/${pidA?.pid}/cmdline`, 'utf8');
  assert.equal(cmdline.includes(first.secretAccessKey), false, 'the secret is not on the command line');

  const again = await startS3Server(a);
  assert.equal(again.started, false);
  assert.equal(again.endpoint, first.endpoint);
  assert.deepEqual(readPidFile(s3Paths(a).pid), pidA);

  const other = await startS3Server(b);
  assert.notEqual(other.endpoint, first.endpoint);
  assert.equal(await stopS3Server(a), true);
  assert.equal(isAlive(pidA), false);
  assert.equal(await isHealthy(first), false);
  assert.equal(await isHealthy(other), true, "stopping one root's server leaves the other running");
  await assert.rejects(stat(envFile), { code: 'ENOENT' });
  assert.equal(await stopS3Server(a), false);

  const restarted = await startS3Server(a);
  assert.equal(restarted.started, true);
  assert.equal(restarted.accessKeyId, first.accessKeyId, 'credentials survive a restart');
});
