/**
 * Test helper: a real local web server (node:http, or node:https with a self-signed certificate made
 * by openssl) serving objects with Range support, redirects and chosen statuses, and recording
 * every request, so the http(s) input backend and ffmpeg are tested against the real protocol.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type TestRoute =
  /** An object; `ranges: false` ignores Range headers; `auth` requires that `user:password`; `query` that exact query. */
  | { body: Buffer; ranges?: boolean; auth?: string; query?: string; onlyFor?: RegExp; otherwise?: number }
  | { redirect: string; status?: number }
  | { status: number };

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  range: string | undefined;
  userAgent: string | undefined;
  authorization: string | undefined;
}

export interface TestHttpServer {
  /** `http://127.0.0.1:PORT` or `https://localhost:PORT`. */
  base: string;
  requests: RecordedRequest[];
  /** The server's certificate (https only): trust it with `ca` or SSL_CERT_FILE. */
  certificate?: { pem: Buffer; file: string };
  close(): Promise<void>;
}

/** A self-signed certificate for `localhost` and 127.0.0.1, in a temporary directory. */
async function selfSigned(dir: string): Promise<{ key: Buffer; cert: Buffer; certFile: string }> {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ]);
  return { key: await readFile(keyFile), cert: await readFile(certFile), certFile };
}

function serve(route: TestRoute | undefined, req: IncomingMessage, res: ServerResponse, query: string): void {
  if (route === undefined) return void res.writeHead(404).end();
  if ('redirect' in route) return void res.writeHead(route.status ?? 302, { location: route.redirect }).end();
  if (!('body' in route)) return void res.writeHead(route.status).end();
  if (route.onlyFor !== undefined && !route.onlyFor.test(req.headers['user-agent'] ?? '')) return void res.writeHead(route.otherwise ?? 403).end();
  if (route.query !== undefined && query !== route.query) return void res.writeHead(403).end();
  if (route.auth !== undefined && req.headers.authorization !== `Basic ${Buffer.from(route.auth).toString('base64')}`) {
    return void res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
  }
  const body = route.body;
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (m === null || route.ranges === false) {
    res.writeHead(200, { 'content-length': body.length, ...(route.ranges === false ? {} : { 'accept-ranges': 'bytes' }), etag: '"v1"' });
    return void res.end(body);
  }
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
  if (start >= body.length) return void res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
  res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes', etag: '"v1"' });
  res.end(body.subarray(start, end + 1));
}

/** Starts a server on loopback with `routes` keyed by path (the query is matched by a route's `query`). */
export async function startTestHttpServer(routes: Record<string, TestRoute>, options: { tls?: boolean } = {}): Promise<TestHttpServer> {
  const requests: RecordedRequest[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      range: req.headers.range,
      userAgent: req.headers['user-agent'],
      authorization: req.headers.authorization,
    });
    const url = new URL(req.url ?? '/', 'http://x');
    serve(routes[url.pathname], req, res, url.search.slice(1));
  };
  let dir: string | undefined;
  let server: http.Server;
  let certificate: TestHttpServer['certificate'];
  if (options.tls) {
    dir = await mkdtemp(join(tmpdir(), 'test-https-'));
    const { key, cert, certFile } = await selfSigned(dir);
    server = https.createServer({ key, cert }, handler);
    certificate = { pem: cert, file: certFile };
  } else {
    server = http.createServer(handler);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: options.tls ? `https://localhost:${port}` : `http://127.0.0.1:${port}`,
    requests,
    ...(certificate === undefined ? {} : { certificate }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A port on loopback that nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
