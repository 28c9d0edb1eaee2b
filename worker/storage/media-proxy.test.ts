// The loopback media proxy over real HTTP: ranges as ffmpeg sends them, classified failures, tokens.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { UpscaleError } from '../errors.ts';
import { MediaProxy, parseRange } from './media-proxy.ts';

const body = randomBytes(10_000);
const proxy = await MediaProxy.start();
after(() => proxy.close());

let failNext: UpscaleError | undefined;
const source = proxy.serve({
  display: 's3://bucket/in.mp4',
  size: body.length,
  name: 'in.mp4',
  open: async (range) => {
    const failure = failNext;
    failNext = undefined;
    if (failure !== undefined) throw failure;
    return Readable.from([body.subarray(range.start, range.end)]);
  },
});

test('parses the Range forms ffmpeg and others send', () => {
  assert.deepEqual(parseRange('bytes=0-', 100), { start: 0, end: 100 });
  assert.deepEqual(parseRange('bytes=10-19', 100), { start: 10, end: 20 });
  assert.deepEqual(parseRange('bytes=90-500', 100), { start: 90, end: 100 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 100 });
  assert.equal(parseRange(undefined, 100), undefined);
  assert.equal(parseRange('bytes=0-1,5-6', 100), undefined, 'multi-range: the whole object');
  assert.equal(parseRange('bytes=100-', 100), 'invalid');
  assert.equal(parseRange('bytes=-0', 100), 'invalid');
});

test('answers whole, ranged and HEAD requests with the right headers', async () => {
  assert.match(source.url, /^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/in\.mp4$/);
  const whole = await fetch(source.url);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get('accept-ranges'), 'bytes');
  assert.ok(Buffer.from(await whole.arrayBuffer()).equals(body));

  const ranged = await fetch(source.url, { headers: { range: 'bytes=1000-1999' } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('content-range'), `bytes 1000-1999/${body.length}`);
  assert.equal(ranged.headers.get('content-length'), '1000');
  assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(1000, 2000)));

  const head = await fetch(source.url, { method: 'HEAD', headers: { range: 'bytes=9000-' } });
  assert.deepEqual([head.status, head.headers.get('content-length')], [206, '1000']);
  const outside = await fetch(source.url, { headers: { range: `bytes=${body.length}-` } });
  assert.deepEqual([outside.status, outside.headers.get('content-range')], [416, `bytes */${body.length}`]);
  assert.equal((await fetch(source.url, { method: 'POST' })).status, 405);
});

test('answers a failed read by its classification and keeps the storage error', async () => {
  const cases: [UpscaleError, number][] = [
    [new UpscaleError('AccessDenied', 'reading s3://bucket/in.mp4: credentials were rejected'), 403],
    [new UpscaleError('NotFound', 'reading s3://bucket/in.mp4: object not found'), 404],
    [new UpscaleError('Unavailable', 'reading s3://bucket/in.mp4: S3 server unavailable'), 503],
  ];
  for (const [error, status] of cases) {
    failNext = error;
    assert.equal((await fetch(source.url, { headers: { range: 'bytes=0-' } })).status, status, error.code);
    assert.equal(source.failure(), error);
  }
  assert.equal((await fetch(source.url)).status, 200);
  assert.equal(source.failure(), undefined, 'a later success clears the failure');
});

test('serves nothing without the exact token, and nothing once released', async () => {
  const url = new URL(source.url);
  assert.equal((await fetch(`${url.origin}/`)).status, 404);
  assert.equal((await fetch(`${url.origin}/${'A'.repeat(32)}/in.mp4`)).status, 404);
  const other = proxy.serve({ display: 'x', size: 1, name: 'x', open: async () => Readable.from([Buffer.from('x')]) });
  assert.equal((await fetch(other.url)).status, 200);
  other.release();
  assert.equal((await fetch(other.url)).status, 404);
});
