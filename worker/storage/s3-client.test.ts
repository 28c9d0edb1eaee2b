import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UpscaleError } from '../errors.ts';
import { s3ClientConfig } from './s3-client.ts';

test('takes the endpoint from options, then AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL', () => {
  const env = { AWS_ENDPOINT_URL: 'http://generic:9000', AWS_ENDPOINT_URL_S3: 'http://s3-only:9000' };
  assert.equal(s3ClientConfig({}, env).endpoint, 'http://s3-only:9000');
  assert.equal(s3ClientConfig({}, { AWS_ENDPOINT_URL: 'http://generic:9000' }).endpoint, 'http://generic:9000');
  assert.equal(s3ClientConfig({ endpoint: 'https://r2.example' }, env).endpoint, 'https://r2.example');
});

test('uses path-style and a default region for custom endpoints, not for AWS', () => {
  const custom = s3ClientConfig({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:7070' });
  assert.equal(custom.forcePathStyle, true);
  assert.equal(custom.region, 'us-east-1');
  const aws = s3ClientConfig({}, { AWS_REGION: 'eu-west-1' });
  assert.equal(aws.forcePathStyle, false);
  assert.equal(aws.endpoint, undefined);
  assert.equal(aws.region, 'eu-west-1');
  assert.equal(s3ClientConfig({ forcePathStyle: false }, { AWS_ENDPOINT_URL: 'http://h:1' }).forcePathStyle, false);
  assert.equal(s3ClientConfig({}, { AWS_DEFAULT_REGION: 'ap-south-1', AWS_ENDPOINT_URL: 'http://h:1' }).region, 'ap-south-1');
});

test('forces path-style either way from UPSCALE_S3_FORCE_PATH_STYLE, below an explicit option', () => {
  const custom = { AWS_ENDPOINT_URL: 'http://127.0.0.1:7070' };
  assert.equal(s3ClientConfig({}, { ...custom, UPSCALE_S3_FORCE_PATH_STYLE: 'false' }).forcePathStyle, false);
  assert.equal(s3ClientConfig({}, { ...custom, UPSCALE_S3_FORCE_PATH_STYLE: 'TRUE ' }).forcePathStyle, true);
  assert.equal(s3ClientConfig({}, { AWS_REGION: 'eu-west-1', UPSCALE_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle, true);
  assert.equal(s3ClientConfig({ forcePathStyle: false }, { UPSCALE_S3_FORCE_PATH_STYLE: 'true' }).forcePathStyle, false);
  assert.equal(s3ClientConfig({}, { ...custom, UPSCALE_S3_FORCE_PATH_STYLE: '' }).forcePathStyle, true, 'empty counts as unset');
  assert.throws(
    () => s3ClientConfig({}, { UPSCALE_S3_FORCE_PATH_STYLE: 'yes' }),
    (e: unknown) =>
      e instanceof UpscaleError && e.code === 'InvalidArgument' && e.permanent && /UPSCALE_S3_FORCE_PATH_STYLE: must be true or false/.test(e.message),
  );
});

test('computes checksums only when required and retries in standard mode', () => {
  const config = s3ClientConfig({ maxAttempts: 5, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }, {});
  assert.equal(config.requestChecksumCalculation, 'WHEN_REQUIRED');
  assert.equal(config.responseChecksumValidation, 'WHEN_REQUIRED');
  assert.equal(config.retryMode, 'standard');
  assert.equal(config.maxAttempts, 5);
  assert.deepEqual(config.credentials, { accessKeyId: 'a', secretAccessKey: 'b' });
  assert.equal('credentials' in s3ClientConfig({}, {}), false, 'otherwise the SDK credential chain decides');
});

test('makes 6 attempts per request unless the options or AWS_MAX_ATTEMPTS say otherwise', () => {
  assert.equal(s3ClientConfig({}, {}).maxAttempts, 6);
  assert.equal(s3ClientConfig({}, { AWS_MAX_ATTEMPTS: '2' }).maxAttempts, 2);
  assert.equal(s3ClientConfig({ maxAttempts: 4 }, { AWS_MAX_ATTEMPTS: '2' }).maxAttempts, 4);
  assert.throws(() => s3ClientConfig({}, { AWS_MAX_ATTEMPTS: 'many' }), /invalid S3 setting AWS_MAX_ATTEMPTS: must be a whole number from 1 to 20/);
});

test('rejects malformed endpoints naming the variable', () => {
  assert.throws(
    () => s3ClientConfig({}, { AWS_ENDPOINT_URL_S3: 'localhost:9000' }),
    (e: unknown) => e instanceof UpscaleError && e.code === 'InvalidArgument' && /AWS_ENDPOINT_URL_S3/.test(e.message),
  );
  assert.throws(() => s3ClientConfig({ endpoint: 'ftp://x' }, {}), /invalid S3 endpoint ftp:\/\/x/);
  assert.equal(s3ClientConfig({}, { AWS_ENDPOINT_URL: '' }).endpoint, undefined, 'empty counts as unset');
});
