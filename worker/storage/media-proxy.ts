/**
 * Serves objects to ffmpeg from the worker itself, on loopback, so that ffmpeg never holds a
 * credential: an S3 object (or an http(s) URL with a query string or user info) is handed to ffmpeg
 * as `http://127.0.0.1:PORT/<token>/<name>`, and each of ffmpeg's ranged GETs becomes a ranged read
 * through the storage backend (for S3 the AWS SDK, which signs every request and refreshes
 * expiring credentials itself, so a long shard never outlives a presigned URL).
 *
 * - The server listens on 127.0.0.1 on a random port; every object gets its own random 192-bit path
 *   token, and any other path is answered 404. The token is a capability to read that one object
 *   while its step runs (it appears in ffmpeg's argv); it is never a storage credential.
 * - GET and HEAD with `Range: bytes=a-b`, `a-` and `-n` (206 with Content-Range), 200 without a
 *   range, 416 outside the object, as ffmpeg's http protocol expects.
 * - A failed backend read is answered by its classification: NotFound 404, AccessDenied 403,
 *   InvalidArgument 416, anything transient 503 (ffmpeg's `-reconnect_on_http_error 5xx` retries);
 *   a failure mid-body cuts the connection, which ffmpeg's `-reconnect` resumes from its offset.
 *   The backend's own error is kept per object (`failure()`), so the step can report it, classified
 *   by the storage room, instead of ffmpeg's "Server returned 503".
 * - The server does not keep the process alive (unref), and `close()` ends it and its connections.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UpscaleError } from '../errors.ts';
import type { ByteRange } from './types.ts';

/** One object to serve. */
export interface ProxiedObject {
  /** The object's URI, safe to log (for messages). */
  display: string;
  /** Size in bytes, from a stat just made. */
  size: number;
  /** The last path segment of the URL ffmpeg sees (a file name, so ffmpeg's format guess has a hint). */
  name: string;
  /** Opens `[range.start, range.end)` of the object; rejects with a classified UpscaleError. */
  open(range: ByteRange): Promise<Readable>;
}

/** A served object: the URL to give ffmpeg and what went wrong reading it. */
export interface ProxiedSource {
  url: string;
  /**
   * The backend's error behind the last failed request, as the storage room classified it; cleared
   * when a later request succeeds (ffmpeg's reconnect worked). Undefined when nothing failed.
   */
  failure(): UpscaleError | undefined;
  /** Stops serving the object (its token answers 404 from now on). */
  release(): void;
}

interface Entry {
  object: ProxiedObject;
  failure: UpscaleError | undefined;
}

/** Parses one `Range` header against `size`; undefined for none, 'invalid' for unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'invalid' {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined; // multi-range or another unit: RFC 9110 lets us send it whole
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return 'invalid';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'invalid';
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (start >= size) return 'invalid';
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  if (end <= start) return 'invalid';
  return { start, end };
}

/** The HTTP status that tells ffmpeg how a backend read failed. */
function statusFor(error: UpscaleError): number {
  if (error.code === 'NotFound') return 404;
  if (error.code === 'AccessDenied') return 403;
  if (error.code === 'InvalidArgument') return 416;
  return error.permanent ? 400 : 503;
}

function asUpscaleError(error: unknown, display: string): UpscaleError {
  if (error instanceof UpscaleError) return error;
  // A body that failed mid-way without a classification: network trouble, worth a retry. Only the
  // error's name and code are kept: SDK errors can carry request details.
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  const what = [name, code].filter((part) => typeof part === 'string').join(' ') || 'error';
  return new UpscaleError('Unavailable', `reading ${display}: the stream failed mid-way (${what})`, { subject: display });
}

/** The loopback server; see the module comment. */
export class MediaProxy {
  readonly #server: http.Server;
  readonly #entries = new Map<string, Entry>();
  #port = 0;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  /** Starts the server on 127.0.0.1 and a random port. */
  static async start(): Promise<MediaProxy> {
    const server = http.createServer();
    server.keepAliveTimeout = 5_000;
    const proxy = new MediaProxy(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      proxy.#handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.unref();
    proxy.#port = (server.address() as AddressInfo).port;
    return proxy;
  }

  /** Serves `object` under a fresh random token until released or the proxy closes. */
  serve(object: ProxiedObject): ProxiedSource {
    const token = randomBytes(24).toString('base64url');
    const entry: Entry = { object, failure: undefined };
    this.#entries.set(token, entry);
    const name = encodeURIComponent(object.name.replace(/[^A-Za-z0-9._-]/g, '_') || 'object');
    return {
      url: `http://127.0.0.1:${this.#port}/${token}/${name}`,
      failure: () => entry.failure,
      release: () => void this.#entries.delete(token),
    };
  }

  /** Objects currently served (for tests). */
  get served(): number {
    return this.#entries.size;
  }

  /** Stops serving everything and closes the server and its connections. */
  async close(): Promise<void> {
    this.#entries.clear();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = /^\/([A-Za-z0-9_-]{32})\//.exec(req.url ?? '')?.[1];
    const entry = token === undefined ? undefined : this.#entries.get(token);
    if (entry === undefined) return void res.writeHead(404).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { allow: 'GET, HEAD' }).end();
    const { size } = entry.object;
    const range = parseRange(req.headers.range, size);
    if (range === 'invalid') return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    const { start, end } = range ?? { start: 0, end: size };
    const headers: http.OutgoingHttpHeaders = {
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
      'content-length': end - start,
      ...(range === undefined ? {} : { 'content-range': `bytes ${start}-${end - 1}/${size}` }),
    };
    const status = range === undefined ? 200 : 206;
    if (req.method === 'HEAD' || end === start) return void res.writeHead(status, headers).end();

    let body: Readable;
    try {
      body = await entry.object.open({ start, end });
    } catch (error) {
      const failure = asUpscaleError(error, entry.object.display);
      entry.failure = failure;
      return void res.writeHead(statusFor(failure)).end();
    }
    // ffmpeg closing the connection (a seek, or its end) is normal; a failing backend is recorded.
    let bodyError: unknown;
    body.once('error', (error: unknown) => {
      bodyError = error;
    });
    res.writeHead(status, headers);
    try {
      await pipeline(body, res);
      entry.failure = undefined;
    } catch {
      body.destroy();
      res.destroy();
      if (bodyError !== undefined) entry.failure = asUpscaleError(bodyError, entry.object.display);
    }
  }
}
