// The pure mapping for responses a local versitygw cannot produce on demand (throttling, 5xx).
// Real server behaviour (missing objects, bad credentials, refused connections) is in s3-store.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLocation } from './location.ts';
import type { S3Location } from './location.ts';
import { fromFsError, fromS3Error } from './storage-errors.ts';

const location = parseLocation('s3://videos/in.mp4') as S3Location;
const sdkError = (name: string, status?: number, extra: object = {}) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, ...extra });

test('throttling, 5xx and network failures are transient', () => {
  for (const error of [
    sdkError('SlowDown', 503),
    sdkError('InternalError', 500),
    sdkError('Unknown', 502),
    sdkError('ThrottlingException', 400, { $retryable: { throttling: true } }),
    sdkError('TooManyRequests', 429),
    sdkError('TimeoutError'),
    Object.assign(new Error('getaddrinfo ENOTFOUND s3.invalid'), { code: 'ENOTFOUND' }),
  ]) {
    const mapped = fromS3Error(error, 'reading', location);
    assert.equal(mapped.code, 'Unavailable', error.name);
    assert.equal(mapped.kind, 'transient');
  }
});

test('other client errors are permanent and keep no credential-bearing fields', () => {
  const mapped = fromS3Error(
    sdkError('SignatureDoesNotMatch', 403, { StringToSign: 'AWS4-HMAC-SHA256 ...', AWSAccessKeyId: 'AKIASECRETID' }),
    'reading',
    location,
  );
  assert.equal(mapped.code, 'AccessDenied');
  assert.equal(JSON.stringify(mapped.cause).includes('AKIASECRETID'), false);
  assert.equal(Object.keys(mapped.cause as object).includes('AWSAccessKeyId'), false);
  assert.equal(fromS3Error(sdkError('MalformedXML', 400), 'writing', location).code, 'InvalidArgument');
  assert.equal(fromS3Error(sdkError('PreconditionFailed', 412), 'writing', location).code, 'AlreadyExists');
  assert.equal(fromS3Error(sdkError('CredentialsProviderError'), 'reading', location).code, 'AccessDenied');
});

test('file-system errors map by errno code', () => {
  const file = parseLocation('/data/out.mp4');
  const errno = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(fromFsError(errno('ENOENT'), 'reading', file).code, 'NotFound');
  assert.equal(fromFsError(errno('EACCES'), 'writing', file).code, 'AccessDenied');
  assert.equal(fromFsError(errno('ENOSPC'), 'writing', file).kind, 'transient');
  assert.equal(fromFsError(errno('EWHATEVER'), 'writing', file).code, 'Internal');
  assert.match(fromFsError(errno('EEXIST'), 'writing', file).message, /^writing \/data\/out\.mp4: the file already exists/);
});
