import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { UpscaleError } from '../errors.ts';
import { isLoopbackHost, parseLocation, redactUrl, redactUrlsIn, requireWritable } from './location.ts';

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
  assert.deepEqual(parseLocation('s3://videos/a..b/.hidden/..x.mp4'), { kind: 's3', bucket: 'videos', key: 'a..b/.hidden/..x.mp4', uri: 's3://videos/a..b/.hidden/..x.mp4' }, 'dots inside a segment are ordinary characters');
});

test('parses https:// (and loopback http://) as read-only locations whose uri hides user info and query', () => {
  assert.deepEqual(parseLocation('https://cdn.example/videos/in.mp4'), {
    kind: 'http',
    url: 'https://cdn.example/videos/in.mp4',
    uri: 'https://cdn.example/videos/in.mp4',
  });
  const secret = parseLocation('https://user:pa55@cdn.example/in.mp4?X-Goog-Signature=s3cr3t');
  assert.equal(secret.kind, 'http');
  assert.equal(secret.uri, 'https://cdn.example/in.mp4?<redacted>');
  assert.equal(secret.kind === 'http' ? secret.url : '', 'https://user:pa55@cdn.example/in.mp4?X-Goog-Signature=s3cr3t');
  for (const loopback of ['http://127.0.0.1:8080/a.mp4', 'http://localhost/a.mp4', 'http://[::1]:9/a.mp4', 'HTTP://127.1.2.3/a.mp4']) {
    assert.equal(parseLocation(loopback).kind, 'http', loopback);
  }
  const tricky = parseLocation('https://evil.example\\@good.example/my clip.mp4');
  assert.deepEqual(tricky, { kind: 'http', url: 'https://evil.example/@good.example/my%20clip.mp4', uri: 'https://evil.example/@good.example/my%20clip.mp4' }, 'one parse for every reader');
  assert.equal(isLoopbackHost('127.0.0.1.example.com'), false);
  assert.equal(isLoopbackHost('localhost.example.com'), false);
});

test('refuses writes to http(s) locations, naming the redacted URI', () => {
  const location = parseLocation('https://u:p@cdn.example/out.mp4?sig=SECRET');
  assert.throws(
    () => requireWritable(location, 'writing'),
    (error: unknown) =>
      error instanceof UpscaleError &&
      error.code === 'Unsupported' &&
      error.permanent &&
      error.message === 'writing https://cdn.example/out.mp4?<redacted>: http(s) locations are read-only (inputs only); write outputs to s3://bucket/key or a local path',
  );
  requireWritable(parseLocation('s3://bucket/out.mp4'), 'writing');
});

test('rejects unsupported schemes and malformed URIs with a permanent error naming them', () => {
  const cases: [string, string, RegExp][] = [
    ['gs://bucket/in.mp4', 'Unsupported', /unsupported storage location gs:\/\/bucket\/in\.mp4/],
    ['ftp://host/in.mp4', 'Unsupported', /unsupported storage location ftp:\/\/host\/in\.mp4/],
    ['http://example.com/in.mp4?X-Amz-Signature=abc', 'Unsupported', /refusing plain http:\/\/ for http:\/\/example\.com\/in\.mp4\?<redacted>: use https:\/\//],
    ['https://user:pw@[bad/in.mp4?sig=abc', 'InvalidArgument', /^invalid URL https:\/\/\[bad\/in\.mp4\?<redacted>$/],
    ['s3:///in.mp4', 'InvalidArgument', /invalid S3 bucket name "" in s3:\/\/\/in\.mp4/],
    ['file://otherhost/in.mp4', 'InvalidArgument', /invalid file URI file:\/\/otherhost\/in\.mp4/],
    ['', 'InvalidArgument', /empty storage location/],
    ['s3://videos/jobs/../../other/out.mp4', 'InvalidArgument', /invalid S3 key "jobs\/..\/..\/other\/out.mp4" in s3:\/\/videos\/jobs\/..\/..\/other\/out.mp4: a key may not contain "." or ".." path segments/],
    ['s3://videos/../other-bucket/in.mp4', 'InvalidArgument', /invalid S3 key "\.\.\/other-bucket\/in\.mp4" in .*: a key may not contain "\." or "\.\." path segments/],
    ['s3://videos/./in.mp4', 'InvalidArgument', /path segments/],
    ['s3://videos/..', 'InvalidArgument', /path segments/],
    ['s3://videos//etc/passwd', 'InvalidArgument', /invalid S3 key "\/etc\/passwd" .*may not start with "\/"/],
    ['s3://videos/in\nfake-log-line.mp4', 'InvalidArgument', /control characters/],
  ];
  for (const [input, code, message] of cases) {
    assert.throws(
      () => parseLocation(input),
      (error: unknown) => error instanceof UpscaleError && error.code === code && error.permanent && message.test(error.message),
      input,
    );
  }
  assert.throws(() => parseLocation('http://user:SECRET@host/x?sig=SECRET'), (error: Error) => !error.message.includes('SECRET'));
});

test('redacts presigned query strings', () => {
  assert.equal(redactUrl('http://127.0.0.1:9000/b/k.mp4?X-Amz-Credential=AK%2F&X-Amz-Signature=ff'), 'http://127.0.0.1:9000/b/k.mp4?<redacted>');
  assert.equal(redactUrl('/local/path.mp4'), '/local/path.mp4');
  assert.equal(redactUrl('https://user:p@ss@h/my clip.mp4#t=1'), 'https://h/my clip.mp4?<redacted>');
  assert.equal(redactUrl('https://token@h/a.mp4'), 'https://h/a.mp4');
  assert.equal(redactUrlsIn('GET https://u:pw@h/a.mp4 failed'), 'GET https://<redacted>@h/a.mp4 failed');
  assert.equal(
    redactUrlsIn('Opening "https://h/b/k?X-Amz-Signature=ff" failed; see http://h/x?a=1 too'),
    'Opening "https://h/b/k?<redacted>" failed; see http://h/x?<redacted> too',
  );
});
