// The read-only http(s) backend against real local web servers (node:http and node:https).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { PassThrough } from 'node:stream';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { Storage } from './storage.ts';
import { closedPort, startTestHttpServer } from './test-http-server.ts';

const body = randomBytes(100_000);
const server = await startTestHttpServer({
  '/in.mp4': { body },
  '/no-ranges.mp4': { body, ranges: false },
  '/empty.mp4': { body: Buffer.alloc(0) },
  '/private.mp4': { body, auth: 'alice:s3cr3t' },
  '/signed.mp4': { body, query: 'X-Goog-Signature=abc123' },
  '/r1': { redirect: '/r2', status: 301 },
  '/r2': { redirect: '/r3', status: 302 },
  '/r3': { redirect: '/r4', status: 303 },
  '/r4': { redirect: '/r5', status: 307 },
  '/r5': { redirect: '/in.mp4', status: 308 },
  '/r0': { redirect: '/r1' },
  '/to-file': { redirect: 'file:///etc/passwd' },
  '/to-remote-http': { redirect: 'http://example.com/in.mp4' },
  '/to-private': { redirect: '/private.mp4' },
  '/gone': { status: 410 },
  '/unauthorized': { status: 401 },
  '/forbidden': { status: 403 },
  '/broken': { status: 500 },
  '/busy': { status: 503 },
  '/throttled': { status: 429 },
});
const tls = await startTestHttpServer({ '/in.mp4': { body } }, { tls: true });
const storage = new Storage();
const trusting = new Storage({ http: { ca: tls.certificate?.pem ?? '' } });
test.after(async () => {
  storage.close();
  trusting.close();
  await server.close();
  await tls.close();
});

async function rejection(promise: Promise<unknown>): Promise<UpscaleError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof UpscaleError, `expected an UpscaleError, got ${inspect(error)}`);
    return error;
  }
  assert.fail('expected the promise to reject');
}

test('stats an http object with a one-byte ranged GET, and reads it whole or by range', async () => {
  const uri = `${server.base}/in.mp4`;
  const before = server.requests.length;
  const info = await storage.stat(uri);
  assert.deepEqual({ uri: info?.uri, size: info?.size, etag: info?.etag }, { uri, size: body.length, etag: 'v1' });
  assert.deepEqual(server.requests.slice(before).map((r) => [r.method, r.range]), [['GET', 'bytes=0-0']]);
  assert.equal(await storage.exists(uri), true);
  assert.ok((await storage.read(uri)).equals(body));
  assert.ok((await storage.read(uri, { start: 1000, end: 1500 })).equals(body.subarray(1000, 1500)));
  assert.ok((await storage.read(uri, { start: 99_990 })).equals(body.subarray(99_990)));
  assert.equal((await storage.read(uri, { start: 5, end: 5 })).length, 0);
  assert.equal((await storage.stat(`${server.base}/empty.mp4`))?.size, 0, 'an empty object answers 416 to bytes=0-0');
});

test('copes with a server that ignores Range: stat does not download, ranges are cut locally', async () => {
  const uri = `${server.base}/no-ranges.mp4`;
  assert.equal((await storage.stat(uri))?.size, body.length);
  assert.ok((await storage.read(uri, { start: 1000, end: 1500 })).equals(body.subarray(1000, 1500)));
  assert.ok((await storage.read(uri, { start: 99_000 })).equals(body.subarray(99_000)));
});

test('follows up to 5 redirects of every kind, and refuses a 6th', async () => {
  assert.ok((await storage.read(`${server.base}/r1`)).equals(body));
  const source = await storage.mediaSource(`${server.base}/r1`);
  assert.deepEqual([source.kind, source.url, source.display], ['http', `${server.base}/r1`, `${server.base}/r1`], 'ffmpeg gets a URL without secrets as given');
  const error = await rejection(storage.stat(`${server.base}/r0`));
  assert.equal(error.code, 'InvalidInput');
  assert.equal(exitCodeFor(error), 2);
  assert.match(error.message, /^checking http:\/\/127\.0\.0\.1:\d+\/r0: more than 5 redirects \(the last to http:\/\/127\.0\.0\.1:\d+\/in\.mp4\)$/);
});

test('refuses redirects to other schemes and to plain http off loopback, without a request there', async () => {
  const toFile = await rejection(storage.read(`${server.base}/to-file`));
  assert.equal(toFile.code, 'Unsupported');
  assert.equal(toFile.permanent, true);
  assert.match(toFile.message, /refusing a redirect to a file: URL: only http\(s\) redirects are followed/);
  const downgrade = await rejection(storage.mediaSource(`${server.base}/to-remote-http`));
  assert.equal(downgrade.code, 'Unsupported');
  assert.match(downgrade.message, /refusing a redirect: refusing plain http:\/\/ for http:\/\/example\.com\/in\.mp4/);
});

test('classifies statuses and unreachable servers like S3: missing and refused are permanent, the rest transient', async () => {
  const cases: [string, string, 'permanent' | 'transient', RegExp][] = [
    ['/missing.mp4', 'NotFound', 'permanent', /opening http:\/\/127\.0\.0\.1:\d+\/missing\.mp4: no such object \(HTTP 404\)/],
    ['/gone', 'NotFound', 'permanent', /no such object/],
    ['/unauthorized', 'AccessDenied', 'permanent', /the server refused access \(HTTP 401\)/],
    ['/forbidden', 'AccessDenied', 'permanent', /the server refused access \(HTTP 403\)/],
    ['/broken', 'Unavailable', 'transient', /server unavailable or overloaded \(HTTP 500\)/],
    ['/busy', 'Unavailable', 'transient', /HTTP 503/],
    ['/throttled', 'Unavailable', 'transient', /HTTP 429/],
  ];
  for (const [path, code, kind, message] of cases) {
    const error = await rejection(storage.mediaSource(`${server.base}${path}`));
    assert.deepEqual([error.code, error.kind], [code, kind], path);
    assert.equal(exitCodeFor(error), kind === 'permanent' ? 2 : 3, path);
    assert.match(error.message, message, path);
  }
  assert.equal(await storage.exists(`${server.base}/missing.mp4`), false);
  const read = await rejection(storage.read(`${server.base}/missing.mp4`));
  assert.equal(read.code, 'NotFound');

  const refused = await rejection(storage.mediaSource(`http://127.0.0.1:${await closedPort()}/in.mp4`));
  assert.equal(refused.code, 'Unavailable');
  assert.equal(exitCodeFor(refused), 3);
  assert.match(refused.message, /server unreachable \(ECONNREFUSED/);
});

test('sends URL credentials and query to the server but never names them in errors', async () => {
  const privateUri = `${server.base}/private.mp4`;
  const withAuth = privateUri.replace('://', '://alice:s3cr3t@');
  assert.ok((await storage.read(withAuth)).equals(body));
  assert.equal((await storage.stat(withAuth))?.uri, privateUri, 'the reported uri has no user info');
  const wrong = await rejection(storage.mediaSource(privateUri.replace('://', '://alice:WRONGPASS@')));
  assert.equal(wrong.code, 'AccessDenied');
  assert.doesNotMatch(`${wrong.message} ${String(wrong.subject)} ${inspect(wrong)}`, /WRONGPASS|alice/);
  assert.ok((await storage.read(`${server.base}/to-private`.replace('://', '://alice:s3cr3t@'))).equals(body), 'a same-host redirect keeps them');

  assert.ok((await storage.read(`${server.base}/signed.mp4?X-Goog-Signature=abc123`)).equals(body));
  const expired = await rejection(storage.mediaSource(`${server.base}/signed.mp4?X-Goog-Signature=EXPIREDSIG`));
  assert.equal(expired.code, 'AccessDenied');
  assert.match(expired.message, /signed\.mp4\?<redacted>: the server refused access \(HTTP 403\)/);
  assert.doesNotMatch(`${expired.message} ${inspect(expired)}`, /EXPIREDSIG/);
});

test('refuses writes, uploads, listings and deletes at http(s) locations with a permanent error naming the URI', async () => {
  const uri = `${server.base}/out.mp4?sig=SECRET`;
  const attempts: [string, () => Promise<unknown>][] = [
    ['writing', () => storage.write(uri, 'x')],
    ['writing', () => storage.writeJson(uri, {})],
    ['uploading', () => storage.upload(uri, new PassThrough())],
    ['listing', () => storage.list(uri)],
    ['deleting', () => storage.delete(uri)],
    ['deleting', () => storage.deletePrefix(uri)],
  ];
  for (const [doing, attempt] of attempts) {
    const error = await rejection(attempt());
    assert.equal(error.code, 'Unsupported');
    assert.equal(exitCodeFor(error), 2);
    assert.equal(error.message, `${doing} ${server.base}/out.mp4?<redacted>: http(s) locations are read-only (inputs only); write outputs to s3://bucket/key or a local path`);
  }
  assert.equal(server.requests.some((r) => r.url.startsWith('/out.mp4')), false, 'nothing was sent');
});

test('reads https with the CA it is given (or SSL_CERT_FILE), and refuses an untrusted certificate permanently', async () => {
  const uri = `${tls.base}/in.mp4`;
  assert.ok((await trusting.read(uri, { start: 10, end: 20 })).equals(body.subarray(10, 20)));
  const fromEnv = new Storage({ env: { SSL_CERT_FILE: tls.certificate?.file ?? '' } });
  try {
    assert.equal((await fromEnv.stat(uri))?.size, body.length);
  } finally {
    fromEnv.close();
  }
  const untrusted = await rejection(storage.mediaSource(uri));
  assert.equal(untrusted.code, 'AccessDenied');
  assert.equal(exitCodeFor(untrusted), 2);
  assert.match(untrusted.message, /opening|checking/);
  assert.match(untrusted.message, /the server's TLS certificate was not accepted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/);
  const missingBundle = await rejection(new Storage({ env: { SSL_CERT_FILE: '/nonexistent/ca.pem' } }).stat(uri));
  assert.equal(missingBundle.code, 'InvalidArgument');
  assert.match(missingBundle.message, /SSL_CERT_FILE=\/nonexistent\/ca\.pem/);
});
