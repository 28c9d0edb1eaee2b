import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { UpscaleError } from '../errors.ts';
import { parseLocation, redactUrl, redactUrlsIn } from './location.ts';

test('parses local paths, file:// and s3:// URIs', () => {
  assert.deepEqual(parseLocation('/data/in.mp4'), { kind: 'file', path: '/data/in.mp4', uri: '/data/in.mp4' });
  assert.deepEqual(parseLocation('clip.mp4'), { kind: 'file', path: path.resolve('clip.mp4'), uri: path.resolve('clip.mp4') });
  assert.deepEqual(parseLocation('file:///data/my%20clip.mp4'), {
    kind: 'file',
    path: '/data/my clip.mp4',
    uri: '/data/my clip.mp4',
  });
  assert.equal(parseLocation('/data/job/').uri, '/data/job/', 'keeps the trailing slash of a prefix');
  assert.deepEqual(parseLocation('s3://videos/in/my clip.mp4'), {
    kind: 's3',
    bucket: 'videos',
    key: 'in/my clip.mp4',
    uri: 's3://videos/in/my clip.mp4',
  });
  assert.deepEqual(parseLocation('s3://videos'), { kind: 's3', bucket: 'videos', key: '', uri: 's3://videos/' });
});

test('rejects unsupported schemes and malformed URIs with a permanent error naming them', () => {
  const cases: [string, string, RegExp][] = [
    ['gs://bucket/in.mp4', 'Unsupported', /unsupported storage location gs:\/\/bucket\/in\.mp4/],
    ['https://host/in.mp4?X-Amz-Signature=abc', 'Unsupported', /https:\/\/host\/in\.mp4\?<redacted>/],
    ['s3:///in.mp4', 'InvalidArgument', /invalid S3 bucket name "" in s3:\/\/\/in\.mp4/],
    ['file://otherhost/in.mp4', 'InvalidArgument', /invalid file URI file:\/\/otherhost\/in\.mp4/],
    ['', 'InvalidArgument', /empty storage location/],
  ];
  for (const [input, code, message] of cases) {
    assert.throws(
      () => parseLocation(input),
      (error: unknown) => error instanceof UpscaleError && error.code === code && error.permanent && message.test(error.message),
      input,
    );
  }
  assert.throws(() => parseLocation('https://host/x?sig=SECRET'), (error: Error) => !error.message.includes('SECRET'));
});

test('redacts presigned query strings', () => {
  assert.equal(redactUrl('http://127.0.0.1:9000/b/k.mp4?X-Amz-Credential=AK%2F&X-Amz-Signature=ff'), 'http://127.0.0.1:9000/b/k.mp4?<redacted>');
  assert.equal(redactUrl('/local/path.mp4'), '/local/path.mp4');
  assert.equal(
    redactUrlsIn('Opening "https://h/b/k?X-Amz-Signature=ff" failed; see http://h/x?a=1 too'),
    'Opening "https://h/b/k?<redacted>" failed; see http://h/x?<redacted> too',
  );
});
