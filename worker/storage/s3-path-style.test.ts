// UPSCALE_S3_FORCE_PATH_STYLE against the real S3 server, configured the way a pod is: by environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { useS3 } from '../../test/s3/harness.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { Storage } from './storage.ts';

const s3 = await useS3();
// A host name rather than 127.0.0.1: the SDK never uses virtual-hosted addressing for an IP endpoint.
const endpoint = s3.info.endpoint.replace('127.0.0.1', 'localhost');
const credentials = { accessKeyId: s3.info.accessKeyId, secretAccessKey: s3.info.secretAccessKey };

function podStorage(forcePathStyle: string): Storage {
  return new Storage({
    s3: { credentials, maxAttempts: 1 },
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: s3.info.region, UPSCALE_S3_FORCE_PATH_STYLE: forcePathStyle },
  });
}

test('UPSCALE_S3_FORCE_PATH_STYLE=true addresses the bucket in the path', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = podStorage('true');
  t.after(() => storage.close());
  await storage.write(`s3://${bucket}/a.json`, '{"ok":true}');
  assert.equal((await storage.read(`s3://${bucket}/a.json`)).toString(), '{"ok":true}');
});

test('UPSCALE_S3_FORCE_PATH_STYLE=false addresses the bucket as a virtual host, even on a custom endpoint', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = podStorage('false');
  t.after(() => storage.close());
  const error = await storage.read(`s3://${bucket}/a.json`).then(
    () => assert.fail('expected the virtual host to be unresolvable'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError, inspect(error));
  // `<bucket>.localhost` has no address here: the request went to the bucket's virtual host.
  assert.match(error.message, new RegExp(`ENOTFOUND ${bucket}\\.localhost`));
  assert.equal(exitCodeFor(error), 3);
});

test('a malformed UPSCALE_S3_FORCE_PATH_STYLE fails permanently, naming the variable', async () => {
  const storage = podStorage('sometimes');
  const error = await storage.stat('s3://bucket/a.json').then(
    () => assert.fail('expected a configuration error'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError);
  assert.equal(error.code, 'InvalidArgument');
  assert.equal(exitCodeFor(error), 2);
  assert.match(error.message, /invalid S3 setting UPSCALE_S3_FORCE_PATH_STYLE: must be true or false/);
});
